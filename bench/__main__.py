"""`python -m bench [--quick] [--only eventstore|gateway|tickets|mail|live|search|downloads]`, or side by side with another
helpdesk: `python -m bench --peer django-helpdesk [--quick] [--clients 8]`, or with an earlier revision of ours:
`python -m bench --against REV`. See bench/__init__.py."""
import argparse
import os
import platform
import signal
import sys
import time

import psycopg2
import requests

from helpdesk import testing

from . import downloads, live, mail, peer, search, store, system, tickets
from .measure import scratch_database

# Seconds of load per table row: long enough for stable percentiles, short enough to run often.
DURATIONS = {
    "quick": {"eventstore": 1.0, "gateway": 3.0},
    "default": {"eventstore": 5.0, "gateway": 15.0},
}
# Seconds of load per system side by side (bench/peer.py: in four turns each).
PEER_SECONDS = {"quick": 8.0, "default": 40.0}
# Requests per table row of the ticket reads (each row is one client sending them in a row).
REQUESTS = {"quick": 50, "default": 300}
# Tickets opened and taken while 50 consoles watch (bench/live.py), and their idle seconds first.
LIVE_CHANGES = {"quick": 5, "default": 20}
LIVE_IDLE = {"quick": 3.0, "default": 10.0}
# Documents searched (issue 13 asks for 10,000).
SEARCH_DOCUMENTS = {"quick": 2_000, "default": 10_000}
# Tickets in the notifier's backlog (each makes 7 mails).
BACKLOG = {"quick": 30, "default": 150}


def settings():
    missing = [n for n in ("DATABASE_URL", "AMQP_URI", "RABBIT_MANAGEMENT_URL") if not os.environ.get(n)]
    if missing:
        sys.exit(f"bench: {', '.join(missing)} not set; run `make bench`, or first "
                 '`eval "$(deploy/dev/stack.sh env)"`')
    return os.environ["DATABASE_URL"], testing.RabbitVhosts(os.environ["AMQP_URI"],
                                                            os.environ["RABBIT_MANAGEMENT_URL"])


def describe_machine(database_url, rabbit):
    """The context every figure needs: cores, load, and the servers' versions."""
    conn = psycopg2.connect(database_url)
    with conn.cursor() as cur:
        cur.execute("SELECT name, setting FROM pg_settings WHERE name IN"
                    " ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method')")
        pg = dict(cur.fetchall())
    conn.close()
    overview = requests.get(rabbit.api + "/api/overview", auth=rabbit.auth, timeout=10).json()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    version = pg.pop("server_version")
    settings_ = ", ".join(f"{name}={value}" for name, value in sorted(pg.items()))
    print(f"PostgreSQL {version} ({settings_}), RabbitMQ {overview.get('rabbitmq_version')}"
          f" (Erlang {overview.get('erlang_version')})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short loads: under a minute in all")
    parser.add_argument("--only", choices=("eventstore", "gateway", "tickets", "mail", "live", "search", "downloads"),
                        help="run one part only")
    parser.add_argument("--peer", choices=peer.PEERS,
                        help="instead: ours and this helpdesk side by side (bench/peer.py, docs/performance.md)")
    parser.add_argument("--against", metavar="REV",
                        help="instead: this checkout and ours at git revision REV side by side, in 8 turns")
    parser.add_argument("--clients", type=int, default=8, help="with --peer/--against: concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float,
                        help="with --peer/--against: seconds of load per system (default 40, 8 with --quick)")
    args = parser.parse_args(argv)
    if (args.peer or args.against) and args.only or args.peer and args.against:
        parser.error("--peer and --against each run on their own: leave out --only")
    # A plain kill should still drop the database and the vhost: make SIGTERM unwind `finally`s.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin_url, rabbit = settings()
    describe_machine(admin_url, rabbit)
    pace = "quick" if args.quick else "default"
    seconds = DURATIONS[pace]
    began = time.perf_counter()
    if args.peer or args.against:
        if args.peer:
            peer.run(admin_url, rabbit, args.peer, args.clients, args.seconds or PEER_SECONDS[pace])
        else:
            peer.against(admin_url, rabbit, args.against, args.clients, args.seconds or PEER_SECONDS[pace])
        print(f"done in {time.perf_counter() - began:.0f} s")
        return
    if args.only in (None, "eventstore", "gateway"):
        with scratch_database(admin_url) as database_url:
            if args.only in (None, "eventstore"):
                store.run(database_url, seconds["eventstore"])
            if args.only in (None, "gateway"):
                system.run(database_url, rabbit, seconds["gateway"])
    if args.only in (None, "tickets"):
        # A database of its own: the gateway rows above open thousands of tickets for the same
        # demo customer, and the list figures are for a customer with exactly 200.
        with scratch_database(admin_url) as database_url:
            tickets.run(database_url, rabbit, REQUESTS[pace])
    if args.only in (None, "mail"):
        with scratch_database(admin_url) as database_url:
            mail.run(database_url, rabbit, BACKLOG[pace])
    if args.only in (None, "live"):
        with scratch_database(admin_url) as database_url:
            live.run(database_url, rabbit, changes=LIVE_CHANGES[pace], idle_seconds=LIVE_IDLE[pace])
    if args.only in (None, "search"):
        with scratch_database(admin_url) as database_url:
            search.run(database_url, SEARCH_DOCUMENTS[pace])
    if args.only in (None, "downloads"):
        with scratch_database(admin_url) as database_url:
            downloads.run(database_url, rabbit, clients=2 if pace == "quick" else downloads.CLIENTS)
    print(f"done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
