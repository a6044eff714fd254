"""Shared fixtures: real databases (SQLite always, PostgreSQL when one answers) and a real
Kafka-protocol broker (HELHET_TEST_KAFKA -> testcontainers Kafka -> the bundled Tansu broker).

Under CI=true a missing PostgreSQL or broker fails the run; elsewhere the test is skipped with
the reason shown. A test is marked `kafka` when it uses the broker fixture and `postgres` when it
uses a PostgreSQL one (directly or through another fixture), so `-m "not kafka and not postgres"`
selects the fast run on SQLite alone; a test that drives Chromium is marked `browser`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from schemas.identifiers import set_default_allow_synthetic
from tests.helpers.environment import unavailable

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

settings.register_profile(
    "helhet", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("helhet")

# Every example and test identifier in this project is synthetic (month + 40 / + 80); tests that
# check refusal of synthetic numbers say so explicitly.
set_default_allow_synthetic(True)


KAFKA_FIXTURES = frozenset({"kafka_bootstrap"})
BROWSER_FIXTURES = frozenset({"chromium"})
POSTGRES_FIXTURES = frozenset({"postgres_server", "postgres_database", "postgres_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the real services its fixtures use."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if names & KAFKA_FIXTURES:
            item.add_marker(pytest.mark.kafka)
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if names & POSTGRES_FIXTURES or params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _synthetic_ids_allowed() -> Iterator[None]:
    """Opening a production instance turns synthetic identifiers off for the whole process;
    every test starts, and ends, with the test default back on."""
    set_default_allow_synthetic(True)
    yield
    set_default_allow_synthetic(True)


# --- PostgreSQL -----------------------------------------------------------------------------


def _sqlalchemy_pg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


@pytest.fixture(scope="session")
def postgres_server() -> sa.URL:
    """The URL of a reachable PostgreSQL server (its maintenance database)."""
    url = _sqlalchemy_pg_url(os.environ.get("HELHET_TEST_POSTGRES", DEFAULT_POSTGRES))
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        unavailable(f"PostgreSQL at {url.render_as_string(hide_password=True)}: {exc}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server: sa.URL) -> Iterator[sa.URL]:
    """A database of this test run's own, dropped at the end."""
    name = f"helhet_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_database: sa.URL) -> Iterator[str]:
    """An empty PostgreSQL database for one test (schema `public` recreated)."""
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    yield postgres_database.render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'helhet.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database for one test, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db_engine(database_url: str) -> Iterator[sa.Engine]:
    """A SQLAlchemy engine on an empty database (both backends), configured as the gateway does."""
    from gateway.db.engine import create_engine

    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


# --- Kafka ----------------------------------------------------------------------------------


def _docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real Kafka-protocol broker for this test session."""
    configured = os.environ.get("HELHET_TEST_KAFKA")
    if configured:
        yield configured
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as container:
            yield container.get_bootstrap_server()
        return
    from gateway.errors import BrokerUnavailable
    from gateway.kafka.broker import EmbeddedBroker

    try:
        broker = EmbeddedBroker().start()
    except BrokerUnavailable as exc:
        unavailable(f"no Kafka-protocol broker: {exc}")
        return
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture
def topic_name() -> str:
    return f"helhet.test.{uuid.uuid4().hex[:10]}"
