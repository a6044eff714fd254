"""Console sessions: idle and absolute timeouts, CSRF tokens, what a session remembers."""

from __future__ import annotations

from gateway.api.clients import Principal, Role
from gateway.console.sessions import REMEMBERED_MAX, SessionStore

PERSON = Principal("c1", "anne", Role.PRIVACY_OFFICER, None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_timeout_ends_a_session_and_use_keeps_it_alive() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, max_s=3600, clock=clock)
    session = store.open(PERSON)
    clock.now += 59
    assert store.get(session.id) is session  # used: its idle clock restarts
    clock.now += 59
    assert store.get(session.id) is session
    clock.now += 61
    assert store.get(session.id) is None
    assert store.get(session.id) is None  # gone for good


def test_absolute_timeout_ends_even_a_busy_session() -> None:
    clock = Clock()
    store = SessionStore(idle_s=60, max_s=300, clock=clock)
    session = store.open(PERSON)
    for _ in range(5):
        clock.now += 50
        assert store.get(session.id) is session
    clock.now += 51
    assert store.get(session.id) is None


def test_ids_and_csrf_tokens_are_random_and_checked_in_constant_time() -> None:
    store = SessionStore(idle_s=60, max_s=300)
    one, two = store.open(PERSON), store.open(PERSON)
    assert one.id != two.id and one.csrf != two.csrf and len(one.csrf) >= 40
    assert one.csrf_matches(one.csrf)
    assert not one.csrf_matches(two.csrf)
    assert not one.csrf_matches(None)
    assert not one.csrf_matches("")
    store.close(one.id)
    assert store.get(one.id) is None and store.get(two.id) is two
    assert store.get(None) is None


def test_remembered_values_get_short_keys_and_the_oldest_are_forgotten() -> None:
    session = SessionStore(idle_s=60, max_s=300).open(PERSON)
    first = session.remember("07014412345")
    assert session.remember("07014412345") == first  # the same value, the same key
    assert "0701" not in first
    keys = [session.remember(f"value {n}") for n in range(REMEMBERED_MAX)]
    assert session.recall(first) is None
    assert session.recall(keys[-1]) == f"value {REMEMBERED_MAX - 1}"
    assert session.recall(None) is None
