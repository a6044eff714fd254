"""`helhet init`: write a municipality instance directory (config, signing key, pseudonym key).

Private key files are created with mode 0600; nothing existing is overwritten.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import keys
from gateway.config.settings import check_values
from schemas import Agency

DEFAULT_AGENCY_NAMES = {
    "NO": {
        Agency.NAV: "NAV",
        Agency.SCHOOL: "Skole",
        Agency.HEALTH: "Helsetjenesten",
        Agency.CHILD_WELFARE: "Barneverntjenesten",
        Agency.HOUSING: "Boligkontoret",
    },
    "DK": {
        Agency.NAV: "Jobcenter",
        Agency.SCHOOL: "Skole",
        Agency.HEALTH: "Sundhedstjenesten",
        Agency.CHILD_WELFARE: "Børne- og familieafdelingen",
        Agency.HOUSING: "Boligafdelingen",
    },
}


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_config(
    *,
    municipality: str,
    name: str,
    jurisdiction: str,
    test: bool,
    database_url: str,
    kafka_bootstrap_servers: str,
) -> str:
    lines = [
        f"# helhet instance for municipality {municipality} ({name}).",
        "# Keys: see docs/operations.md. HELHET_<KEY> environment variables override them.",
        f"municipality = {_toml_string(municipality)}",
        f"municipality_name = {_toml_string(name)}",
        f"jurisdiction = {_toml_string(jurisdiction)}",
        f"environment = {_toml_string('test' if test else 'production')}",
        f"allow_synthetic_ids = {'true' if test else 'false'}",
        f"database_url = {_toml_string(database_url)}",
        f"kafka_bootstrap_servers = {_toml_string(kafka_bootstrap_servers)}",
        'signing_key_file = "keys/gateway-signing.pem"',
        'pseudonym_key_file = "keys/pseudonym.key"',
        'agency_keys_dir = "agency-keys"',
        "",
    ]
    for agency, label in DEFAULT_AGENCY_NAMES[jurisdiction].items():
        lines += [f"[agencies.{agency.value}]", f"name = {_toml_string(label)}", ""]
    return "\n".join(lines)


def init_instance(
    directory: Path,
    *,
    municipality: str,
    name: str,
    jurisdiction: str = "NO",
    test: bool = False,
    database_url: str = "sqlite:///helhet.db",
    kafka_bootstrap_servers: str = "127.0.0.1:9092",
) -> Path:
    """Create the instance directory; return the path of its config file.

    The values are checked first (ConfigError naming the key): nothing is written for an
    instance that could not start.
    """
    check_values(
        municipality=municipality,
        municipality_name=name,
        jurisdiction=jurisdiction,
        environment="test" if test else "production",
        allow_synthetic_ids=test,
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
    )
    config = directory / "helhet.toml"
    if config.exists():
        raise FileExistsError(f"{config} already exists; refusing to overwrite an instance")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "agency-keys").mkdir(exist_ok=True)
    keys.generate_signing_key(directory / "keys" / "gateway-signing.pem")
    keys.generate_secret(directory / "keys" / "pseudonym.key")
    (directory / "keys").chmod(0o700)
    config.write_text(
        render_config(
            municipality=municipality,
            name=name,
            jurisdiction=jurisdiction,
            test=test,
            database_url=database_url,
            kafka_bootstrap_servers=kafka_bootstrap_servers,
        ),
        encoding="utf-8",
    )
    return config
