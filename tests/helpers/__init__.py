"""Helpers shared by the tests: one module per area; tests import from here, never from each
other. Fixtures live in conftest.py files.

    adapters.py  example records and golden files of the adapters
    audit.py     log entries and tables for the disclosure-log tests
    consent.py   consent records, persons and bodies
    decoder.py   an envelope decoder written from docs/integration.md alone
    environment.py  the real services and shared files: skip, or fail under CI=true
    envelopes.py synthetic payloads and keys to seal and open envelopes
    gateway.py   a real gateway: instance, migrated database, clients, HTTP server, relay
    intake.py    families, consents and forwarded records through the intake, without HTTP
    records.py   native records and families the end-to-end tests post and enrol
    topics.py    reading a recipient's topic to its end and opening every envelope
"""
