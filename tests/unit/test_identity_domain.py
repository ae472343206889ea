"""Identity decisions: pure."""
import datetime as dt
import uuid

import pytest

from services.identity import domain

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("password,problem", [
    ("short", ("password_too_short", {"min": 8})),
    ("x" * 129, ("password_too_long", {"max": 128})),
    ("password1", ("password_too_common", {})),
    ("qwertyuiop", ("password_too_common", {})),
    ("ana.garcia", ("password_is_email", {})),
    ("correct horse battery staple", None),
    ("ñandú-pingüino", None),
    ("12345678abcdefgh", None),  # no composition rules
])
def test_password_policy(password, problem):
    assert domain.password_problem(password, "ana.garcia@example.com") == problem


def registered(**overrides):
    command = {"email": "ana@example.com", "password": "a long enough secret", "name": "Ana",
               "language": "en"}
    command.update(overrides)
    user_id = uuid.uuid4()
    events = domain.register(user_id, command, NOW, "nonce", dt.timedelta(hours=48))
    return user_id, events


def recorded(events):
    from helpdesk.events import RecordedEvent

    return [RecordedEvent(event_id=e.event_id, type=e.type, schema_version=1, stream="user-1",
                          stream_position=i, global_position=i + 1, occurred_at=NOW, data=e.data)
            for i, e in enumerate(events)]


def test_registration_makes_an_unverified_customer_and_asks_for_verification():
    user_id, events = registered()
    assert [e.type for e in events] == ["UserRegistered", "EmailVerificationRequested"]
    assert "password" not in events[0].data and "a long enough secret" not in repr(events)
    user = domain.fold(recorded(events))
    assert user.role == "customer" and not user.verified and user.language == "en"
    assert events[1].data["expires_at"] == (NOW + dt.timedelta(hours=48)).isoformat()


def test_registration_refuses_a_common_password():
    with pytest.raises(domain.RuleBroken) as info:
        registered(password="iloveyou")
    assert (info.value.field, info.value.code) == ("password", "password_too_common")


def test_verifying_the_current_address_verifies_once_and_a_new_address_changes_it():
    _, events = registered()
    user = domain.fold(recorded(events))
    (verified,) = domain.verify_email(user, "ANA@example.com")
    assert verified.type == "EmailVerified"
    user = domain.fold(recorded(events + [verified]))
    assert user.verified and domain.verify_email(user, "ana@example.com") == []
    (changed,) = domain.verify_email(user, "new@example.com")
    assert changed.type == "EmailChanged" and changed.data["old_email"] == "ana@example.com"


def test_staff_created_accounts_must_change_their_password_first():
    command = {"email": "bob@example.com", "name": "Bob", "role": "agent", "departments": ["networks"]}
    events = domain.create_user(uuid.uuid4(), command, "nonce", actor="admin-1")
    assert [e.type for e in events] == ["UserRegistered", "InitialCredentialsIssued"]
    user = domain.fold(recorded(events))
    assert user.must_change_password and user.verified and user.departments == ("networks",)
    changed = domain.change_password(user, "a brand new secret", "first_login")
    assert not domain.fold(recorded(events + changed)).must_change_password


@pytest.mark.parametrize("command,field", [
    ({"role": "customer"}, "company_id"),
    ({"role": "agent"}, "departments"),
    ({"role": "supervisor", "departments": ["networks"]}, "departments"),
    ({"role": "admin", "is_group": True}, "role"),
])
def test_staff_created_account_rules(command, field):
    with pytest.raises(domain.RuleBroken) as info:
        domain.create_user(uuid.uuid4(), dict({"email": "x@example.com", "name": "X"}, **command), "n", "a")
    assert info.value.field == field


def test_throttle_blocks_at_the_limit_until_the_oldest_failure_leaves_the_window():
    window = dt.timedelta(minutes=15)
    failures = [NOW - dt.timedelta(minutes=m) for m in (14, 10, 5, 1)]
    assert domain.retry_after(failures, NOW, limit=5, window=window) is None
    wait = domain.retry_after(failures, NOW, limit=4, window=window)
    assert wait == 61  # the failure 14 minutes ago leaves the window in 60 s
    old = [NOW - dt.timedelta(minutes=20)] * 10
    assert domain.retry_after(old, NOW, limit=4, window=window) is None
