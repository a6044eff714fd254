"""`helhet audit verify | checkpoint | witness` on a real database (instance given via ctx.obj)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import append
from audit.checkpoint import verify_cosignature
from gateway.cli.audit import group
from tests.helpers.audit import T0, create_tables, entry

ORIGIN = "helhet/0301"


@pytest.fixture
def instance(db_engine: sa.Engine) -> SimpleNamespace:
    create_tables(db_engine)
    with db_engine.begin() as conn:
        append(conn, [entry(i) for i in range(7)], now=T0)
    key = Ed25519PrivateKey.generate()
    return SimpleNamespace(
        engine=db_engine,
        signing_key=key,
        signing_public_keys=[key.public_key()],
        origin=ORIGIN,
        settings=SimpleNamespace(
            witnesses=[], checkpoint_publish_dir=None, witness_timeout_seconds=5.0
        ),
    )


def invoke(instance: SimpleNamespace, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(group, list(args), obj={"instance": instance})
    return result.exit_code, result.output


def test_checkpoint_verify_witness(instance: SimpleNamespace, tmp_path: Path) -> None:
    saved = tmp_path / "cp.txt"
    code, out = invoke(instance, "checkpoint", "--out", str(saved))
    assert code == 0 and out.startswith(f"{ORIGIN}\n7\n")
    code, out = invoke(instance, "verify", "--checkpoint", str(saved))
    assert code == 0 and out.startswith("OK: 7 entries"), out

    witness = Ed25519PrivateKey.generate()
    key_file = tmp_path / "w.pem"
    key_file.write_bytes(
        witness.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    args = ["witness", str(saved), "--key", str(key_file), "--name", "w.example/1",
            "--state", str(tmp_path / "state.json")]  # fmt: skip
    code, out = invoke(instance, *args)
    assert code == 0, out
    verify_cosignature(out, "w.example/1", witness.public_key())

    with instance.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entries SET outcome = 'denied' WHERE idx = 4"))
    code, out = invoke(instance, "verify", "--checkpoint", str(saved))
    assert code == 1
    assert "entry 4 was changed: column outcome" in out
