"""The tracking ledger: round trip, file modes, migrations, concurrent writers, bad ledgers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from priorauth.errors import LedgerError
from priorauth.track import Ledger, database_url, default_path, schema

D = dt.date


def fill(ledger: Ledger) -> None:
    ledger.record_letter(case_id="c-1", kind="initial", sent_on=D(2026, 11, 2), channel="fax",
                         payer="Example Health", payer_reference="PA-1", sha256="a" * 64,
                         plan_type="erisa")
    ledger.record_decision(case_id="c-1", decided_on=D(2026, 11, 20), outcome="denied",
                           payer="Example Health", payer_reference="DEN-1",
                           reason_code="investigational", plan_type="erisa")
    ledger.record_appeal(case_id="c-1", filed_on=D(2026, 12, 1), payer="Example Health",
                         denial_on=D(2026, 11, 20), plan_type="erisa")
    ledger.record_decision(case_id="c-1", decided_on=D(2026, 12, 20), outcome="approved",
                           payer="Example Health", sessions=6, through=D(2027, 3, 31))


def test_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    with Ledger(db) as ledger:
        fill(ledger)
    with Ledger(db) as again:
        letters, decisions, appeals = (again.rows(t) for t in ("letters", "decisions",
                                                                 "appeals"))
        assert [(r["case_id"], r["kind"], r["sent_on"], r["sha256"]) for r in letters] == [
            ("c-1", "initial", D(2026, 11, 2), "a" * 64)]
        assert [(r["outcome"], r["level"], r["reason_code"]) for r in decisions] == [
            ("denied", "initial", "investigational"), ("approved", "internal_appeal", None)]
        assert decisions[1]["sessions"] == 6 and decisions[1]["through"] == D(2027, 3, 31)
        assert appeals[0]["denial_on"] == D(2026, 11, 20)
        assert [e.table for e in again.history("c-1")] == [
            "letters", "decisions", "appeals", "decisions"]


def test_modes_0600_and_0700(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        db = tmp_path / "new" / "deeper" / "ledger.sqlite3"
        Ledger(db).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.parent.stat().st_mode) == 0o700


def test_loose_existing_file_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    Ledger(db).close()
    db.chmod(0o644)
    Ledger(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_migrates_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    with Ledger(db) as ledger:
        assert ledger.version == schema.LATEST
    engine = create_engine(database_url(db))
    with engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_version"))]
        assert versions == list(range(1, schema.LATEST + 1))
        assert {"letters", "decisions", "appeals"} <= set(inspect(conn).get_table_names())
    engine.dispose()


def test_migrates_an_older_schema_keeping_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    engine = create_engine(database_url(db))
    with engine.begin() as conn:  # a ledger written by the first release (schema version 1)
        assert schema.migrate(conn, target=1) == 1
        conn.execute(text("INSERT INTO letters (case_id, kind, sent_on, channel, payer) "
                          "VALUES ('old-1', 'initial', '2026-01-05', 'mail', 'Old Payer')"))
        assert not inspect(conn).has_table("appeals")
    engine.dispose()
    with Ledger(db) as ledger:
        assert ledger.version == schema.LATEST
        (row,) = ledger.rows("letters")
        assert (row["case_id"], row["sent_on"], row["plan_type"]) == (
            "old-1", D(2026, 1, 5), "unknown")
        ledger.record_appeal(case_id="old-1", filed_on=D(2026, 2, 1), payer="Old Payer")
        assert len(ledger.rows("appeals")) == 1


def _writer(db: str, worker: int, count: int) -> None:
    with Ledger(db) as ledger:
        for n in range(count):
            ledger.record_letter(case_id=f"w{worker}-{n}", kind="initial",
                                 sent_on=D(2026, 11, 1), channel="fax", payer="P")
            ledger.record_decision(case_id=f"w{worker}-{n}", decided_on=D(2026, 11, 2),
                                   outcome="denied", payer="P")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Four processes open a new ledger at once (racing to migrate it) and write 30 rows each."""
    db = str(tmp_path / "shared.sqlite3")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(db, w, 15)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    with Ledger(db) as ledger:
        assert len(ledger.rows("letters")) == 60
        assert len(ledger.rows("decisions")) == 60
        assert len({r["case_id"] for r in ledger.rows("letters")}) == 60


def test_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.sqlite3"
    target.write_bytes(b"")
    link = tmp_path / "link.sqlite3"
    link.symlink_to(target)
    with pytest.raises(LedgerError, match="not a regular file"):
        Ledger(link)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(LedgerError, match="not a regular file"):
        Ledger(fifo)


def test_bad_urls_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="driver"):
        Ledger("nosuchdb+driver://user@host/db")
    with pytest.raises(LedgerError):
        Ledger("sqlite://")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"case_id": "../etc"}, "case id"),
    ({"payer": "a\nb"}, "one line"),
    ({"channel": "pigeon"}, "channel"),
    ({"sha256": "XYZ"}, "sha256"),
])
def test_bad_entries_are_refused(tmp_path: Path, kwargs: dict[str, str], message: str) -> None:
    entry = {"case_id": "c-1", "kind": "initial", "sent_on": D(2026, 1, 1), "channel": "fax",
             "payer": "P", **kwargs}
    with Ledger(tmp_path / "l.sqlite3") as ledger, pytest.raises(LedgerError, match=message):
        ledger.record_letter(**entry)  # type: ignore[arg-type]


def test_approval_needs_sessions_and_through(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        with pytest.raises(LedgerError, match="sessions"):
            ledger.record_decision(case_id="c", decided_on=D(2026, 1, 1), outcome="approved",
                                   payer="P")
        with pytest.raises(LedgerError, match="reason code"):
            ledger.record_decision(case_id="c", decided_on=D(2026, 1, 1), outcome="denied",
                                   payer="P", reason_code="Not medically necessary per policy")


def test_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("PRIORAUTH_TRACK_DB", raising=False)
    assert default_path() == tmp_path / "priorauth" / "track.sqlite3"
    assert database_url() == f"sqlite:///{tmp_path}/priorauth/track.sqlite3"
    monkeypatch.setenv("PRIORAUTH_TRACK_DB", "postgresql+psycopg://clinic@db/priorauth")
    assert database_url() == "postgresql+psycopg://clinic@db/priorauth"


POSTGRES = os.environ.get("PRIORAUTH_TEST_POSTGRES_URL")


@pytest.mark.skipif(not POSTGRES, reason="no PostgreSQL server: set PRIORAUTH_TEST_POSTGRES_URL "
                                         "(postgresql+psycopg://user@host/db) to run")
def test_postgresql_round_trip() -> None:
    assert POSTGRES is not None
    engine = create_engine(POSTGRES)
    with engine.begin() as conn:  # a clean database each run
        for table in ("appeals", "decisions", "letters", "schema_version"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()
    with Ledger(POSTGRES) as ledger:
        fill(ledger)
        assert ledger.version == schema.LATEST
        assert [r["outcome"] for r in ledger.rows("decisions")] == ["denied", "approved"]
