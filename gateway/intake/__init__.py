"""The intake: from a record (or a consent change) to sealed messages queued in the outbox.

pipeline.py  POST /v1/records: translate, route, minimise, seal, one transaction
routing.py   subject -> enrolled families -> team agencies (never back to the source)
minimise.py  one consent decision per item and recipient; what each recipient may see
queue.py     seal a message, its disclosure entry and its outbox row, together
families.py  the family registry (enrol, read, change)
consents.py  record and withdraw consents; withdrawal notices to past recipients
services.py  the process's long-lived state: consent index, key ring, recipient keys
"""
