"""The console's languages: gettext catalogues (locale/<lang>/LC_MESSAGES/console.po, the one
place for every translated text) and dates and numbers in the reader's locale (Babel).

Vocabulary (categories, reasons, agencies, …) is translated by context + code, so English has a
catalogue too: `pgettext("category", "health.mental")` -> "Mental health services".
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from consent.rules import TIMEZONES

Language = Literal["nb", "da", "en"]
LANGUAGES: dict[str, str] = {"nb": "Norsk bokmål", "da": "Dansk", "en": "English"}
BABEL_LOCALES: dict[str, str] = {"nb": "nb_NO", "da": "da_DK", "en": "en_GB"}
DOMAIN = "console"

# Vocabulary contexts: each code of these is translated in every catalogue.
VOCABULARIES = (
    "category",
    "agency",
    "agency_kind",
    "reason",
    "event_type",
    "outcome",
    "purpose",
    "role",
    "member_role",
    "evidence",
    "domain",
    "entry_kind",
    "plan_status",
    "plan_state",
    "result",
)


def default_language(jurisdiction: str) -> Language:
    return "da" if jurisdiction == "DK" else "nb"


def parse_language(value: str | None) -> Language | None:
    if value == "nb":
        return "nb"
    if value == "da":
        return "da"
    if value == "en":
        return "en"
    return None


def catalogue_path(language: str) -> resources.abc.Traversable:
    return resources.files("gateway.console") / "locale" / language / "LC_MESSAGES" / "console.po"


@cache
def translations(language: str) -> Translations:
    """The language's catalogue, compiled from its .po file in memory (no .mo files to keep)."""
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=BABEL_LOCALES[language], domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@dataclass(frozen=True)
class Formatter:
    """Dates, numbers and vocabulary in one language and the instance's time zone."""

    language: str
    jurisdiction: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(BABEL_LOCALES[self.language])

    @property
    def tz(self) -> ZoneInfo:
        return TIMEZONES.get(self.jurisdiction, TIMEZONES["NO"])

    @property
    def t(self) -> Translations:
        return translations(self.language)

    def gettext(self, message: str) -> str:
        return str(self.t.gettext(message))

    def word(self, context: str, code: str | None) -> str:
        """A vocabulary code in words; the code itself where the catalogue has none."""
        if not code:
            return ""
        translated = str(self.t.pgettext(context, code))
        return translated

    def words(self, context: str, codes: Iterable[str]) -> str:
        return ", ".join(self.word(context, c) for c in codes)

    def datetime(self, value: dt.datetime | str | None, format: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return str(format_datetime(value, format=format, tzinfo=self.tz, locale=self.locale))

    def date(self, value: dt.date | dt.datetime | str | None, format: str = "long") -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):  # an ISO date (as plan entries keep them) or date-time
            value = (
                dt.datetime.fromisoformat(value)
                if len(value) > 10
                else dt.date.fromisoformat(value)
            )
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        return str(format_date(value, format=format, locale=self.locale))

    def number(self, value: int | float) -> str:
        return str(format_decimal(value, locale=self.locale))

    def local_midnight(self, day: dt.date) -> dt.datetime:
        """The start of `day` in the instance's time zone (periods in forms are local days)."""
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)


def field_message(error: Mapping[str, Any], fmt: Formatter) -> str:
    """A pydantic validation error in the reader's words where it is a common one; otherwise
    the model's own message (identifier checks explain themselves)."""
    kind = str(error.get("type", ""))
    if kind == "too_short":
        return fmt.gettext("Choose at least one.")
    if kind in ("missing", "string_too_short"):
        return fmt.gettext("Fill this in.")
    if kind.startswith("date_"):
        return fmt.gettext("Give a date as YYYY-MM-DD.")
    return str(error.get("msg", "")).removeprefix("Value error, ")
