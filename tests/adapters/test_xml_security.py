"""The XML reader refuses entity-expansion bombs, external entities, DTDs and deep nesting."""

from __future__ import annotations

import pytest

import adapters
from adapters import BodyTooLarge, MalformedBody
from adapters.child_welfare import ChildWelfareAdapter

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Barnevern Id="x" DatoUttrekk="2025-01-01T00:00:00Z"><Fagsystem Navn="&lol9;"/></Barnevern>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE Barnevern [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Barnevern Id="x" DatoUttrekk="2025-01-01T00:00:00Z"><Fagsystem Navn="&xxe;"/></Barnevern>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Barnevern SYSTEM "http://127.0.0.1:9/evil.dtd">
<Barnevern/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]><r/>"""


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["bomb", "xxe", "dtd", "param"],
)
def test_dtds_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedBody) as info:
        adapters.translate("child_welfare", body, "application/xml")
    assert "DTD" in str(info.value)
    assert "passwd" not in str(info.value)


def test_undeclared_entity_is_malformed() -> None:
    with pytest.raises(MalformedBody):
        adapters.translate("child_welfare", b"<Barnevern>&x;</Barnevern>", "text/xml")


def test_depth_is_limited() -> None:
    body = b"<Barnevern>" + b"<a>" * 100 + b"</a>" * 100 + b"</Barnevern>"
    with pytest.raises(MalformedBody) as info:
        ChildWelfareAdapter(max_depth=16).translate(body, "application/xml")
    assert "16" in str(info.value)


def test_size_is_limited() -> None:
    with pytest.raises(BodyTooLarge) as info:
        ChildWelfareAdapter(max_bytes=100).translate(
            b"<Barnevern>" + b" " * 200 + b"</Barnevern>", "application/xml"
        )
    assert info.value.status == 413
