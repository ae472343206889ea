import datetime as dt
import uuid

import pytest
from marshmallow import ValidationError

from helpdesk.events import ENVELOPE, NewEvent, RecordedEvent, category_of, stream_name


def test_stream_names_are_category_dash_id():
    ticket_id = uuid.uuid4()
    name = stream_name("ticket", ticket_id)
    assert name == f"ticket-{ticket_id}" and category_of(name) == "ticket"
    with pytest.raises(ValueError):
        stream_name("bad-category", 1)


def recorded(**overrides):
    fields = dict(event_id=uuid.uuid4(), type="TicketOpened", schema_version=1,
                  stream=f"ticket-{uuid.uuid4()}", stream_position=0, global_position=7,
                  occurred_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                  data={"title": "Sin conexión"}, correlation_id=uuid.uuid4(), actor="a@b.es",
                  channel="portal", source="tickets")
    fields.update(overrides)
    return RecordedEvent(**fields)


def test_envelope_round_trips_through_json_shape():
    event = recorded()
    assert ENVELOPE.load(ENVELOPE.dump(event)) == event


@pytest.mark.parametrize("field,value", [
    ("stream", "no_dash"), ("stream_position", -1), ("channel", "carrier-pigeon"),
    ("event_id", "not-a-uuid"), ("occurred_at", "2026-01-01T00:00:00"),  # naive time refused
])
def test_envelope_rejects_malformed_fields(field, value):
    body = ENVELOPE.dump(recorded())
    body[field] = value
    with pytest.raises(ValidationError) as info:
        ENVELOPE.load(body)
    assert field in info.value.messages


def test_caused_event_inherits_correlation_and_points_at_its_cause():
    cause = recorded()
    follower = cause.caused("TicketRouted", {"department": "networks"})
    assert follower.correlation_id == cause.correlation_id
    assert follower.causation_id == cause.event_id
    assert NewEvent("X", {}).metadata()["correlation_id"]  # a root correlates with itself


def test_events_caused_by_another_carry_its_correlation_and_name_it_as_their_cause():
    import uuid as _uuid

    from helpdesk.events import NewEvent, RecordedEvent, cause_of, caused_by

    root = RecordedEvent(event_id=_uuid.uuid4(), type="TicketOpened", schema_version=1, stream="ticket-1",
                         stream_position=0, global_position=1, occurred_at=NewEvent("x", {}).occurred_at, data={})
    first, = caused_by([NewEvent("TicketRouted", {})], root)
    assert first.causation_id == root.event_id and first.correlation_id == root.event_id  # a root is its own
    later = RecordedEvent(event_id=_uuid.uuid4(), type="TicketRouted", schema_version=1, stream="ticket-1",
                          stream_position=1, global_position=2, occurred_at=root.occurred_at, data={},
                          correlation_id=root.event_id, causation_id=root.event_id)
    second, = caused_by([NewEvent("TicketAssigned", {})], cause_of(later))  # as it crosses an RPC
    assert second.causation_id == later.event_id and second.correlation_id == root.event_id
    assert second.metadata()["causation_id"] == str(later.event_id)
    unchanged = NewEvent("X", {})
    assert caused_by([unchanged], None) == [unchanged]
