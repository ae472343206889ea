"""The mail outbox for operators: what failed for good, and why; and sending it again.

    python -m services.notifier.outbox failed        # mails given up on (5xx, or retries spent)
    python -m services.notifier.outbox retry ID…     # back to pending (e.g. a fixed address)
"""
import argparse

from helpdesk import config
from helpdesk.db import Database


def failed(cur, limit=100):
    cur.execute("SELECT id, recipient, template, attempts, last_error, created_at FROM notifier.mail_outbox"
                " WHERE status = 'failed' ORDER BY id DESC LIMIT %s", (limit,))
    keys = ("id", "recipient", "template", "attempts", "last_error", "created_at")
    return [dict(zip(keys, row)) for row in cur.fetchall()]


def retry(cur, ids):
    cur.execute("UPDATE notifier.mail_outbox SET status = 'pending', next_attempt_at = now(), attempts = 0"
                " WHERE status = 'failed' AND id = ANY(%s)", (list(ids),))
    return cur.rowcount


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("failed")
    again = sub.add_parser("retry")
    again.add_argument("ids", nargs="+", type=int)
    args = parser.parse_args(argv)
    db = Database(config.load()["DATABASE_URL"], size=1)
    try:
        with db.transaction() as cur:
            if args.command == "failed":
                for mail in failed(cur):
                    print(f"{mail['id']:8d}  {mail['recipient']}  {mail['template']}  after {mail['attempts']}:"
                          f" {mail['last_error']}")
            else:
                print(f"{retry(cur, args.ids)} mail(s) will be sent again")
    finally:
        db.close()


if __name__ == "__main__":
    main()
