"""Schema migrations, per service: each service owns one PostgreSQL schema named after it.

A service package declares `SCHEMA` and `STORAGE` (the library parts it keeps in its schema:
"eventstore", "inbox"); its own SQL lives in `services/<name>/migrations/NNN_*.sql`. Files are
applied once, in name order, each component tracked separately in `<schema>.schema_migrations`.

    python -m helpdesk.migrate            # every service
    python -m helpdesk.migrate tickets    # just one
    python -m helpdesk.migrate --check    # exit 1 while any file is not applied (changes nothing)
"""
import argparse
import hashlib
import importlib
import pkgutil
import sys
from pathlib import Path

from psycopg2 import sql

from . import config
from .db import connect

LIBRARY_SQL = Path(__file__).parent / "sql"


class EditedMigration(Exception):
    """An applied migration file changed: the schema it describes is not the one in the database."""


def components(service_module):
    """(component name, directory of .sql files) for a service package, in application order."""
    for part in getattr(service_module, "STORAGE", ()):
        yield f"helpdesk.{part}", LIBRARY_SQL / part
    own = Path(service_module.__file__).parent / "migrations"
    if own.is_dir():
        yield service_module.__name__, own


def migrate_schema(dsn, schema, parts):
    """Applies what is missing of `parts` into `schema`, in one transaction. Returns the files."""
    applied = []
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('helpdesk migrate'))")
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (component text, filename text,"
                " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, filename))"
            )
            cur.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")
            for component, directory in parts:
                cur.execute("SELECT filename, checksum FROM schema_migrations WHERE component = %s",
                            (component,))
                done = dict(cur.fetchall())
                for path in sorted(directory.glob("*.sql")):
                    text = path.read_text()
                    checksum = hashlib.sha256(text.encode()).hexdigest()
                    if path.name in done:
                        if done[path.name] not in (None, checksum):
                            raise EditedMigration(
                                f"{schema}: {component}/{path.name} was edited after it was applied; "
                                "add a new migration instead")
                        continue
                    cur.execute(text)
                    cur.execute(
                        "INSERT INTO schema_migrations (component, filename, checksum) VALUES (%s, %s, %s)",
                        (component, path.name, checksum),
                    )
                    applied.append(f"{schema}: {component}/{path.name}")
    finally:
        conn.close()
    return applied


def pending(dsn, schema, parts):
    """The files of `parts` not yet applied in `schema`, read without changing anything (--check:
    what a Kubernetes init container waits on before its service starts)."""
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f'"{schema}".schema_migrations',))
            done = set()
            if cur.fetchone()[0] is not None:
                cur.execute(sql.SQL("SELECT component, filename FROM {}.schema_migrations")
                            .format(sql.Identifier(schema)))
                done = set(cur.fetchall())
    finally:
        conn.close()
    return [f"{schema}: {component}/{path.name}" for component, directory in parts
            for path in sorted(directory.glob("*.sql")) if (component, path.name) not in done]


def service_modules(names=None):
    import services

    found = {}
    for info in pkgutil.iter_modules(services.__path__):
        module = importlib.import_module(f"services.{info.name}")
        if hasattr(module, "SCHEMA"):
            found[info.name] = module
    if names:
        unknown = set(names) - set(found)
        if unknown:
            raise SystemExit(f"unknown services: {', '.join(sorted(unknown))}")
        return [found[name] for name in names]
    return [found[name] for name in sorted(found)]


def migrate_all(dsn, names=None):
    applied = []
    for module in service_modules(names):
        applied += migrate_schema(dsn, module.SCHEMA, list(components(module)))
    return applied


def declare_topology(amqp_uri, retry_delays, names=None, kind="classic"):
    """Declares every subscription's queues (of type `kind`: BROKER.queue_type), so no event is
    published into the void before a consumer's first start. Returns the main queue names."""
    import kombu

    from .messaging import declare_queues

    declared = []
    with kombu.Connection(amqp_uri) as connection:
        for main, retries, dlq in consumed_queues(retry_delays, names, kind):
            declare_queues(connection, (main, *retries, dlq))
            declared.append(main.name)
    return declared


def consumed_queues(retry_delays, names=None, kind="classic"):
    """(main, retries, dead letters) of every queue the services consume: their subscriptions
    (SUBSCRIPTIONS) and their own queues (QUEUES, e.g. the notifier's inbound mail)."""
    from .messaging import retrying_queues, subscription_queues

    found = []
    for module in service_modules(names):
        consumer = module.__name__.rsplit(".", 1)[-1]
        found += [subscription_queues(consumer, source, retry_delays, kind) for source in getattr(module, "SUBSCRIPTIONS", ())]
        found += [retrying_queues(name, retry_delays, kind) for name in getattr(module, "QUEUES", ())]
    return found


def main(argv=None):
    from .extensions import consumer_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*")
    parser.add_argument("--check", action="store_true",
                        help="only report the files not yet applied; exit 1 if any")
    args = parser.parse_args(argv)
    settings = config.load()
    if args.check:
        missing = [line for module in service_modules(args.services)
                   for line in pending(settings["DATABASE_URL"], module.SCHEMA, list(components(module)))]
        for line in missing:
            print(f"pending {line}")
        print(f"migrations: {len(missing)} pending")
        return 1 if missing else 0
    applied = migrate_all(settings["DATABASE_URL"], args.services)
    for line in applied:
        print(f"applied {line}")
    print(f"migrations: {len(applied)} applied, schema up to date")
    retry_delays = consumer_settings(settings)["retry_delays"]
    from .messaging import queue_type

    queues = declare_topology(settings["AMQP_URI"], retry_delays, args.services, queue_type(settings))
    print(f"topology: {len(queues)} consumed queues declared ({', '.join(queues)})")


if __name__ == "__main__":
    sys.exit(main())
