"""The time routing reads to decide who is on shift.

`FAKE_NOW` (config) starts this clock at a given instant, from which it runs at real speed: the
end-to-end tests and demos use it to be in or out of business hours whatever the real time. Only
shift decisions read it; events carry the real time they occurred at, and SLA clocks, measured
from those times, compare them with the real time too.
"""
import datetime as dt
import time


class Clock:
    def __init__(self, start=None):
        self._offset = None
        if start:
            moment = dt.datetime.fromisoformat(str(start))
            if moment.tzinfo is None:
                raise ValueError("FAKE_NOW needs a UTC offset, e.g. 2026-11-22T02:00:00+00:00")
            self._offset = moment.timestamp() - time.time()

    def now(self):
        offset = self._offset or 0.0
        return dt.datetime.fromtimestamp(time.time() + offset, dt.timezone.utc)
