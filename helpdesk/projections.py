"""Rebuilding read models from the event log: one command, with a progress bar.

    python -m helpdesk.projections tickets     # every read model of the tickets service

A `Rebuild` names the tables it owns, the stream categories it reads, and applies events in global
order. The rebuild runs in one transaction that first takes the store's append lock: no event can
be appended meanwhile, readers keep seeing the old rows until the new ones are committed, and a
failure leaves the old read model untouched. A rebuild whose read model other writers change too
(a consumer's) holds them off in `begin`, before the append lock, in the order they lock.
"""
import abc
import argparse
import importlib
import sys

from psycopg2 import sql


class Rebuild(abc.ABC):
    name = "?"
    categories = ()
    tables = ()

    @abc.abstractmethod
    def apply(self, cur, event):
        """Applies one event (in global order) to the read model."""

    def begin(self, store, cur):
        """Called first in the rebuild's transaction, before the store's append lock is taken."""

    def finish(self, cur):
        """Called once after the last event (for rebuilds that fold in memory first)."""


def rebuild(store, rebuilds, batch_size=1000, progress=None):
    """Runs every rebuild of `rebuilds` over `store`'s log. Returns the number of events read."""
    read = 0
    with store.db.transaction() as cur:
        for item in rebuilds:
            item.begin(store, cur)
        store.lock_appends(cur)
        total = store.head(cursor=cur)
        for item in rebuilds:
            for table in item.tables:
                cur.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(*table.split("."))))
        categories = sorted({c for item in rebuilds for c in item.categories})
        position = 0
        while True:
            events = store.read_all(position, batch_size, categories, cursor=cur)
            if not events:
                break
            for event in events:
                for item in rebuilds:
                    if event.category in item.categories:
                        item.apply(cur, event)
            position = events[-1].global_position
            read += len(events)
            if progress:
                progress(position, total)
        for item in rebuilds:
            item.finish(cur)
    return read


def progress_bar(stream=sys.stderr, width=40):
    def show(position, total):
        done = position / total if total else 1.0
        filled = int(done * width)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:6.1%}  position {position}/{total}")
        stream.flush()
    return show


def main(argv=None):
    from . import config
    from .db import Database
    from .eventstore import PostgresEventStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", help="the service whose read models to rebuild, e.g. tickets")
    args = parser.parse_args(argv)
    module = importlib.import_module(f"services.{args.service}")
    factories = getattr(module, "REBUILDS", None)
    if not factories:
        raise SystemExit(f"{args.service} declares no read models (REBUILDS)")
    db = Database(config.load()["DATABASE_URL"], size=1)
    try:
        rebuilds = [importlib.import_module(path).__dict__[name]() for path, name in
                    (factory.rsplit(":", 1) for factory in factories)]
        read = rebuild(PostgresEventStore(db, module.SCHEMA), rebuilds, progress=progress_bar())
    finally:
        db.close()
    print(f"\nrebuilt {', '.join(r.name for r in rebuilds)} from {read} events")


if __name__ == "__main__":
    sys.exit(main())
