"""Synthetic payloads and a key set for sealing and opening envelopes in tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.envelope.keyring import DataKeyRing
from gateway.envelope.sealing import seal_message
from recipient.opening import DataKeyCache, open_envelope
from schemas import Category, PlanUpdate, WithdrawalNotice
from schemas.identifiers import classic_check_digits

NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def synthetic_fnr(seed: int) -> str:
    """A synthetic Norwegian number (month + 40) with valid check digits."""
    for n in range(seed, seed + 1000):
        day = 1 + n % 28
        month = 41 + (n // 28) % 12
        first_nine = f"{day:02d}{month:02d}{(n // 7) % 100:02d}{100 + n % 400:03d}"
        digits = classic_check_digits(first_nine)
        if digits is not None:
            return first_nine + digits
    raise AssertionError("no synthetic number found")


def plan_update(n_items: int = 3, seed: int = 0, description: str = "") -> dict[str, Any]:
    """The JSON of a synthetic PlanUpdate from NAV."""
    items = [
        {
            "item_id": f"item-{seed}-{i}",
            "subject": synthetic_fnr(seed * 31 + i),
            "kind": "measure",
            "category": "employment",
            "title": f"Arbeidstrening {i}",
            "description": description or "Avtalt arbeidstrening tre dager i uka.",
            "status": "in_progress",
            "period": {"start": "2026-02-01", "end": "2026-06-30"},
            "responsible": {"agency": "nav", "unit": "NAV Grünerløkka"},
            "values": {"hours_per_week": 12, "ratio": 0.5, "tags": ["a", "ø"]},
        }
        for i in range(n_items)
    ]
    update = PlanUpdate.model_validate(
        {
            "schema": "helhet.plan-update/1",
            "update_id": f"upd-{seed}",
            "source": {
                "agency": "nav",
                "system": "aktivitetsplan",
                "record_type": "aktivitetskort",
                "record_id": f"rec-{seed}",
                "received_at": "2026-03-01T09:00:00+01:00",
            },
            "items": items,
        }
    )
    return update.to_json_dict()


def withdrawal() -> dict[str, Any]:
    notice = WithdrawalNotice(
        notice_id="notice-1",
        consent_id="consent-7",
        version=3,
        subject=synthetic_fnr(5),
        categories=[Category.HEALTH_MENTAL, Category.EMPLOYMENT],
        withdrawn_at=NOW,
    )
    return notice.model_dump(mode="json", by_alias=True, exclude_none=True)


class Keys:
    def __init__(self) -> None:
        self.signing = Ed25519PrivateKey.generate()
        self.recipient = X25519PrivateKey.generate()
        self.keyring = DataKeyRing()

    def seal(self, payload: Any, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "message_id": str(uuid.uuid4()),
            "disclosure_index": 17,
            "created_at": NOW,
            "municipality": "0301",
            "source": "nav",
            "recipient": "school",
            "family_id": "fam-1",
            "recipient_public_key": self.recipient.public_key(),
            "signing_key": self.signing,
            "keyring": self.keyring,
        }
        fields.update(overrides)
        return seal_message(payload, **fields).envelope

    def open(self, envelope: Any, **overrides: Any) -> Any:
        fields: dict[str, Any] = {
            "recipient_private_key": self.recipient,
            "gateway_public_keys": self.signing.public_key(),
            "expected_recipient": "school",
            "cache": DataKeyCache(),
        }
        fields.update(overrides)
        return open_envelope(envelope, **fields)
