"""Characters in a case that the letter's fonts cannot draw.

WeasyPrint (Pango) prints a character no font has as an empty box ("tofu") and says nothing. A
name printed as boxes on a prior-authorization letter gets the request rejected, so
:func:`missing_glyphs` lists, per field, the characters that none of the letter's fonts covers;
the CLI prints them as warnings. The fonts are the families the bundled stylesheets name (installed
by ``make system-deps``: Debian ``fonts-dejavu-core`` and ``fonts-noto-core``) plus any font files
shipped in ``templates/assets/fonts/``. Their character maps are read once per process (fontTools).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from priorauth.case.model import Case
from priorauth.case.parse import iter_leaves

FONT_FAMILIES = (
    "DejaVu Serif", "DejaVu Sans", "Noto Serif", "Noto Sans", "Noto Naskh Arabic",
    "Noto Sans Arabic",
)
"""Families the bundled stylesheets use (first three) and the fallbacks fontconfig adds."""

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
             Path.home() / ".local/share/fonts")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")

# Characters that are never drawn as glyphs: layout and direction controls, joiners, soft hyphen.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


@dataclass(frozen=True)
class GlyphWarning:
    """A field whose text contains characters no letter font can draw."""

    path: str
    codepoints: tuple[int, ...]

    def message(self) -> str:
        if not self.path:
            return ("no letter fonts were found; install them with `make system-deps` "
                    "(fonts-dejavu-core, fonts-noto-core)")
        shown = ", ".join(f"U+{cp:04X}" for cp in self.codepoints[:8])
        more = f" and {len(self.codepoints) - 8} more" if len(self.codepoints) > 8 else ""
        return (f"{self.path}: has characters the letter's fonts cannot draw ({shown}{more}); "
                "they would print as empty boxes")


def bundled_font_dir() -> Path:
    """``templates/assets/fonts`` of the installed package (may be absent)."""
    with as_file(files("priorauth.templates")) as folder:
        return Path(folder) / "assets" / "fonts"


def _fc_match(family: str) -> Path | None:
    """The file fontconfig uses for ``family``, if it really is that family."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        done = subprocess.run([fc_match, "-f", "%{family}\n%{file}", family],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) < 2:
        return None
    names = {name.strip().lower() for name in lines[0].split(",")}
    return Path(lines[1]) if family.lower() in names else None


def _scan(family: str) -> Path | None:
    """Without fontconfig's tools: look for the family's usual file names in the font folders."""
    stem = family.replace(" ", "")
    wanted = {f"{stem}{suffix}".lower() for suffix in FONT_SUFFIXES}
    wanted |= {f"{stem}-regular{suffix}".lower() for suffix in FONT_SUFFIXES}
    for folder in FONT_DIRS:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.name.lower() in wanted:
                    return path
    return None


@functools.lru_cache(maxsize=1)
def font_files() -> tuple[Path, ...]:
    """Font files the letter may draw with (bundled first), found once per process."""
    found: list[Path] = []
    folder = bundled_font_dir()
    if folder.is_dir():
        found += sorted(p for p in folder.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    for family in FONT_FAMILIES:
        path = _fc_match(family) or _scan(family)
        if path is not None and path not in found:
            found.append(path)
    return tuple(found)


@functools.lru_cache(maxsize=1)
def coverage() -> frozenset[int]:
    """Every code point some letter font has a glyph for: from the on-disk cache while the font
    folders and files are unchanged, else read from the fonts (and the cache refreshed)."""
    key = _folders_key()
    cached = _read_cache(key)
    if cached is not None:
        return cached
    files_ = font_files()
    covered = _read_fonts(files_)
    _write_cache(key, files_, covered)
    return covered


def _read_fonts(paths: tuple[Path, ...]) -> frozenset[int]:
    from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]

    covered: set[int] = set()
    for path in paths:
        try:
            with TTFont(str(path), lazy=True, fontNumber=0) as font:
                covered.update(font.getBestCmap() or {})
        except (OSError, TTLibError, KeyError, AssertionError):
            continue
    return frozenset(covered)


# --- the coverage cache ------------------------------------------------------------------------
# Reading the fonts' character maps (fontTools) and asking fontconfig which files to read cost
# ~0.3 s, most of ``validate``'s start-up. The result depends only on the font files, so it is
# cached per user, keyed by the font folders' and files' identity (path, size, mtime).

CACHE_FORMAT = 1


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "priorauth" / f"glyph-coverage-v{CACHE_FORMAT}.json"


def _identity(path: Path) -> list[Any]:
    try:
        info = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path), info.st_size, info.st_mtime_ns]


def _folders_key() -> list[Any]:
    """Font folders (fontconfig's configuration included): adding or removing fonts changes it."""
    folders = [*FONT_DIRS, Path("/etc/fonts"), Path("/etc/fonts/conf.d"), bundled_font_dir()]
    return [_identity(folder) for folder in folders] + [list(FONT_FAMILIES)]


def _read_cache(key: list[Any]) -> frozenset[int] | None:
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
        if data["key"] != key or any(_identity(Path(f[0])) != f for f in data["files"]):
            return None
        return frozenset(cp for start, end in data["ranges"] for cp in range(start, end + 1))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(key: list[Any], paths: tuple[Path, ...], covered: frozenset[int]) -> None:
    ranges: list[list[int]] = []
    for code in sorted(covered):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    data = {"key": key, "files": [_identity(p) for p in paths], "ranges": ranges}
    target = cache_file()
    with contextlib.suppress(OSError):  # a read-only home only costs speed
        from priorauth.output import ensure_dir, write_atomic

        ensure_dir(target.parent)
        write_atomic(target, json.dumps(data).encode("utf-8"))


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    return ((path, leaf) for path, leaf in iter_leaves(value) if isinstance(leaf, str))


def missing_in_text(text: str, covered: frozenset[int] | None = None) -> tuple[int, ...]:
    """Code points of ``text`` that no letter font draws (invisible characters excepted)."""
    covered = coverage() if covered is None else covered
    missing: dict[int, None] = {}
    for char in text:
        code = ord(char)
        if code in covered or char.isspace():
            continue
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            continue
        missing[code] = None
    return tuple(missing)


LATIN_1 = 0x100
"""Every letter font covers Latin-1: a case written only in it needs no font file read (reading
the fonts' character maps is most of ``validate``'s time otherwise)."""


def missing_glyphs(case: Case) -> list[GlyphWarning]:
    """One warning per field whose text has characters no letter font can draw."""
    strings = list(_strings(case.model_dump(mode="json", by_alias=True, exclude_none=True)))
    if all(ord(char) < LATIN_1 for _, text in strings for char in text):
        return []
    covered = coverage()
    if not covered:
        return [GlyphWarning("", ())]
    warnings: list[GlyphWarning] = []
    for path, text in strings:
        missing = missing_in_text(text, covered)
        if missing:
            warnings.append(GlyphWarning(path, missing))
    return warnings
