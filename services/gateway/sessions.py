"""Sessions remembered for a moment, so that a burst of requests (a page and the calls it makes,
a client's retries, a load test) asks identity once, not once per request.

Identity stays the only judge of a session: an entry lives `ttl` seconds (GATEWAY_SESSION_CACHE_SECONDS,
default 1; 0 turns the cache off), so a logout, a password change, a deactivation or a role change
made anywhere takes effect in this gateway within that time, whatever happens to events; a logout
or a password change sent through this gateway forgets the session at once. Only live sessions
are kept (a refusal is always asked again), under the token's digest, at most `size` of them
(the oldest go first). The clock is given, so the rules are tested without waiting.
"""
import collections
import hashlib
import threading
import time

DEFAULT_TTL = 1.0
DEFAULT_SIZE = 10_000


def _key(token):
    return hashlib.sha256(token.encode()).digest()


class SessionCache:
    def __init__(self, ttl=DEFAULT_TTL, size=DEFAULT_SIZE, clock=time.monotonic):
        self.ttl, self.size, self.clock = float(ttl), int(size), clock
        self._entries = collections.OrderedDict()  # digest -> (principal, expires at)
        self._lock = threading.Lock()

    def get(self, token):
        """The principal remembered for `token`, or None (unknown, expired, or cache off)."""
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(_key(token))
            if entry is None:
                return None
            principal, expires_at = entry
            if self.clock() >= expires_at:
                del self._entries[_key(token)]
                return None
            return principal

    def put(self, token, principal):
        if self.ttl <= 0:
            return
        with self._lock:
            key = _key(token)
            self._entries.pop(key, None)
            self._entries[key] = (principal, self.clock() + self.ttl)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, token):
        with self._lock:
            self._entries.pop(_key(token), None)
