"""Who is calling: the session resolved through identity on demand, at most once per request and,
for a burst of requests with one session, once per GATEWAY_SESSION_CACHE_SECONDS (sessions.py)."""
from nameko.extensions import DependencyProvider
from nameko.rpc import ServiceProxy

from helpdesk import errors
from helpdesk.extensions import ReplyListener

from .http import PRINCIPAL_LANGUAGE, ApiError, call, session_token
from .sessions import DEFAULT_TTL, SessionCache


def client_ip(request, trusted_proxies):
    """The client's address: the nearest X-Forwarded-For hop not among our trusted proxies."""
    address = request.remote_addr or "unknown"
    if address not in trusted_proxies:
        return address
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop
    return address


def trusted_proxies_from(config):
    """TRUSTED_PROXIES: a list, or addresses separated by commas."""
    raw = config.get("TRUSTED_PROXIES") or ""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return frozenset(item.strip() for item in items if item and item.strip())


class Caller:
    def __init__(self, request, identity, trusted_proxies=frozenset(), sessions=None):
        self.request, self.identity = request, identity
        self.trusted_proxies = trusted_proxies
        self.sessions = sessions if sessions is not None else SessionCache(ttl=0)
        self._principal = None

    @property
    def token(self):
        return session_token(self.request)

    @property
    def ip(self):
        return client_ip(self.request, self.trusted_proxies)

    @property
    def user_agent(self):
        return self.request.headers.get("User-Agent", "")

    def principal(self, roles=None, allow_password_change=False):
        """The authenticated principal. 401 without a live session; 403 when the role does not
        fit, or while a generic password must still be replaced (except where that is allowed)."""
        if self._principal is None:
            token = self.token
            if token is None:
                raise ApiError(401, "unauthenticated", "log_in_first")
            self._principal = self.sessions.get(token)
            if self._principal is None:
                try:
                    self._principal = call(self.identity.authenticate, token)
                except errors.Unauthorized:
                    raise ApiError(401, "unauthenticated", "session_expired")
                self.sessions.put(token, self._principal)
            # errors from here on are worded in the profile's language (http.caller_language)
            self.request.environ[PRINCIPAL_LANGUAGE] = self._principal.get("language")
        principal = self._principal
        if principal["must_change_password"] and not allow_password_change:
            raise ApiError(403, "password_change_required", "password_change_required")
        if roles and principal["role"] not in roles:
            raise ApiError(403, "forbidden", "role_not_allowed")
        return principal

    def principal_if_any(self):
        """The principal of a live session, or None (a public page read by anyone): never 401."""
        if self.token is None:
            return None
        try:
            return self.principal(allow_password_change=True)
        except ApiError as exc:
            if exc.status == 401:
                return None
            raise

    def forget_session(self):
        """This request ends its session (logout, password change): not remembered a moment longer."""
        if self.token is not None:
            self.sessions.forget(self.token)


class Auth(DependencyProvider):
    """Injects a `Caller` for the request the worker handles. Nothing is resolved unless asked,
    and nothing raises here: nameko does not catch errors raised while injecting dependencies."""

    rpc_reply_listener = ReplyListener()

    def setup(self):
        self.trusted_proxies = trusted_proxies_from(self.container.config)
        ttl = self.container.config.get("GATEWAY_SESSION_CACHE_SECONDS")
        self.sessions = SessionCache(ttl=DEFAULT_TTL if ttl in (None, "") else float(ttl))

    def get_dependency(self, worker_ctx):
        identity = ServiceProxy(worker_ctx, "identity", self.rpc_reply_listener)
        return Caller(worker_ctx.args[0], identity, self.trusted_proxies, self.sessions)
