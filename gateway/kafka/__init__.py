"""Kafka: publishing sealed messages (publisher.py), reading a topic back (topics.py) and the
bundled Kafka-protocol broker for the demo and the tests (broker.py).
"""
