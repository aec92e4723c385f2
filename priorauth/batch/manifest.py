"""Resumable, one-at-a-time output folders: unique names, the input fingerprint, the manifest of
PDFs written, the folder lock and the clean-up of what a killed run left behind."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from priorauth import __version__
from priorauth.batch.report import NOT_MET, RENDERED, RecordResult
from priorauth.errors import BatchError
from priorauth.output import FILE_MODE, write_atomic

MANIFEST_NAME = ".priorauth-manifest.jsonl"
LOCK_NAME = ".priorauth-batch.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class OutputNames:
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


MAX_HASHED = 16 * 1024 * 1024
"""Bytes of one file read into the fingerprint (the letter loads no asset larger); a larger
file counts by its size and modification time."""


def fingerprint(folders: Sequence[Path], settings: str) -> bytes:
    """Everything besides the case that decides the PDF: priorauth's code and reference data, the
    template folders (``folders``) and ``settings``. A change to any of them makes ``resume``
    re-render. Only regular files are read, each at most :data:`MAX_HASHED` bytes: a FIFO or a
    link to a device in a template folder is named, never read."""
    digest = hashlib.sha256(f"priorauth {__version__}\0{settings}\0".encode())
    for root in [Path(__file__).resolve().parents[1], *folders]:
        for folder, dirs, files in os.walk(root):  # top-down; dirs sorted in place: stable order
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".pyc", ".part")) or name.startswith("."):
                    continue
                path = Path(folder, name)
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(_file_digest(path))
    return digest.digest()


def _file_digest(path: Path) -> bytes:
    """sha256 of a regular file's bytes (bounded); a marker for anything else."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b"special"
        fd = os.open(path, os.O_RDONLY | _NONBLOCK)  # never blocks, even if swapped for a FIFO
    except OSError:
        return b"unreadable"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return b"special"
        if info.st_size > MAX_HASHED:
            return f"large {info.st_size} {info.st_mtime_ns}".encode()
        try:
            return hashlib.sha256(handle.read(MAX_HASHED + 1)).digest()
        except OSError:
            return b"unreadable"


def file_sha256(path: Path) -> str | None:
    """sha256 of a file (``None`` when it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _valid_entry(entry: object) -> bool:
    """A manifest line as this module writes it; anything else (edited by hand, another
    version) is ignored, so its record is rendered again rather than trusted."""
    if not isinstance(entry, dict):
        return False
    pages, criteria = entry.get("pages"), entry.get("criteria", [])
    return (isinstance(entry.get("output"), str) and "/" not in entry["output"]
            and all(isinstance(entry.get(k), str) and _SHA256.fullmatch(entry[k])
                    for k in ("input_sha256", "sha256"))
            and (pages is None or (type(pages) is int and pages >= 0))
            and entry.get("status") in (RENDERED, NOT_MET)
            and all(isinstance(entry.get(k), str | None)
                    for k in ("id", "reason", "template", "policy"))
            and isinstance(entry.get("warnings", []), list)
            and all(isinstance(w, str) for w in entry.get("warnings", []))
            and isinstance(criteria, list)
            and all(isinstance(c, dict) and all(isinstance(c.get(k), str)
                                                for k in ("id", "verdict", "label"))
                    for c in criteria))


class Manifest:
    """``.priorauth-manifest.jsonl``: one line per PDF written (name, input hash, PDF hash,
    pages, status). Written only by the calling process, one line at a time, after the PDF is
    in place; a torn or tampered line is ignored (its record is rendered again)."""

    def __init__(self, outdir: Path, resume: bool) -> None:
        self.path = outdir / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        if resume:
            self._load()
        # Rewrite it compacted (resume) or empty (fresh run), then append.
        lines = "".join(json.dumps(e, separators=(",", ":")) + "\n"
                        for e in self.entries.values())
        try:
            write_atomic(self.path, lines.encode())
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | _NOFOLLOW)
        except OSError as exc:
            raise BatchError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _load(self) -> None:
        try:
            text = self.path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise BatchError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if _valid_entry(entry):
                self.entries[entry["output"]] = entry

    def done(self, name: str, input_sha256: str, outdir: Path) -> dict[str, Any] | None:
        """The manifest entry for ``name`` if its PDF is in place and made from this input."""
        entry = self.entries.get(name)
        if entry is None or entry.get("input_sha256") != input_sha256:
            return None
        if file_sha256(outdir / name) != entry.get("sha256"):
            return None
        return entry

    def add(self, result: RecordResult) -> None:
        """Append ``result``'s line. Raises :class:`OSError` (disk full ...); a line cut short
        is taken back, so the next line starts clean."""
        assert result.output is not None
        entry = {"output": result.output.name, "input_sha256": result.input_sha256,
                 "sha256": result.sha256, "pages": result.pages, "status": result.status,
                 "id": result.id, "criteria": [u.to_dict() for u in result.unmet],
                 "reason": result.reason, "template": result.template, "policy": result.policy,
                 "warnings": list(result.warnings)}
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        size = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)
            raise

    def close(self) -> None:
        os.close(self._fd)


@contextlib.contextmanager
def locked(outdir: Path) -> Iterator[None]:
    """One batch per output folder at a time (the lock dies with its process, even kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(outdir / LOCK_NAME, os.O_RDWR | os.O_CREAT | _NOFOLLOW, FILE_MODE)
    except OSError as exc:
        raise BatchError(f"cannot lock {outdir}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another batch is writing to {outdir}; wait for it to finish"
                             ) from None
        yield
    finally:
        os.close(fd)


_LEFTOVER = re.compile(r"\.(?:.+\.pdf|" + re.escape(MANIFEST_NAME) + r")\.[a-z0-9_]+\.part")
"""The temporary name :func:`~priorauth.output.write_atomic` gives a PDF or the manifest (a
report's temporary file ends in ``.report.part`` and never matches)."""


def remove_leftovers(folder: Path) -> int:
    """Delete the temporary files (PDFs, manifest) a killed run left behind; returns how many.
    Anything else (a report being written into the same folder) is left alone."""
    removed = 0
    for part in folder.iterdir():
        if _LEFTOVER.fullmatch(part.name) and part.is_file():
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
                removed += 1
    return removed


