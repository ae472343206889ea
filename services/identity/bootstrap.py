"""Wiring of the identity service, in one place."""
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Identity


def bootstrap(config, catalog, clock, store, database=None):
    """The service's handlers on PostgreSQL (`database` given) or in memory (`store` an
    InMemoryEventStore)."""
    if database is not None:
        uow = PostgresUnitOfWork(database, store, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory(clock))
    return Identity(uow, config, catalog, clock)
