"""The SQLite store: connection, schema and migrations, and helpers for each table."""

from mydiscover.db.connection import open_database, transaction
from mydiscover.db.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "open_database", "transaction"]
