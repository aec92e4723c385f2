"""``track due`` / ``track ics``: what needs action and when, computed from the ledger's rows,
and the CLI end to end (``render --track`` then ``track due``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import yaml
from click.testing import CliRunner

from priorauth.cli import main
from priorauth.track import Ledger, due
from tests.conftest import SAMPLES

D = dt.date


def items(tmp_path: Path, fill: object) -> list[dict[str, object]]:
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        fill(ledger)  # type: ignore[operator]
        return [i.to_dict() for i in due(ledger)]


def test_first_denial_gives_the_internal_appeal_deadline(tmp_path: Path) -> None:
    def fill(ledger: Ledger) -> None:
        ledger.record_decision(case_id="c", decided_on=D(2026, 12, 4), outcome="denied",
                               payer="P", plan_type="medicaid_managed_care")
    (item,) = items(tmp_path, fill)
    assert (item["kind"], item["due"], item["rule"]) == (
        "file_appeal", "2027-02-02", "42 CFR 438.402(c)(2)(ii)")


def test_unknown_plan_type_says_read_the_notice(tmp_path: Path) -> None:
    def fill(ledger: Ledger) -> None:
        ledger.record_decision(case_id="c", decided_on=D(2026, 12, 4), outcome="denied",
                               payer="P")
    (item,) = items(tmp_path, fill)
    assert item["due"] is None and "Read the denial notice" in str(item["action"])


def test_denied_appeal_gives_external_review_or_fair_hearing(tmp_path: Path) -> None:
    def fill(ledger: Ledger) -> None:
        for case, plan in (("e", "erisa"), ("m", "medicaid_managed_care"),
                           ("f", "fully_insured_group")):
            ledger.record_decision(case_id=case, decided_on=D(2026, 10, 1), outcome="denied",
                                   payer="P", plan_type=plan)
            ledger.record_appeal(case_id=case, filed_on=D(2026, 10, 10), payer="P",
                                 plan_type=plan)
            ledger.record_decision(case_id=case, decided_on=D(2026, 10, 31), outcome="denied",
                                   payer="P", plan_type=plan)
    found = {i["case_id"]: i for i in items(tmp_path, fill)}
    assert found["e"]["kind"] == "file_external_review"
    assert found["e"]["due"] == "2027-03-01"  # 4 months from Oct 31: no Feb 31, so March 1
    assert found["m"]["due"] == "2027-02-28"  # state fair hearing, 120 days
    assert found["f"]["due"] is None and "state" in str(found["f"]["action"])


def test_appeal_filed_waits_for_the_decision_clock(tmp_path: Path) -> None:
    def fill(ledger: Ledger) -> None:
        ledger.record_decision(case_id="c", decided_on=D(2026, 12, 4), outcome="denied",
                               payer="P", plan_type="medicare_advantage")
        ledger.record_appeal(case_id="c", filed_on=D(2026, 12, 10), payer="P", expedited=True,
                             denial_on=D(2026, 12, 4), plan_type="medicare_advantage")
    (item,) = items(tmp_path, fill)
    assert (item["kind"], item["due"]) == ("decision_expected", "2026-12-13")  # 72 hours


def test_approval_gives_reauthorization_before_it_runs_out(tmp_path: Path) -> None:
    def fill(ledger: Ledger) -> None:
        ledger.record_letter(case_id="c", kind="initial", sent_on=D(2026, 11, 1),
                             channel="fax", payer="P")
        ledger.record_decision(case_id="c", decided_on=D(2026, 11, 15), outcome="approved",
                               payer="P", sessions=6, through=D(2027, 2, 28))
    (item,) = items(tmp_path, fill)
    assert (item["kind"], item["due"]) == ("reauthorization", "2027-02-14")
    assert "6 sessions through 2027-02-28" in str(item["action"])


def test_continuation_sent_waits_for_the_decision(tmp_path: Path) -> None:
    def fill(ledger: Ledger) -> None:
        ledger.record_decision(case_id="c", decided_on=D(2026, 11, 15), outcome="approved",
                               payer="P", sessions=6, through=D(2027, 2, 28))
        ledger.record_letter(case_id="c", kind="continuation", sent_on=D(2027, 2, 10),
                             channel="portal", payer="P")
    (item,) = items(tmp_path, fill)
    assert item["kind"] == "waiting" and item["due"] is None


def _case(tmp_path: Path, plan_type: str) -> Path:
    data = yaml.safe_load((SAMPLES / "appeal.yaml").read_text())
    data["payer"]["plan_type"] = plan_type
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_render_track_then_track_due(tmp_path: Path) -> None:
    db = tmp_path / "data" / "ledger.sqlite3"
    env = {"PRIORAUTH_TRACK_DB": str(db)}
    runner = CliRunner()
    rendered = runner.invoke(main, ["render", str(_case(tmp_path, "erisa")), "--fax-cover",
                                    "-o", str(tmp_path / "a.pdf"), "--track"], env=env)
    assert rendered.exit_code == 0, rendered.output
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    listed = runner.invoke(main, ["track", "due", "--format", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.stdout)
    assert item == {"case_id": "sample-appeal-cm-aura", "payer": "Example Health Plan (synthetic)",
                    "kind": "decision_expected", "due": "2027-01-17",
                    "action": item["action"], "rule": "29 CFR 2560.503-1(i)(2)(ii)",
                    "reference": "UM-DEN-2026-55812", "overdue": item["overdue"]}
    # the appeal is denied: the ledger now lists the external review window (4 months)
    denied = runner.invoke(main, ["track", "decision", "sample-appeal-cm-aura", "--denied",
                                  "--date", "2027-01-10", "--reason-code", "investigational"],
                           env=env)
    assert denied.exit_code == 0, denied.output
    text = runner.invoke(main, ["track", "due", "--today", "2027-01-11"], env=env).stdout
    assert "2027-05-10" in text and "External review: file by" in text
    assert "45 CFR 147.136(d)(2)(i)" in text
    shown = runner.invoke(main, ["track", "show", "sample-appeal-cm-aura", "--format", "json"],
                          env=env)
    tables = [row["table"] for row in json.loads(shown.stdout)]
    assert tables == ["decisions", "appeals", "letters", "decisions"]
    assert "Testpatient" not in shown.stdout and "XQZ000123456" not in shown.stdout  # no PHI


def test_render_track_twice_records_the_denial_once(tmp_path: Path) -> None:
    env = {"PRIORAUTH_TRACK_DB": str(tmp_path / "l.sqlite3")}
    case = _case(tmp_path, "erisa")
    for _ in range(2):
        result = CliRunner().invoke(main, ["render", str(case), "-o", str(tmp_path / "a.pdf"),
                                           "--track"], env=env)
        assert result.exit_code == 0, result.output
    with Ledger(env["PRIORAUTH_TRACK_DB"]) as ledger:
        assert len(ledger.rows("decisions")) == 1 and len(ledger.rows("letters")) == 2


def test_render_track_without_case_id_writes_nothing(tmp_path: Path) -> None:
    data = yaml.safe_load((SAMPLES / "chronic-migraine-with-aura.yaml").read_text())
    data.pop("id")
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump(data))
    out = tmp_path / "a.pdf"
    result = CliRunner().invoke(main, ["render", str(case), "-o", str(out), "--track",
                                       "--track-db", str(tmp_path / "l.sqlite3")])
    assert result.exit_code == 2 and "add `id:`" in result.output
    assert not out.exists()
    usage = CliRunner().invoke(main, ["render", str(case), "--track-db", "x.sqlite3"])
    assert usage.exit_code == 2 and "go with --track" in usage.output


def test_track_cli_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    env = {"PRIORAUTH_TRACK_DB": str(tmp_path / "l.sqlite3")}
    runner = CliRunner()
    result = runner.invoke(main, ["track", "decision", "c-1", "--denied"], env=env)
    assert result.exit_code == 2 and "--payer" in result.output
    result = runner.invoke(main, ["track", "decision", "c-1", "--approved", "--payer", "P"],
                           env=env)
    assert result.exit_code == 2 and "--sessions" in result.output
    result = runner.invoke(main, ["track", "--db", "nosuch+driver://h/db", "due"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_track_ics_file(tmp_path: Path) -> None:
    env = {"PRIORAUTH_TRACK_DB": str(tmp_path / "l.sqlite3")}
    runner = CliRunner()
    runner.invoke(main, ["track", "decision", "c-1", "--denied", "--payer", "P", "--date",
                         "2026-12-04", "--plan-type", "erisa"], env=env)
    out = tmp_path / "due.ics"
    result = runner.invoke(main, ["track", "ics", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    body = out.read_bytes().decode()
    assert "DTSTART;VALUE=DATE:20270602" in body and body.endswith("END:VCALENDAR\r\n")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_batch_track_records_every_pdf_written(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    _case(tmp_path, "medicare_advantage").rename(cases / "appeal.yaml")
    first = yaml.safe_load((SAMPLES / "chronic-migraine-with-aura.yaml").read_text())
    (cases / "first.yaml").write_text(yaml.safe_dump(first))
    first.pop("id", None)
    (cases / "no-id.yaml").write_text(yaml.safe_dump(first))
    db = tmp_path / "l.sqlite3"
    result = CliRunner().invoke(main, ["batch", str(cases), "-o", str(tmp_path / "out"), "-j",
                                       "1", "--track", "--track-db", str(db),
                                       "--channel", "portal"])
    assert result.exit_code == 0, result.output
    assert "1 letters have no case id" in result.output
    with Ledger(db) as ledger:
        letters = ledger.rows("letters")
        assert sorted(r["kind"] for r in letters) == ["appeal", "initial"]
        assert {r["channel"] for r in letters} == {"portal"}
        assert [r["plan_type"] for r in ledger.rows("appeals")] == ["medicare_advantage"]
        (item, waiting) = due(ledger)
    assert (item.kind, item.due) == ("decision_expected", D(2027, 1, 17))
    assert waiting.kind == "waiting"
