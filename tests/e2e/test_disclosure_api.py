"""The privacy officer's HTTP API over a real server on both databases: queries and paging,
proofs that verify against signed checkpoints, the access report and its exports, every read
and every refusal of access in the log, and the scheduled checkpointer."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.R4B.bundle import Bundle as BundleR4

from audit import merkle
from audit.checkpoint import verify_checkpoint
from audit.errors import InvalidProof
from tests.helpers.gateway import Gateway, running_gateway
from tests.helpers.records import nav_card

AGENCY_NAMES = {
    "nav": "NAV Testby",
    "school": "Testby skole",
    "health": "Testby helsestasjon",
}
NAMES_TOML = "".join(f'[agencies.{code}]\nname = "{name}"\n' for code, name in AGENCY_NAMES.items())
PROBLEM = "application/problem+json"


@pytest.fixture
def gateway_toml() -> str:
    return NAMES_TOML


def family_with_consent(gw: Gateway, cards: int = 1) -> str:
    """A 19-year-old whose NAV data may go to the school, not to health; `cards` NAV records."""
    person, born = gw.person(19)
    gw.enrol(
        [{"id": person, "role": "child", "birth_date": born.isoformat()}],
        ["nav", "school", "health"],
    )
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    for n in range(cards):
        card = nav_card(person, f"0e9d8c7b-6a5f-4e3d-8c2b-{gw.rng.randrange(16**12):012x}")
        answer = gw.post("nav", card, "application/json", **{"Idempotency-Key": f"{person}-{n}"})
        assert answer.status_code == 202, answer.text
    return person


def officer(gw: Gateway) -> httpx.Client:
    return gw.client("privacy_officer")


def get_json(client: httpx.Client, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def accesses(gw: Gateway, outcome: str = "read") -> list[Any]:
    return [e for e in gw.log_entries() if e.event_type.value == "access" and e.outcome == outcome]


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def checkpoint_of(gw: Gateway, note: str) -> Any:
    return verify_checkpoint(note, gw.instance.signing_key.public_key(), gw.settings.origin)


# --- queries --------------------------------------------------------------------------------


def test_filters_paging_and_csv(gw: Gateway) -> None:
    person = family_with_consent(gw, cards=3)
    other = family_with_consent(gw, cards=1)
    pseudonym = gw.services.pseudonym(person)
    logged = gw.log_entries()
    with officer(gw) as c:
        by_subject = get_json(c, "/v1/disclosures", subject=person, limit=500)
        assert by_subject["next_cursor"] is None
        expected = [e.index for e in reversed(logged) if e.subject_pseudonym == pseudonym]
        assert [e["index"] for e in by_subject["entries"]] == expected  # newest first
        assert {e["event_type"] for e in by_subject["entries"]} == {
            "consent",
            "disclosure",
            "refusal",
        }
        assert person not in json.dumps(by_subject) and other not in json.dumps(by_subject)

        refused = get_json(c, "/v1/disclosures", type="refusal", recipient="health")
        assert [e["index"] for e in refused["entries"]] == [
            e.index
            for e in reversed(logged)
            if e.event_type.value == "refusal" and e.recipient == "health"
        ]
        assert len(refused["entries"]) == 4  # 3 + 1 cards, each withheld from health
        assert all(e["reason"] == "out_of_scope" for e in refused["entries"])

        both = get_json(c, "/v1/disclosures", source="nav", category="employment", outcome="queued")
        assert {e["recipient"] for e in both["entries"]} == {"school"}
        assert len(both["entries"]) == 4

        # cursor paging: pages of 2 add up to the whole, in order, without repeats
        seen: list[int] = []
        page = get_json(c, "/v1/disclosures", type="disclosure", limit=2)
        pages = 1
        while page["next_cursor"]:
            seen += [e["index"] for e in page["entries"]]
            page = get_json(c, "/v1/disclosures", cursor=page["next_cursor"], type="disclosure")
            pages += 1
        seen += [e["index"] for e in page["entries"]]
        assert seen == [e["index"] for e in both["entries"]] and pages >= 2

        # period: from is inclusive, to exclusive
        cut = logged[len(logged) // 2].recorded_at
        after = get_json(c, "/v1/disclosures", **{"from": cut.isoformat(), "limit": 500})
        before = get_json(c, "/v1/disclosures", to=cut.isoformat(), limit=500)
        assert {e["index"] for e in after["entries"]} >= {
            e.index for e in logged if e.recorded_at >= cut
        }
        assert {e["index"] for e in before["entries"]} == {
            e.index for e in logged if e.recorded_at < cut
        }

        about = [e.index for e in gw.log_entries() if e.subject_pseudonym == pseudonym]
        export = c.get("/v1/disclosures", params={"subject": person, "format": "csv"})
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [int(r["index"]) for r in rows] == about  # oldest first, up to the export
        school = [r for r in rows if r["recipient"] == "school"]
        assert school and all(r["recipient_name"] == "Testby skole" for r in school)
        assert person not in export.text

    # one access entry per read, by this client, naming what was read, never the number
    reads = accesses(gw)
    assert len(reads) == 6 + pages
    assert {e.client for e in reads} == {"dpo"}
    assert {e.details["read"] for e in reads} == {"/v1/disclosures"}
    with_subject = [e for e in reads if e.subject_pseudonym == pseudonym]
    assert len(with_subject) == 2  # the subject query and the subject export
    assert all(person not in json.dumps(e.model_dump(mode="json")) for e in reads)
    assert reads[1].details["query"] == "recipient=health&type=refusal"
    assert reads[1].details["returned"] == 4


def test_bad_parameters_are_refused_naming_them(gw: Gateway) -> None:
    person = family_with_consent(gw)
    bad_number = person[:-1] + str((int(person[-1]) + 1) % 10)
    cases = [
        ("/v1/disclosures", {"subject": bad_number}, "query:subject"),
        ("/v1/disclosures", {"type": "gossip"}, "query:type"),
        ("/v1/disclosures", {"from": "2026-01-01T00:00:00"}, "query:from"),  # no time zone
        ("/v1/disclosures", {"to": "yesterday"}, "query:to"),
        (
            "/v1/disclosures",
            {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "query:to",
        ),
        ("/v1/disclosures", {"limit": "501"}, "query:limit"),
        ("/v1/disclosures", {"limit": "0"}, "query:limit"),
        ("/v1/disclosures", {"cursor": "not-a-cursor"}, "query:cursor"),
        ("/v1/disclosures", {"category": "health mental"}, "query:category"),
        ("/v1/disclosures", {"category": "health.dental"}, "query:category"),
        ("/v1/disclosures", {"outcome": "permitted"}, "query:outcome"),  # the log says queued
        ("/v1/disclosures", {"outcome": "denied "}, "query:outcome"),
        ("/v1/disclosures", {"recipient": "police"}, "query:recipient"),
        ("/v1/disclosures", {"source": "Nav"}, "query:source"),
        ("/v1/disclosures", {"format": "xlsx"}, "query:format"),
        ("/v1/disclosures", {"format": "csv", "limit": "5"}, "query:limit"),
        ("/v1/disclosures/-1", {}, "path:index"),
        ("/v1/disclosures/0", {"size": "0"}, "query:size"),
        ("/v1/disclosures/2", {"size": "2"}, "query:size"),
        (f"/v1/subjects/{bad_number}/disclosures", {}, "path:person"),
        (f"/v1/subjects/{person}/disclosures", {"format": "pdf"}, "query:format"),
        ("/v1/log/consistency", {}, "query:old"),
        ("/v1/log/consistency", {"old": "3", "new": "2"}, "query:old"),
        ("/v1/log/consistency", {"old": "0", "new": "100000"}, "query:new"),
    ]
    before = len(accesses(gw))
    with officer(gw) as c:
        for url, params, pointer in cases:
            response = c.get(url, params=params)
            assert response.status_code == 422, (url, params, response.text)
            assert response.headers["content-type"] == PROBLEM
            problem = response.json()
            assert [e["pointer"] for e in problem["errors"]] == [pointer], (url, params, problem)
            # the number is never echoed back (beyond `instance`, the path the caller sent)
            assert bad_number not in json.dumps(problem["errors"]) + problem["detail"]
        missing = c.get("/v1/disclosures/100000")
    assert missing.status_code == 404 and missing.json()["errors"][0]["pointer"] == "path:index"
    assert len(accesses(gw)) == before  # refused requests read nothing


# --- proofs ---------------------------------------------------------------------------------


def test_inclusion_and_consistency_proofs_verify(gw: Gateway) -> None:
    family_with_consent(gw, cards=2)
    with gw.client("operator") as ops:
        first = ops.post("/v1/log/checkpoint")
        assert first.status_code == 201 and first.headers["content-type"].startswith("text/plain")
        again = ops.post("/v1/log/checkpoint")  # nothing appended since: the same checkpoint
        assert again.status_code == 200 and again.text == first.text
    public = httpx.get(gw.base_url + "/v1/log/checkpoint")  # public: no token
    assert public.status_code == 200 and public.text == first.text
    cp1 = checkpoint_of(gw, public.text)
    assert cp1.size == len(gw.log_entries())

    with officer(gw) as c:
        for index in range(cp1.size):
            answer = get_json(c, f"/v1/disclosures/{index}")
            proof = answer["inclusion_proof"]
            assert answer["checkpoint"] == public.text and proof["tree_size"] == cp1.size
            assert answer["entry"]["index"] == index
            leaf_hash = hashlib.sha256(b"\x00" + b64(answer["leaf"])).digest()
            assert leaf_hash == b64(proof["leaf_hash"])
            hashes = [b64(h) for h in proof["hashes"]]
            merkle.verify_inclusion(index, cp1.size, leaf_hash, hashes, cp1.root)
            if hashes:  # a proof replayed for another entry is refused
                with pytest.raises(InvalidProof):
                    merkle.verify_inclusion(
                        (index + 1) % cp1.size, cp1.size, leaf_hash, hashes, cp1.root
                    )
        # the reads above were logged; the newest entry is beyond the checkpoint
        newest = len(gw.log_entries()) - 1
        beyond = get_json(c, f"/v1/disclosures/{newest}")
        assert beyond["checkpoint"] is None and beyond["entry"]["event_type"] == "access"
        proof = beyond["inclusion_proof"]
        merkle.verify_inclusion(
            newest,
            proof["tree_size"],
            b64(proof["leaf_hash"]),
            [b64(h) for h in proof["hashes"]],
            b64(beyond["root"]),
        )
        # against an explicit, older size (the first checkpoint's)
        pinned = get_json(c, "/v1/disclosures/1", size=cp1.size)
        assert pinned["checkpoint"] == public.text

    family_with_consent(gw)
    with gw.client("privacy_officer") as c:
        second = c.post("/v1/log/checkpoint")
        assert second.status_code == 201
        cp2 = checkpoint_of(gw, second.text)
        assert cp2.size > cp1.size
        consistency = get_json(c, "/v1/log/consistency", old=cp1.size, new=cp2.size)
        default_new = get_json(c, "/v1/log/consistency", old=cp1.size)  # latest checkpoint
    assert default_new["hashes"] == consistency["hashes"] and default_new["new"] == cp2.size
    hashes = [b64(h) for h in consistency["hashes"]]
    merkle.verify_consistency(cp1.size, cp2.size, hashes, cp1.root, cp2.root)
    with pytest.raises(InvalidProof):  # a doctored proof does not verify
        merkle.verify_consistency(cp1.size, cp2.size, hashes[::-1], cp1.root, cp2.root)
    assert b64(consistency["old_root"]) == cp1.root and b64(consistency["new_root"]) == cp2.root


# --- the access report ----------------------------------------------------------------------


def test_subject_report_names_recipients_and_exports(gw: Gateway) -> None:
    person = family_with_consent(gw, cards=2)
    bystander = family_with_consent(gw)
    assert gw.relay().run_once().delivered == 3
    pseudonym = gw.services.pseudonym(person)
    url = f"/v1/subjects/{person}/disclosures"
    with officer(gw) as c:
        report = get_json(c, url)
        assert report["subject_pseudonym"] == pseudonym
        assert report["recipients"] == ["Testby skole"]
        assert len(report["disclosures"]) == 2
        for line in report["disclosures"]:
            assert line["recipient_name"] == "Testby skole" and line["source_name"] == "NAV Testby"
            assert line["categories"] == ["employment"] and line["purpose"] == "family_plan"
            assert line["basis"] and line["time"] and line["delivered_at"]
        refused = report["not_disclosed"]
        assert [(r["recipient_name"], r["reason"]) for r in refused] == [
            ("Testby helsestasjon", "out_of_scope")
        ] * 2
        assert len(report["consents"]) == 1 and report["accesses"] == []

        again = get_json(c, url)  # the first report is now in the person's log
        assert [(a["event_type"], a["outcome"]) for a in again["accesses"]] == [("access", "read")]

        exported = c.get(url, params={"format": "csv"})
        assert exported.headers["content-type"].startswith("text/csv")
        assert "attachment" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        r4 = c.get(url, params={"format": "fhir-r4"})
        r5 = c.get(url, params={"format": "fhir-r5"})
    own = [e for e in gw.log_entries() if e.subject_pseudonym == pseudonym]
    # an export holds every entry about the person logged before the export itself
    assert [int(r["index"]) for r in rows] == [e.index for e in own][: len(rows)]
    assert {r["event_type"] for r in rows} == {
        "consent",
        "disclosure",
        "refusal",
        "delivery",
        "access",
    }
    assert {r["subject_pseudonym"] for r in rows} == {pseudonym}
    for response, model in ((r4, BundleR4), (r5, BundleR5)):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+json")
        bundle = model.model_validate(response.json())
        events = [entry.resource for entry in bundle.entry]
        assert {e.get_resource_type() for e in events} == {"AuditEvent"}
        assert len(events) >= len(rows)
        shown = json.dumps(response.json())
        assert "Testby skole" in shown and pseudonym in shown
    for text in (json.dumps(report), exported.text, r4.text, r5.text):
        assert person not in text and bystander not in text
        assert gw.services.pseudonym(bystander) not in text


# --- access control and its log -------------------------------------------------------------


def test_reads_and_refusals_are_logged(gw: Gateway) -> None:
    person = family_with_consent(gw)
    with gw.client("operator") as ops:
        assert ops.post("/v1/log/checkpoint").status_code == 201
    reads = len(accesses(gw))
    with officer(gw) as c:
        for url, params in [
            ("/v1/disclosures", {}),
            ("/v1/disclosures/0", {}),
            (f"/v1/subjects/{person}/disclosures", {}),
            (f"/v1/subjects/{person}/disclosures", {"format": "fhir-r5"}),
            ("/v1/log/consistency", {"old": 1}),
        ]:
            assert c.get(url, params=params).status_code == 200
            reads += 1
            assert len(accesses(gw)) == reads, url
    assert httpx.get(gw.base_url + "/v1/log/checkpoint").status_code == 200
    assert len(accesses(gw)) == reads  # the public checkpoint is no read of the log

    refused = [
        ("coordinator", "GET", "/v1/disclosures", 403),
        ("nav", "GET", f"/v1/subjects/{person}/disclosures", 403),
        ("operator", "GET", "/v1/disclosures/0", 403),
        ("coordinator", "GET", "/v1/log/consistency?old=0", 403),
        ("nav", "POST", "/v1/log/checkpoint", 403),
    ]
    for who, method, url, status in refused:
        with gw.client(who) as c:
            response = c.request(method, url)
        assert response.status_code == status and response.headers["content-type"] == PROBLEM
    bogus = "hh_" + "x" * 43
    no_token = httpx.get(gw.base_url + "/v1/disclosures")
    bad_token = httpx.get(
        gw.base_url + "/v1/disclosures", headers={"Authorization": f"Bearer {bogus}"}
    )
    assert no_token.status_code == bad_token.status_code == 401
    assert no_token.headers["www-authenticate"].startswith("Bearer")

    denied = accesses(gw, "denied")
    assert [(e.client, e.details["status"], e.details["route"]) for e in denied] == [
        ("coordinator", 403, "/v1/disclosures"),
        ("nav-system", 403, "/v1/subjects/{person}/disclosures"),
        ("ops", 403, "/v1/disclosures/{index}"),
        ("coordinator", 403, "/v1/log/consistency"),
        ("nav-system", 403, "/v1/log/checkpoint"),
        ("unknown", 401, "/v1/disclosures"),
        ("unknown", 401, "/v1/disclosures"),
    ]
    assert [e.details.get("role") for e in denied[:5]] == [
        "coordinator",
        "agency",
        "operator",
        "coordinator",
        "agency",
    ]
    assert len(accesses(gw)) == reads  # refusals read nothing
    leaves = json.dumps([e.model_dump(mode="json") for e in gw.log_entries()])
    assert bogus not in leaves and person not in leaves
    for token in gw.tokens.values():
        assert token not in leaves


# --- scheduled checkpoints ------------------------------------------------------------------


def wait_for_checkpoint(gw: Gateway, size_at_least: int, deadline_s: float = 20.0) -> str:
    deadline = time.monotonic() + deadline_s
    while True:
        response = httpx.get(gw.base_url + "/v1/log/checkpoint")
        if response.status_code == 200 and checkpoint_of(gw, response.text).size >= size_at_least:
            return response.text
        assert time.monotonic() < deadline, f"no checkpoint of size >= {size_at_least}"
        time.sleep(0.2)


def test_scheduled_checkpoints(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> None:
    extra = "checkpoint_interval_seconds = 1\n" + NAMES_TOML
    with running_gateway(tmp_path, database_url, kafka_bootstrap, extra) as gw:
        empty = httpx.get(gw.base_url + "/v1/log/checkpoint")  # signed at start-up, size 0
        assert empty.status_code == 200 and checkpoint_of(gw, empty.text).size == 0
        assert checkpoint_of(gw, empty.text).root == hashlib.sha256(b"").digest()  # RFC 9162
        family_with_consent(gw)
        first = checkpoint_of(gw, wait_for_checkpoint(gw, len(gw.log_entries())))
        family_with_consent(gw)
        size = len(gw.log_entries())
        second = checkpoint_of(gw, wait_for_checkpoint(gw, size))
        assert second.size >= size > first.size
        with officer(gw) as c:
            proof = get_json(c, "/v1/log/consistency", old=first.size, new=second.size)
        merkle.verify_consistency(
            first.size, second.size, [b64(h) for h in proof["hashes"]], first.root, second.root
        )
        assert gw.app.state.checkpointer.issued >= 2
        assert gw.app.state.checkpointer.last_error is None
        ready = httpx.get(gw.base_url + "/readyz").json()
        assert ready["checks"]["checkpoints"] == "ok"
