"""The demo's family plans: for some families the coordinator writes goals, measures from several
agencies and a review meeting over the HTTP API; each change and each member's overview goes
out under consent; the family's own copy is written beside the instance.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.demo.municipality import DemoFamily

PLAN_FAMILIES = 6
MEASURES = {
    "nav": "Arbeidstrening tre dager i uka",
    "school": "Leksehjelp to ettermiddager i uka",
    "health": "Samtaler på helsestasjonen",
    "child_welfare": "Foreldreveiledning (ICDP)",
    "housing": "Hjelp til å søke kommunal bolig",
}


@dataclass
class PlanStats:
    plans: int = 0
    entries: int = 0
    overview_routes: Counter[str] = field(default_factory=Counter)  # disclosed | withheld
    copies: list[Path] = field(default_factory=list)


def _post(http: httpx.Client, path: str, body: dict[str, Any], auth: dict[str, str]) -> Any:
    response = http.post(path, json=body, headers=auth)
    response.raise_for_status()
    return response.json()


def _write_plan(
    http: httpx.Client, family: DemoFamily, auth: dict[str, str], today: dt.date
) -> dict[str, Any]:
    base = f"/v1/plans/{family.family_id}"
    adult = next(m for m in family.members if m.role != "child")
    child = next((m for m in family.members if m.role == "child"), adult)
    goals = [
        _post(
            http,
            f"{base}/goals",
            {
                "subject": adult.id,
                "title": "Vi vil ha en fast inntekt og en rolig hverdag",
                "due": (today + dt.timedelta(days=180)).isoformat(),
            },
            auth,
        )
    ]
    if child is not adult:
        goals.append(
            _post(
                http,
                f"{base}/goals",
                {"subject": child.id, "title": "Jeg vil trives og ha venner på skolen"},
                auth,
            )
        )
    for n, agency in enumerate(family.team[:3]):
        _post(
            http,
            f"{base}/measures",
            {
                "subject": (adult if n % 2 == 0 else child).id,
                "title": MEASURES[agency],
                "description": "Avtalt i teammøtet; oppfølging hver fjortende dag.",
                "responsible": {"agency": agency, "unit": f"{agency} (demo)"},
                "period": {"start": today.isoformat()},
                "due": (today + dt.timedelta(days=120)).isoformat(),
                "status": "in_progress",
            },
            auth,
        )
    _post(
        http,
        f"{base}/evaluations",
        {"goal_id": goals[0]["entry_id"], "result": "partly", "text": "Godt i gang."},
        auth,
    )
    meeting: dict[str, Any] = _post(
        http,
        f"{base}/meetings",
        {
            "date": (today + dt.timedelta(days=42)).isoformat(),
            "participants": family.team[:2],
            "evaluated": [g["entry_id"] for g in goals],
        },
        auth,
    )
    return meeting


def record_plans(
    http: httpx.Client, families: list[DemoFamily], token: str, directory: Path
) -> PlanStats:
    """Plans for the first families with a team of two or more; the family's copy of each."""
    auth = {"Authorization": f"Bearer {token}"}
    stats = PlanStats()
    today = dt.date.today()
    chosen = [f for f in families if len(f.team) >= 2][:PLAN_FAMILIES]
    for family in chosen:
        last = _write_plan(http, family, auth, today)
        stats.plans += 1
        plan = http.get(f"/v1/plans/{family.family_id}", headers=auth).json()
        stats.entries += sum(len(plan[k]) for k in ("goals", "measures", "meetings", "evaluations"))
        for route in last["overviews"]:
            stats.overview_routes["disclosed" if route["disclosed"] else "withheld"] += 1
        copy = http.post(f"/v1/plans/{family.family_id}/family-copy", json={}, headers=auth)
        copy.raise_for_status()
        path = directory / f"familiens-plan-{family.family_id[:8]}.html"
        path.write_text(copy.text, encoding="utf-8")
        stats.copies.append(path)
    return stats


def describe_overview(agency: str, items: list[dict[str, Any]]) -> list[str]:
    """An overview a member received, as lines of the demo's summary."""
    goals = [i["title"] for i in items if i["kind"] == "goal"]
    measures: Counter[str] = Counter(
        i["responsible"]["agency"] for i in items if i["kind"] == "measure"
    )
    meetings = sorted({i["values"]["date"] for i in items if i["kind"] == "event"})
    records = sorted({i["values"]["source"] for i in items if i["kind"] == "observation"})
    return [
        f"  an overview reaching {agency}:",
        f"    goals:          {len(goals)} ({'; '.join(goals)})",
        "    measures:       "
        + (", ".join(f"{a} {n}" for a, n in sorted(measures.items())) or "none it may see"),
        f"    meetings:       {', '.join(meetings) or 'none it may see'}",
        f"    records sent to it, by agency: {', '.join(records) or 'none'}",
    ]
