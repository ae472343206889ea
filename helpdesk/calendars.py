"""Business calendars: when a department is open, and business-time arithmetic on that (SLA
targets are business minutes). Configuration, not code: the `calendars` section of `sla.yaml`
at the project root (or the file the SLA_CONFIG setting names). Pure: nothing here reads a clock; public holidays come from
the `holidays` package, computed, not fetched.

Conventions, chosen so that adding and then measuring round-trips exactly:
- Business hours are local wall-clock hours of the calendar's timezone. A local time is placed at
  the first instant the wall clock reads it: the first pass of a repeated (fall-back) hour, and
  the moment of the jump for a time skipped by spring-forward. So 01:00-05:00 across a jump is 3
  or 5 hours, and 02:30-04:00 on the fall-back night opens at the first 02:30.
- An open interval is half-open, [opens, closes): `is_open(closes)` is False.
- `add(start, d)` with d > 0 returns the instant the d-th business second elapses, which may be
  a closing instant (work ending at 17:00 is due at 17:00, not at the next opening). With d == 0
  it returns the next open instant (start itself if open). Either way the business time
  measured from `start` to the result is exactly d.
- Durations are exact `timedelta`s inside (microseconds); `seconds_between` floors them to whole
  seconds (int) and `minutes_between` is that divided by 60 (float), so both are exact for
  whole-second inputs and whole-second or whole-minute additions.
- Results are UTC datetimes; naive datetimes are refused (their timezone would be a guess).
"""
import dataclasses
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "sla.yaml"
UTC = dt.timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = dt.time(0, 0)  # as an interval's end: midnight at the end of the day ("24:00")
NINE_TO_FIVE = ((dt.time(9, 0), dt.time(17, 0)),)
DEFAULT_HOURS = {day: NINE_TO_FIVE for day in range(5)}
# A calendar whose weekly hours are set can still stay shut for a long time (every open day an
# extra holiday, or every interval inside a DST gap); past this many closed days, arithmetic stops.
MAX_CLOSED_DAYS = 400
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ONE_SECOND = dt.timedelta(seconds=1)
_ONE_DAY = dt.timedelta(days=1)


def _aware_utc(moment, what="moment"):
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


@dataclasses.dataclass(frozen=True)
class BusinessCalendar:
    """When one department's clock runs. `hours` maps weekday (0 = Monday) to local (start, end)
    times; an end of 00:00 means midnight at the end of that day. `always_open` is 24x7: hours and
    holidays are then ignored and business time is wall time."""

    name: str
    timezone: str = "Europe/Madrid"
    hours: dict = None
    holiday_country: str | None = "ES"
    holiday_subdiv: str | None = None
    extra_holidays: frozenset = frozenset()
    always_open: bool = False
    _zone: ZoneInfo = dataclasses.field(init=False, repr=False, compare=False)
    _holiday_years: dict = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        def fail(key, problem):
            raise ValueError(f"calendar {self.name!r}: {key}: {problem}")

        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            fail("timezone", f"unknown timezone {self.timezone!r}")
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_holiday_years", {})
        if self.always_open not in (True, False):
            fail("always_open", f"must be true or false, got {self.always_open!r}")
        hours = {} if self.always_open else DEFAULT_HOURS if self.hours is None else self.hours
        object.__setattr__(self, "hours", _normalized_hours(hours, fail))
        if not self.always_open and not self.hours:
            fail("hours", "no open hours on any day (use always_open for 24x7)")
        extra = frozenset(self.extra_holidays or ())
        for day in extra:
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                fail("holidays.extra", f"{day!r} is not a date")
        object.__setattr__(self, "extra_holidays", extra)
        if self.holiday_country is None:
            if self.holiday_subdiv is not None:
                fail("holidays.subdiv", "a region needs a country")
            return
        if (not isinstance(self.holiday_country, str)
                or self.holiday_country not in holidays.list_supported_countries()):
            fail("holidays.country", f"{self.holiday_country!r} is not a country the holidays "
                                     f"package knows (ISO 3166-1 alpha-2, e.g. ES)")
        try:  # lazy in `holidays`: this validates the region without computing a year
            holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdiv)
        except (NotImplementedError, TypeError, ValueError) as error:
            fail("holidays.subdiv", f"{self.holiday_subdiv!r}: {error}")

    @classmethod
    def from_config(cls, name, mapping):
        """One entry of sla.yaml `calendars`; every error names the calendar and the key."""
        name = str(name)

        def fail(key, problem):
            raise ValueError(f"calendar {name!r}: {key}: {problem}")

        mapping = {} if mapping is None else mapping
        if not isinstance(mapping, dict):
            fail("(calendar)", f"must be a mapping, got {mapping!r}")
        _refuse_unknown(mapping, {"timezone", "hours", "holidays", "always_open"}, "", fail)
        arguments = {"name": name, "always_open": mapping.get("always_open", False)}
        if "timezone" in mapping:
            arguments["timezone"] = mapping["timezone"]
        if arguments["always_open"] is True:
            for key in ("hours", "holidays"):
                if mapping.get(key) is not None:
                    fail(key, "a 24x7 calendar (always_open) has no hours or holidays")
        if mapping.get("hours") is not None:
            arguments["hours"] = _parse_hours(mapping["hours"], fail)
        spec = mapping.get("holidays")
        if spec is not None:
            if not isinstance(spec, dict):
                fail("holidays", f"must be a mapping with country, subdiv, extra; got {spec!r}")
            _refuse_unknown(spec, {"country", "subdiv", "extra"}, "holidays.", fail)
            arguments["holiday_country"] = spec.get("country", "ES")
            arguments["holiday_subdiv"] = spec.get("subdiv")
            arguments["extra_holidays"] = _parse_dates(spec.get("extra") or [], fail)
        return cls(**arguments)

    # --- holidays ----------------------------------------------------------------------------

    def described(self):
        """What the console shows of the calendar: its open hours per weekday, in local time."""
        if self.always_open:
            return {"name": self.name, "always_open": True}
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        return {"name": self.name, "always_open": False, "timezone": self.timezone,
                "hours": {days[weekday]: [_show(start, end) for start, end in intervals]
                          for weekday, intervals in sorted((self.hours or {}).items())},
                "holidays": {"country": self.holiday_country, "subdiv": self.holiday_subdiv,
                             "extra": sorted(str(day) for day in self.extra_holidays)}}

    def is_holiday(self, day):
        """Whether the local date `day` is closed all day (public or extra holiday)."""
        if day in self.extra_holidays:
            return True
        if self.holiday_country is None:
            return False
        year = self._holiday_years.get(day.year)
        if year is None:  # a year costs milliseconds to compute: once per calendar and year
            year = frozenset(holidays.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdiv, years=day.year))
            self._holiday_years[day.year] = year
        return day in year

    # --- intervals ---------------------------------------------------------------------------

    def _instant(self, day, time):
        """The first instant at which the local wall clock reads `day time` (see module doc)."""
        naive = dt.datetime.combine(day, time)
        first = naive.replace(tzinfo=self._zone).astimezone(UTC)  # fold=0: the first pass
        if first.astimezone(self._zone).replace(tzinfo=None) == naive:
            return first
        # Skipped by a jump forward: find the jump, the first instant whose wall time is later.
        low = naive.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        low, high = min(low, first), max(low, first)
        step = dt.timedelta(microseconds=1)
        while high - low > step:
            middle = low + (high - low) // 2
            if middle.astimezone(self._zone).replace(tzinfo=None) >= naive:
                high = middle
            else:
                low = middle
        return high

    def _day_intervals(self, day):
        if self.is_holiday(day):
            return []
        intervals = []
        for start, end in self.hours.get(day.weekday(), ()):
            opens = self._instant(day, start)
            closes = self._instant(day + _ONE_DAY, end) if end == MIDNIGHT else self._instant(day, end)
            if closes > opens:  # empty when both ends fall in the same DST gap
                intervals.append((opens, closes))
        return intervals

    def _intervals_from(self, start):
        """Open intervals ending after `start`, clipped to it, merged when they touch (e.g.
        across midnight); unbounded. Built a local day at a time: never a minute at a time."""
        day = start.astimezone(self._zone).date()  # earlier days close by this day's first instant
        pending, closed_days = None, 0
        while True:
            intervals = self._day_intervals(day)
            closed_days = 0 if intervals else closed_days + 1
            for opens, closes in intervals:
                if closes <= start:
                    continue
                opens = max(opens, start)
                if pending and opens <= pending[1]:
                    pending = (pending[0], max(pending[1], closes))
                    continue
                if pending:
                    yield pending
                pending = (opens, closes)
            if closed_days > MAX_CLOSED_DAYS:
                if not pending:
                    raise ValueError(f"calendar {self.name!r}: closed for over {MAX_CLOSED_DAYS} "
                                     f"days from {day - dt.timedelta(days=closed_days)}")
                yield pending
                pending, closed_days = None, 0
            day += _ONE_DAY

    def open_intervals(self, start, end):
        """The open (opens, closes) UTC intervals within [start, end), clipped to it, in order."""
        start, end = _aware_utc(start, "start"), _aware_utc(end, "end")  # checked now, not lazily
        return self._intervals_between(start, end)

    def _intervals_between(self, start, end):
        if end <= start:
            return
        if self.always_open:
            yield (start, end)
            return
        for opens, closes in self._intervals_from(start):
            if opens >= end:
                return
            yield (opens, min(closes, end))

    def is_open(self, moment):
        """Open at `moment`: inside [opens, closes) of an interval."""
        moment = _aware_utc(moment)
        return self.always_open or next(self._intervals_from(moment))[0] == moment

    def next_open(self, moment):
        """The first open instant at or after `moment`."""
        moment = _aware_utc(moment)
        return moment if self.always_open else next(self._intervals_from(moment))[0]

    # --- arithmetic --------------------------------------------------------------------------

    def add(self, start, duration):
        """When `duration` of business time has elapsed, counting from `start` (from the next
        opening if closed then). A zero duration gives the next open instant."""
        start = _aware_utc(start, "start")
        if not isinstance(duration, dt.timedelta) or duration < dt.timedelta(0):
            raise ValueError(f"duration must be a non-negative timedelta, got {duration!r}")
        if self.always_open:
            return start + duration
        remaining = duration
        for opens, closes in self._intervals_from(start):
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens

    def add_seconds(self, start, seconds):
        """`add` in seconds (int or float; floats are rounded to the microsecond)."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        return self.add(start, dt.timedelta(seconds=seconds))

    def add_minutes(self, start, minutes):
        """`add` in minutes, the unit of SLA targets."""
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes!r}")
        return self.add(start, dt.timedelta(minutes=minutes))

    def business_time(self, start, end):
        """Exact business time in [start, end); zero if end <= start."""
        return sum((closes - opens for opens, closes in self.open_intervals(start, end)),
                   dt.timedelta(0))

    def seconds_between(self, start, end):
        """Whole business seconds in [start, end), floored (exact for whole-second inputs)."""
        return self.business_time(start, end) // _ONE_SECOND

    def minutes_between(self, start, end):
        """Business minutes in [start, end): `seconds_between` / 60, a float."""
        return self.seconds_between(start, end) / 60


def _refuse_unknown(mapping, known, prefix, fail):
    for key in mapping:
        if key not in known:
            fail(f"{prefix}{key}", f"unknown key (expected one of {', '.join(sorted(known))})")


def _normalized_hours(hours, fail):
    """{weekday: ((start, end), ...)} sorted, checked: no empty, reversed or overlapping ranges."""
    if not isinstance(hours, dict):
        fail("hours", f"must map weekdays to intervals, got {hours!r}")
    normalized = {}
    for weekday, intervals in hours.items():
        if not isinstance(weekday, int) or isinstance(weekday, bool) or weekday not in range(7):
            fail(f"hours.{weekday}", "unknown weekday (0 = Monday ... 6 = Sunday)")
        key = f"hours.{WEEKDAYS[weekday]}"
        checked = []
        for interval in intervals or ():
            try:
                start, end = interval
            except (TypeError, ValueError):
                fail(key, f"{interval!r} is not a (start, end) pair")
            for time in (start, end):
                if not isinstance(time, dt.time) or time.tzinfo is not None:
                    fail(key, f"{time!r} is not a local datetime.time")
            if end != MIDNIGHT and end <= start:
                fail(key, f"{_show(start, end)}: the end must be after the start")
            checked.append((start, end))
        checked.sort()
        for (_, end), (start, next_end) in zip(checked, checked[1:]):
            if end == MIDNIGHT or start < end:
                fail(key, f"{_show(start, next_end)} overlaps the interval before it")
        if checked:
            normalized[weekday] = tuple(checked)
    return normalized


def _show(start, end):
    return f"{start:%H:%M}-{'24:00' if end == MIDNIGHT else format(end, '%H:%M')}"


def _parse_hours(raw, fail):
    if not isinstance(raw, dict):
        fail("hours", f"must map weekdays (mon ... sun) to lists of \"HH:MM-HH:MM\", got {raw!r}")
    hours = {}
    for name, ranges in raw.items():
        day = str(name).lower()
        if day not in WEEKDAYS:
            fail(f"hours.{name}", f"unknown weekday (expected one of {', '.join(WEEKDAYS)})")
        ranges = [ranges] if isinstance(ranges, str) else ranges or []
        if not isinstance(ranges, list):
            fail(f"hours.{name}", f"must be a list of \"HH:MM-HH:MM\", got {ranges!r}")
        hours[WEEKDAYS.index(day)] = [_parse_range(text, f"hours.{name}", fail) for text in ranges]
    return hours


def _parse_range(text, key, fail):
    match = _RANGE.match(text) if isinstance(text, str) else None
    if not match:
        fail(key, f"{text!r} is not \"HH:MM-HH:MM\" (quote it in YAML)")
    start_h, start_m, end_h, end_m = map(int, match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        fail(key, f"{text!r} is not a valid time range")
    start, end = dt.time(start_h, start_m), dt.time(end_h % 24, end_m)
    if end != MIDNIGHT and end <= start:
        fail(key, f"{text!r}: the end must be after the start")
    return (start, end)


def _parse_dates(raw, fail):
    if not isinstance(raw, list):
        fail("holidays.extra", f"must be a list of dates (YYYY-MM-DD), got {raw!r}")
    dates = []
    for item in raw:
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            dates.append(item)
            continue
        try:
            dates.append(dt.date.fromisoformat(str(item)))
        except ValueError:
            fail("holidays.extra", f"{item!r} is not a date (YYYY-MM-DD)")
    return dates


def load_calendars(path=None):
    """{name: BusinessCalendar} from sla.yaml `calendars` (`path`: the SLA_CONFIG setting; else the
    file at the root)."""
    path = path or DEFAULT_PATH
    with open(path, encoding="utf-8") as handle:
        return calendars_from(yaml.safe_load(handle), path)


def calendars_from(raw, path=DEFAULT_PATH):
    """{name: BusinessCalendar} from sla.yaml's contents, read once by whoever also reads its targets."""
    calendars = (raw or {}).get("calendars") if isinstance(raw or {}, dict) else None
    if not isinstance(calendars, dict) or not calendars:
        raise ValueError(f"{path}: needs a `calendars` mapping of name -> calendar")
    return {str(name): BusinessCalendar.from_config(name, spec) for name, spec in calendars.items()}
