"""Hypothesis garbage never raises anything but AdapterError, for every agency and format."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import adapters
from adapters import AdapterError
from tests.helpers.adapters import AGENCIES, PROJECT

CONTENT_TYPES = [
    "application/json",
    "application/x-ndjson",
    "application/fhir+json",
    "application/xml",
    "application/vnd.helhet.plan-update+json",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _try(agency: str, body: bytes, ctype: str) -> None:
    try:
        adapters.translate(agency, body, ctype)
    except AdapterError as exc:
        assert str(exc)
        assert exc.status in (413, 415, 422)


@settings(max_examples=150)
@given(st.sampled_from(AGENCIES), st.binary(max_size=300), st.sampled_from(CONTENT_TYPES))
def test_random_bytes(agency: str, body: bytes, ctype: str) -> None:
    _try(agency, body, ctype)


@settings(max_examples=150)
@given(st.sampled_from(AGENCIES), json_values, st.sampled_from(CONTENT_TYPES))
def test_random_json(agency: str, value: Any, ctype: str) -> None:
    _try(agency, json.dumps(value).encode(), ctype)


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [path] + [p for k, v in doc.items() for p in _leaves(v, (*path, k))]
    if isinstance(doc, list):
        return [path] + [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))]
    return [path]


EXAMPLES = [
    (agency, json.loads(p.read_text(encoding="utf-8")))
    for agency in AGENCIES
    for p in sorted((PROJECT / "adapters" / agency / "examples").glob("*.json"))
]


@settings(max_examples=300)
@given(st.data())
def test_examples_with_one_field_replaced_by_garbage(data: st.DataObject) -> None:
    agency, doc = data.draw(st.sampled_from(EXAMPLES))
    doc = json.loads(json.dumps(doc))
    path = data.draw(st.sampled_from(_leaves(doc)[1:]))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(json_values)
    ctype = "application/fhir+json" if agency == "health" else "application/json"
    _try(agency, json.dumps(doc).encode(), ctype)


@settings(max_examples=150)
@given(st.data())
def test_xml_example_with_attribute_garbage(data: st.DataObject) -> None:
    text = (PROJECT / "adapters/child_welfare/examples/barnevern-v4.xml").read_text(
        encoding="utf-8"
    )
    import re

    attrs = list(re.finditer(r'="([^"]*)"', text))
    match = data.draw(st.sampled_from(attrs))
    junk = data.draw(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"<&'),
            max_size=15,
        )
    )
    body = (text[: match.start(1)] + junk + text[match.end(1) :]).encode()
    _try("child_welfare", body, "application/xml")
