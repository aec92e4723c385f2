"""``templates preview``: render one template with the sample (or a given) case, once or on every
save."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from priorauth.authoring.sample import sample_case
from priorauth.errors import PriorAuthError
from priorauth.letter.templates import FAX_COVER


@dataclass(frozen=True)
class Preview:
    output: Path
    seconds: float
    pages: int


def preview(name: str, output: Path, case_path: Path | None = None,
            templates_dirs: Sequence[Path] = (), *, html: bool = False) -> Preview:
    """Render template ``name`` with the sample or given case, through the letter pipeline
    (``fax-cover``: the cover in front of the case's own letter, as it will be faxed)."""
    from priorauth.letter.pipeline import LetterPipeline
    from priorauth.output import write_atomic

    started = time.perf_counter()
    case = sample_case(case_path)
    cover = name == FAX_COVER
    pipeline = LetterPipeline(template=None if cover else name, templates_dirs=templates_dirs)
    if cover and html:  # the cover alone, with made-up page counts: HTML has no pages
        from priorauth.letter.render import FaxInfo

        data = pipeline.renderer.html(case, template=pipeline.renderer.template_name_for(
            case, FAX_COVER), extra={"fax": FaxInfo(3, 1, 2, "letter")}).encode()
        pages = 0
    else:
        letter = pipeline.render(case, fmt="html" if html else "pdf", fax_cover=cover)
        data, pages = letter.data, letter.pages or 0
    write_atomic(output, data)
    return Preview(output, time.perf_counter() - started, pages)


def watched_files(templates_dirs: Sequence[Path], case_path: Path | None) -> dict[Path, float]:
    """Modification times of every template, asset and config of the override folders (and
    the case), so a save anywhere triggers a re-render."""
    stamps: dict[Path, float] = {}
    paths: list[Path] = [p for d in templates_dirs for p in Path(d).rglob("*") if p.is_file()]
    if case_path is not None:
        paths.append(Path(case_path))
    for path in paths:
        try:
            stamps[path] = path.stat().st_mtime_ns
        except OSError:
            continue
    return stamps


def watch(render_once: Callable[[], Any], snapshot: Callable[[], dict[Path, float]],
          on_result: Callable[[Any], None], *, interval: float = 0.5,
          max_renders: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """Render now, then again whenever ``snapshot()`` changes (polling every ``interval`` s).

    Errors from a render are passed to ``on_result`` as well (the author fixes the file and
    saves again); stops after ``max_renders`` renders when given (tests), else runs until
    interrupted.
    """
    renders = 0
    before = snapshot()
    while True:
        try:
            on_result(render_once())
        except PriorAuthError as exc:
            on_result(exc)
        renders += 1
        if max_renders is not None and renders >= max_renders:
            return
        while True:
            sleep(interval)
            now = snapshot()
            if now != before:
                before = now
                break
