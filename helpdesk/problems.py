"""Validation problems as codes with parameters, never English: the gateway words them in the
caller's language (helpdesk.i18n, helpdesk/locales/*.json).

A problem travels as `{"code": "invalid_email", "params": {"value": "x@"}}`, and an input's
problems as `{"itil.category": [problem, ...]}` (dots for nested fields).

marshmallow's own messages become codes where they are configured, not by reading its English
afterwards: `CodedSchema` (the base of every command schema) sets, as each field is bound, the
field's `error_messages` and its validators' messages to `Problem`s. A `Problem` is a `str` (so
marshmallow takes it as a message) whose `format(input=..., min=...)`, which marshmallow calls
with the values of the failure, keeps those values as parameters instead of filling in a
sentence. Matching English text would break silently with any marshmallow upgrade; this breaks
loudly (a test loads every contract with bad input and checks each code is in the catalogue).
"""
from marshmallow import Schema, fields, validate

PARAM_TEXT_MAX = 60  # an echoed value longer than this is cut: a message names, it does not quote


class Problem(str):
    """A validation message that is a catalogue code (the string itself) with `params`. `keep`
    names the values of marshmallow's `format` call that become parameters ("input" as
    "value"); the others (and so a password or a token given as input) are dropped."""

    def __new__(cls, code, keep=(), **params):
        problem = super().__new__(cls, code)
        problem.keep, problem.params = tuple(keep), params
        return problem

    @property
    def code(self):
        return str.__str__(self)

    def format(self, *args, **kwargs):
        """What marshmallow calls to fill in a message: here the kept values become parameters."""
        given = {("value" if name == "input" else name): value for name, value in kwargs.items()}
        kept = {name: value for name, value in given.items() if name in self.keep}
        return Problem(self.code, self.keep, **{**self.params, **kept})


def problem(code, **params):
    """One problem as it travels (JSON)."""
    return {"code": code, "params": {name: _safe(value) for name, value in params.items()}}


def _safe(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_safe(item) for item in value]
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= PARAM_TEXT_MAX else text[:PARAM_TEXT_MAX] + "…"


def as_problem(message):
    """A marshmallow message (a Problem, a problem already as JSON, or stray text) as JSON."""
    if isinstance(message, Problem):
        return problem(message.code, **message.params)
    if isinstance(message, dict) and "code" in message:
        return {"code": message["code"], "params": dict(message.get("params") or {})}
    return problem("invalid")  # English from a schema that is not a CodedSchema: never shown as is


def field_problems(messages, prefix=""):
    """marshmallow's nested error dict (or problems already flat) → {"itil.category": [problem]}."""
    flat = {}
    for key, value in messages.items():
        # "_schema" is marshmallow's key for an error of the whole (nested) object
        name = (prefix.rstrip(".") or key) if key == "_schema" else f"{prefix}{key}"
        if isinstance(value, dict) and "code" not in value:
            flat.update(field_problems(value, f"{name}."))
        else:
            flat.setdefault(name, []).extend(as_problem(m) for m in (value if isinstance(value, list) else [value]))
    return flat


# (marshmallow field class, its error key) -> code; the most specific class in the field's MRO wins
FIELD_CODES = {
    (fields.Field, "required"): "required",
    (fields.Field, "null"): "null",
    (fields.Field, "validator_failed"): "invalid",
    (fields.String, "invalid"): "not_text",
    (fields.String, "invalid_utf8"): "not_text",
    (fields.Email, "invalid"): "invalid_email",
    (fields.UUID, "invalid_uuid"): "invalid_uuid",
    (fields.Number, "invalid"): "not_a_number",
    (fields.Number, "too_large"): "number_out_of_range",
    (fields.Integer, "invalid"): "not_an_integer",
    (fields.Boolean, "invalid"): "not_a_boolean",
    (fields.DateTime, "invalid"): "invalid_datetime",
    (fields.DateTime, "format"): "invalid_datetime",
    (fields.DateTime, "invalid_awareness"): "datetime_needs_offset",
    (fields.Date, "invalid"): "invalid_date",
    (fields.Date, "format"): "invalid_date",
    (fields.Nested, "type"): "not_an_object",
    (fields.Mapping, "invalid"): "not_an_object",
    (fields.List, "invalid"): "not_a_list",
}

# validator class -> {attribute holding a message: Problem (with the values it keeps)}
VALIDATOR_CODES = {
    validate.Length: {"message_min": Problem("too_short", ["min"]), "message_max": Problem("too_long", ["max"]),
                      "message_all": Problem("length_between", ["min", "max"]),
                      "message_equal": Problem("length_exact", ["equal"])},
    validate.Range: {"message_min": Problem("number_too_small", ["min"]),
                     "message_max": Problem("number_too_large", ["max"]),
                     "message_all": Problem("number_between", ["min", "max"])},
    validate.OneOf: {"error": Problem("not_one_of", ["choices"])},
    validate.Email: {"error": Problem("invalid_email", ["value"])},
    validate.Regexp: {"error": Problem("invalid_format")},
}


def field_code(field, key):
    for cls in type(field).__mro__:
        if (cls, key) in FIELD_CODES:
            return FIELD_CODES[(cls, key)]
    return "invalid"


def code_field(field):
    """Sets a bound field's messages, its validators' and its inner fields' to Problems. A
    message that already is a Problem (a contract's own) is kept."""
    field.error_messages = {
        key: message if isinstance(message, Problem) else Problem(field_code(field, key))
        for key, message in field.error_messages.items()
    }
    for validator in field.validators:
        for cls, attributes in VALIDATOR_CODES.items():
            if isinstance(validator, cls):
                if "error" not in attributes and not isinstance(validator.error, Problem):
                    validator.error = None  # its per-case messages below say which bound
                for attribute, coded in attributes.items():
                    if not isinstance(getattr(validator, attribute, None), Problem):
                        setattr(validator, attribute, coded)
                break
        else:
            if hasattr(validator, "error") and not isinstance(validator.error, Problem):
                validator.error = Problem("invalid")
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None)):
        if isinstance(inner, fields.Field):
            code_field(inner)


class CodedSchema(Schema):
    """A schema whose every error is a Problem (see the module's docstring)."""

    error_messages = {"unknown": Problem("unknown_field"), "type": Problem("not_an_object")}

    def on_bind_field(self, field_name, field_obj):
        code_field(field_obj)
