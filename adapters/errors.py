"""Errors of the adapters: one tree rooted at AdapterError.

Each error names the agency, the record ("record 3", a native id), the location of the offending
field (a JSON Pointer such as "/aktivitetskort/personIdent" or an XPath such as
"/Barnevern/Sak/Personalia/@Fodselsnummer") and what was expected; `status` is the HTTP status
the gateway answers with (415 UnsupportedContentType, 413 BodyTooLarge, 422 everything else).

    AdapterError
    ├── UnsupportedContentType   415  the agency does not take this content type
    ├── BodyTooLarge             413  the body exceeds the configured size limit
    ├── UnknownAgency            422  no adapter is registered under that name
    ├── MalformedBody            422  not parseable: bad JSON/XML, truncated, a DTD, too deep
    └── InvalidRecord            422  a field is missing, has the wrong type or an unknown code
        └── InvalidIdentifier    422  a person identifier is missing, fails its check, or is
                                      only NAV's internal aktorId
"""

from __future__ import annotations


class AdapterError(Exception):
    """A body the adapter refuses; nothing of it is translated."""

    status: int = 422
    title: str = "The record could not be translated"

    def __init__(
        self,
        agency: str,
        expected: str,
        *,
        record: str | None = None,
        pointer: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.agency = agency
        self.record = record
        self.pointer = pointer
        self.expected = expected
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        where = [f"agency {self.agency}"]
        if self.record:
            where.append(self.record)
        if self.pointer:
            where.append(f"at {self.pointer}")
        text = f"{self.title} ({', '.join(where)}): expected {self.expected}"
        if self.detail:
            text += f"; {self.detail}"
        return text

    def with_record(self, record: str) -> AdapterError:
        """Set the record label if the raiser did not know it (returns self)."""
        if self.record is None:
            self.record = record
            self.args = (self._message(),)
        return self


class UnsupportedContentType(AdapterError):
    status = 415
    title = "Unsupported content type"


class BodyTooLarge(AdapterError):
    status = 413
    title = "Body too large"


class UnknownAgency(AdapterError):
    title = "Unknown agency"


class MalformedBody(AdapterError):
    title = "Malformed body"


class InvalidRecord(AdapterError):
    title = "Invalid record"


class InvalidIdentifier(InvalidRecord):
    title = "Invalid person identifier"
