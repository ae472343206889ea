"""What an inbound mail proves about its sender, pure: the verdict of the provider's own mail
server, read from its `Authentication-Results` header (RFC 8601), and nothing else.

Anybody can write any `From:`. Whether the domain of that address really sent the mail is what
SPF, DKIM and DMARC establish, and the provider's MTA checks them (OpenDMARC, rspamd, …) and
records the outcome in an `Authentication-Results: <authserv-id>; …` header. We trust that header
only when it carries the authserv-id we were told to trust (`INBOUND_TRUSTED_AUTHSERV_ID`), and
only the topmost such header: an MTA prepends its own, and RFC 8601 (section 5) has it delete any
copy bearing its id that arrived from outside, so a sender cannot plant a "pass".

The sender is **authenticated** (`pass`) when that header says, for the domain of the `From:`
address:
- `dmarc=pass` with `header.from` that domain; or
- `dkim=pass` with `header.d` aligned with it; or
- `spf=pass` with `smtp.mailfrom` aligned with it,

where *aligned* is DMARC's relaxed alignment, approximated without the public-suffix list: the
same domain, or one a subdomain of the other with at least two labels in the shorter. It has
**failed** (`fail`) when the header says `dmarc=fail` for that domain (its owner asks receivers to
distrust such mail). Anything else (no trusted header, no result for that domain, `none`,
`neutral`, a header we cannot read, or no authserv-id configured) is **unauthenticated** (`none`):
not known to be false, not known to be true. `services.notifier.inbound_service` decides what
each may do.
"""
import dataclasses

import authres

PASS, FAIL, NONE = "pass", "fail", "none"
_CONTEXT = authres.all_features()  # dmarc among them


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: str   # PASS | FAIL | NONE
    because: str  # for the log: which result decided, or why there was none

    @property
    def authenticated(self):
        return self.status == PASS

    @property
    def failed(self):
        return self.status == FAIL


def verdict(header_values, from_address, trusted_authserv_id):
    """The Verdict on `from_address` given the mail's `Authentication-Results` header values,
    topmost first, as they appear in the message."""
    if not trusted_authserv_id:
        return Verdict(NONE, "no trusted authserv-id configured")
    domain = _domain(from_address)
    if not domain:
        return Verdict(NONE, "no From domain")
    header = _trusted_header(header_values, trusted_authserv_id.strip().lower())
    if header is None:
        return Verdict(NONE, f"no Authentication-Results from {trusted_authserv_id}")
    results = [(result.method.lower(), str(result.result).lower(), _properties(result))
               for result in header.results]
    for method, result, properties in results:
        if method == "dmarc" and _domain(properties.get("header.from")) == domain:
            if result == "pass":
                return Verdict(PASS, "dmarc=pass")
            if result == "fail":
                return Verdict(FAIL, "dmarc=fail")
    for method, result, properties in results:
        if result != "pass":
            continue
        if method == "dkim" and aligned(_domain(properties.get("header.d")), domain):
            return Verdict(PASS, "dkim=pass, aligned")
        if method == "spf" and aligned(_domain(properties.get("smtp.mailfrom")), domain):
            return Verdict(PASS, "spf=pass, aligned")
    return Verdict(NONE, "no passing result for the From domain")


def aligned(authenticated_domain, from_domain):
    """DMARC relaxed alignment, approximately: equal, or one a subdomain of the other, the parent
    having at least two labels (so `example` never aligns everything under it)."""
    if not authenticated_domain or not from_domain:
        return False
    if authenticated_domain == from_domain:
        return True
    shorter, longer = sorted((authenticated_domain, from_domain), key=len)
    return shorter.count(".") >= 1 and longer.endswith("." + shorter)


def _trusted_header(header_values, trusted):
    for value in header_values:
        text = " ".join(str(value).split())  # unfolded
        first = text.split(";", 1)[0].split()  # the authserv-id, then an optional version
        if not first or first[0].lower() != trusted:
            continue
        try:
            header = _CONTEXT.parse_value(text)
        except Exception:  # authres raises its own SyntaxError, and others on garbage
            return None  # the MTA's own header unreadable: trust nothing rather than a later one
        return header
    return None


def _properties(result):
    return {f"{prop.type}.{prop.name}".lower(): str(prop.value) for prop in result.properties}


def _domain(value):
    """The domain of an address or a bare domain, lowercased, without a trailing dot."""
    value = (value or "").strip().strip("<>").lower()
    return value.rpartition("@")[2].rstrip(".")
