"""Benchmarks: print figures for the event store, the whole system, ticket reads and the
notifier's mail throughput, never assert them.

    make bench                                  # the default run: a few minutes
    .venv/bin/python -m bench --quick           # small counts, under a minute
    .venv/bin/python -m bench --only eventstore # or: --only gateway, tickets, mail
    .venv/bin/python -m bench --peer django-helpdesk [--quick] [--clients 8]  # side by side

Everything runs in a throwaway database and RabbitMQ vhost, removed at the end. Times depend on
the machine and on what else it runs, so they are printed to be read (docs/performance.md), not
checked: CI never gates on them.
"""
