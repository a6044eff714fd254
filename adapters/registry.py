"""The adapters by agency name, and the one call the gateway makes: translate().

Content types are matched without parameters; the common-schema passthrough is taken for every
agency; application/x-ndjson for every JSON format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from adapters._common import check_body
from adapters.base import DEFAULT_MAX_BYTES, PLAN_UPDATE_JSON, Adapter, media_type
from adapters.child_welfare import ChildWelfareAdapter
from adapters.errors import UnknownAgency, UnsupportedContentType
from adapters.health import HealthAdapter
from adapters.housing import HousingAdapter
from adapters.nav import NavAdapter
from adapters.passthrough import translate_plan_updates
from adapters.school import SchoolAdapter
from schemas import Agency, PlanUpdate

_ADAPTERS: dict[str, Adapter] = {}


def _default_adapters() -> dict[str, Adapter]:
    return {
        Agency.NAV.value: NavAdapter(),
        Agency.SCHOOL.value: SchoolAdapter(),
        Agency.HEALTH.value: HealthAdapter(),
        Agency.CHILD_WELFARE.value: ChildWelfareAdapter(),
        Agency.HOUSING.value: HousingAdapter(),
    }


def adapters() -> Mapping[str, Adapter]:
    if not _ADAPTERS:
        _ADAPTERS.update(_default_adapters())
    return _ADAPTERS


def register(adapter: Adapter) -> None:
    """Replace an agency's adapter (e.g. a health adapter with the municipality's mapping)."""
    adapters()
    _ADAPTERS[adapter.agency.value] = adapter


def get_adapter(agency: str) -> Adapter:
    try:
        return adapters()[agency]
    except (KeyError, TypeError):
        raise UnknownAgency(
            str(agency), "one of " + ", ".join(sorted(adapters())), detail=f"got {agency!r}"
        ) from None


def supported_content_types(agency: str) -> tuple[str, ...]:
    """The media types the agency may send (its native ones, then the passthrough)."""
    return (*get_adapter(agency).content_types, PLAN_UPDATE_JSON)


def translate(
    agency: str,
    body: bytes,
    content_type: str,
    *,
    received_at: dt.datetime | None = None,
    max_bytes: int | None = None,
) -> list[PlanUpdate]:
    """Translate one body from `agency`; raises an AdapterError for anything it refuses.

    `max_bytes` (default: each adapter's own limit, 10 MB unless configured) caps the body.
    """
    adapter = get_adapter(agency)
    if max_bytes is not None:
        check_body(agency, body, max_bytes)
    media = media_type(content_type)
    if media == PLAN_UPDATE_JSON:
        return translate_plan_updates(
            agency,
            body,
            "application/json",
            received_at=received_at,
            max_bytes=max_bytes or DEFAULT_MAX_BYTES,
        )
    if media not in adapter.content_types:
        raise UnsupportedContentType(
            agency,
            "one of " + ", ".join(supported_content_types(agency)),
            detail=f"got {content_type!r}",
        )
    return adapter.translate(body, content_type, received_at=received_at)
