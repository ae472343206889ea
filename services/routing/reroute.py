"""Re-route the open tickets with the current rules (after routing.yaml changed).

    python -m services.routing.reroute [--dry-run]

Each open ticket whose rules now pick another department is routed there (the tickets service
appends TicketRouted, and the ticket goes back to that department's queue)."""
import argparse

from nameko.standalone.rpc import ClusterRpcProxy

from helpdesk import catalog, config
from helpdesk.db import Database

from . import rules, store


def reroute(database_url, settings, dry_run=False):
    departments = catalog.load(settings)
    routing_rules = rules.RoutingConfig.load(departments.departments, settings.get("ROUTING_CONFIG"))
    db = Database(database_url, size=1)
    try:
        with db.transaction() as cur:
            tickets = store.open_tickets(cur)
    finally:
        db.close()
    moves = []
    for ticket_id, facts, current in tickets:
        department, reason = rules.department_for(facts, routing_rules, departments)
        if department != current:
            moves.append((str(ticket_id), current, department, reason))
    if not dry_run and moves:
        with ClusterRpcProxy(settings) as rpc:
            for ticket_id, current, department, reason in moves:
                rpc.tickets.act_as_system("routing", ticket_id, "route", {
                    "department": department, "seen_department": current,
                    "reason": {"es": f"redirigido: {reason['es']}", "en": f"re-routed: {reason['en']}"}})
    return moves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    settings = config.load()
    moves = reroute(settings["DATABASE_URL"], settings, args.dry_run)
    for ticket_id, current, department, reason in moves:
        print(f"{ticket_id}: {current} -> {department} ({reason['en']})")
    print(f"{len(moves)} ticket(s) {'would be ' if args.dry_run else ''}re-routed")


if __name__ == "__main__":
    main()
