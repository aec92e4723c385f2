"""``templates list``: every template on the search path, where it comes from, what it is for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from priorauth.letter.templates import (
    TEMPLATE_SUFFIX,
    bundled_templates_dir,
    search_path,
)


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    path: Path
    description: str
    bundled: bool
    overrides: bool
    """True when a folder earlier in the search path has a template of the same name."""


_LEADING_COMMENT = re.compile(r"\A\s*\{#-?(.*?)-?#\}", re.S)


def describe(source: str) -> str:
    """The ``description:`` of a template's leading comment, else its first sentence."""
    match = _LEADING_COMMENT.match(source)
    if not match:
        return ""
    text = " ".join(match.group(1).split())
    if text.lower().startswith("description:"):
        return text[len("description:"):].strip()
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence


def list_templates(templates_dirs: Sequence[Path] = ()) -> list[TemplateInfo]:
    """Every ``NAME.html.j2`` of the search path, highest priority first; shadowed ones marked."""
    bundled = bundled_templates_dir().resolve()
    seen: set[str] = set()
    found = []
    for folder in search_path(templates_dirs):
        for path in sorted(folder.glob("*" + TEMPLATE_SUFFIX)):
            name = path.name[: -len(TEMPLATE_SUFFIX)]
            found.append(TemplateInfo(name, path, describe(path.read_text("utf-8")),
                                      bundled=folder == bundled, overrides=name in seen))
            seen.add(name)
    return found


