"""Write mydiscover/db/schema.sql: the schema a new database gets, readable, one statement each.

Run it after changing the migrations in mydiscover/db/schema.py; tests/test_db.py checks the
snapshot is true (python tools/schema_snapshot.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mydiscover.db import open_database
from mydiscover.db.schema import SNAPSHOT, schema_text


def fresh_schema() -> str:
    """The schema text of a database just created."""
    with tempfile.TemporaryDirectory() as folder:
        conn = open_database(Path(folder) / "new.db")
        try:
            return schema_text(conn)
        finally:
            conn.close()


if __name__ == "__main__":
    SNAPSHOT.write_text(fresh_schema(), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
