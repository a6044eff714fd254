"""Errors of the gateway (wiring, storage, broker, configuration).

GatewayError is the root. `retriable` says whether trying again later may succeed; foreign
errors (SQLAlchemy, kafka-python) are mapped to these at the boundary with `raise … from`.
"""


class GatewayError(Exception):
    retriable = False


class ConfigError(GatewayError):
    """The instance configuration is invalid; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"configuration error in {key}: {message}")
        self.key = key


class DatabaseNotMigrated(GatewayError):
    """The database schema is missing or older than this version of helhet."""


class BrokerUnavailable(GatewayError):
    """The Kafka-protocol broker cannot be reached or started."""

    retriable = True
