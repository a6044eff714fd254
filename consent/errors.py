"""Errors of the consent package, one tree under ConsentError.

ConsentError carries `field` (a JSON-pointer-ish location, or None) and `status` (the HTTP
status the gateway answers with in its problem+json):

    ConsentError            500  root; never raised itself
    ├── UnknownConsent      404  no consent (or version) with that id
    ├── AlreadyWithdrawn    409  the consent's latest version is already withdrawn
    ├── InvalidConsent      422  a record, request or configuration the rules cannot accept
    └── UnsupportedFhir     422  a FHIR Consent the engine cannot honour (or not a Consent)
"""

from __future__ import annotations


class ConsentError(Exception):
    """Root of the consent package's errors."""

    status: int = 500
    title: str = "Consent error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class UnknownConsent(ConsentError):
    status = 404
    title = "Unknown consent"


class AlreadyWithdrawn(ConsentError):
    status = 409
    title = "Consent already withdrawn"


class InvalidConsent(ConsentError):
    status = 422
    title = "Invalid consent"


class UnsupportedFhir(ConsentError):
    status = 422
    title = "Unsupported FHIR Consent"
