"""PHI hygiene: private files, no stray copies, redacted messages, metadata only from the letter."""

from __future__ import annotations

import datetime as dt
import io
import os
import pty
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from priorauth import load_case
from priorauth.cli import main
from priorauth.letter.filters import long_date, us_date
from priorauth.letter.render import Renderer

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "chronic-migraine-with-aura.yaml"

# A case whose problems each carry a PHI value; none of these strings may be printed unless
# stderr is a terminal and --redact is off.
SECRET_DOB = "04/17/1961"
SECRET_NAME = "Zelda\u202eQuixote"
SECRET_MEMBER = "MEMBERSECRET" + "9" * 200
SECRET_NPI = "1987654320"
SECRETS = [SECRET_DOB, "Zelda", "MEMBERSECRET", SECRET_NPI]


def _bad_case(tmp_path: Path) -> Path:
    data: dict[str, Any] = yaml.safe_load(SAMPLE.read_text("utf-8"))
    data["patient"]["date_of_birth"] = SECRET_DOB
    data["patient"]["given_name"] = SECRET_NAME
    data["patient"]["member_id"] = SECRET_MEMBER
    data["provider"]["npi"] = SECRET_NPI
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


EXPECTED_PATHS = ["patient.date_of_birth", "patient.given_name", "patient.member_id",
                  "provider.npi"]


def _assert_redacted(stderr: str) -> None:
    for path in EXPECTED_PATHS:
        assert re.search(rf"bad\.yaml:\d+: {re.escape(path)}: ", stderr), (path, stderr)
    for secret in SECRETS:
        assert secret not in stderr, secret
    assert "(got " not in stderr


# --- messages: CliRunner ------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["validate", "render"])
@pytest.mark.parametrize("redact", [False, True])
def test_cli_runner_names_fields_but_never_values(tmp_path: Path, command: str,
                                                  redact: bool) -> None:
    case = _bad_case(tmp_path)
    args = (["--redact"] if redact else []) + [command, str(case)]
    if command == "render":
        args += ["-o", str(tmp_path / "out.pdf")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    _assert_redacted(result.stderr)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.pdf").exists()


# --- messages: a real process, with and without a terminal --------------------------------------

def _run_cli(args: list[str], *, tty: bool, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``python -m priorauth ARGS``; with ``tty`` its stderr is a pseudo-terminal."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    command = [sys.executable, "-m", "priorauth", *args]
    if not tty:
        done = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=REPO,
                              timeout=60)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=follower, env=full_env, cwd=REPO)
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=60)
    finally:
        os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace")
    return code, re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r\n", "\n")


def test_terminal_shows_values_to_help_fix_them(tmp_path: Path) -> None:
    code, stderr = _run_cli(["validate", str(_bad_case(tmp_path))], tty=True)
    assert code == 2
    assert f"(got '{SECRET_DOB}')" in stderr
    assert "MEMBERSECRET" in stderr
    for path in EXPECTED_PATHS:
        assert path in stderr


@pytest.mark.parametrize(("args", "env"), [(["--redact"], {}), ([], {"PRIORAUTH_REDACT": "1"})])
def test_redact_hides_values_even_on_a_terminal(tmp_path: Path, args: list[str],
                                                env: dict[str, str]) -> None:
    code, stderr = _run_cli([*args, "validate", str(_bad_case(tmp_path))], tty=True, env=env)
    assert code == 2
    _assert_redacted(stderr)


def test_pipe_hides_values(tmp_path: Path) -> None:
    code, stderr = _run_cli(["validate", str(_bad_case(tmp_path))], tty=False)
    assert code == 2
    _assert_redacted(stderr)


# --- files: modes, stray copies -----------------------------------------------------------------

def test_output_file_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        result = CliRunner().invoke(main, ["render", str(SAMPLE), "-o",
                                           str(tmp_path / "new" / "letter.pdf")])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "new" / "letter.pdf").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["letter.pdf"]


def test_every_folder_created_for_the_output_is_0700(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", str(SAMPLE), "-o",
                                       str(tmp_path / "a" / "b" / "letter.pdf")])
    assert result.exit_code == 0, result.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def _failing_template_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "broken.html.j2").write_text(
        '<html><head><link rel="stylesheet" href="assets/missing.css"></head>'
        "<body>{{ patient.family_name }}</body></html>", "utf-8")
    (folder / "assets").mkdir()
    return folder


def _scenarios(tmp_path: Path) -> dict[str, tuple[list[str], int]]:
    out = tmp_path / "out"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    return {
        "success": (["render", str(SAMPLE), "-o", str(out / "letter.pdf")], 0),
        "invalid case": (["render", str(_bad_case(tmp_path)), "-o", str(out / "bad.pdf")], 2),
        "render error": (["render", str(SAMPLE), "--templates-dir", str(_failing_template_dir(
            tmp_path)), "--template", "broken", "-o", str(out / "broken.pdf")], 2),
        "unwritable output": (["render", str(SAMPLE), "-o", str(blocker / "x.pdf")], None),
    }  # type: ignore[dict-item]


def _strace_created(log: Path) -> set[str]:
    """Paths a traced process created and did not remove again."""
    alive: set[str] = set()
    for line in log.read_text(errors="replace").splitlines():
        if re.search(r"= -1 ", line):
            continue
        quoted = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        if ("O_CREAT" in line or "mkdir" in line or "creat(" in line) and quoted:
            alive.add(quoted[0])
        elif re.search(r"\brename(at2?)?\(", line) and len(quoted) >= 2:
            alive.discard(quoted[0])
            alive.add(quoted[1])
        elif re.search(r"\bunlink(at)?\(|\brmdir\(", line) and quoted:
            alive.discard(quoted[-1])
    return {p for p in alive if p != "/dev/null" and "__pycache__" not in p}


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
@pytest.mark.parametrize("scenario", ["success", "invalid case", "render error",
                                      "unwritable output"])
def test_render_leaves_no_file_but_the_letter(tmp_path: Path, scenario: str) -> None:
    args, expected_code = _scenarios(tmp_path)[scenario]
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    log = tmp_path / "strace.log"
    done = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), "-e",
         "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir",
         sys.executable, "-m", "priorauth", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "TMPDIR": str(private_tmp), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip("ptrace not permitted here")
    if expected_code is not None:
        assert done.returncode == expected_code, done.stderr[-2000:]
    else:
        assert done.returncode != 0
        assert "Traceback" not in done.stderr, "a write failure should be a message, not a bug"
    # the one other file priorauth writes: its glyph-coverage cache (0600, no PHI)
    created = {p for p in _strace_created(log) if not p.startswith(str(tmp_path / "cache"))}
    wanted = {str(tmp_path / "out"), str(tmp_path / "out" / "letter.pdf")} if (
        scenario == "success") else set()
    assert created - {str(tmp_path / "out")} == wanted - {str(tmp_path / "out")}, created
    assert list(private_tmp.iterdir()) == []


def test_library_render_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering in-process (as batch workers do) touches no temp folder at all."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    Renderer().pdf(load_case(SAMPLE))
    assert list(private_tmp.iterdir()) == []


# --- PDF metadata -------------------------------------------------------------------------------

def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if value is not None else []


def test_pdf_metadata_holds_only_what_the_letter_shows() -> None:
    from pypdf import PdfReader

    case = load_case(SAMPLE)
    pdf = Renderer().pdf(case)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    info = {str(k): str(v) for k, v in (reader.metadata or {}).items()}
    allowed = {"/Title", "/Author", "/Subject", "/Creator", "/Producer", "/CreationDate",
               "/ModDate"}
    assert set(info) <= allowed, set(info) - allowed
    assert "/Keywords" not in info
    assert info.get("/Producer", "WeasyPrint").startswith("WeasyPrint")
    assert info.get("/Creator", "priorauth") == "priorauth"
    assert info["/Title"].endswith(case.patient.full_name)
    assert info["/Author"] == case.provider.practice
    for key in ("/CreationDate", "/ModDate"):
        if key in info:
            assert info[key].startswith("D:" + case.letter.date.strftime("%Y%m%d"))
    xmp = reader.xmp_metadata.stream.get_data().decode() if reader.xmp_metadata else ""
    everything = " ".join(info.values()) + " " + xmp
    for value in _strings(case.model_dump(mode="json", by_alias=True)):
        if len(value) >= 4 and value in everything:
            shown = [value]
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # dates print as 11/20/2026 or long
                day = dt.date.fromisoformat(value)
                shown = [us_date(day), long_date(day)]
            assert any(form in text for form in shown), (
                f"metadata carries {value!r}, which the letter does not show")
    for private in (case.patient.member_id, case.patient.date_of_birth.isoformat(),
                    case.patient.group_number or "-"):
        assert private not in everything
