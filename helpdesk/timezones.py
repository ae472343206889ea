"""People's time zones: IANA names (Europe/Madrid), checked against zoneinfo, and how a time is
written for a reader in their zone and language.

Every time a customer reads (mails) is in their own zone, named as their language writes it, never
in UTC: "03/12/2026 18:50 (hora de Madrid)", "2026-12-03 12:50 (New York time)".
"""
import datetime as dt
import functools
import zoneinfo

from marshmallow import ValidationError, validate

from .problems import Problem

FALLBACK = "Europe/Madrid"  # when the configuration names none (DEFAULT_TIME_ZONE)

# Places whose Spanish name differs from the IANA one; the rest read as IANA spells them.
_SPANISH_PLACES = {
    "Atlantic/Canary": "Canarias", "America/New_York": "Nueva York", "Europe/London": "Londres",
    "Europe/Paris": "París", "Europe/Berlin": "Berlín", "Europe/Brussels": "Bruselas",
    "America/Mexico_City": "Ciudad de México", "America/Sao_Paulo": "São Paulo",
}


@functools.lru_cache(maxsize=None)
def known():
    return frozenset(zoneinfo.available_timezones())


def is_valid(name):
    return isinstance(name, str) and name in known()


class IanaName(validate.Validator):
    """marshmallow validator: a zone zoneinfo knows (Europe/Madrid, America/New_York)."""

    error = Problem("unknown_time_zone")

    def __call__(self, value):
        if not is_valid(value):
            raise ValidationError(self.error)
        return value


def default_from(config):
    """The zone of people who chose none (and of addresses with no account), from configuration."""
    name = (config or {}).get("DEFAULT_TIME_ZONE") or FALLBACK
    if not is_valid(name):
        raise ValueError(f"DEFAULT_TIME_ZONE {name!r} is not an IANA time zone (e.g. Europe/Madrid)")
    return name


def _place(name, language):
    if name in ("UTC", "Etc/UTC"):
        return "UTC"
    if language == "es" and name in _SPANISH_PLACES:
        return _SPANISH_PLACES[name]
    return name.rsplit("/", 1)[-1].replace("_", " ")


def local_time(moment, zone, language):
    """`moment` (aware datetime or ISO text) as the reader writes it, in `zone`, naming the zone."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    place = _place(zone, language)
    if language == "es":
        return local.strftime("%d/%m/%Y %H:%M") + (" (UTC)" if place == "UTC" else f" (hora de {place})")
    return local.strftime("%Y-%m-%d %H:%M") + (" (UTC)" if place == "UTC" else f" ({place} time)")
