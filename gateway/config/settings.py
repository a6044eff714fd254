"""The one typed Settings object: a municipality's TOML file (HELHET_CONFIG) + HELHET_* overrides.

Built once at start-up (`load_settings`) and passed down; nothing else reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from consent.models import StatutoryBasis
from consent.rules import DEFAULT_OVERRIDES, AgeRules
from gateway.errors import ConfigError

CONFIG_ENV = "HELHET_CONFIG"


class AgencyConfig(BaseModel):
    """An agency's name in reports, and its public key file (default: in agency_keys_dir)."""

    model_config = ConfigDict(extra="forbid")  # a key misplaced under [agencies.x] is an error

    name: str
    public_key_file: Path | None = None


class WitnessConfig(BaseModel):
    """A witness of the log: its verifier key (C2SP signed-note vkey, cosignature/v1) and,
    for one the gateway asks itself, the prefix of its tlog-witness HTTP API."""

    model_config = ConfigDict(extra="forbid")

    key: str
    url: str | None = Field(default=None, pattern=r"^https?://")

    @field_validator("key")
    @classmethod
    def _vkey(cls, value: str) -> str:
        from audit.checkpoint import ALG_COSIGNATURE_V1, parse_vkey
        from audit.errors import InvalidCheckpoint

        try:
            _, _, alg = parse_vkey(value)
        except InvalidCheckpoint as exc:
            raise ValueError(f"not a witness verifier key: {exc}") from exc
        if alg != ALG_COSIGNATURE_V1:
            raise ValueError("a witness key is a cosignature/v1 (type 0x04) verifier key")
        return value.strip()

    @property
    def name(self) -> str:
        return self.key.split("+", 1)[0]


class Settings(BaseSettings):
    """Everything an instance is configured by; see docs/operations.md for each key."""

    model_config = SettingsConfigDict(
        env_prefix="HELHET_", extra="forbid", case_sensitive=False, validate_default=True
    )

    config_file: Path | None = None
    municipality: str
    municipality_name: str = ""
    jurisdiction: Literal["NO", "DK"] = "NO"
    environment: Literal["production", "test"] = "production"

    database_url: str = "sqlite:///helhet.db"
    # How long a writing transaction queues for a lock before the request is answered 503.
    database_write_wait_seconds: Annotated[float, Field(gt=0, le=300)] = 5.0
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: Annotated[int, Field(ge=1, le=1000)] = 3
    kafka_replication_factor: Annotated[int, Field(ge=1, le=10)] = 1
    kafka_request_timeout_ms: Annotated[int, Field(ge=500, le=300000)] = 15000

    allow_synthetic_ids: bool = False
    demo_keys: bool = False

    signing_key_file: Path = Path("keys/gateway-signing.pem")
    pseudonym_key_file: Path = Path("keys/pseudonym.key")
    agency_keys_dir: Path = Path("agency-keys")

    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    tls_client_ca_file: Path | None = None
    max_body_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_request_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    max_json_depth: Annotated[int, Field(ge=8, le=500)] = 64
    max_items_per_record: Annotated[int, Field(ge=1)] = 1000
    rate_limit_per_minute: Annotated[int, Field(ge=0)] = 6000
    rate_limit_per_address_per_minute: Annotated[int, Field(ge=0)] = 12000
    refusal_log_window_seconds: Annotated[int, Field(ge=1, le=3600)] = 60

    relay_enabled: bool = True
    relay_poll_interval: Annotated[float, Field(gt=0)] = 0.5
    relay_batch_size: Annotated[int, Field(ge=1, le=10000)] = 200
    relay_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    relay_drain_seconds: Annotated[float, Field(ge=0, le=3600)] = 20.0
    data_key_rotation_seconds: Annotated[int, Field(ge=60, le=3600)] = 3600
    checkpoint_interval_seconds: Annotated[int, Field(ge=1)] = 300
    plan_retention_days: Annotated[int, Field(ge=0, le=3650)] = 90
    plan_sweep_interval_seconds: Annotated[int, Field(ge=0)] = 3600
    checkpoint_publish_dir: Path | None = None
    witnesses: list[WitnessConfig] = Field(default_factory=list)
    witness_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0

    console_idle_minutes: Annotated[int, Field(ge=1, le=720)] = 20
    console_session_hours: Annotated[int, Field(ge=1, le=24)] = 8

    agencies: dict[str, AgencyConfig] = Field(default_factory=dict)
    age_of_self_determination: dict[str, int] = Field(default_factory=dict)
    statutory_bases: list[StatutoryBasis] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_path_from(init_settings)
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("municipality")
    @classmethod
    def _municipality_number(cls, value: str) -> str:
        if not (value.isascii() and value.isdigit() and len(value) in (3, 4)):
            raise ValueError(
                f"a municipality number has 4 digits in Norway (e.g. 0301) and 3 in Denmark "
                f"(e.g. 101), not {value!r}"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.partition(":")[0].partition("+")[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                "helhet runs on SQLite (sqlite:///helhet.db) or PostgreSQL "
                f"(postgresql://user@host/db), not {scheme or value!r}"
            )
        return value

    @field_validator("age_of_self_determination")
    @classmethod
    def _ages(cls, value: dict[str, int]) -> dict[str, int]:
        for domain, age in value.items():
            if not 10 <= age <= 25:
                raise ValueError(f"age for {domain!r} must be between 10 and 25")
        return value

    @model_validator(mode="after")
    def _municipality_of_its_country(self) -> Settings:
        digits = {"NO": 4, "DK": 3}[self.jurisdiction]
        if len(self.municipality) != digits:
            raise ValueError(
                f"municipality: a municipality number in {self.jurisdiction} has {digits} digits"
                f" (e.g. {'0301' if digits == 4 else '101'}), not {self.municipality!r}"
            )
        return self

    @model_validator(mode="after")
    def _resolve_and_check(self) -> Settings:
        base = self.config_file.parent if self.config_file else Path.cwd()
        for name in (
            "signing_key_file",
            "pseudonym_key_file",
            "agency_keys_dir",
            "tls_certfile",
            "tls_keyfile",
            "tls_client_ca_file",
            "checkpoint_publish_dir",
        ):
            value: Path | None = getattr(self, name)
            if value is not None and not value.is_absolute():
                object.__setattr__(self, name, (base / value).resolve())
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile: tls_certfile and tls_keyfile go together")
        names = [witness.name for witness in self.witnesses]
        if len(names) != len(set(names)):
            raise ValueError("witnesses: two witnesses have the same key name")
        if self.tls_client_ca_file is not None and self.tls_certfile is None:
            raise ValueError("tls_client_ca_file: mutual TLS needs tls_certfile and tls_keyfile")
        if self.database_url.startswith("sqlite:///") and not self.database_url.startswith(
            "sqlite:////"
        ):
            relative = self.database_url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                object.__setattr__(self, "database_url", f"sqlite:///{(base / relative).resolve()}")
        if self.environment == "production":
            if self.allow_synthetic_ids:
                raise ValueError(
                    "allow_synthetic_ids: synthetic identifiers are test-only and refused when "
                    "environment = 'production'"
                )
            if self.demo_keys:
                raise ValueError(
                    "demo_keys: generated demo keys are test-only and refused when "
                    "environment = 'production'"
                )
        return self

    @property
    def origin(self) -> str:
        """The disclosure log's origin line (C2SP tlog-checkpoint)."""
        return f"helhet/{self.municipality}"

    def topic(self, agency: str) -> str:
        return f"helhet.{self.municipality}.{agency}"

    def age_rules(self) -> AgeRules:
        """Ages of self-determination: the built-in ones, with this instance's overrides.

        `[age_of_self_determination]` maps a category domain (health, education, …) or
        `default` to an age, for this instance's jurisdiction.
        """
        configured = dict(self.age_of_self_determination)
        default = configured.pop("default", 18)
        overrides = dict(DEFAULT_OVERRIDES)
        overrides.update({(self.jurisdiction, domain): age for domain, age in configured.items()})
        return AgeRules(default=default, overrides=overrides)

    def agency_name(self, agency: str) -> str:
        config = self.agencies.get(agency)
        return config.name if config else agency

    def agency_public_key_file(self, agency: str) -> Path:
        config = self.agencies.get(agency)
        if config and config.public_key_file:
            path = config.public_key_file
            return path if path.is_absolute() else self.agency_keys_dir / path
        return self.agency_keys_dir / f"{agency}.pub.pem"


def _config_path_from(init_settings: PydanticBaseSettingsSource) -> Path | None:
    explicit = init_settings().get("config_file")
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else None


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the Settings once; an invalid configuration raises ConfigError naming the key."""
    path = Path(config_file) if config_file else None
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is not None:
        path = path.resolve()
        if not path.is_file():
            raise ConfigError(
                CONFIG_ENV,
                f"the configuration file {path} does not exist (`helhet init DIR` creates one)",
            )
        overrides["config_file"] = path
    elif "municipality" not in overrides and not os.environ.get("HELHET_MUNICIPALITY"):
        raise ConfigError(
            CONFIG_ENV,
            "no configuration file: give `helhet --config FILE …` or `export "
            "HELHET_CONFIG=/path/to/helhet.toml` (`helhet init DIR` creates one)",
        )
    return _validated(overrides)


def check_values(**values: Any) -> None:
    """Raise ConfigError (naming the key) if these settings would not make a valid instance."""
    _validated(values)


def _validated(overrides: dict[str, Any]) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if not key:  # a check across keys names its key first: "key: message"
            key, _, message = message.partition(": ")
        if len(exc.errors()) > 1:
            message += f" (and {len(exc.errors()) - 1} more problem(s))"
        raise ConfigError(key, message) from None
