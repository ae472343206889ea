"""Wiring of the notifier's planning side, in one place (its sending is mail.py's, its inbound
mail inbound_service.py's)."""
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Notifier


def bootstrap(config, clock, database=None, store=None):
    """The handlers on PostgreSQL (`database` given) or in memory (`store`: an InMemoryEventStore,
    for the unit of work's contract: the notifier keeps no events)."""
    if database is not None:
        uow = PostgresUnitOfWork(database, None, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory())
    return Notifier(uow, config["LINK_SECRET"], clock)
