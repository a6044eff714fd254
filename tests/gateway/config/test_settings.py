"""Settings: one TOML file plus HELHET_* overrides; invalid configuration names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.settings import load_settings
from gateway.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "helhet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        'municipality = "0301"\nenvironment = "test"\ndatabase_url = "sqlite:///data/h.db"\n'
        '[agencies.nav]\nname = "NAV Oslo"\n',
    )
    settings = load_settings(config)
    assert settings.municipality == "0301"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'h.db'}"
    assert settings.signing_key_file == tmp_path / "keys" / "gateway-signing.pem"
    assert settings.agency_name("nav") == "NAV Oslo"
    assert settings.agency_name("school") == "school"
    assert settings.topic("nav") == "helhet.0301.nav"
    assert settings.origin == "helhet/0301"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _write(tmp_path, 'municipality = "0301"\n')
    monkeypatch.setenv("HELHET_DATABASE_URL", "postgresql://postgres@127.0.0.1/helhet")
    monkeypatch.setenv("HELHET_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    settings = load_settings(config)
    assert settings.database_url == "postgresql://postgres@127.0.0.1/helhet"
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _write(tmp_path, 'municipality = "101"\njurisdiction = "DK"\n')
    monkeypatch.setenv("HELHET_CONFIG", str(config))
    settings = load_settings()
    assert settings.municipality == "101"
    rules = settings.age_rules()
    assert rules.age_for("DK", "health") == 15
    assert rules.age_for("DK", "education") == 18
    assert rules.age_for("NO", "health") == 16


def test_age_overrides(tmp_path: Path) -> None:
    config = _write(
        tmp_path, 'municipality = "0301"\n[age_of_self_determination]\ndefault = 17\nhealth = 15\n'
    )
    rules = load_settings(config).age_rules()
    assert rules.age_for("NO", "health") == 15
    assert rules.age_for("NO", "housing") == 17


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('municipality = "Oslo"\n', "municipality"),
        ('municipality = "0301"\nkafka_topic_partitions = 0\n', "kafka_topic_partitions"),
        ('municipality = "0301"\nno_such_key = 1\n', "no_such_key"),
        ('municipality = "0301"\njurisdiction = "SE"\n', "jurisdiction"),
        ('municipality = "0301"\nallow_synthetic_ids = true\n', "allow_synthetic_ids"),
        ('municipality = "0301"\ndemo_keys = true\n', "demo_keys"),
        (
            'municipality = "0301"\n[age_of_self_determination]\nhealth = 3\n',
            "age_of_self_determination",
        ),
        ("", "municipality"),
        (
            'municipality = "0301"\n[agencies.nav]\nname = "NAV"\nhttp_port = 1\n',
            "agencies.nav.http_port",
        ),
    ],
)
def test_invalid_configuration_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text))
    assert info.value.key == key
    assert key in str(info.value)


def test_test_instance_may_allow_synthetic_ids(tmp_path: Path) -> None:
    settings = load_settings(
        _write(
            tmp_path, 'municipality = "0301"\nenvironment = "test"\nallow_synthetic_ids = true\n'
        )
    )
    assert settings.allow_synthetic_ids


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
