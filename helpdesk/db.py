"""A blocking PostgreSQL connection pool and the one way this project opens a transaction.

psycopg2's pools raise when exhausted; under load a worker should wait for a connection instead,
so the pool is wrapped in a semaphore (green under eventlet). DESIGN.md measured that a pool which
closes surplus connections costs 2-3x throughput, so min == max connections.
"""
import collections
import contextlib
import hashlib
import re
import select
import threading

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool
import psycopg2.sql

psycopg2.extras.register_uuid()

_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE

PREPARE_AFTER = 5  # runs of one statement on one connection before it is prepared (psycopg 3's default)
MOST_PREPARED = 100  # per connection; the least recently used is deallocated beyond it
_PLACEHOLDER = re.compile(r"%%|%s")
_unpreparable = set()  # texts sent whole on every connection: not split with certainty, or all refused


class _Connection(psycopg2.extensions.connection):
    """A pooled connection that remembers which statements it has prepared (`_Prepared`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared = _Prepared()


class _Prepared:
    """Server-side prepared statements of one connection, made as psycopg 3 makes them: a
    statement with parameters that has run PREPARE_AFTER times on this connection is prepared,
    and from then on sent as `EXECUTE name (values)`. PostgreSQL then skips parsing, analysing
    and planning it, about a third of its CPU for the short statements of an inbox delivery
    (docs/performance.md; issue 11). Several statements in one text (the round trips saved by
    joining them) are prepared one by one and executed together; one that PostgreSQL will not
    prepare (`%s IS NULL`: a parameter of no known type; `IN %s`; `SET`) is sent as it is."""

    def __init__(self):
        self.runs = collections.Counter()
        self.texts = collections.OrderedDict()  # statement text -> its parts, least recently used first
        self.dropped = []  # names to DEALLOCATE with the next statement sent

    def statement(self, cur, query, vars):
        """The bytes to send for `query` with `vars`: the statement itself, or its EXECUTEs."""
        text = query.as_string(cur) if isinstance(query, psycopg2.sql.Composable) else query
        # Named parameters and bytes are sent whole; so is raw SQL passed as a value (AsIs), which
        # a prepared statement would take for a constant (`ORDER BY %s` would order by nothing).
        if not isinstance(vars, (tuple, list)) or isinstance(text, bytes) or text in _unpreparable \
                or any(isinstance(value, psycopg2.extensions.AsIs) for value in vars):
            return cur.mogrify(text, vars)
        parts = self.texts.get(text)
        if parts is None:
            if len(self.runs) > 10 * MOST_PREPARED:  # texts made afresh each time never get here
                self.runs.clear()
            self.runs[text] += 1
            if self.runs[text] < PREPARE_AFTER:
                return cur.mogrify(text, vars)
            del self.runs[text]
            parts = self._prepare(cur, text)
            if parts is None:
                return cur.mogrify(text, vars)
        self.texts.move_to_end(text)
        sent, at = [f"DEALLOCATE {name}".encode() for name in self.dropped], 0
        self.dropped = []
        for part, count, name, types in parts:
            args = vars[at:at + count]
            at += count
            if name is None:
                sent.append(cur.mogrify(part, args))
            elif count:
                sent.append(cur.mogrify(f"EXECUTE {name} ({', '.join(map(_argument, args, types))})", args))
            else:
                sent.append(f"EXECUTE {name}".encode())
        return b"; ".join(sent)

    def _prepare(self, cur, text):
        """PREPAREs each statement of `text` (once per connection, a round trip each), in a
        savepoint when a transaction is open, so that one PostgreSQL refuses is sent as it is and
        the transaction goes on. Returns [(statement, its parameters, name or None, their types)],
        or None when `text` cannot be split into statements with certainty or PostgreSQL refused
        every one of them (then it is sent whole everywhere, as PostgreSQL would refuse it again)."""
        statements = _statements(text)
        if statements is None:
            _unpreparable.add(text)
            return None
        in_transaction = cur.connection.info.transaction_status != _IDLE
        parts = []
        digest = hashlib.sha1(text.encode()).hexdigest()[:16]
        with cur.connection.cursor() as side:  # of its own: `cur` may hold rows not fetched yet
            for index, statement in enumerate(statements):
                count = _PLACEHOLDER.findall(statement).count("%s")
                name = f"hd_{digest}_{index}"  # one text's own: evicting it leaves the others'
                numbers = iter(range(1, count + 1))
                body = _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", statement)
                types = f"SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = '{name}'"
                if name in self.dropped:  # evicted but not deallocated yet: still prepared
                    self.dropped.remove(name)
                    side.execute(types)
                    parts.append((statement, count, name, side.fetchone()[0]))
                    continue
                try:
                    if in_transaction:
                        side.execute("SAVEPOINT hd_prepare")
                    side.execute(f"PREPARE {name} AS {body}; {types}")  # no parameters: `%` is itself
                    parts.append((statement, count, name, side.fetchone()[0]))
                    if in_transaction:
                        side.execute("RELEASE SAVEPOINT hd_prepare")
                except (psycopg2.ProgrammingError, psycopg2.DataError, psycopg2.NotSupportedError):
                    if in_transaction:
                        side.execute("ROLLBACK TO SAVEPOINT hd_prepare")
                    parts.append((statement, count, None, None))
        if all(name is None for _, _, name, _ in parts):
            _unpreparable.add(text)
            return None
        self.texts[text] = parts
        while len(self.texts) > MOST_PREPARED:
            _, evicted = self.texts.popitem(last=False)
            self.dropped.extend(name for _, _, name, _ in evicted if name is not None)
        return parts


def _argument(value, type_name):
    """A parameter of EXECUTE. PostgreSQL coerces EXECUTE's values to the prepared types as it
    would an assignment, and psycopg2 writes a list as a typed ARRAY[...] (text[] for strings)
    and a bool as `true`: neither is assignable to, say, uuid[] or integer, so both get the
    explicit cast the statement itself would have applied. Other values are quoted strings
    (assignable to any type), numbers, or literals already cast to their own types."""
    return f"%s::{type_name}" if isinstance(value, (list, bool)) else "%s"


def _statements(text):
    """The statements of `text`, split at each `;` outside quotes; None if it has dollar quotes
    or E'' strings (whose ends this does not look for)."""
    if ";" not in text:
        return [text]
    if "$" in text or "E'" in text or "e'" in text:
        return None
    statements, start, quote = [], 0, None
    for at, char in enumerate(text):
        if quote:
            if char == quote:  # a doubled quote is a quote ending and another beginning: the same
                quote = None
        elif char in "'\"":
            quote = char
        elif char == ";":
            statements.append(text[start:at])
            start = at + 1
    statements.append(text[start:])
    return [statement.strip() for statement in statements if statement.strip()] if quote is None else None


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
        self._waiting.append(self._statement(query, vars))
        if len(self._waiting) >= self.MOST_WAITING:
            super().execute(b"; ".join(self._take_waiting()))

    def execute(self, query, vars=None):
        statement = self._statement(query, vars)
        if self.began and not self._waiting:
            return super().execute(statement)
        return super().execute(b"; ".join(self._take_waiting() + [statement]))

    def _statement(self, query, vars):
        if vars is None:  # no parameters: psycopg2 sends the text as it is (`%` is itself)
            return self.mogrify(query, vars)
        return self.connection.prepared.statement(self, query, vars)

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


def values(cur, query, rows):
    """`query`, whose one `%s` stands for a VALUES list, with a placeholder per value of `rows`,
    and the values in order: a statement that, for a given number of rows, is prepared like any
    other (execute_values writes the values into the text, a new text each time)."""
    text = query.as_string(cur) if isinstance(query, psycopg2.sql.Composable) else query
    head, tail = text.split("%s")
    row = "(" + ",".join(["%s"] * len(rows[0])) + ")"
    return head + ",".join([row] * len(rows)) + tail, [value for row in rows for value in row]


def later_values(cur, query, rows):
    """`later` for an INSERT whose one `%s` is a VALUES list of `rows` (see `values`)."""
    later(cur, *values(cur, query, rows))


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
        self._pool = psycopg2.pool.ThreadedConnectionPool(size, size, dsn, connection_factory=_Connection)
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
