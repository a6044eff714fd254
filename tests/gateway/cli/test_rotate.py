"""`helhet keys rotate signing | agency | token`: each replaces its key or token without
breaking what the old one signed, sealed or authorised (docs/operations.md, "Rotating keys")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit import append, verify_log
from gateway.api.app import create_app
from gateway.api.clients import Role, add_client
from gateway.api.server import running_server
from gateway.checkpoints.issuer import issue_now
from gateway.cli.main import cli
from gateway.config.instance import Instance, open_instance
from gateway.config.settings import load_settings
from gateway.envelope.keyring import DataKeyRing
from gateway.envelope.sealing import seal_message
from gateway.intake.services import Services
from recipient.errors import DecryptionFailed
from recipient.jwk import public_keys_from_jwks
from recipient.keys import load_agency_private_key
from recipient.opening import DataKeyCache, EnvelopeOpener
from tests.helpers.audit import T0, entry
from tests.helpers.envelopes import NOW, plan_update
from tests.helpers.gateway import make_instance


@pytest.fixture
def made(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[Path, dict[str, X25519PrivateKey]]]:
    instance, agency_keys = make_instance(tmp_path, sqlite_url, "127.0.0.1:9")
    instance.close()
    yield tmp_path / "instance" / "helhet.toml", agency_keys


def _open(config: Path) -> Instance:
    return open_instance(load_settings(config))


def _helhet(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _seal(instance: Instance, recipient_key: object, keyring: DataKeyRing) -> dict[str, object]:
    return seal_message(
        plan_update(),
        message_id=str(uuid.uuid4()),
        disclosure_index=1,
        created_at=NOW,
        municipality=instance.settings.municipality,
        source="nav",
        recipient="school",
        family_id="fam-1",
        recipient_public_key=recipient_key,  # type: ignore[arg-type]
        signing_key=instance.signing_key,
        keyring=keyring,
    ).envelope


def test_rotating_the_signing_key(made: tuple[Path, dict[str, X25519PrivateKey]]) -> None:
    config, agency_keys = made
    before = _open(config)
    school = agency_keys["school"]
    with before.engine.begin() as conn:
        append(conn, [entry(i) for i in range(5)], now=T0)
    issue_now(before)
    old_envelope = _seal(before, school.public_key(), DataKeyRing())
    old_public = before.signing_key.public_key()
    before.close()

    out = _helhet(config, "keys", "rotate", "signing")
    assert "log verifier key for witnesses: helhet/" in out

    after = _open(config)
    try:
        keys = after.signing_public_keys
        assert len(keys) == 2 and keys[1] == old_public and keys[0] != old_public
        with after.engine.begin() as conn:
            append(conn, [entry(i) for i in range(5, 9)], now=T0)
        stored, new = issue_now(after)  # the latest checkpoint, signed by the old key, is trusted
        assert new and stored.checkpoint.size == 9
        with after.engine.connect() as conn:
            report = verify_log(conn, keys[0], after.origin, more_keys=keys[1:])
        assert report.ok and report.checkpoints_checked == 2, report.summary()
        assert _helhet(config, "audit", "verify").startswith("OK: 9 entries")

        new_envelope = _seal(after, school.public_key(), DataKeyRing())
        with running_server(create_app(after, relay=False)) as base:
            jwks = httpx.get(base + "/v1/keys").json()
        served = public_keys_from_jwks(jwks)
        assert served == keys  # current first, then the retired one
        opener = EnvelopeOpener(school, served, cache=DataKeyCache())
        assert opener.open(old_envelope).sig_key_id != opener.open(new_envelope).sig_key_id
    finally:
        after.close()


def test_rotating_an_agency_key(
    made: tuple[Path, dict[str, X25519PrivateKey]], tmp_path: Path
) -> None:
    config, agency_keys = made
    instance = _open(config)
    services = Services(instance)
    old_private = agency_keys["school"]
    try:
        before_key = services.recipient_keys.get("school")
        assert before_key is not None
        old_envelope = _seal(instance, before_key, services.keyring)

        out = _helhet(
            config,
            "keys",
            "rotate",
            "agency",
            "--agency",
            "school",
            "--out",
            str(tmp_path / "handover"),
        )
        (new_path,) = (tmp_path / "handover").glob("school-*.key")
        assert f"private key: {new_path}" in out
        assert (new_path.stat().st_mode & 0o777) == 0o600
        new_private = load_agency_private_key(new_path)

        after_key = services.recipient_keys.get("school")  # the running process notices
        assert after_key is not None
        assert after_key.public_bytes_raw() == new_private.public_key().public_bytes_raw()
        new_envelope = _seal(instance, after_key, services.keyring)  # a new data key at once
        assert new_envelope["enc"]["key_id"] != old_envelope["enc"]["key_id"]  # type: ignore[index]

        gateway_key = instance.signing_key.public_key()
        both = EnvelopeOpener([new_private, old_private], gateway_key, cache=DataKeyCache())
        assert both.open(old_envelope).message_id == old_envelope["message_id"]
        assert both.open(new_envelope).message_id == new_envelope["message_id"]
        with pytest.raises(DecryptionFailed):
            EnvelopeOpener(new_private, gateway_key, cache=DataKeyCache()).open(old_envelope)
        with pytest.raises(DecryptionFailed):
            EnvelopeOpener(old_private, gateway_key, cache=DataKeyCache()).open(new_envelope)
        retired = list((instance.settings.agency_keys_dir / "retired").glob("school-*.pub.pem"))
        assert len(retired) == 1
    finally:
        instance.close()


def test_rotating_a_token(made: tuple[Path, dict[str, X25519PrivateKey]]) -> None:
    config, _ = made
    instance = _open(config)
    try:
        with instance.engine.begin() as conn:
            first = add_client(conn, "coordinator", Role.COORDINATOR, None, now=T0).token
        with running_server(create_app(instance, relay=False)) as base:

            def status(token: str) -> int:
                headers = {"Authorization": f"Bearer {token}"}
                return httpx.get(base + "/v1/legal-bases", headers=headers).status_code

            assert status(first) == 200
            out = _helhet(config, "keys", "rotate", "token", "coordinator", "--grace", "3600")
            second = out.split("store it now): ")[1].split()[0]
            assert status(second) == 200 and status(first) == 200  # within the grace period
            out = _helhet(config, "keys", "rotate", "token", "coordinator")
            third = out.split("store it now): ")[1].split()[0]
            assert "stops working now" in out
            assert status(third) == 200
            assert status(second) == 401 and status(first) == 401
    finally:
        instance.close()


def test_a_rotated_token_stops_when_its_grace_ends(
    made: tuple[Path, dict[str, X25519PrivateKey]],
) -> None:
    import datetime as dt

    from gateway.api.clients import authenticate, rotate_token

    config, _ = made
    instance = _open(config)
    try:
        with instance.engine.begin() as conn:
            old = add_client(conn, "nav-system", Role.AGENCY, "nav", now=T0).token
            new = rotate_token(conn, "nav-system", now=T0, grace=dt.timedelta(hours=1))
        with instance.engine.connect() as conn:
            for token, at, works in [
                (old, T0 + dt.timedelta(minutes=59), True),
                (old, T0 + dt.timedelta(hours=1), False),
                (new, T0 + dt.timedelta(days=400), True),
            ]:
                assert (authenticate(conn, token, now=at) is not None) is works, (token, at)
    finally:
        instance.close()
