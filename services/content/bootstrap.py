"""Wiring of the content service, in one place."""
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Content


def bootstrap(catalog, clock, store, database=None):
    """The handlers on PostgreSQL (`database` given, `store` its PostgresEventStore) or in memory
    (`store` an InMemoryEventStore)."""
    if database is not None:
        uow = PostgresUnitOfWork(database, store, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory())
    return Content(uow, catalog, clock)
