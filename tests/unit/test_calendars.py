"""Business calendars: examples from the issue, holidays (national, regional, extra, year ends),
the DST weeks, configuration errors, and property tests of the business-time arithmetic against
an independent oracle that asks the wall clock, minute by minute, whether the desk is open."""
import datetime as dt
import time
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk import catalog
from helpdesk.calendars import MIDNIGHT, BusinessCalendar, load_calendars

UTC = dt.timezone.utc
MADRID = ZoneInfo("Europe/Madrid")
SANTIAGO = ZoneInfo("America/Santiago")
T = dt.time
MICROSECOND = dt.timedelta(microseconds=1)

EIGHT_FIVE = BusinessCalendar("8x5")
ALWAYS = BusinessCalendar("24x7", always_open=True)


def at(*args, tz=MADRID):
    return dt.datetime(*args, tzinfo=tz)


def every_day(*intervals):
    return {day: [(T(*start), T(*end)) for start, end in intervals] for day in range(7)}


def sunday(*intervals):
    return {6: [(T(*start), T(*end)) for start, end in intervals]}


# --- the examples ------------------------------------------------------------------------

def test_friday_afternoon_plus_two_hours_is_monday_morning():
    due = EIGHT_FIVE.add_minutes(at(2026, 3, 6, 16, 30), 120)
    assert due == at(2026, 3, 9, 10, 30)
    assert due.tzinfo is UTC
    assert EIGHT_FIVE.minutes_between(at(2026, 3, 6, 16, 30), due) == 120


def test_unless_monday_is_a_holiday():
    calendar = BusinessCalendar("8x5", extra_holidays=[dt.date(2026, 3, 9)])
    assert calendar.add_minutes(at(2026, 3, 6, 16, 30), 120) == at(2026, 3, 10, 10, 30)
    assert not calendar.is_open(at(2026, 3, 9, 12, 0))


def test_defaults_are_monday_to_friday_nine_to_five_in_madrid_with_spanish_holidays():
    assert EIGHT_FIVE.timezone == "Europe/Madrid" and EIGHT_FIVE.holiday_country == "ES"
    week = [EIGHT_FIVE.is_open(at(2026, 3, day, 12, 0)) for day in range(9, 16)]
    assert week == [True] * 5 + [False] * 2
    assert EIGHT_FIVE.minutes_between(at(2026, 3, 9), at(2026, 3, 16)) == 5 * 8 * 60


# --- holidays -----------------------------------------------------------------------------------

@pytest.mark.parametrize("day", [dt.date(2026, 1, 1), dt.date(2026, 1, 6), dt.date(2026, 4, 3),
                                 dt.date(2026, 12, 8), dt.date(2026, 12, 25), dt.date(2027, 1, 1)])
def test_spanish_national_holidays_are_closed_all_day(day):
    assert day.weekday() < 5 and EIGHT_FIVE.is_holiday(day)
    assert EIGHT_FIVE.minutes_between(at(day.year, day.month, day.day),
                                      at(day.year, day.month, day.day) + dt.timedelta(days=1)) == 0


def test_christmas_eve_is_a_working_day_unless_configured():
    assert EIGHT_FIVE.is_open(at(2026, 12, 24, 10, 0))
    config = {"holidays": {"country": "ES", "subdiv": None, "extra": ["2026-12-24"]}}
    assert not BusinessCalendar.from_config("8x5", config).is_open(at(2026, 12, 24, 10, 0))


def test_crossing_the_year_end():
    # Thursday 31 December 2026, then New Year's Day (Friday) and a weekend.
    assert EIGHT_FIVE.add_minutes(at(2026, 12, 31, 16, 0), 120) == at(2027, 1, 4, 10, 0)
    assert EIGHT_FIVE.minutes_between(at(2026, 12, 31), at(2027, 1, 5)) == 2 * 8 * 60
    # Wednesday 31 December 2025 to Friday 2 January 2026.
    assert EIGHT_FIVE.add_minutes(at(2025, 12, 31, 16, 0), 120) == at(2026, 1, 2, 10, 0)
    # A whole year: 2026 has 261 weekdays, 7 national holidays on them (15 August is a Saturday).
    assert EIGHT_FIVE.minutes_between(at(2026, 1, 1), at(2027, 1, 1)) == (261 - 7) * 8 * 60


def test_regional_holidays_only_with_the_region():
    friday = at(2026, 10, 30, 16, 30)  # Monday 2 November 2026 is a holiday in Madrid only
    madrid = BusinessCalendar("8x5", holiday_subdiv="MD")
    assert EIGHT_FIVE.add_minutes(friday, 120) == at(2026, 11, 2, 10, 30)
    assert madrid.add_minutes(friday, 120) == at(2026, 11, 3, 10, 30)
    diada = at(2026, 9, 11, 12, 0)  # Catalonia's national day, a Friday
    assert EIGHT_FIVE.is_open(diada) and madrid.is_open(diada)
    assert not BusinessCalendar("8x5", holiday_subdiv="CT").is_open(diada)


def test_no_public_holidays_when_no_country():
    calendar = BusinessCalendar("plain", holiday_country=None, extra_holidays=[dt.date(2026, 3, 9)])
    assert calendar.is_open(at(2026, 12, 25, 10, 0))
    assert not calendar.is_open(at(2026, 3, 9, 10, 0))


# --- boundaries ---------------------------------------------------------------------------------

def test_intervals_are_half_open():
    assert EIGHT_FIVE.is_open(at(2026, 3, 9, 9, 0))
    assert EIGHT_FIVE.is_open(at(2026, 3, 9, 17, 0) - MICROSECOND)
    assert not EIGHT_FIVE.is_open(at(2026, 3, 9, 17, 0))
    assert not EIGHT_FIVE.is_open(at(2026, 3, 9, 9, 0) - MICROSECOND)


def test_work_that_ends_at_closing_time_is_due_at_closing_time():
    assert EIGHT_FIVE.add_minutes(at(2026, 3, 9, 9, 0), 480) == at(2026, 3, 9, 17, 0)
    assert EIGHT_FIVE.add_minutes(at(2026, 3, 9, 9, 0), 481) == at(2026, 3, 10, 9, 1)


def test_zero_minutes_is_the_next_open_moment():
    assert EIGHT_FIVE.add_minutes(at(2026, 3, 9, 12, 0), 0) == at(2026, 3, 9, 12, 0)
    assert EIGHT_FIVE.add_minutes(at(2026, 3, 9, 17, 0), 0) == at(2026, 3, 10, 9, 0)
    assert EIGHT_FIVE.add_minutes(at(2026, 3, 14, 12, 0), 0) == at(2026, 3, 16, 9, 0)
    assert EIGHT_FIVE.next_open(at(2026, 3, 14, 12, 0)) == at(2026, 3, 16, 9, 0)


def test_counting_starts_at_the_next_opening_and_closed_time_counts_nothing():
    saturday = at(2026, 3, 14, 12, 0)
    assert EIGHT_FIVE.add_minutes(saturday, 30) == at(2026, 3, 16, 9, 30)
    assert EIGHT_FIVE.minutes_between(saturday, at(2026, 3, 16, 9, 30)) == 30
    assert EIGHT_FIVE.minutes_between(at(2026, 3, 16, 10, 0), at(2026, 3, 16, 9, 0)) == 0


def test_split_shifts_and_intervals_across_midnight():
    calendar = BusinessCalendar("split", hours={0: [(T(15), T(19)), (T(9), T(13)), (T(22), MIDNIGHT)],
                                                1: [(T(0), T(6))]}, holiday_country=None)
    monday = at(2026, 3, 9)
    assert calendar.add_minutes(monday + dt.timedelta(hours=12), 120) == at(2026, 3, 9, 16, 0)
    # 22:00 Monday to 06:00 Tuesday is one stretch of 8 hours.
    assert list(calendar.open_intervals(monday + dt.timedelta(hours=20), at(2026, 3, 11))) == [
        (at(2026, 3, 9, 22, 0), at(2026, 3, 10, 6, 0))]
    assert calendar.minutes_between(monday, monday + dt.timedelta(days=7)) == (4 + 4 + 2 + 6) * 60


def test_seconds_and_minutes():
    start = at(2026, 3, 9, 16, 59, 30, 250_000)  # microseconds survive the arithmetic exactly
    due = EIGHT_FIVE.add_seconds(start, 45)
    assert due == at(2026, 3, 10, 9, 0, 15, 250_000)
    assert EIGHT_FIVE.seconds_between(start, due) == 45
    assert EIGHT_FIVE.business_time(start, due) == dt.timedelta(seconds=45)
    assert EIGHT_FIVE.minutes_between(start, due) == 0.75
    assert EIGHT_FIVE.seconds_between(at(2026, 3, 9, 9), at(2026, 3, 9, 9, 0, 1, 999_999)) == 1


def test_inputs_in_any_timezone_and_results_in_utc():
    tokyo = at(2026, 3, 7, 0, 30, tz=ZoneInfo("Asia/Tokyo"))  # Friday 16:30 in Madrid
    assert EIGHT_FIVE.add_minutes(tokyo, 120) == at(2026, 3, 9, 9, 30, tz=UTC)


def test_naive_datetimes_and_negative_durations_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        EIGHT_FIVE.add_minutes(dt.datetime(2026, 3, 9, 10), 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        EIGHT_FIVE.is_open(dt.datetime(2026, 3, 9, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        EIGHT_FIVE.open_intervals(at(2026, 3, 9), dt.datetime(2026, 3, 10))
    with pytest.raises(ValueError, match="negative"):
        EIGHT_FIVE.add_minutes(at(2026, 3, 9), -1)


def test_long_spans_jump_interval_by_interval():
    start = at(2025, 1, 1)
    began = time.perf_counter()
    due = EIGHT_FIVE.add_minutes(start, 1_000_000)  # about 8 years of office hours
    assert EIGHT_FIVE.minutes_between(start, due) == 1_000_000
    assert time.perf_counter() - began < 5  # minute by minute would take minutes
    assert due.year == 2033


# --- DST ----------------------------------------------------------------------------------------

def test_office_hours_are_local_in_the_dst_weeks_of_2026():
    # Spring forward on Sunday 29 March, fall back on Sunday 25 October: the weeks are 167 and
    # 169 hours long, the office weeks still 40 hours, and Monday opens at 09:00 local.
    for friday, monday, wall_hours in ((at(2026, 3, 27), at(2026, 3, 30), 167),
                                       (at(2026, 10, 23), at(2026, 10, 26), 169)):
        assert EIGHT_FIVE.add_minutes(friday + dt.timedelta(hours=16, minutes=30), 120) == \
            monday + dt.timedelta(hours=10, minutes=30)
        week_start = monday - dt.timedelta(days=7)  # local midnight, a week of wall days earlier
        assert ALWAYS.minutes_between(week_start, monday) == wall_hours * 60
        assert EIGHT_FIVE.minutes_between(week_start, monday) == 5 * 8 * 60
    assert EIGHT_FIVE.next_open(at(2026, 3, 28, 12)) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert EIGHT_FIVE.next_open(at(2026, 10, 24, 12)) == dt.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_an_interval_across_the_jump_is_shorter_in_spring_and_longer_in_autumn():
    night = BusinessCalendar("night", hours=sunday(((1, 0), (5, 0))), holiday_country=None)
    assert night.minutes_between(at(2026, 3, 29), at(2026, 3, 30)) == 3 * 60
    assert night.minutes_between(at(2026, 10, 25), at(2026, 10, 26)) == 5 * 60
    assert night.add_minutes(at(2026, 3, 29, 1, 0), 180) == dt.datetime(2026, 3, 29, 3, 0, tzinfo=UTC)
    assert night.add_minutes(at(2026, 10, 25, 1, 0), 300) == dt.datetime(2026, 10, 25, 4, 0, tzinfo=UTC)
    assert night.add_minutes(at(2026, 3, 29, 1, 59), 1) == at(2026, 3, 29, 3, 0)  # = 01:00 UTC
    assert night.minutes_between(at(2026, 3, 22), at(2026, 3, 23)) == 4 * 60  # an ordinary Sunday


def test_a_local_time_the_spring_jump_skips_happens_at_the_jump():
    jump = dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    late = BusinessCalendar("late", hours=sunday(((2, 30), (4, 0))), holiday_country=None)
    early = BusinessCalendar("early", hours=sunday(((1, 0), (2, 30))), holiday_country=None)
    inside = BusinessCalendar("inside", hours={6: [(T(2, 10), T(2, 50))], 0: [(T(9), T(10))]},
                              holiday_country=None)
    assert late.next_open(at(2026, 3, 29)) == jump and late.minutes_between(jump, jump + _hours(3)) == 60
    assert list(early.open_intervals(at(2026, 3, 29), at(2026, 3, 30))) == [(jump - _hours(1), jump)]
    assert inside.minutes_between(at(2026, 3, 29), at(2026, 3, 30)) == 0  # wholly skipped
    assert inside.add_minutes(at(2026, 3, 29, 1, 0), 1) == at(2026, 3, 30, 9, 1)
    assert inside.minutes_between(at(2026, 3, 22), at(2026, 3, 23)) == 40


def test_a_repeated_autumn_hour_is_placed_at_its_first_pass():
    first_two = dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST; 02:00 CET is 01:00 UTC
    late = BusinessCalendar("late", hours=sunday(((2, 30), (4, 0))), holiday_country=None)
    early = BusinessCalendar("early", hours=sunday(((1, 0), (2, 30))), holiday_country=None)
    assert late.next_open(at(2026, 10, 25)) == first_two + _hours(0.5)
    assert late.minutes_between(at(2026, 10, 25), at(2026, 10, 26)) == 150
    assert early.minutes_between(at(2026, 10, 25), at(2026, 10, 26)) == 90
    assert not early.is_open(first_two + _hours(1.25))  # 02:15 CET, the second pass


def test_twenty_four_seven_is_wall_time_even_across_dst():
    assert ALWAYS.minutes_between(at(2026, 3, 28, 12), at(2026, 3, 29, 12)) == 23 * 60
    assert ALWAYS.minutes_between(at(2026, 10, 24, 12), at(2026, 10, 25, 12)) == 25 * 60
    assert ALWAYS.add_minutes(at(2026, 12, 25, 3, 0), 90) == at(2026, 12, 25, 4, 30)
    assert ALWAYS.is_open(at(2026, 12, 25, 3, 0)) and ALWAYS.next_open(at(2026, 1, 1)) == at(2026, 1, 1)


def _hours(count):
    return dt.timedelta(hours=count)


# --- configuration ------------------------------------------------------------------------------

def test_the_projects_sla_yaml_has_a_calendar_for_every_department():
    calendars = load_calendars()
    assert calendars["8x5"] == EIGHT_FIVE and calendars["24x7"].always_open
    assert {d.calendar for d in catalog.load().departments.values()} <= set(calendars)


def test_sla_config_names_another_file(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("# test\ncalendars:\n  shifts:\n    timezone: America/Santiago\n"
                    "    hours: {Mon: ['08:00-14:00', '16:00-20:00'], fri: '08:00-14:00', sat: '10:00-24:00',"
                    " sun: []}\n"
                    "    holidays: {country: CL, extra: [2026-09-17, '2026-09-21']}\n", encoding="utf-8")
    shifts = load_calendars(str(path))["shifts"]
    assert shifts.hours == {0: ((T(8), T(14)), (T(16), T(20))), 4: ((T(8), T(14)),), 5: ((T(10), MIDNIGHT),)}
    assert shifts.extra_holidays == {dt.date(2026, 9, 17), dt.date(2026, 9, 21)}
    assert shifts.holiday_country == "CL" and shifts.holiday_subdiv is None
    assert shifts.is_open(at(2026, 9, 11, 12, tz=SANTIAGO))
    assert not shifts.is_open(at(2026, 9, 18, 12, tz=SANTIAGO))  # a Friday, Chile's national day


@pytest.mark.parametrize("config, key", [
    ({"hours": {"sun": [], "mon": ["09:00-17:00"], "funday": ["09:00-17:00"]}}, "hours.funday"),
    ({"hours": {"mon": ["17:00-09:00"]}}, "hours.mon"),
    ({"hours": {"mon": ["09:00-09:00"]}}, "hours.mon"),
    ({"hours": {"tue": ["09:00-14:00", "13:00-17:00"]}}, "hours.tue"),
    ({"hours": {"wed": ["9-17"]}}, "hours.wed"),
    ({"hours": {"thu": ["09:00-25:00"]}}, "hours.thu"),
    ({"hours": {"fri": [1020]}}, "hours.fri"),
    ({"hours": {}}, "hours"),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"holidays": {"country": "XX"}}, "holidays.country"),
    ({"holidays": {"country": "ES", "subdiv": "ZZ"}}, "holidays.subdiv"),
    ({"holidays": {"country": "ES", "extra": ["2026-13-01"]}}, "holidays.extra"),
    ({"holidays": {"country": "ES", "regions": "MD"}}, "holidays.regions"),
    ({"holidays": "ES"}, "holidays"),
    ({"timzone": "Europe/Madrid"}, "timzone"),
    ({"always_open": "yes"}, "always_open"),
    ({"always_open": True, "hours": {"mon": ["09:00-17:00"]}}, "hours"),
])
def test_bad_configurations_are_refused_naming_the_calendar_and_the_key(config, key):
    with pytest.raises(ValueError, match=rf"^calendar 'desk': {key}: "):
        BusinessCalendar.from_config("desk", config)


def test_bad_constructor_arguments_are_refused_too():
    with pytest.raises(ValueError, match=r"calendar 'desk': hours.7: unknown weekday"):
        BusinessCalendar("desk", hours={7: [(T(9), T(17))]})
    with pytest.raises(ValueError, match=r"calendar 'desk': hours.sun: 17:00-09:00"):
        BusinessCalendar("desk", hours={6: [(T(17), T(9))]})
    with pytest.raises(ValueError, match=r"calendar 'desk': holidays.extra"):
        BusinessCalendar("desk", extra_holidays=["2026-12-24"])


def test_a_file_without_calendars_is_refused(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("targets: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="calendars"):
        load_calendars(path)


# --- properties ---------------------------------------------------------------------------------

YEARS = range(2025, 2030)
MADRID_MD = BusinessCalendar("8x5-md", holiday_subdiv="MD", extra_holidays=[dt.date(2026, 12, 24)])
SPLIT = BusinessCalendar("split", hours={0: [(T(8), T(14)), (T(16), T(20))], 2: [(T(7, 30), T(15, 45))],
                                         5: [(T(10), MIDNIGHT)], 6: [(T(0), T(2))]})
NIGHTS = BusinessCalendar("nights", hours=every_day(((1, 0), (5, 0)), ((9, 0), (13, 0)), ((15, 0), (19, 0))))
SANTIAGO_NIGHTS = BusinessCalendar("santiago", timezone="America/Santiago", holiday_country=None,
                                   hours=every_day(((0, 0), (2, 0)), ((22, 0), (0, 0))))
CALENDARS = (EIGHT_FIVE, MADRID_MD, SPLIT, NIGHTS, SANTIAGO_NIGHTS)
HOLIDAY_DATES = {
    calendar.name: frozenset(calendar.extra_holidays) | (frozenset() if calendar.holiday_country is None else
                                                        frozenset(holidays.country_holidays(
                                                            calendar.holiday_country,
                                                            subdiv=calendar.holiday_subdiv, years=YEARS)))
    for calendar in CALENDARS}
ZONES = (UTC, MADRID, SANTIAGO, ZoneInfo("Asia/Tokyo"))
EPOCH = dt.datetime(2025, 1, 1, tzinfo=UTC)
SPAN = int((dt.datetime(2029, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
# Every DST change of 2025-2028 in both zones (Santiago's happen at local midnight).
TRANSITIONS = {
    "Europe/Madrid": [dt.datetime(y, m, d, 1, tzinfo=UTC) for y, m, d in (
        (2025, 3, 30), (2025, 10, 26), (2026, 3, 29), (2026, 10, 25),
        (2027, 3, 28), (2027, 10, 31), (2028, 3, 26), (2028, 10, 29))],
    "America/Santiago": [dt.datetime(y, m, d, h, tzinfo=UTC) for y, m, d, h in (
        (2025, 4, 6, 3), (2025, 9, 7, 4), (2026, 4, 5, 3), (2026, 9, 6, 4),
        (2027, 4, 4, 3), (2027, 9, 5, 4), (2028, 4, 2, 3), (2028, 9, 3, 4))],
}


def wall_clock_open(calendar, moment):
    """The oracle: look at the local wall clock and the holiday list, nothing else."""
    if calendar.always_open:
        return True
    local = moment.astimezone(ZoneInfo(calendar.timezone))
    now = local.time().replace(fold=0)
    if local.date() in HOLIDAY_DATES[calendar.name]:
        return False
    return any(start <= now and (end == MIDNIGHT or now < end)
               for start, end in calendar.hours.get(local.weekday(), ()))


moments = st.builds(
    lambda seconds, micro, zone: (EPOCH + dt.timedelta(seconds=seconds, microseconds=micro)).astimezone(zone),
    st.integers(0, SPAN), st.sampled_from([0, 0, 0, 1, 500_000, 999_999]), st.sampled_from(ZONES))
calendars = st.sampled_from(CALENDARS)
minutes = st.integers(0, 20_000)


@st.composite
def near_a_transition(draw):
    """A calendar and a whole-minute UTC moment within four days of one of its zone's DST changes."""
    calendar = draw(st.sampled_from([EIGHT_FIVE, NIGHTS, SANTIAGO_NIGHTS]))
    change = draw(st.sampled_from(TRANSITIONS[calendar.timezone]))
    return calendar, change + dt.timedelta(minutes=draw(st.integers(-4 * 1440, 4 * 1440)))


@settings(max_examples=150, deadline=None)
@given(calendars, moments, minutes)
def test_adding_then_measuring_round_trips(calendar, start, count):
    due = calendar.add_minutes(start, count)
    assert due.tzinfo is UTC and due >= start
    assert calendar.minutes_between(start, due) == count
    assert calendar.business_time(start, due) == dt.timedelta(minutes=count)


@settings(max_examples=150, deadline=None)
@given(calendars, moments, minutes)
def test_a_result_is_never_in_closed_time(calendar, start, count):
    """count > 0: the instant before the result is open (it may itself be a closing instant), so
    nothing earlier would do. count == 0: the result is open and nothing open came before it."""
    due = calendar.add_minutes(start, count)
    if count:
        assert calendar.is_open(due - MICROSECOND) and wall_clock_open(calendar, due - MICROSECOND)
    else:
        assert calendar.is_open(due) and wall_clock_open(calendar, due)
        assert due == calendar.next_open(start) and not list(calendar.open_intervals(start, due))


@settings(max_examples=100, deadline=None)
@given(calendars, moments, minutes, minutes)
def test_more_minutes_are_never_earlier_and_additions_compose(calendar, start, first, second):
    low, high = sorted((first, second))
    assert calendar.add_minutes(start, low) <= calendar.add_minutes(start, high)
    assert calendar.add_minutes(calendar.add_minutes(start, first), second + 1) == \
        calendar.add_minutes(start, first + second + 1)


@settings(max_examples=100, deadline=None)
@given(calendars, moments, st.integers(0, 30 * 86400), st.integers(0, 30 * 86400))
def test_measuring_is_additive(calendar, start, first, second):
    middle = start.astimezone(UTC) + dt.timedelta(seconds=first)
    end = middle + dt.timedelta(seconds=second)
    assert calendar.business_time(start, end) == \
        calendar.business_time(start, middle) + calendar.business_time(middle, end)
    intervals = list(calendar.open_intervals(start, end))
    assert all(a < b for a, b in intervals) and all(b < c for (_, b), (c, _) in zip(intervals, intervals[1:]))


@settings(max_examples=60, deadline=None)
@given(near_a_transition(), st.integers(0, 3 * 1440))
def test_dst_weeks_agree_with_the_wall_clock_minute_by_minute(case, span):
    calendar, start = case
    end = start + dt.timedelta(minutes=span)
    open_minutes = sum(wall_clock_open(calendar, start + dt.timedelta(minutes=k)) for k in range(span))
    assert calendar.minutes_between(start, end) == open_minutes
    assert calendar.is_open(start) == wall_clock_open(calendar, start)
    if open_minutes:
        due = calendar.add_minutes(start, open_minutes)
        assert due <= end and wall_clock_open(calendar, due - MICROSECOND)


@settings(max_examples=100, deadline=None)
@given(moments, minutes, st.integers(0, 40 * 86400))
def test_twenty_four_seven_is_wall_time(start, count, seconds):
    # Elapsed time: in UTC, since Python adds a timedelta to a zoned datetime on its wall clock.
    utc = start.astimezone(UTC)
    assert ALWAYS.add_minutes(start, count) == utc + dt.timedelta(minutes=count)
    assert ALWAYS.minutes_between(start, utc + dt.timedelta(minutes=count)) == count
    assert ALWAYS.seconds_between(start, utc + dt.timedelta(seconds=seconds)) == seconds
    assert ALWAYS.is_open(start) and ALWAYS.minutes_between(start, start - dt.timedelta(seconds=1)) == 0
