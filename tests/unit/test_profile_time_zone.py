"""A profile's time zone: an IANA name checked against zoneinfo, recorded on UserRegistered and
ProfileUpdated, and read from accounts whose older events name none as the configured default."""
import datetime as dt
import uuid

import pytest
from marshmallow import ValidationError

from helpdesk import contracts, timezones
from helpdesk.events import RecordedEvent
from services.identity import domain

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


def recorded(*pairs):
    return [RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream="user-1",
                          stream_position=i, global_position=i + 1, occurred_at=NOW, data=data)
            for i, (type_, data) in enumerate(pairs)]


def registration(**overrides):
    command = dict({"email": "eve@example.com", "password": "a long enough secret", "name": "Eve",
                    "language": "en"}, **overrides)
    user_id = uuid.uuid4()
    return domain.register(user_id, command, NOW, "nonce", dt.timedelta(hours=48))


def test_a_registration_records_the_zone_given_and_the_principal_carries_it():
    events = registration(time_zone="America/New_York")
    assert events[0].data["time_zone"] == "America/New_York"
    user = domain.fold(recorded(*((e.type, e.data) for e in events)))
    assert user.principal()["time_zone"] == "America/New_York"


def test_old_events_without_a_zone_read_as_the_configured_default_and_a_profile_update_keeps_it():
    old = {"user_id": str(uuid.uuid4()), "email": "old@example.com", "name": "Old", "phone": None,
           "language": "es", "role": "customer", "company_id": None, "is_group": False,
           "company_admin": False, "departments": [], "verified": True, "must_change_password": False}
    history = recorded(("UserRegistered", old),
                       ("ProfileUpdated", {"user_id": old["user_id"], "name": "Older", "phone": None,
                                           "language": "es"}))
    assert domain.fold(history).time_zone == timezones.FALLBACK
    user = domain.fold(history, default_time_zone="Atlantic/Canary")
    assert user.time_zone == "Atlantic/Canary" and user.name == "Older"
    (updated,) = domain.update_profile(user, {"language": "en"})
    assert updated.data["time_zone"] == "Atlantic/Canary"  # recorded from now on, whatever the default
    (moved,) = domain.update_profile(user, {"time_zone": "Europe/London"})
    assert domain.evolve(user, recorded(("ProfileUpdated", moved.data))[0]).time_zone == "Europe/London"


@pytest.mark.parametrize("schema", [contracts.ProfileUpdateSchema, contracts.RegisterSchema])
def test_only_iana_zones_are_accepted(schema):
    base = {} if schema is contracts.ProfileUpdateSchema else {
        "email": "a@example.com", "password": "a long enough secret", "name": "A"}
    assert schema().load(dict(base, time_zone="America/New_York"))["time_zone"] == "America/New_York"
    for wrong in ("Mars/Olympus_Mons", "CET+1", "", "../../etc/passwd"):
        with pytest.raises(ValidationError) as refused:
            schema().load(dict(base, time_zone=wrong))
        assert "time_zone" in refused.value.messages
    assert "time_zone" not in schema().load(base)  # absent: identity records the configured default


def test_the_default_zone_comes_from_configuration_and_must_be_a_zone():
    assert timezones.default_from({}) == "Europe/Madrid"
    assert timezones.default_from({"DEFAULT_TIME_ZONE": "America/New_York"}) == "America/New_York"
    with pytest.raises(ValueError):
        timezones.default_from({"DEFAULT_TIME_ZONE": "Madrid"})


@pytest.mark.parametrize("zone,language,written", [
    ("Europe/Madrid", "es", "03/12/2026 18:50 (hora de Madrid)"),
    ("Europe/Madrid", "en", "2026-12-03 18:50 (Madrid time)"),
    ("America/New_York", "es", "03/12/2026 12:50 (hora de Nueva York)"),
    ("America/New_York", "en", "2026-12-03 12:50 (New York time)"),
    ("Atlantic/Canary", "es", "03/12/2026 17:50 (hora de Canarias)"),
    ("UTC", "es", "03/12/2026 17:50 (UTC)"),
])
def test_a_time_is_written_in_the_readers_zone_naming_it_in_their_language(zone, language, written):
    assert timezones.local_time("2026-12-03T17:50:00+00:00", zone, language) == written
