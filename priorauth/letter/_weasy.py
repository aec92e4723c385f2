"""Every WeasyPrint internal priorauth relies on, in one place, for one tested version range.

WeasyPrint's public API (``HTML``, ``CSS``, ``Attachment``, ``URLFetcher``) is used elsewhere; what
is here reaches past it — its bundled sRGB profile, its font-subsetter choice, the shape of its
PDF catalog — and may change in any release. ``setup.cfg`` pins WeasyPrint to
:data:`TESTED_RANGE`; :func:`check_version` refuses anything else with a clear message instead of
producing a subtly wrong PDF/A.
"""

from __future__ import annotations

import io
from importlib.metadata import version
from importlib.resources import files
from typing import Any

from priorauth.errors import RenderError

TESTED_RANGE = ((70, 0), (71, 0))
"""Lowest WeasyPrint version tested (inclusive) and the first one not yet tested (exclusive).
Keep in step with ``install_requires`` in setup.cfg."""


def _parse(text: str) -> tuple[int, int]:
    parts = [*(int(p) if p.isdigit() else 0 for p in text.split(".")[:2]), 0, 0]
    return parts[0], parts[1]


def check_version() -> None:
    """Raise :class:`RenderError` when the installed WeasyPrint is outside :data:`TESTED_RANGE`."""
    installed = version("weasyprint")
    low, high = TESTED_RANGE
    if not low <= _parse(installed) < high:
        raise RenderError(f"WeasyPrint {installed} is installed; priorauth is tested with "
                          f"{low[0]}.{low[1]} up to (not including) {high[0]}.{high[1]}: "
                          f"reinstall priorauth to get a tested version")


def srgb_profile() -> Any:
    """WeasyPrint 70's own sRGB output-intent profile, read and closed here.

    For ``output_intent='srgb'`` WeasyPrint opens this file and never closes it (a
    ResourceWarning per letter); handing it the profile preloaded avoids that.
    """
    from weasyprint.css import ColorProfile

    with (files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as handle:
        data = io.BytesIO(handle.read())
    return ColorProfile(data, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))


def dedupe_associated_files(document: Any, pdf: Any) -> None:
    """``write_pdf`` finisher: WeasyPrint 70 lists each PDF/A-3 attachment twice in the
    catalog's ``/AF``; keep one."""
    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


def font_subsetter() -> str:
    """Which font subsetter WeasyPrint uses here: ``harfbuzz`` (``libharfbuzz-subset`` >= 4.1,
    fast) or ``fonttools`` (pure-Python fallback, ~3x slower PDF writing).

    Mirrors the test in ``weasyprint.pdf.fonts.Font.subset`` (WeasyPrint 70)."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    return "fonttools"
