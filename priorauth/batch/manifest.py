"""Resumable, one-at-a-time output folders: unique names, the input fingerprint, the manifest of
PDFs written, the folder lock and the clean-up of what a killed run left behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from priorauth import __version__
from priorauth.batch.report import RecordResult
from priorauth.errors import BatchError
from priorauth.output import FILE_MODE, write_atomic

if TYPE_CHECKING:
    from priorauth.letter.render import Renderer

MANIFEST_NAME = ".priorauth-manifest.jsonl"
LOCK_NAME = ".priorauth-batch.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class _Names:
    """Unique output names, assigned in input order: ``id``, then ``id-2``, ``id-3`` ...
    Compared case-insensitively so that case-insensitive file systems are safe too."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, stem: str) -> str:
        candidate, number = stem, 1
        while candidate.casefold() in self._taken:
            number += 1
            candidate = f"{stem}-{number}"
        self._taken.add(candidate.casefold())
        return candidate + ".pdf"


def _fingerprint(renderer: Renderer, settings: str) -> bytes:
    """Everything besides the case that decides the PDF: priorauth's code, reference data and
    templates. A change to any of them makes ``resume`` re-render."""
    digest = hashlib.sha256(f"priorauth {__version__}\0{settings}\0".encode())
    roots = [Path(__file__).resolve().parents[1], *(Path(p) for p in renderer.search_path)]
    for root in roots:
        for folder, dirs, files in os.walk(root):  # top-down; dirs sorted in place: stable order
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".pyc", ".part")) or name.startswith("."):
                    continue
                path = Path(folder, name)
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                with contextlib.suppress(OSError):
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


class _Manifest:
    """``.priorauth-manifest.jsonl``: one line per PDF written (name, input hash, PDF hash,
    pages, status). Written only by the calling process, one line at a time, after the PDF is
    in place; a torn last line (kill -9) is ignored."""

    def __init__(self, outdir: Path, resume: bool) -> None:
        self.path = outdir / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        if resume:
            self._load()
        # Rewrite it compacted (resume) or empty (fresh run), then append.
        lines = "".join(json.dumps(e, separators=(",", ":")) + "\n"
                        for e in self.entries.values())
        write_atomic(self.path, lines.encode())
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, FILE_MODE)
        self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def _load(self) -> None:
        try:
            text = self.path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("output"), str):
                self.entries[entry["output"]] = entry

    def done(self, name: str, input_sha256: str, outdir: Path) -> dict[str, Any] | None:
        """The manifest entry for ``name`` if its PDF is in place and made from this input."""
        entry = self.entries.get(name)
        if entry is None or entry.get("input_sha256") != input_sha256:
            return None
        if _file_sha256(outdir / name) != entry.get("sha256"):
            return None
        return entry

    def add(self, result: RecordResult) -> None:
        assert result.output is not None
        entry = {"output": result.output.name, "input_sha256": result.input_sha256,
                 "sha256": result.sha256, "pages": result.pages, "status": result.status,
                 "id": result.id, "criteria": [u.to_dict() for u in result.unmet]}
        self._handle.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


@contextlib.contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    """One batch per output folder at a time (the lock dies with its process, even kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(outdir / LOCK_NAME, os.O_RDWR | os.O_CREAT | _NOFOLLOW, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another batch is writing to {outdir}; wait for it to finish"
                             ) from None
        yield
    finally:
        os.close(fd)


def _remove_leftovers(folder: Path) -> int:
    """Delete the ``.part`` files (PDFs, manifest) a killed run left behind; returns how many.
    Other ``.part`` files (e.g. a report being written into the same folder) are left alone."""
    removed = 0
    leftovers = [*folder.glob(".*.pdf.*.part"), *folder.glob(f".{MANIFEST_NAME}.*.part")]
    for part in leftovers:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
            removed += 1
    return removed


