"""Delivery: the relay publishes the outbox to Kafka, re-checking consent just before, and
records each delivery (relay.py); reconciliation compares the topics with the log (reconcile.py).
"""
