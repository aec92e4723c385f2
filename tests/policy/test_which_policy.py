"""Issue 11.6: which policy the checklist applies, and saying so when it is not the payer's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from priorauth.cli import main
from priorauth.errors import PolicyError
from priorauth.policy.checks import check_case, choose_policy
from priorauth.policy.report import report_lines
from priorauth.policy.spec import bundled_policies, parse_policy
from tests.policy.test_checks import SAMPLES, make_case

BUNDLED = (Path(__file__).resolve().parents[2] / "priorauth" / "reference" / "policies"
           / "ketamine-chronic-migraine.yaml").read_text(encoding="utf-8")


def payer_file(tmp_path: Path, reviewed: str = "2026-06-01", payer_id: str = "MP-KET-07") -> Path:
    text = BUNDLED.replace("id: ketamine-chronic-migraine", "id: acme-ketamine", 1)
    text += (f"\npayer_policy:\n  id: {payer_id}\n  title: Ketamine infusion therapy\n"
             f"  url: https://example.org/policies/mp-ket-07\n  reviewed: {reviewed}\n")
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def messages(report: object) -> dict[str, str]:
    return {w.path: w.message for w in report.warnings}  # type: ignore[attr-defined]


def test_generic_policy_is_named_as_such_when_the_payer_policy_is_not_bundled() -> None:
    report = check_case(make_case(payer__policy_id="MP-KET-07"))
    assert report.policy.bundled
    warning = messages(report)["payer.policy_id"]
    assert "generic bundled policy 'ketamine-chronic-migraine', not the payer's own" in warning
    assert "MP-KET-07" not in warning  # a record value never appears in a message


def test_missing_payer_policy_id_is_a_warning_too() -> None:
    report = check_case(make_case(payer__policy_id=None))
    assert messages(report)["payer.policy_id"].startswith("not recorded: ")


def test_payer_policy_id_chooses_a_bundled_policy_by_id() -> None:
    case = make_case(payer__policy_id="ketamine-crps")
    chosen = choose_policy(case)
    assert chosen is not None and chosen.id == "ketamine-crps"
    assert "payer.policy_id" not in messages(check_case(case))


def test_policy_file_naming_the_payer_policy(tmp_path: Path) -> None:
    path = payer_file(tmp_path)
    case = make_case(payer__policy_id="MP-KET-07")
    report = check_case(case, str(path))
    assert report.policy.id == "acme-ketamine" and not report.policy.bundled
    assert report.warnings == ()
    lines = [line for line, _ in report_lines(report)]
    assert ("  encodes payer policy MP-KET-07: Ketamine infusion therapy "
            "(https://example.org/policies/mp-ket-07), last checked 2026-06-01") in lines


def test_policy_file_for_another_payer_policy(tmp_path: Path) -> None:
    report = check_case(make_case(payer__policy_id="MP-OTHER-1"), str(payer_file(tmp_path)))
    assert "differs from payer_policy.id" in messages(report)["payer.policy_id"]


def test_policy_file_without_payer_policy_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(BUNDLED.replace("id: ketamine-chronic-migraine", "id: mine", 1), "utf-8")
    report = check_case(make_case(), str(path))
    assert "does not name the payer policy it encodes" in messages(report)["payer_policy"]


@pytest.mark.parametrize(("reviewed", "stale"), [("2025-11-20", False), ("2025-11-19", True),
                                                 ("2024-01-01", True), ("2026-11-01", False)])
def test_review_date_more_than_twelve_months_before_the_letter(
        tmp_path: Path, reviewed: str, stale: bool) -> None:
    case = make_case(payer__policy_id="MP-KET-07")
    assert case.letter.date == dt.date(2026, 11, 20)
    report = check_case(case, str(payer_file(tmp_path, reviewed)))
    assert ("payer_policy.reviewed" in messages(report)) is stale


@pytest.mark.parametrize("bad", [
    "payer_policy: {id: X, title: T, url: https://x.org}",
    "payer_policy: {id: X, title: T, url: ftp://x.org, reviewed: 2026-01-01}",
    "payer_policy: {id: X, title: T, url: https://x.org, reviewed: soon}",
    "payer_policy: {id: X, title: T, url: https://x.org, reviewed: 2026-01-01, extra: 1}",
])
def test_malformed_payer_policy_is_a_policy_error(bad: str) -> None:
    with pytest.raises(PolicyError, match="payer_policy"):
        parse_policy(BUNDLED + "\n" + bad + "\n", "mine.yaml")


def test_bundled_policies_are_marked_bundled() -> None:
    assert all(p.bundled for p in bundled_policies().values())


def test_check_and_render_print_the_warning(tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(main, ["check", str(SAMPLES / "appeal.yaml")])
    assert "warning: payer.policy_id: no bundled policy or policy file" in checked.output
    rendered = runner.invoke(main, ["render", str(SAMPLES / "appeal.yaml"), "--html",
                                    "-o", str(tmp_path / "x.html")])
    assert rendered.exit_code == 0, rendered.output
    assert "generic bundled policy 'ketamine-chronic-migraine'" in rendered.output
    with_file = runner.invoke(main, ["check", str(SAMPLES / "appeal.yaml"), "--policy",
                                     str(payer_file(tmp_path))])
    assert "encodes payer policy MP-KET-07" in with_file.output
    assert "generic bundled policy" not in with_file.output


_VALUES = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.dates(),
                    st.lists(st.text(max_size=5), max_size=2))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "title", "url", "reviewed", "other"]), _VALUES))
def test_payer_policy_parser_accepts_or_names_the_problem(raw: dict[str, object]) -> None:
    """Any payer_policy mapping parses or raises PolicyError naming payer_policy; nothing else."""
    import yaml

    text = BUNDLED + "\n" + yaml.safe_dump({"payer_policy": raw}, default_flow_style=False)
    try:
        policy = parse_policy(text, "mine.yaml")
    except PolicyError as exc:
        assert "payer_policy" in str(exc)
    else:
        assert policy.payer_policy is None or policy.payer_policy.url.startswith("http")
