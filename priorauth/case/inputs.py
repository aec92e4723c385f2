"""Reading case inputs, as ``batch`` and ``validate`` take them: case files, folders of them,
NDJSON (one case per line), stdin and objects, as a stream of records (nothing is parsed here;
parsing happens per record)."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from priorauth.case.model import Case
from priorauth.case.parse import MAX_CASE_BYTES, Format, iter_ndjson_lines, read_source
from priorauth.errors import CaseInvalid, Problem

CASE_SUFFIXES = (".yaml", ".yml", ".json")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Record:
    """One input record, unparsed: raw bytes (file or NDJSON line), an object, or a problem."""

    source: str
    stem: str
    raw: bytes | None = None
    fmt: Format | None = None
    data: Any = None
    problem: Problem | None = None
    ndjson: bool = False


def safe_stem(text: str) -> str:
    """A file-name-safe stem: letters, digits, ``._-`` only, starting with a letter or digit."""
    stem = _SAFE_NAME.sub("_", text).lstrip("._-")[:64].rstrip(".")
    return stem or "case"


def iter_ndjson_records(handle: IO[bytes], name: str, stem: str) -> Iterator[Record]:
    """One record per non-blank NDJSON line, named ``name:line``."""
    for lineno, line in iter_ndjson_lines(handle, MAX_CASE_BYTES):
        source = f"{name}:{lineno}"
        if line is None:
            problem = Problem("", f"the line is longer than {MAX_CASE_BYTES:,} bytes",
                              source=source, code="file.too_large")
            yield Record(source, f"{stem}-{lineno}", problem=problem, ndjson=True)
        else:
            yield Record(source, f"{stem}-{lineno}", raw=line, fmt="json", ndjson=True)


def _iter_path(path: Path) -> Iterator[Record]:
    if path.suffix.lower() in NDJSON_SUFFIXES:
        try:
            with path.open("rb") as handle:
                yield from iter_ndjson_records(handle, str(path), safe_stem(path.stem))
        except OSError as exc:
            problem = Problem("", f"cannot be read ({exc.strerror or exc})", source=str(path),
                              code="file.unreadable")
            yield Record(str(path), safe_stem(path.stem), problem=problem)
        return
    try:
        raw, name = read_source(path)
    except CaseInvalid as exc:
        yield Record(str(path), safe_stem(path.stem), problem=exc.problems[0])
        return
    yield Record(name, safe_stem(path.stem), raw=raw)


def _folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.is_file()
                  and p.suffix.lower() in CASE_SUFFIXES + NDJSON_SUFFIXES)


def iter_records(inputs: Iterable[str | Path | Case | Mapping[str, Any]]) -> Iterator[Record]:
    objects = 0
    for item in inputs:
        if isinstance(item, Case | Mapping):
            objects += 1
            yield Record(f"<case {objects}>", f"case-{objects}", data=item)
        elif str(item) == "-":
            yield from iter_ndjson_records(sys.stdin.buffer, "<stdin>", "stdin")
        elif Path(item).is_dir():
            for path in _folder_files(Path(item)):
                yield from _iter_path(path)
        else:
            yield from _iter_path(Path(item))


_iter_records = iter_records  # the name tests/hostile uses


def count_records(inputs: Iterable[str | Path | Case | Mapping[str, Any]]) -> int | None:
    """How many records ``inputs`` hold (for a progress bar), without parsing them; ``None``
    when it cannot be known in advance (stdin)."""
    total = 0
    for item in inputs:
        if isinstance(item, Case | Mapping):
            total += 1
            continue
        if str(item) == "-":
            return None
        path = Path(item)
        for file in _folder_files(path) if path.is_dir() else [path]:
            if file.suffix.lower() in NDJSON_SUFFIXES:
                with contextlib.suppress(OSError), file.open("rb") as handle:
                    total += sum(1 for line in handle if line.strip())
            else:
                total += 1
    return total


