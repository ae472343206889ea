"""Wiring of the tickets service, in one place: which store, which tables, who answers for identity."""
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Tickets


def bootstrap(settings, catalog, identity, clock, store, database=None):
    """The service's handlers on PostgreSQL (`database` given, `store` a PostgresEventStore) or in
    memory (`store` an InMemoryEventStore)."""
    if database is not None:
        uow = PostgresUnitOfWork(database, store, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory(clock))
    return Tickets(uow, catalog, identity, settings, clock)
