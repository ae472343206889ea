"""Recompute the SLA clocks from the tickets' event log (after a calendar or target change).

    python -m services.sla.recompute [--write]

Reads the whole ticket log from its owner (the tickets service's `read_all` RPC), applies it to
fresh clocks with the current calendars and targets, and compares with the live clocks. Without
--write it only reports; with it, each differing clock that is at the same version as the replay
(no ticket event arrived meanwhile) is replaced. Alert flags are kept: they are facts of their own
(SlaWarning / SlaBreached events), not derived from ticket events.
"""
import argparse
import dataclasses

from nameko.standalone.rpc import ClusterRpcProxy

from helpdesk import config
from helpdesk.db import Database
from helpdesk.events import ENVELOPE

from . import clocks, store
from .handlers import SlaSettings


def replay(events, settings):
    """{ticket_id: TicketClock} from ticket events in log order."""
    replayed = {}
    for event in events:
        ticket_id = event.data.get("ticket_id")
        if ticket_id is None:
            continue
        clock = clocks.apply(replayed.get(ticket_id), event, settings.calendar_of, settings.targets)
        if clock is not None:
            replayed[ticket_id] = clock
    return replayed


def without_alerts(clock):
    timers = {name: dataclasses.replace(timer, warned=False, breached=False) for name, timer in clock.timers.items()}
    return dataclasses.replace(clock, timers=timers)


def differences(live, replayed):
    """Ticket ids whose live clock differs from the replayed one (alert flags aside)."""
    ids = set(live) | set(replayed)
    return sorted(t for t in ids if (live.get(t) and without_alerts(live[t])) != (
        replayed.get(t) and without_alerts(replayed[t])))


def read_ticket_log(rpc_config, batch=1000):
    position, events = 0, []
    with ClusterRpcProxy(rpc_config) as rpc:
        while True:
            page = rpc.tickets.read_all(position, batch, ["ticket"])
            if not page:
                return events
            events += [ENVELOPE.load(envelope) for envelope in page]
            position = events[-1].global_position


def recompute(settings_config, events, write=False):
    settings = SlaSettings(settings_config)
    replayed = replay(events, settings)
    db = Database(settings_config["DATABASE_URL"], size=1)
    try:
        with db.transaction() as cur:
            live = store.all_clocks(cur)
            changed = differences(live, replayed)
            if write:
                for ticket_id in changed:
                    current = store.load_clock(cur, ticket_id, lock=True)
                    fresh = replayed.get(ticket_id)
                    if fresh is None or current is None or current.version != fresh.version:
                        continue  # the live clock moved on meanwhile: it is the newer truth
                    kept = {name: dataclasses.replace(timer, warned=current.timers[name].warned,
                                                      breached=current.timers[name].breached)
                            for name, timer in fresh.timers.items()}
                    fresh = dataclasses.replace(fresh, timers=kept)
                    store.save_clock(cur, fresh, settings.calendar_of(fresh.department),
                                     settings.targets.warning_fraction)
    finally:
        db.close()
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the clocks that differ")
    args = parser.parse_args(argv)
    settings = config.load()
    changed = recompute(settings, read_ticket_log(settings), args.write)
    print(f"{len(changed)} clock(s) differ from the replay" + (" and were recomputed" if args.write else ""))
    for ticket_id in changed:
        print(f"  {ticket_id}")


if __name__ == "__main__":
    main()
