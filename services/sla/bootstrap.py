"""Wiring of the SLA service, in one place."""
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Sla, SlaSettings


def bootstrap(config, clock, store, database=None):
    """The handlers on PostgreSQL (`database` given, `store` its PostgresEventStore) or in memory
    (`store` an InMemoryEventStore). Reads sla.yaml and the catalogue once."""
    if database is not None:
        uow = PostgresUnitOfWork(database, store, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory())
    return Sla(uow, SlaSettings(config), clock)
