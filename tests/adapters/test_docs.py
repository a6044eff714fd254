"""Each adapter's page shows a complete example of every record type it translates, and each
example is byte for byte a file under adapters/<agency>/examples/ that translates."""

from __future__ import annotations

import re

import pytest

from adapters import translate
from adapters.registry import get_adapter
from tests.helpers.adapters import AGENCIES, PROJECT, RECEIVED, content_type, examples

EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)\n```", re.S)


def _record_types(agency: str, path_text: str) -> set[str]:
    path = PROJECT / path_text
    updates = translate(agency, path.read_bytes(), content_type(agency, path), received_at=RECEIVED)
    return {u.source.record_type for u in updates}


@pytest.mark.parametrize("agency", AGENCIES)
def test_the_page_shows_every_record_type_with_a_tested_example(agency: str) -> None:
    page = (PROJECT / "docs" / "adapters" / f"{agency}.md").read_text(encoding="utf-8")
    shown = EXAMPLE.findall(page)
    assert shown, f"docs/adapters/{agency}.md has no complete example"
    covered: set[str] = set()
    for path_text, body in shown:
        assert path_text.startswith(f"adapters/{agency}/examples/"), path_text
        assert (PROJECT / path_text).read_text(encoding="utf-8").rstrip("\n") == body, path_text
        covered |= _record_types(agency, path_text)
    assert covered == set(get_adapter(agency).record_types)


@pytest.mark.parametrize("agency", AGENCIES)
def test_record_types_are_declared_truthfully(agency: str) -> None:
    produced: set[str] = set()
    for owner, path in examples():
        if owner == agency:
            produced |= _record_types(agency, str(path.relative_to(PROJECT)))
    assert produced == set(get_adapter(agency).record_types)
