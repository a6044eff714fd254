"""A hardened XML reader: no DTD, no entities, no network, and limits on size and depth.

Built on defusedxml's expat parser with forbid_dtd; namespaces are stripped to local names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from adapters.errors import BodyTooLarge, MalformedBody

DEFAULT_MAX_DEPTH = 32


class _TooDeep(Exception):
    pass


class _Builder(ET.TreeBuilder):
    def __init__(self, max_depth: int) -> None:
        super().__init__()
        self._depth = 0
        self._max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str], /) -> ET.Element:
        self._depth += 1
        if self._depth > self._max_depth:
            raise _TooDeep
        local = {k.rsplit("}", 1)[-1]: v for k, v in attrs.items()}
        return super().start(tag.rsplit("}", 1)[-1], local)

    def end(self, tag: str, /) -> ET.Element:
        self._depth -= 1
        return super().end(tag.rsplit("}", 1)[-1])


def parse_xml(
    agency: str, body: bytes, *, max_bytes: int, max_depth: int = DEFAULT_MAX_DEPTH
) -> ET.Element:
    """Parse `body`; refuse DTDs, entity declarations, external references, excess size/depth."""
    if len(body) > max_bytes:
        raise BodyTooLarge(
            agency, f"a body of at most {max_bytes} bytes", detail=f"got {len(body)}"
        )
    parser: Any = DefusedXMLParser(
        target=_Builder(max_depth), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(bytes(body))
        root: ET.Element = parser.close()
    except DefusedXmlException as exc:
        raise MalformedBody(
            agency,
            "XML without a DTD, entity declarations or external references",
            detail=f"refused {type(exc).__name__}",
        ) from None
    except _TooDeep:
        raise MalformedBody(agency, f"XML nested at most {max_depth} elements deep") from None
    except ET.ParseError as exc:
        raise MalformedBody(agency, "well-formed XML", detail=str(exc)) from None
    except (ValueError, LookupError, RecursionError) as exc:
        raise MalformedBody(agency, "well-formed XML", detail=str(exc)) from None
    return root
