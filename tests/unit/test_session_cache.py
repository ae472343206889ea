"""The gateway's moment of memory for live sessions (services/gateway/sessions.py)."""
from services.gateway.sessions import SessionCache

ANA = {"user_id": "u-1", "role": "customer"}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_session_is_remembered_for_its_moment_and_then_asked_again():
    clock = Clock()
    cache = SessionCache(ttl=1.0, clock=clock)
    assert cache.get("token-a") is None
    cache.put("token-a", ANA)
    clock.now += 0.99
    assert cache.get("token-a") == ANA
    clock.now += 0.01
    assert cache.get("token-a") is None  # a second old: identity is asked again
    assert cache.get("token-b") is None


def test_a_forgotten_session_is_asked_again_at_once():
    cache = SessionCache(ttl=60, clock=Clock())
    cache.put("token-a", ANA)
    cache.forget("token-a")
    assert cache.get("token-a") is None
    cache.forget("never-seen")  # nothing to forget: fine


def test_at_most_size_sessions_the_oldest_go_first():
    cache = SessionCache(ttl=60, size=2, clock=Clock())
    for token in ("a" * 20, "b" * 20, "c" * 20):
        cache.put(token, {"user_id": token})
    assert cache.get("a" * 20) is None and cache.get("b" * 20) and cache.get("c" * 20)


def test_a_ttl_of_zero_remembers_nothing():
    cache = SessionCache(ttl=0, clock=Clock())
    cache.put("token-a", ANA)
    assert cache.get("token-a") is None
