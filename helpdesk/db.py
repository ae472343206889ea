"""A blocking PostgreSQL connection pool and the one way this project opens a transaction.

psycopg2's pools raise when exhausted; under load a worker should wait for a connection instead,
so the pool is wrapped in a semaphore (green under eventlet). DESIGN.md measured that a pool which
closes surplus connections costs 2-3x throughput, so min == max connections.
"""
import contextlib
import select
import threading

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool

psycopg2.extras.register_uuid()

_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE


class _TransactionCursor(psycopg2.extensions.cursor):
    """A cursor of `Database.transaction()` on an autocommit connection. Its first statement
    carries the transaction's BEGIN, and writes whose result nobody reads (`later`) wait for the
    next statement or the COMMIT and go with it: a transaction costs a round trip per statement
    whose answer is read, plus the COMMIT (issue 11: each round trip cost both processes a send,
    a wake-up and a receive, about a third of a ticket's CPU). PostgreSQL runs the joined
    statements in order inside the transaction and stops at the first error, which is raised
    here, so all of it still commits or none does."""

    began = False
    _waiting = None  # statements (bytes) to send with the next one
    _committed = None  # what to run once the transaction has committed (after_commit)

    MOST_WAITING = 100  # a rebuild saving thousands of rows sends them a hundred at a time

    def later(self, query, vars=None):
        if self._waiting is None:
            self._waiting = []
        self._waiting.append(self.mogrify(query, vars))
        if len(self._waiting) >= self.MOST_WAITING:
            super().execute(b"; ".join(self._take_waiting()))

    def execute(self, query, vars=None):
        if self.began and not self._waiting:
            return super().execute(query, vars)
        return super().execute(b"; ".join(self._take_waiting() + [self.mogrify(query, vars)]))

    def executemany(self, query, vars_list):
        """psycopg2 sends each statement of these alone: what waits goes first, by itself."""
        if not self.began or self._waiting:
            super().execute(b"; ".join(self._take_waiting()))
        return super().executemany(query, vars_list)

    def _take_waiting(self):
        waiting = ([] if self.began else [b"BEGIN"]) + (self._waiting or [])
        self.began, self._waiting = True, None
        return waiting

    @property
    def has_work(self):
        return self.began or bool(self._waiting)

    def after_commit(self, callback):
        if self._committed is None:
            self._committed = []
        self._committed.append(callback)

    def take_committed(self):
        callbacks, self._committed = self._committed or [], None
        return callbacks


def later_values(cur, query, rows):
    """`later` for an INSERT whose one `%s` is a VALUES list of `rows`, as execute_values writes it."""
    listed = b",".join(cur.mogrify("(" + ",".join(["%s"] * len(row)) + ")", row) for row in rows)
    later(cur, query, (psycopg2.extensions.AsIs(listed.decode(psycopg2.extensions.encodings[cur.connection.encoding])),))


def after_commit(cur, callback):
    """Runs `callback()` once the transaction of `cur` has committed, never if it rolls back: what
    counts a transaction's effects (helpdesk.metrics) counts each once. Elsewhere (a plain cursor,
    no transaction of ours), at once."""
    if isinstance(cur, _TransactionCursor):
        cur.after_commit(callback)
    else:
        callback()


def later(cur, query, vars=None):
    """Runs a write whose result (rows, rowcount) nobody reads: in a transaction's cursor, with
    the transaction's next statement or its COMMIT (one round trip fewer); elsewhere at once. An
    error it meets is raised by that next statement, so use it only where no caller tells one
    error from another (upserts, ON CONFLICT DO NOTHING, plain inserts of new ids)."""
    if isinstance(cur, _TransactionCursor):
        cur.later(query, vars)
    else:
        cur.execute(query, vars)


class Database:
    def __init__(self, dsn, size=10):
        self.dsn = dsn
        self.size = size
        self._pool = psycopg2.pool.ThreadedConnectionPool(size, size, dsn)
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def connection(self):
        """A pooled connection, in autocommit (a transaction is `transaction()`); a broken one is
        discarded rather than returned to the pool."""
        with self._slots:
            conn = self._checkout()
            broken = False
            try:
                yield conn
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                broken = True
                raise
            finally:
                if not broken and not conn.closed and conn.info.transaction_status != _IDLE:
                    try:  # never hand an open transaction to the next user
                        with conn.cursor() as cur:
                            cur.execute("ROLLBACK")
                    except psycopg2.Error:
                        broken = True
                self._pool.putconn(conn, close=broken or bool(conn.closed))
                if broken:
                    self._discard_idle()

    def _checkout(self):
        """A pooled connection that is not known to be dead: one the server closed while it sat
        idle (a terminate, a restart) is replaced before anybody uses it, so a database that is
        back answers the next request instead of failing it once more (a 503)."""
        conn = self._pool.getconn()
        for _ in range(self.size + 1):
            if not _closed_by_server(conn):
                if not conn.autocommit:  # a new connection: transactions begin as _TransactionCursor says
                    conn.autocommit = True
                return conn
            self._pool.putconn(conn, close=True)
            self._discard_idle()  # its idle siblings most likely died with it
            conn = self._pool.getconn()
        return conn  # still dead: let its user meet the failure (an outage, answered 503)

    def _discard_idle(self):
        """After one broken connection, the idle ones most likely died with it (a server restart,
        an administrator's terminate): close them, so that the next users (a consumer's retry)
        get fresh connections instead of meeting the same failure once per pooled connection."""
        pool = self._pool
        with pool._lock:  # psycopg2's pool keeps its idle connections in `_pool`
            idle, pool._pool = pool._pool, []
        for conn in idle:
            with contextlib.suppress(psycopg2.Error):
                conn.close()

    @contextlib.contextmanager
    def transaction(self):
        """Yields a cursor; commits when the block ends normally, rolls back on any exception
        (`connection()` does, for a transaction left open)."""
        with self.connection() as conn:
            with conn.cursor(cursor_factory=_TransactionCursor) as cur:
                yield cur
                if cur.has_work:
                    cur.execute("COMMIT")
                for callback in cur.take_committed():
                    callback()

    def close(self):
        self._pool.closeall()


def _closed_by_server(conn):
    """An idle pooled connection that is readable has been told something by the server, which,
    for a connection that LISTENs to nothing, is only ever goodbye (the FATAL of a terminate or a
    shutdown, then the end of the stream). One select() with no wait: microseconds."""
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def connect(dsn):
    """A plain connection for tools that need one outside the pool (LISTEN, session locks)."""
    return psycopg2.connect(dsn)
