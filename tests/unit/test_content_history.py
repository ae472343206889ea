"""The network status's 90-day history (services/content/domain.history), pure: an incident's
impact over its timeline, split into the provider's days, counted into each component's uptime
(major outage whole, partial outage half, degradation not at all)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from services.content import domain

MADRID = ZoneInfo("Europe/Madrid")


def madrid(*args):
    return dt.datetime(*args, tzinfo=MADRID)


def incident(components, started, *updates, ended=None):
    """updates: (at, status, impact) after the declaration's (started, investigating, first impact)."""
    first = updates[0][2] if updates else "major_outage"
    entries = [{"at": started.isoformat(), "status": "investigating", "impact": first, "message": {}, "by": ""}]
    entries += [{"at": at.isoformat(), "status": status, "impact": impact, "message": {}, "by": ""}
                for at, status, impact in updates[1:]]
    return {"components": components, "started_at": started.isoformat(), "updates": entries, "impact": entries[-1]["impact"],
            "ended_at": ended.isoformat() if ended else None}


NOW = madrid(2026, 12, 3, 12, 0)


def test_a_two_hour_major_outage_across_midnight_is_split_into_both_days():
    outage = incident(["fibre"], madrid(2026, 12, 1, 23, 0), (None, "investigating", "major_outage"),
                      (madrid(2026, 12, 2, 1, 0), "resolved", "major_outage"), ended=madrid(2026, 12, 2, 1, 0))
    found = domain.history(["fibre", "dns"], [outage], NOW, MADRID, days=90)
    assert found["until"] == "2026-12-03" and found["since"] == "2026-09-05"
    assert found["components"]["fibre"]["days"] == {"2026-12-01": {"worst": "major_outage", "minutes": 60},
                                                    "2026-12-02": {"worst": "major_outage", "minutes": 60}}
    span = (NOW - madrid(2026, 9, 5)).total_seconds()
    assert found["components"]["fibre"]["uptime"] == pytest.approx(1 - 7200 / span)
    assert found["components"]["dns"] == {"uptime": 1.0, "days": {}}


def test_the_impact_follows_the_timeline_and_counts_as_statuspage_does():
    outage = incident(["dns"], madrid(2026, 12, 3, 8, 0), (None, "investigating", "partial_outage"),
                      (madrid(2026, 12, 3, 9, 0), "identified", "degraded"),
                      (madrid(2026, 12, 3, 10, 0), "monitoring", "major_outage"))  # still open: until now
    day = domain.history(["dns"], [outage], NOW, MADRID, days=1)
    assert day["components"]["dns"]["days"] == {"2026-12-03": {"worst": "major_outage", "minutes": 240}}
    # since midnight: 12 h; down 30 min (half of an hour partial) + 0 (degraded) + 2 h (major)
    assert day["components"]["dns"]["uptime"] == pytest.approx(1 - (1800 + 7200) / (12 * 3600))


def test_what_ended_before_the_window_does_not_count():
    old = incident(["fibre"], madrid(2026, 8, 1, 10, 0), (None, "investigating", "major_outage"),
                   (madrid(2026, 8, 1, 11, 0), "resolved", "major_outage"), ended=madrid(2026, 8, 1, 11, 0))
    assert domain.history(["fibre"], [old], NOW, MADRID)["components"]["fibre"] == {"uptime": 1.0, "days": {}}
