"""The sending side of the envelope: data keys per recipient (keyring.py) and sealing
(sealing.py). The format itself, and opening, are the agency side's: recipient.envelope.
"""
