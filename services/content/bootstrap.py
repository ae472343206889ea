"""Wiring of the content service, in one place."""
from zoneinfo import ZoneInfo

from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import Content


def bootstrap(catalog, clock, store, database=None, time_zone="Europe/Madrid"):
    """The handlers on PostgreSQL (`database` given, `store` its PostgresEventStore) or in memory
    (`store` an InMemoryEventStore); `time_zone`: DEFAULT_TIME_ZONE, where days begin."""
    if database is not None:
        uow = PostgresUnitOfWork(database, store, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory())
    return Content(uow, catalog, clock, ZoneInfo(time_zone))
