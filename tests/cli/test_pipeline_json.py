"""Done-when for issue 14: a pipeline does everything through JSON and exit codes.

NDJSON in -> ``validate --format json`` -> ``check --format json`` per valid record -> ``batch
--report`` -> ``pas`` bundles, never parsing a sentence meant for people.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from priorauth.case.parse import _CaseLoader
from priorauth.cli import main
from tests.cli.test_machine_output import check as check_schema
from tests.conftest import SAMPLES


def _record(name: str) -> str:
    data = yaml.load((SAMPLES / name).read_text("utf-8"), Loader=_CaseLoader)
    return json.dumps(data, default=str)


def _run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


def test_ndjson_to_pas_bundles_through_json_and_exit_codes(tmp_path: Path) -> None:
    lines = [_record("chronic-migraine-with-aura.yaml"), '{"letter": {"kind": "appeal"}}',
             _record("crps.yaml")]
    inbox = tmp_path / "inbox.ndjson"
    inbox.write_text("\n".join(lines) + "\n", "utf-8")

    # 1. validate: which records are usable, by line, with coded problems
    code, out = _run("validate", str(inbox), "--format", "json")
    report = json.loads(out)
    check_schema(report, "validate")
    assert code == 2 and report["summary"] == {"records": 3, "valid": 2, "invalid": 1}
    bad = [r for r in report["records"] if not r["valid"]]
    assert bad[0]["source"].endswith(":2")
    assert {"field.missing", "field.required"} & {p["code"] for p in bad[0]["problems"]}
    good = [int(r["source"].rsplit(":", 1)[1]) for r in report["records"] if r["valid"]]
    assert good == [1, 3]

    # 2. check each usable record: verdicts and the exit code agree
    usable = [lines[number - 1] for number in good]
    for line in usable:
        code, out = _run("check", "-", "--format", "json", input=line + "\n")
        verdicts = json.loads(out)
        check_schema(verdicts, "check")
        assert code == verdicts["exit_code"] in (0, 1)
        assert verdicts["policy"]["id"] and verdicts["results"]
        assert (code == 0) == all(r["code"] == "criterion.met" for r in verdicts["results"])

    # 3. batch the usable records, read the JSON report
    ready = tmp_path / "ready.ndjson"
    ready.write_text("\n".join(usable) + "\n", "utf-8")
    out_dir, report_path = tmp_path / "letters", tmp_path / "report.json"
    code, _ = _run("batch", str(ready), "-o", str(out_dir), "--report", str(report_path),
                   "-q", "-j", "1")
    batch_report: dict[str, Any] = json.loads(report_path.read_text("utf-8"))
    statuses = [r["status"] for r in batch_report["records"]]
    assert len(statuses) == 2 and code == (0 if set(statuses) == {"rendered"} else 1)
    assert len(list(out_dir.glob("*.pdf"))) == 2

    # 4. a PAS Request Bundle per record, the letter inside
    for index, line in enumerate(usable):
        bundle_path = tmp_path / f"bundle-{index}.json"
        code, _ = _run("pas", "-", "-o", str(bundle_path), input=line)
        assert code == 0
        bundle = json.loads(bundle_path.read_text("utf-8"))
        kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
        assert bundle["resourceType"] == "Bundle" and "DocumentReference" in kinds
        claim = next(e["resource"] for e in bundle["entry"]
                     if e["resource"]["resourceType"] == "Claim")
        assert claim["use"] == "preauthorization"
