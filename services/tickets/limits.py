"""Rate limits on what customers make the helpdesk do (finding 9 of issue 10): opening tickets,
commenting and copying new addresses, so that nobody can turn it into a spam relay. Pure: the
caller gives the recent usage (read from `tickets.rate_usage` in the command's transaction) and
the time; this decides.

Usage is counted as distinct *items* per key in a sliding window: a ticket id per opening, a
(ticket, position) per comment, an address per copied address. An item already counted in the
window is not counted again, so re-copying an address costs nothing and limits on distinct
addresses are the same arithmetic as limits on counts.
"""
import dataclasses
import datetime as dt
import math

from . import domain


@dataclasses.dataclass(frozen=True)
class Limit:
    name: str
    per: str  # "account" or "company": whose key the usage is counted under
    maximum: int
    window: dt.timedelta


# name -> (per, default maximum, window); the maxima come from config.yaml (TICKETS.limits)
DEFAULTS = {
    "opens_per_account": ("account", 20, dt.timedelta(hours=1)),
    "opens_per_company": ("company", 100, dt.timedelta(hours=1)),
    "comments_per_account": ("account", 60, dt.timedelta(hours=1)),
    "cc_addresses_per_account": ("account", 10, dt.timedelta(days=1)),
}


def from_config(values):
    """The limits, with maxima from config (TICKETS.limits: name -> maximum) over the defaults."""
    values = values or {}
    return {name: Limit(name, per, int(values.get(name, maximum)), window)
            for name, (per, maximum, window) in DEFAULTS.items()}


@dataclasses.dataclass(frozen=True)
class Usage:
    """What one command would use: items per limit name."""
    items: dict

    def keys(self, principal, limits):
        """(limit, key, items) for each limit that applies to `principal`."""
        for name, items in self.items.items():
            limit = limits[name]
            owner = principal.get("user_id") if limit.per == "account" else principal.get("company_id")
            if items and owner:
                yield limit, f"{name}:{owner}", items


def exempt(principal):
    """Staff and services are not limited: they act for customers and are accountable."""
    return principal is None or domain.is_staff(principal) or principal.get("role") == domain.SYSTEM


def usage_of_opening(ticket_id, cc):
    return Usage({"opens_per_account": [str(ticket_id)], "opens_per_company": [str(ticket_id)],
                  "cc_addresses_per_account": [address.lower() for address in cc or ()]})


def usage_of_comment(ticket_id, position):
    return Usage({"comments_per_account": [f"{ticket_id}/{position}"]})


def usage_of_cc_change(previous, cc):
    """Only addresses not already copied cost anything."""
    known = {address.lower() for address in previous}
    return Usage({"cc_addresses_per_account": [a.lower() for a in cc if a.lower() not in known]})


@dataclasses.dataclass(frozen=True)
class Counted:
    """What a decision needs of a key's usage within the window, and no more (the table holds
    every item of the window): how many items, which of the command's items are among them, and
    the times of the oldest `len(items) + max(0, total - maximum)` of them, in order."""
    total: int
    seen: frozenset
    oldest: tuple

    @classmethod
    def of(cls, recent, items, start, maximum):
        """From the (item, at) counted under the key; those at or before `start` are out of the window."""
        recent = sorted((at, item) for item, at in recent if at > start)
        wanted = len(items) + max(0, len(recent) - maximum)
        return cls(len(recent), frozenset(item for _, item in recent) & set(items),
                   tuple(at for at, _ in recent[:wanted]))


def decide(limit, counted, items, now):
    """(new items to record, seconds to wait or None). `counted`: the key's Counted within the
    window before `now`. A refusal's wait is until enough of the recent items leave the window
    for these to fit (the whole window when they could never fit)."""
    new = list(dict.fromkeys(item for item in items if item not in counted.seen))
    excess = counted.total + len(new) - limit.maximum
    if excess <= 0:
        return new, None
    if len(new) > limit.maximum:
        return new, _seconds(limit.window)
    leaves_at = counted.oldest[excess - 1] + limit.window
    return new, max(1, _seconds(leaves_at - now))


def _seconds(delta):
    return math.ceil(delta.total_seconds())
