"""The event envelope: what is stored, what travels between services, and how old versions upcast.

Streams are named `category-id` (message-db style): `ticket-6f1c…`. The category is the part
before the first dash. Event types are stable names (`TicketOpened`) plus a schema version, never a
Python import path, so stored events outlive refactorings.
"""
import dataclasses
import datetime as dt
import uuid

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

CHANNELS = ("portal", "email", "phone", "staff", "system")


def stream_name(category, entity_id):
    if "-" in category:
        raise ValueError(f"a category may not contain '-': {category!r}")
    return f"{category}-{entity_id}"


def category_of(stream):
    return stream.split("-", 1)[0]


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class NewEvent:
    """An event decided by the domain, not yet stored."""

    type: str
    data: dict
    schema_version: int = 1
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    actor: str | None = None
    channel: str = "system"

    def metadata(self):
        return {
            # A root event correlates with itself; followers inherit the root's id.
            "correlation_id": str(self.correlation_id or self.event_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "actor": self.actor,
            "channel": self.channel,
        }


@dataclasses.dataclass(frozen=True)
class RecordedEvent:
    """An event as the store holds it, with its positions."""

    event_id: uuid.UUID
    type: str
    schema_version: int
    stream: str
    stream_position: int
    global_position: int
    occurred_at: dt.datetime
    data: dict
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    actor: str | None = None
    channel: str = "system"
    source: str | None = None  # the service whose store holds it; set when published

    @property
    def category(self):
        return category_of(self.stream)

    def caused(self, type, data, **kwargs):
        """A new event caused by this one, in the same correlation."""
        return NewEvent(
            type=type,
            data=data,
            correlation_id=self.correlation_id or self.event_id,
            causation_id=self.event_id,
            **kwargs,
        )


def cause_of(event):
    """What a reaction to `event` names as its cause, in a shape that crosses an RPC."""
    return {"event_id": str(event.event_id), "correlation_id": str(event.correlation_id or event.event_id)}


def caused_by(events, cause):
    """`events` (NewEvent) as caused by `cause` (an event, or cause_of's dict): in its
    correlation, with it as their causation, so a chain of reactions across services can be
    followed back to what started it. No cause: the events as they are."""
    if cause is None:
        return list(events)
    if not isinstance(cause, dict):
        cause = cause_of(cause)
    causation, correlation = uuid.UUID(str(cause["event_id"])), uuid.UUID(str(cause["correlation_id"]))
    return [dataclasses.replace(event, correlation_id=correlation, causation_id=causation) for event in events]


def fold(evolve, events, state=None):
    """An aggregate's state: its events applied in order by `evolve(state, event) -> state`."""
    for event in events:
        state = evolve(state, event)
    return state


class EnvelopeSchema(Schema):
    """The published language: every event on the wire has exactly this shape."""

    class Meta:
        unknown = EXCLUDE  # newer producers may add envelope fields; old consumers ignore them

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=200))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    stream = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]+-.+$"))
    stream_position = fields.Integer(required=True, validate=validate.Range(min=0))
    global_position = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    data = fields.Dict(required=True)
    correlation_id = fields.UUID(allow_none=True, load_default=None)
    causation_id = fields.UUID(allow_none=True, load_default=None)
    actor = fields.String(allow_none=True, load_default=None)
    channel = fields.String(load_default="system", validate=validate.OneOf(CHANNELS))
    source = fields.String(allow_none=True, load_default=None)

    @post_load
    def make(self, data, **kwargs):
        return RecordedEvent(**data)


ENVELOPE = EnvelopeSchema()


class Upcasters:
    """Brings stored payloads of old schema versions up to the current one on read.

    Register `(type, from_version) -> fn(data) -> data`; each step raises the version by one.
    """

    def __init__(self):
        self._steps = {}

    def register(self, event_type, from_version):
        def decorator(fn):
            self._steps[(event_type, from_version)] = fn
            return fn

        return decorator

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        version, data = event.schema_version, event.data
        while (event.type, version) in self._steps:
            data = self._steps[(event.type, version)](dict(data))
            version += 1
        if version == event.schema_version:
            return event
        return dataclasses.replace(event, schema_version=version, data=data)
