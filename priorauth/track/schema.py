"""The ledger's tables (SQLAlchemy Core) and its ordered schema migrations.

No PHI beyond the case id, the payer and dates: no names, no member ids, no diagnoses, no denial
reasons as written (only a short reason code). ``schema_version`` holds one row per applied
migration; :func:`migrate` applies the missing ones in order, inside one write transaction, so
two processes opening a new ledger at once cannot both apply a step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", String(32), nullable=False),
)

letters = Table(
    "letters", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("sent_on", Date, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("payer", String(200), nullable=False),
    Column("payer_reference", String(100)),
    Column("sha256", String(64)),
    Column("plan_type", String(32), nullable=False, server_default="unknown"),  # v2
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("decided_on", Date, nullable=False),
    Column("outcome", String(16), nullable=False),  # approved | denied
    Column("payer", String(200), nullable=False),
    Column("payer_reference", String(100)),
    Column("sessions", Integer),
    Column("through", Date),
    Column("reason_code", String(64)),
    Column("plan_type", String(32), nullable=False, server_default="unknown"),  # v2
    Column("level", String(32), nullable=False, server_default="initial"),  # v2
)

appeals = Table(  # v2
    "appeals", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("level", String(32), nullable=False),  # internal_appeal | external_review | ...
    Column("filed_on", Date, nullable=False),
    Column("payer", String(200), nullable=False),
    Column("payer_reference", String(100)),
    Column("denial_on", Date),
    Column("plan_type", String(32), nullable=False, server_default="unknown"),
    Column("expedited", Integer, nullable=False, server_default="0"),
)


_v1_metadata = MetaData()
"""The tables as the first release created them (kept so an empty ledger is built step by step,
exactly as an old one was; SQLAlchemy writes the DDL for each database)."""
Table("letters", _v1_metadata,
      Column("id", Integer, primary_key=True),
      Column("case_id", String(64), nullable=False, index=True),
      Column("kind", String(32), nullable=False),
      Column("sent_on", Date, nullable=False),
      Column("channel", String(16), nullable=False),
      Column("payer", String(200), nullable=False),
      Column("payer_reference", String(100)),
      Column("sha256", String(64)))
Table("decisions", _v1_metadata,
      Column("id", Integer, primary_key=True),
      Column("case_id", String(64), nullable=False, index=True),
      Column("decided_on", Date, nullable=False),
      Column("outcome", String(16), nullable=False),
      Column("payer", String(200), nullable=False),
      Column("payer_reference", String(100)),
      Column("sessions", Integer),
      Column("through", Date),
      Column("reason_code", String(64)))


def _v1(conn: Connection) -> None:
    """The first ledger: letters and decisions."""
    _v1_metadata.create_all(conn)


def _v2(conn: Connection) -> None:
    """Appeals, and the plan type (which decides the appeal deadlines) on letters and
    decisions; a decision knows whether it answered the first request or an appeal."""
    for table in ("letters", "decisions"):  # fixed names, never input
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN plan_type VARCHAR(32) "
                          "NOT NULL DEFAULT 'unknown'"))
    conn.execute(text("ALTER TABLE decisions ADD COLUMN level VARCHAR(32) "
                      "NOT NULL DEFAULT 'initial'"))
    appeals.create(conn)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1, _v2)
"""Ordered: MIGRATIONS[i] takes the schema from version i to i + 1. Only ever append."""
LATEST = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    found = conn.execute(select(schema_version.c.version).order_by(
        schema_version.c.version.desc()).limit(1)).scalar()
    return int(found or 0)


def migrate(conn: Connection, target: int = LATEST) -> int:
    """Apply the missing migrations up to ``target`` (in the caller's write transaction);
    returns the version reached. A ledger newer than this priorauth is left alone."""
    if not inspect(conn).has_table("schema_version"):
        schema_version.create(conn)
    version = current_version(conn)
    while version < target:
        MIGRATIONS[version](conn)
        version += 1
        conn.execute(schema_version.insert().values(
            version=version, applied_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds")))
    return version
