"""What a domain says when it refuses a command: pure exceptions, shared by every service's domain
so that one translator (helpdesk.application.translated) turns them into the errors callers
understand. A refusal is a catalogue key `message` and its `params`, never English: the gateway
words it in the caller's language (helpdesk.i18n)."""


class Refusal(Exception):
    def __init__(self, message, **params):
        super().__init__(message, params)
        self.message, self.params = message, params


class RuleBroken(Refusal):
    """A command that breaks a business rule (422): `field` names the offending input, `code` the rule."""

    def __init__(self, field, code, **params):
        super().__init__(code, **params)
        self.field, self.code = field, code


class Forbidden(Refusal):
    """The command is not this actor's to give (403)."""


class IllegalTransition(Refusal):
    """The command does not fit the aggregate's state (409). `code` names the case callers act on
    (e.g. "ticket_closed": the notifier then opens a new ticket for an email reply)."""

    def __init__(self, message, code="conflict", **params):
        super().__init__(message, **params)
        self.code = code
