"""Write letters so that a crash never leaves a half-written file under its final name.

Files are created 0600 (they hold PHI) in a temporary name beside the target, flushed to disk,
then renamed over the target in one atomic step. New folders are created 0700.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from priorauth.errors import OutputError

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_dir(path: Path) -> None:
    """Create ``path`` and any missing parents, each readable only by the owner (0700)."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):  # create top-down so every new level gets 0700
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via temp file + fsync + rename, with mode 0600."""
    path = Path(path)
    ensure_dir(path.parent if str(path.parent) else Path("."))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_output(path: Path, data: bytes) -> None:
    """Write ``data`` where the user asked, without ever replacing what is not a regular file.

    ``-`` streams to stdout. A character device (``/dev/null``), a FIFO, or a symlink to one of
    them or to a file (``/dev/stdout``) is written *through*, in place: renaming over it would
    replace the device or the link. A folder is refused. Anything else (a new path or a regular
    file) is written atomically (temporary file, fsync, rename; mode 0600).
    """
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(path)
    try:
        link = path.lstat()
    except FileNotFoundError:
        write_atomic(path, data)
        return
    if stat.S_ISDIR(link.st_mode):
        raise OutputError(f"{path} is a folder; give the name of a file to write")
    if stat.S_ISREG(link.st_mode):
        write_atomic(path, data)
        return
    try:
        target = path.stat()  # follows a symlink
    except FileNotFoundError:  # a dangling symlink: do not create files at its target
        raise OutputError(f"{path} is a symlink to nothing; give another file name") from None
    if stat.S_ISDIR(target.st_mode):
        raise OutputError(f"{path} leads to a folder; give the name of a file to write")
    if not (stat.S_ISCHR(target.st_mode) or stat.S_ISFIFO(target.st_mode)
            or stat.S_ISREG(target.st_mode)):
        raise OutputError(f"{path} is not a file, device or pipe priorauth can write to")
    _write_through(path, data, truncate=stat.S_ISREG(target.st_mode))


def _write_through(path: Path, data: bytes, *, truncate: bool) -> None:
    """Write into an existing device, FIFO or linked file in place (no rename, no chmod)."""
    flags = os.O_WRONLY | (os.O_TRUNC if truncate else 0)
    fd = os.open(path, flags)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
