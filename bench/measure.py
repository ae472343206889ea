"""The one load runner, percentile and table printer that every benchmark uses."""
import contextlib
import math
import tempfile
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Sample:
    """What a load produced: how many operations in how many seconds, and each one's latency."""

    ops: int
    seconds: float
    latencies: list = field(repr=False)

    @property
    def rate(self):
        return self.ops / self.seconds if self.seconds else 0.0

    def ms(self, q):
        return 1000 * percentile(self.latencies, q)


def percentile(values, q):
    """Nearest-rank percentile (no interpolation: every figure printed was really observed)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def open_load(make_session, open_one, clients, seconds, pause=0.0, rate=None):
    """`clients` threads, each its own session (`make_session()`, before the clock), open tickets
    for `seconds` with `open_one(session) -> (reference or None, response)`. Returns the Sample,
    {reference: wall time of the 201}, the other answers, and the wall time the load began."""
    opened, failures, sessions = {}, [], []

    def make_op(i):
        session = make_session()
        sessions.append(session)

        def op():
            reference, response = open_one(session)
            if reference:
                opened[reference] = time.time()
            else:
                failures.append((response.status_code, response.text[:200]))

        return op

    try:
        sample = run_load(make_op, clients, seconds, pause, rate)
    finally:
        for session in sessions:
            session.close()
    return sample, opened, failures, time.time() - sample.seconds


def run_load(make_op, threads, seconds, pause=0.0, rate=None):
    """Calls `op()` in a loop in each of `threads` threads for `seconds`, timing every call.

    `make_op(i)` is called first, outside the clock, so each thread can hold its own connection
    or HTTP session (as real clients do) and setup cost never counts. All threads start together
    and stop at the same deadline; an exception in any thread is raised here. `pause` (untimed,
    after each call) paces a client, to see latencies of a system that is not saturated. `rate`
    (calls per second, all threads together) schedules the calls instead: thread i's k-th call
    is due at start + (k * threads + i) / rate, so the arrivals keep their pace whatever the
    answers take (a thread that falls behind calls again at once)."""
    ops = [make_op(i) for i in range(threads)]
    timings = [[] for _ in ops]
    errors = []
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def loop(index, op, out):
        start.wait()
        calls = 0
        try:
            while time.perf_counter() < deadline[0]:
                if rate:
                    due = deadline[0] - seconds + (calls * threads + index) / rate
                    if due >= deadline[0]:
                        break
                    time.sleep(max(0.0, due - time.perf_counter()))
                began = time.perf_counter()
                op()
                out.append(time.perf_counter() - began)
                calls += 1
                time.sleep(pause)
        except BaseException as exc:  # noqa: B036 - handed to the main thread below
            errors.append(exc)

    workers = [threading.Thread(target=loop, args=(i, op, out), daemon=True)
               for i, (op, out) in enumerate(zip(ops, timings))]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    latencies = [t for out in timings for t in out]
    return Sample(len(latencies), elapsed, latencies)


def fmt(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def print_table(title, headers, rows):
    """A Markdown table, aligned for the terminal, so it can be pasted into docs as it is."""
    cells = [[fmt(value) for value in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values):
        padded = [v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))]
        return "| " + " | ".join(padded) + " |"

    print(f"\n{title}\n")
    print(line(headers))
    print("|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|")
    for row in cells:
        print(line(row))
    print(flush=True)


@contextlib.contextmanager
def scratch_database(admin_url, prefix="helpdesk_bench"):
    """A throwaway database, dropped afterwards whatever happens."""
    from helpdesk import testing

    database_url = testing.create_database(admin_url, prefix=prefix)
    try:
        yield database_url
    finally:
        testing.drop_database(admin_url, database_url)


@contextlib.contextmanager
def running_system(database_url, rabbit, root=None):
    """The whole system in a temporary directory, stopped afterwards (RunningSystem.start() cleans
    up after itself when it fails); its start-up time printed. `root`: another checkout's services."""
    from helpdesk.testing import RunningSystem

    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as workdir:
        started = time.perf_counter()
        # no access log, as the peer's gunicorn runs without one (config.yaml: ACCESS_LOG_LEVEL)
        system = RunningSystem(database_url, rabbit, workdir, extra_env={"ACCESS_LOG_LEVEL": "WARNING"},
                               root=root).start()
        print(f"\nsystem started in {time.perf_counter() - started:.1f} s", flush=True)
        try:
            yield system
        finally:
            system.stop()
