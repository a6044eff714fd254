"""GET /metrics: the operator sees records, routes, the outbox backlog and the log size."""

from __future__ import annotations

from tests.helpers.gateway import Gateway
from tests.helpers.records import nav_card, young_person_family


def _metrics(gw: Gateway) -> dict[str, float]:
    with gw.client("operator") as c:
        response = c.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_follow_the_exchange(gw: Gateway) -> None:
    person, _ = young_person_family(gw, ["nav", "school", "health"])
    gw.consent(
        subject=person,
        given_by=[person],
        sources=["nav"],
        recipients=["school"],
        categories=["employment"],
    )
    assert gw.post("nav", nav_card(person), "application/json").status_code == 202
    assert gw.post("nav", b"{", "application/json").status_code == 422
    before = _metrics(gw)
    assert before['helhet_records_accepted_total{agency="nav"}'] == 1
    assert before['helhet_records_refused_total{agency="nav",status="422"}'] == 1
    assert before['helhet_routes_total{outcome="disclosed",recipient="school"}'] == 1
    assert before['helhet_routes_total{outcome="withheld",recipient="health"}'] == 1
    assert before['helhet_outbox_messages{recipient="school",status="pending"}'] == 1
    gw.relay().run_once()
    after = _metrics(gw)
    assert after['helhet_outbox_messages{recipient="school",status="delivered"}'] == 1
    assert 'helhet_outbox_messages{recipient="school",status="pending"}' not in after
    assert after["helhet_disclosure_log_entries"] == len(gw.log_entries())
    assert after["helhet_consents"] == 1
    with gw.client("coordinator") as c:
        assert c.get("/metrics").status_code == 403
