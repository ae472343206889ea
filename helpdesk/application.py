"""The application layer's mechanisms, written once for every service.

A service's handlers (`services/<name>/handlers.py`) are plain code over a unit of work:
`with uow() as work:` is one transaction, in which `work.events` is the service's event store,
`work.<name>` its repositories (`services/<name>/repositories.py`), `work.lock(key)` a lock
held until the transaction ends and `work.after_commit(callback)` what to run once it committed
(counting what it did: helpdesk.metrics). `PostgresUnitOfWork` is the production one;
`InMemoryUnitOfWork` keeps the same contract in memory (tests/contract) so that the whole system
runs in one process (helpdesk.system) and the service layer is tested in milliseconds. The nameko
`service.py` files only translate: RPC and events in, handler calls, answers out.

`translated` is the one translation of a domain's refusals (helpdesk.refusals) into the errors
that cross services (helpdesk.errors).
"""
import contextlib
import threading

from . import errors, refusals
from .db import after_commit


def translated(decision, current_version=None):
    """Runs `decision()`; a refusal becomes the error callers understand (422, 403, 409 with the
    aggregate's `current_version`)."""
    try:
        return decision()
    except refusals.RuleBroken as exc:
        raise errors.invalid(exc.field, exc.code, **exc.params)
    except refusals.Forbidden as exc:
        raise errors.Forbidden(exc.message, exc.params)
    except refusals.IllegalTransition as exc:
        raise errors.Conflict(exc.message, exc.params, code=exc.code, current_version=current_version)


class JoinedStore:
    """An event store whose every call joins one transaction (`cursor`; None in memory)."""

    def __init__(self, store, cursor):
        self.store, self.cursor = store, cursor

    def read_stream(self, stream, from_position=0, limit=None):
        return self.store.read_stream(stream, from_position, limit, cursor=self.cursor)

    def read_all(self, after_global_position=0, limit=1000, categories=None):
        return self.store.read_all(after_global_position, limit, categories, cursor=self.cursor)

    def stream_version(self, stream):
        return self.store.stream_version(stream, cursor=self.cursor)

    def append(self, stream, events, expected_version):
        return self.store.append(stream, events, expected_version, cursor=self.cursor)


class Work:
    """One transaction's view: `events`, `lock(key)`, `after_commit(callback)`, and each repository
    by name, made on first use."""

    def __init__(self, events, lock, repositories, after_commit):
        self.events, self.lock, self._factories = events, lock, repositories
        self.after_commit = after_commit

    def __getattr__(self, name):
        try:
            factory = self._factories[name]
        except KeyError:
            raise AttributeError(name) from None
        repository = factory()
        setattr(self, name, repository)
        return repository


class PostgresUnitOfWork:
    """`repositories`: name -> class taking the transaction's cursor."""

    def __init__(self, database, store, repositories):
        self.database, self.store, self.repositories = database, store, repositories

    @contextlib.contextmanager
    def __call__(self):
        with self.database.transaction() as cur:
            yield self.joined(cur)

    def joined(self, cur):
        """The work of a transaction someone else opened (a consumer's inbox delivery)."""
        def lock(key):
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
        return Work(JoinedStore(self.store, cur), lock,
                    {name: (lambda cls=cls: cls(cur)) for name, cls in self.repositories.items()},
                    lambda callback: after_commit(cur, callback))


class InMemoryUnitOfWork:
    """Transactions one at a time (a lock), each undone on error: the event store truncated back
    to where it stood, every table given back the rows it had. `repositories`: name -> an
    in-memory repository (InMemoryTable)."""

    def __init__(self, store, repositories):
        self.store, self.repositories = store, repositories
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            mark = self.store.mark()
            saved = {name: table.snapshot() for name, table in self.repositories.items()}
            committed = []
            try:
                yield self._work(committed.append)
            except BaseException:
                self.store.rollback_to(mark)
                for name, table in self.repositories.items():
                    table.restore(saved[name])
                raise
            for callback in committed:
                callback()

    def joined(self, cur):
        """In memory a delivery's transaction is the delivery itself: what waits for its commit runs at once."""
        return self._work(lambda callback: callback())

    def _work(self, after_commit):
        return Work(JoinedStore(self.store, None), lambda key: None,
                    {name: (lambda table=table: table) for name, table in self.repositories.items()}, after_commit)


class InMemoryTable:
    """Base of in-memory repositories: `self.rows`, a dict whose values are never changed in place
    (replaced), so that a shallow copy is a snapshot."""

    def __init__(self):
        self.rows = {}

    def snapshot(self):
        return dict(self.rows)

    def restore(self, rows):
        self.rows = rows
