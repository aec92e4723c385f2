"""The tracking ledger: what was sent, what the payer decided, which appeals were filed.

An embedded SQLite file by default (0600 in a 0700 folder under the user's data folder), or any
SQLAlchemy database URL (``postgresql+psycopg://...``) so a clinic can share one. Every write is
one short transaction; on SQLite it starts with ``BEGIN IMMEDIATE`` and waits for the lock, so
several processes (a batch, two clerks) can write at once without losing a row.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from priorauth.case.plan import PlanType
from priorauth.errors import LedgerError
from priorauth.output import DIR_MODE, FILE_MODE, ensure_dir
from priorauth.track import schema

ENV_VAR = "PRIORAUTH_TRACK_DB"
LOCK_WAIT_SECONDS = 60
CHANNELS = ("fax", "portal", "mail", "email", "phone", "other")
OUTCOMES = ("approved", "denied")
LEVELS = ("initial", "internal_appeal", "external_review", "state_fair_hearing")
_REFERENCE = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
_LINE = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PG_LOCK = 7_247_011  # advisory lock key for migrations on PostgreSQL


def default_path() -> Path:
    """``track.sqlite3`` in the user's data folder (XDG on Linux, the platform's elsewhere)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "priorauth" / "track.sqlite3"


def database_url(db: str | Path | None = None) -> str:
    """``db`` (a path or a URL), else ``PRIORAUTH_TRACK_DB``, else the default file."""
    chosen = str(db) if db is not None else os.environ.get(ENV_VAR) or str(default_path())
    if "://" in chosen:
        return chosen
    return f"sqlite:///{Path(chosen).expanduser().absolute()}"


def _prepare_sqlite_file(path: Path) -> None:
    """Create the file 0600 in a 0700 folder; refuse what is not a regular file."""
    ensure_dir(path.parent)
    try:
        info = path.lstat()
    except FileNotFoundError:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0),
                     FILE_MODE)
        os.close(fd)
        os.chmod(path, FILE_MODE)  # os.open's mode is filtered by the umask
        return
    if not stat.S_ISREG(info.st_mode):
        raise LedgerError(f"the ledger {path} is not a regular file (a link, folder or device); "
                          "name a file with --db or PRIORAUTH_TRACK_DB")
    if info.st_mode & 0o077:
        os.chmod(path, FILE_MODE)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": LOCK_WAIT_SECONDS})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock now, wait if held

    return engine


@dataclass(frozen=True)
class Entry:
    """One recorded row, as a plain mapping (the CLI prints it; JSON keeps it)."""

    table: str
    values: dict[str, Any]


class Ledger:
    """Open (creating and migrating as needed) the ledger at ``db`` (path or URL)."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.url = database_url(db)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise LedgerError("the ledger URL is not a database URL (e.g. "
                              "postgresql+psycopg://user@host/db or a file path)") from exc
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if not parsed.database or parsed.database == ":memory:":
                raise LedgerError("the SQLite ledger needs a file path")
            _prepare_sqlite_file(Path(parsed.database))
        self.engine = self._engine()
        with self._write() as conn:
            if self.is_sqlite is False and parsed.get_backend_name() == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            self.version = schema.migrate(conn)

    def _engine(self) -> Engine:
        try:
            if self.is_sqlite:
                return _sqlite_engine(self.url)
            return create_engine(self.url, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise LedgerError("cannot use this ledger URL: unknown database or driver not "
                              "installed (PostgreSQL: pip install 'priorauth[postgresql]')"
                              ) from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise LedgerError(f"the ledger database refused the change ({exc.orig}); "
                              "check the --db path or URL and that it is writable") from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def record_letter(self, *, case_id: str, kind: str, sent_on: dt.date, channel: str,
                      payer: str, payer_reference: str | None = None, sha256: str | None = None,
                      plan_type: PlanType | str = PlanType.unknown) -> int:
        values = {"case_id": _case_id(case_id), "kind": _kind(kind),
                  "sent_on": sent_on, "channel": _choice("channel", channel, CHANNELS),
                  "payer": _text("payer", payer), "payer_reference": _ref(payer_reference),
                  "sha256": _sha(sha256), "plan_type": PlanType(plan_type).value}
        return self._insert(schema.letters, values)

    def record_decision(self, *, case_id: str, decided_on: dt.date, outcome: str, payer: str,
                        payer_reference: str | None = None, sessions: int | None = None,
                        through: dt.date | None = None, reason_code: str | None = None,
                        plan_type: PlanType | str = PlanType.unknown,
                        level: str | None = None) -> int:
        """A payer decision. ``level`` defaults to the last appeal filed for the case before
        ``decided_on`` (a decision after an appeal answers it), else ``initial``."""
        outcome = _choice("outcome", outcome, OUTCOMES)
        if outcome == "approved" and (sessions is None or through is None):
            raise LedgerError("an approval needs the sessions approved and the date they run "
                              "through (--sessions N --through YYYY-MM-DD)")
        if sessions is not None and not 0 < sessions <= 1000:
            raise LedgerError("sessions must be a whole number from 1 to 1000")
        if through is not None and through < decided_on:
            raise LedgerError("the approval's through date is before the decision date")
        values: dict[str, Any] = {
            "case_id": _case_id(case_id), "decided_on": decided_on, "outcome": outcome,
            "payer": _text("payer", payer), "payer_reference": _ref(payer_reference),
            "sessions": sessions, "through": through, "reason_code": _code(reason_code),
            "plan_type": PlanType(plan_type).value}
        with self._write() as conn:
            if level is None:
                last = conn.execute(
                    select(schema.appeals.c.level).where(
                        schema.appeals.c.case_id == values["case_id"],
                        schema.appeals.c.filed_on <= decided_on)
                    .order_by(schema.appeals.c.filed_on.desc(), schema.appeals.c.id.desc())
                    .limit(1)).scalar()
                level = str(last) if last else "initial"
            values["level"] = _choice("level", level, LEVELS)
            return _new_id(conn.execute(schema.decisions.insert().values(**values)))

    def record_appeal(self, *, case_id: str, filed_on: dt.date, payer: str,
                      level: str = "internal_appeal", payer_reference: str | None = None,
                      denial_on: dt.date | None = None, expedited: bool = False,
                      plan_type: PlanType | str = PlanType.unknown) -> int:
        values = {"case_id": _case_id(case_id), "filed_on": filed_on,
                  "level": _choice("level", level, LEVELS[1:]), "payer": _text("payer", payer),
                  "payer_reference": _ref(payer_reference), "denial_on": denial_on,
                  "expedited": int(expedited), "plan_type": PlanType(plan_type).value}
        return self._insert(schema.appeals, values)

    def _insert(self, table: Any, values: dict[str, Any]) -> int:
        with self._write() as conn:
            return _new_id(conn.execute(table.insert().values(**values)))

    # -- reading -------------------------------------------------------------------------------

    def rows(self, table: str, case_id: str | None = None) -> list[dict[str, Any]]:
        """Every row of ``letters``, ``decisions`` or ``appeals`` (oldest first)."""
        tables = {"letters": schema.letters, "decisions": schema.decisions,
                  "appeals": schema.appeals}
        chosen = tables[table]
        query = select(chosen).order_by(chosen.c.id)
        if case_id is not None:
            query = query.where(chosen.c.case_id == case_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def history(self, case_id: str | None = None) -> list[Entry]:
        """Letters, decisions and appeals of one case (or all), in date order."""
        entries = [Entry(name, row) for name in ("letters", "decisions", "appeals")
                   for row in self.rows(name, case_id)]
        return sorted(entries, key=lambda e: (e.values["case_id"], _when(e), e.table))


def _kind(value: str) -> str:
    """Any letter kind priorauth renders (new kinds need no migration), or one named by hand."""
    if not re.fullmatch(r"[a-z][a-z_]{0,31}", value):
        raise LedgerError("a letter kind is a lowercase word such as initial, appeal, "
                          "peer_to_peer or continuation")
    return value


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table has an integer primary key
        raise RuntimeError("the database returned no id for the new row")
    return int(key[0])


def _when(entry: Entry) -> dt.date:
    value = entry.values.get("sent_on") or entry.values.get("decided_on") \
        or entry.values.get("filed_on")
    return value if isinstance(value, dt.date) else dt.date.min


def _case_id(value: str) -> str:
    if not _CASE_ID.fullmatch(value):
        raise LedgerError("a case id is 1-64 letters, digits, '.', '_' or '-' (the case file's "
                          "`id`)")
    return value


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise LedgerError(f"{name} must be one of: {', '.join(allowed)}")
    return value


def _text(name: str, value: str) -> str:
    if not _LINE.fullmatch(value.strip()):
        raise LedgerError(f"{name} must be 1-200 characters on one line")
    return value.strip()


def _ref(value: str | None) -> str | None:
    if value is None:
        return None
    if not _REFERENCE.fullmatch(value.strip()):
        raise LedgerError("a payer reference is 1-100 characters on one line")
    return value.strip()


def _code(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[a-z0-9_.-]{1,64}", value):
        raise LedgerError("a reason code is 1-64 lowercase letters, digits, '_', '.' or '-' "
                          "(e.g. investigational), never the denial's own words")
    return value


def _sha(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
        raise LedgerError("sha256 must be 64 lowercase hex digits")
    return value


__all__ = ["CHANNELS", "DIR_MODE", "FILE_MODE", "LEVELS", "OUTCOMES", "Entry", "Ledger",
           "LedgerError", "database_url", "default_path"]
