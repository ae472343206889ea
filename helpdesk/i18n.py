"""Wording of codes in the caller's language: one message catalogue per language
(helpdesk/locales/<language>.json, loaded once), and which language a caller reads.

Services never word an error: they raise a code and its parameters (helpdesk.errors,
helpdesk.problems), and the gateway renders them here. A catalogue text is a `str.format`
template over those parameters, e.g. "«{value}» no es una dirección de correo válida"; a list
parameter is written joined by commas. A parameter that is itself a code is worded through the
catalogue with a format spec naming the family: "{status:status}" reads "status.in_progress",
"{kind:a_itil_type}" reads "a_itil_type.incident" ("an incident", "una incidencia": the article
belongs to the language, not to the code).
"""
import functools
import json
from pathlib import Path

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LOCALES = Path(__file__).with_name("locales")


@functools.lru_cache(maxsize=None)
def catalogue(language):
    return json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))


class _Params(dict):
    def __missing__(self, name):  # a parameter the caller did not give: shown empty, never a crash
        return ""


class _Param:
    """A parameter as a template formats it: a list joined by commas; `{name:family}` looks the
    value up as "family.value" in the catalogue."""

    def __init__(self, value, messages):
        self.value, self.messages = value, messages

    def __format__(self, spec):
        values = self.value if isinstance(self.value, list) else [self.value]
        if spec.isidentifier():
            return ", ".join(self.messages.get(f"{spec}.{value}", str(value)) for value in values)
        return ", ".join(format(value, spec) for value in values)


def text(code, params=None, language=DEFAULT_LANGUAGE):
    """The catalogue's wording of `code` in `language`. An unknown code reads as the generic
    "invalid" text (a test keeps every code the services raise in the catalogue)."""
    messages = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    template = messages.get(code) or messages["invalid"]
    values = _Params({name: _Param(value, messages) for name, value in (params or {}).items()})
    return template.format_map(values)


def negotiate(accept_language):
    """The language an `Accept-Language` header prefers among ours (q-values respected; the
    first listed wins a tie); the default when it names none of ours."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (accept_language or "").split(","):
        tag, _, parameters = item.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def language_of(principal_language, accept_language):
    """The profile's language when there is a session, else the request's Accept-Language."""
    if principal_language in LANGUAGES:
        return principal_language
    return negotiate(accept_language)
