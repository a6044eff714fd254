"""Signed checkpoints (C2SP tlog-checkpoint / signed-note) and witness cosignatures."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import (
    InconsistentCheckpoint,
    InvalidCheckpoint,
    append,
    consistency_proof,
    issue_checkpoint,
    root,
    verify_checkpoint,
)
from audit.checkpoint import (
    Checkpoint,
    checkpoint_with_cosignatures,
    cosign,
    cosigners,
    key_id,
    parse_vkey,
    sign_checkpoint,
    split_note,
    verify_cosignature,
    vkey,
)
from audit.tables import audit_checkpoints
from audit.witness import check_and_cosign, load_state, witness_log_checkpoint
from tests.helpers.audit import T0, create_tables, entry

ORIGIN = "helhet/0301"


@pytest.fixture
def engine(db_engine: sa.Engine) -> sa.Engine:
    create_tables(db_engine)
    return db_engine


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_note_format_and_key_id_follow_c2sp() -> None:
    key = Ed25519PrivateKey.generate()
    cp = Checkpoint(ORIGIN, 5, b"\x01" * 32)
    note = sign_checkpoint(cp, key)
    text, sigs = split_note(note)
    root_b64 = base64.b64encode(b"\x01" * 32).decode()
    assert text == f"{ORIGIN}\n5\n{root_b64}\n"
    assert note.startswith(text + "\n\u2014 " + ORIGIN + " ")
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw_public(key)).digest()[:4]
    assert sigs[0].key_id == expected_id == key_id(ORIGIN, key.public_key())
    key.public_key().verify(sigs[0].signature, text.encode())
    assert verify_checkpoint(note, key.public_key(), ORIGIN) == cp
    name, public, alg = parse_vkey(vkey(ORIGIN, key.public_key()))
    assert (name, raw_public(key), alg) == (ORIGIN, public.public_bytes_raw(), 1)


def test_forged_or_foreign_checkpoints_are_refused() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x01" * 32), key)
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(note, other.public_key(), ORIGIN)  # another key
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(note.replace("\n5\n", "\n6\n"), key.public_key(), ORIGIN)  # edited
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(note, key.public_key(), "helhet/0999")  # other origin
    sig_line = note.split("\n\n")[1]
    forged = note.replace(
        sig_line, sig_line[:-10] + ("A" if sig_line[-10] != "A" else "B") + sig_line[-9:]
    )
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(forged, key.public_key(), ORIGIN)
    with pytest.raises(InvalidCheckpoint):
        verify_checkpoint(note.split("\n\n")[0] + "\n", key.public_key(), ORIGIN)  # unsigned


def test_issue_checkpoint_signs_the_log_and_skips_duplicates(engine: sa.Engine) -> None:
    key = Ed25519PrivateKey.generate()
    with engine.begin() as conn:
        append(conn, [entry(i) for i in range(6)], now=T0)
        first = issue_checkpoint(conn, key, ORIGIN, T0)
        again = issue_checkpoint(conn, key, ORIGIN, T0)
        assert again.id == first.id
        append(conn, [entry(i) for i in range(6, 9)], now=T0)
        second = issue_checkpoint(conn, key, ORIGIN, T0)
    cp1 = verify_checkpoint(first.note, key.public_key(), ORIGIN)
    cp2 = verify_checkpoint(second.note, key.public_key(), ORIGIN)
    assert (cp1.size, cp2.size) == (6, 9)
    with engine.connect() as conn:
        assert cp1.root == root(conn, 6)
        consistency_proof(conn, 6, 9).verify(cp1.root, cp2.root)


def test_issue_refuses_to_sign_a_head_inconsistent_with_the_last_checkpoint(
    engine: sa.Engine,
) -> None:
    key = Ed25519PrivateKey.generate()
    with engine.begin() as conn:
        append(conn, [entry(i) for i in range(4)], now=T0)
        # A checkpoint of a fork (same key, other root) stored as the latest one.
        fork = sign_checkpoint(Checkpoint(ORIGIN, 3, b"\x07" * 32), key)
        conn.execute(
            audit_checkpoints.insert().values(
                size=3, root=b"\x07" * 32, note=fork, issued_at="2025-01-01T00:00:00.000000Z"
            )
        )
        with pytest.raises(InconsistentCheckpoint):
            issue_checkpoint(conn, key, ORIGIN, T0)
        # A latest checkpoint larger than the log (entries lost) is refused too.
        big = sign_checkpoint(Checkpoint(ORIGIN, 40, b"\x07" * 32), key)
        conn.execute(
            audit_checkpoints.insert().values(
                size=40, root=b"\x07" * 32, note=big, issued_at="2025-01-01T00:00:00.000000Z"
            )
        )
        with pytest.raises(InconsistentCheckpoint):
            issue_checkpoint(conn, key, ORIGIN, T0)


def test_cosignature_v1_round_trip_and_forgery() -> None:
    log_key, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x01" * 32), log_key)
    line = cosign(note, "witness.example/w1", witness, T0)
    cosigned = note + line
    assert verify_cosignature(cosigned, "witness.example/w1", witness.public_key()) == int(
        T0.timestamp()
    )
    # The log signature still verifies with the cosignature appended (unknown keys ignored).
    verify_checkpoint(cosigned, log_key.public_key(), ORIGIN)
    blob = base64.b64decode(line.split(" ")[2])
    expected_id = hashlib.sha256(b"witness.example/w1\n\x04" + raw_public(witness)).digest()[:4]
    assert blob[:4] == expected_id
    message = (
        f"cosignature/v1\ntime {int(T0.timestamp())}\n".encode() + split_note(note)[0].encode()
    )
    witness.public_key().verify(blob[12:], message)
    with pytest.raises(InvalidCheckpoint):
        verify_cosignature(
            cosigned.replace("\n5\n", "\n6\n"), "witness.example/w1", witness.public_key()
        )
    with pytest.raises(InvalidCheckpoint):
        verify_cosignature(note, "witness.example/w1", witness.public_key())


def test_witness_refuses_a_checkpoint_inconsistent_with_one_seen(
    engine: sa.Engine, tmp_path: Path
) -> None:
    log_key, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    state = tmp_path / "witness-state.json"
    with engine.begin() as conn:
        append(conn, [entry(i) for i in range(5)], now=T0)
        first = issue_checkpoint(conn, log_key, ORIGIN, T0)
        result = witness_log_checkpoint(
            conn,
            first.note,
            log_public=log_key.public_key(),
            origin=ORIGIN,
            witness_name="kommune.example/w",
            witness_key=witness,
            state_path=state,
            now=T0,
        )
        assert load_state(state)[ORIGIN].size == 5
        verify_cosignature(result.note, "kommune.example/w", witness.public_key())
        stored = checkpoint_with_cosignatures(conn, first)
        verify_cosignature(stored, "kommune.example/w", witness.public_key())
        assert cosigners(conn, first) == [("kommune.example/w", T0)]

        append(conn, [entry(i) for i in range(5, 9)], now=T0)
        second = issue_checkpoint(conn, log_key, ORIGIN, T0)
        witness_log_checkpoint(
            conn,
            second.note,
            log_public=log_key.public_key(),
            origin=ORIGIN,
            witness_name="kommune.example/w",
            witness_key=witness,
            state_path=state,
            now=T0,
        )
        assert load_state(state)[ORIGIN].size == 9

    # A fork: the log key signs a size-12 head that does not extend the one the witness saw.
    fork = sign_checkpoint(Checkpoint(ORIGIN, 12, b"\x09" * 32), log_key)
    with engine.begin() as conn:
        append(conn, [entry(i) for i in range(9, 12)], now=T0)
        with pytest.raises(InconsistentCheckpoint):
            witness_log_checkpoint(
                conn,
                fork,
                log_public=log_key.public_key(),
                origin=ORIGIN,
                witness_name="kommune.example/w",
                witness_key=witness,
                state_path=state,
                now=T0,
            )
    # A roll-back to an older checkpoint is refused as well.
    with pytest.raises(InconsistentCheckpoint):
        check_and_cosign(
            first.note,
            log_public=log_key.public_key(),
            origin=ORIGIN,
            previous=load_state(state)[ORIGIN],
            proof=[],
            witness_name="kommune.example/w",
            witness_key=witness,
            now=T0,
        )
    assert load_state(state)[ORIGIN].size == 9
