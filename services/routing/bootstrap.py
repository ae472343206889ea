"""Wiring of the routing service, in one place."""
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Routing, RoutingSettings


def bootstrap(config, catalog, clock, database=None, store=None):
    """The handlers on PostgreSQL (`database` given) or in memory (`store`: an InMemoryEventStore,
    for the unit of work's contract: routing keeps no events of its own). Reads routing.yaml and
    the calendars once."""
    settings = RoutingSettings(config, catalog.departments)
    if database is not None:
        uow = PostgresUnitOfWork(database, None, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory())
    return Routing(uow, settings, catalog, clock)
