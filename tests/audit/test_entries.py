"""Entries, their canonical leaf bytes (RFC 8785) and subject pseudonyms."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from audit import Entry, EntryType, InvalidEntry, LogEntry, pseudonymise
from audit.entries import (
    LEAF_KEYS,
    categories_json,
    leaf_bytes,
    leaf_document,
    make_entry,
)
from schemas.canonical import canonical_json
from tests.helpers.audit import KEY, T0, entry, person_id


def texts(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Any text without lone surrogates (which JSON cannot carry as UTF-8)."""
    chars = st.characters(exclude_categories=("Cs",))
    return st.text(chars, min_size=min_size, max_size=max_size)


json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | texts()
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(texts(max_size=5).filter(lambda k: k not in LEAF_KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(
    st.builds(
        entry,
        st.integers(0, 1000),
        purpose=texts(1, 40),
        reason=st.none() | texts(1, 40),
        details=st.dictionaries(
            texts(max_size=10).filter(lambda k: k not in LEAF_KEYS), json_values, max_size=4
        ),
    )
)
def test_canonical_leaf_is_rfc8785(e: Entry) -> None:
    doc = leaf_document(e, 42, T0)
    assert canonical_json(doc) == rfc8785.dumps(doc)


optional_texts = st.none() | texts(1, 30)


@given(
    st.builds(
        entry,
        st.integers(0, 1000),
        event_type=st.sampled_from(list(EntryType)),
        source=optional_texts,
        recipient=optional_texts,
        subject_pseudonym=st.none() | st.just("ab" * 32),
        categories=st.lists(st.from_regex(r"[A-Za-z0-9_.*:\-]{1,12}", fullmatch=True), max_size=3),
        purpose=optional_texts,
        basis=optional_texts,
        message_id=optional_texts,
        payload_sha256=st.none() | st.just("0f" * 32),
        outcome=texts(1, 30),
        reason=optional_texts,
        client=optional_texts,
        family_id=optional_texts,
        details=st.dictionaries(
            texts(max_size=10).filter(lambda k: k not in LEAF_KEYS), json_values, max_size=4
        ),
    ),
    st.integers(0, 2**53 - 1),
)
def test_leaf_bytes_written_out_are_the_canonical_leaf(e: Entry, index: int) -> None:
    # leaf_bytes writes the leaf field by field; it must be exactly RFC 8785 of the document.
    assert leaf_bytes(e, index, T0) == rfc8785.dumps(leaf_document(e, index, T0))


@given(st.lists(texts(max_size=8), max_size=4) | st.lists(json_scalars, max_size=3))
def test_categories_column_is_the_leafs_json(categories: list[object]) -> None:
    # The fast path (plain names joined) must give exactly what the leaf's JSON holds.
    expected = json.dumps(categories, separators=(",", ":"), ensure_ascii=False)
    assert categories_json(categories) == expected
    assert categories_json(["a", 'b","c', "d\\", "e\n", "ø"]) == json.dumps(
        ["a", 'b","c', "d\\", "e\n", "ø"], separators=(",", ":"), ensure_ascii=False
    )


def test_leaf_round_trip_and_determinism() -> None:
    e = entry(3, details={"partition": 1, "offset": 99})
    leaf = leaf_bytes(e, 7, T0)
    assert leaf == leaf_bytes(entry(3, details={"offset": 99, "partition": 1}), 7, T0)
    parsed = LogEntry.from_leaf(leaf)
    assert parsed.index == 7 and parsed.recorded_at == T0
    assert parsed.leaf == leaf
    assert Entry.model_validate(parsed.model_dump(exclude={"index", "recorded_at"})) == e
    # The same instant in another zone gives the same bytes.
    oslo = T0.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert leaf_bytes(e, 7, oslo) == leaf


def test_entries_refuse_raw_numbers_and_junk() -> None:
    with pytest.raises(InvalidEntry):
        make_entry(event_type="disclosure", outcome="permitted", subject_pseudonym=person_id(1))
    with pytest.raises(InvalidEntry):
        make_entry(event_type="gossip", outcome="permitted")
    with pytest.raises(InvalidEntry):
        make_entry(event_type="disclosure", outcome="permitted", categories=["a,b"])
    with pytest.raises(InvalidEntry):
        make_entry(event_type="disclosure", outcome="permitted", details={"x": "y" * 5000})
    with pytest.raises(InvalidEntry):  # would make a second '"recipient":' in the leaf
        make_entry(event_type="delivery", outcome="ok", details={"a": [{"recipient": "x"}]})
    assert make_entry(
        event_type=EntryType.CONSENT, outcome="recorded", categories=["*"]
    ).categories == ["*"]


def test_pseudonyms_are_stable_keyed_and_normalised() -> None:
    fnr = person_id(4)
    p = pseudonymise(KEY, fnr)
    assert len(p) == 64 and p == pseudonymise(KEY, fnr)
    assert p != pseudonymise(b"other-key-" * 4, fnr)
    assert p != pseudonymise(KEY, person_id(5))
    assert fnr not in p
    assert pseudonymise(KEY, "010150-1234") == pseudonymise(KEY, "0101501234")
    with pytest.raises(InvalidEntry):
        pseudonymise(b"short", fnr)
    with pytest.raises(InvalidEntry):
        pseudonymise(KEY, "01015O1234")
