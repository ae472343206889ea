"""Wiring of the content service, in one place."""
from zoneinfo import ZoneInfo

from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork

from . import repositories
from .handlers import DOWNLOAD_MAX_BYTES, Content


def bootstrap(catalog, clock, store, database=None, time_zone="Europe/Madrid", download_max_bytes=None):
    """The handlers on PostgreSQL (`database` given, `store` its PostgresEventStore) or in memory
    (`store` an InMemoryEventStore); `time_zone`: DEFAULT_TIME_ZONE, where days begin;
    `download_max_bytes`: DOWNLOAD_MAX_BYTES."""
    if database is not None:
        uow = PostgresUnitOfWork(database, store, repositories.POSTGRES)
    else:
        uow = InMemoryUnitOfWork(store, repositories.in_memory())
    return Content(uow, catalog, clock, ZoneInfo(time_zone), int(download_max_bytes or DOWNLOAD_MAX_BYTES))
