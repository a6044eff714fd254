"""Finding 6: truncating the log was undetectable from the instance alone when the attacker
also rewrote `audit_head` and deleted the stored checkpoints. Checkpoints now go to a witness
(C2SP tlog-witness, cosignatures verified) and to a directory outside the database; the attack
below is caught by `audit verify`, by the start-up of `serve`, and by the witness itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from audit import append, verify_log
from audit import log as audit_log
from audit.checkpoint import verify_cosignature
from audit.tables import audit_checkpoints, audit_cosignatures, audit_entries, audit_head
from gateway.api.app import create_app
from gateway.api.server import running_server
from gateway.checkpoints.issuer import issue_now
from gateway.checkpoints.rollback import check_not_rolled_back
from gateway.checkpoints.witnesses import file_name, publish
from gateway.cli.audit import group
from gateway.config.instance import Instance
from gateway.errors import LogRolledBack
from tests.helpers.audit import T0, entry
from tests.helpers.gateway import make_instance
from tests.helpers.witness import WitnessServer

NO_BROKER = "127.0.0.1:9"


@pytest.fixture
def witnessed(tmp_path: Path, database_url: str) -> Iterator[tuple[Instance, WitnessServer]]:
    """An instance that publishes to a directory and asks a witness on a real HTTP server."""
    instance, _ = make_instance(tmp_path, database_url, NO_BROKER)
    witness = WitnessServer("witness.kommune.example", [], instance.origin)
    witness.log_keys = [instance.signing_key.public_key()]
    instance.close()
    with running_server(witness.app) as url:
        (tmp_path / "instance" / "helhet.toml").write_text(
            (tmp_path / "instance" / "helhet.toml").read_text()
            + f'checkpoint_publish_dir = "{tmp_path / "published"}"\n'
            f'[[witnesses]]\nkey = "{witness.vkey}"\nurl = "{url}"\n'
        )
        from gateway.config.instance import open_instance
        from gateway.config.settings import load_settings

        reopened = open_instance(load_settings(tmp_path / "instance" / "helhet.toml"))
        try:
            yield reopened, witness
        finally:
            reopened.close()


def _append(instance: Instance, start: int, count: int) -> None:
    with instance.engine.begin() as conn:
        append(conn, [entry(start + i) for i in range(count)], now=T0)


def _checkpoint(instance: Instance) -> list[str]:
    stored, _ = issue_now(instance)
    return publish(instance, stored)


def _verify_cli(instance: Instance) -> tuple[int, str]:
    result = CliRunner().invoke(group, ["verify"], obj={"instance": instance})
    return result.exit_code, result.output


def test_checkpoints_are_witnessed_and_published(
    witnessed: tuple[Instance, WitnessServer],
) -> None:
    instance, witness = witnessed
    _append(instance, 0, 10)
    assert _checkpoint(instance) == []
    _append(instance, 10, 10)
    assert _checkpoint(instance) == []  # old size 10 and a consistency proof to 20
    directory = instance.settings.checkpoint_publish_dir
    assert directory is not None
    note = (directory / file_name(20)).read_text()
    verify_cosignature(note, witness.name, witness.key.public_key())
    with instance.engine.connect() as conn:
        stored = conn.execute(sa.select(audit_cosignatures.c.witness)).scalars().all()
    assert stored == [witness.name, witness.name]
    code, out = _verify_cli(instance)
    assert code == 0, out
    assert "latest of size 20 cosigned by witness.kommune.example" in out


def test_truncation_with_head_and_checkpoints_rewritten_is_caught(
    witnessed: tuple[Instance, WitnessServer],
) -> None:
    instance, _ = witnessed
    _append(instance, 0, 10)
    assert _checkpoint(instance) == []
    _append(instance, 10, 10)
    assert _checkpoint(instance) == []

    # The attack: drop the last 8 entries, make the head match, delete the checkpoints.
    with instance.engine.begin() as conn:
        root_12 = audit_log.root(conn, 12)
        conn.execute(sa.delete(audit_entries).where(audit_entries.c.idx >= 12))
        conn.execute(sa.update(audit_head).values(size=12, root=root_12))
        conn.execute(sa.delete(audit_cosignatures))
        conn.execute(sa.delete(audit_checkpoints))
    with instance.engine.connect() as conn:  # from the database alone, nothing shows
        assert verify_log(conn, instance.signing_key.public_key(), instance.origin).ok

    code, out = _verify_cli(instance)
    assert code == 1, out
    assert "attests 20 entries but only 12 are stored" in out

    with pytest.raises(LogRolledBack, match="holds 12 entries but the checkpoint published"):
        check_not_rolled_back(instance)

    async def start() -> None:
        app = create_app(instance, relay=False)
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(LogRolledBack):  # `serve` does not start on it
        asyncio.run(start())

    # Signing a new, smaller checkpoint gets no cosignature: the witness knows 20 entries.
    problems = _checkpoint(instance)
    assert len(problems) == 1
    assert "cosigned a log of 20 entries; this checkpoint holds 12" in problems[0]


def test_a_forged_cosignature_is_not_stored(
    witnessed: tuple[Instance, WitnessServer],
) -> None:
    instance, witness = witnessed
    real = witness.key
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    witness.key = Ed25519PrivateKey.generate()  # answers with a key nobody configured
    _append(instance, 0, 3)
    problems = _checkpoint(instance)
    assert problems and "no valid cosignature by its key" in problems[0]
    with instance.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(audit_cosignatures)).scalar() == 0
        )
    witness.key = real
    witness.seen.clear()
    assert _checkpoint(instance) == []  # the next round asks again


def test_a_rewritten_log_of_the_same_size_is_caught(
    witnessed: tuple[Instance, WitnessServer],
) -> None:
    """Not smaller but different: the entries replaced by others, head and nodes rebuilt."""
    instance, _ = witnessed
    _append(instance, 0, 10)
    assert _checkpoint(instance) == []
    with instance.engine.begin() as conn:
        conn.execute(sa.delete(audit_cosignatures))
        conn.execute(sa.delete(audit_checkpoints))
        conn.execute(sa.delete(audit_entries))
        conn.execute(sa.delete(audit_head))
    _append(instance, 100, 10)  # ten other entries: a log of the same size, consistent in itself
    with instance.engine.connect() as conn:
        assert verify_log(conn, instance.signing_key.public_key(), instance.origin).ok
    with pytest.raises(LogRolledBack, match="do not hash to the root"):
        check_not_rolled_back(instance)
    code, out = _verify_cli(instance)
    assert code == 1 and "inconsistent with the stored entries" in out, out
