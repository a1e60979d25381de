"""The ground every stage stands on: the SQLite connection, the lock, the schema and its
migrations. It knows no stage; each stage keeps its own tables' helpers (``<stage>/tables.py``)."""

from mydiscover.db.connection import open_database, transaction
from mydiscover.db.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "open_database", "transaction"]
