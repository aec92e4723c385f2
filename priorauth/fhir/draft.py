"""The draft case: data with TODO placeholders, and its YAML with a comment naming the source
resource of every value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from priorauth.case.model import Case, submodel
from priorauth.case.parse import iter_leaves
from priorauth.errors import CaseInvalid, Problem
from priorauth.fhir.report import (
    ImportReport,
)
from priorauth.fhir.values import (
    _number,
)


@dataclass(frozen=True)
class Todo:
    """A value the FHIR data does not give. ``text`` fields are written empty (``field:``), other
    fields as ``TODO``: either way ``priorauth validate`` fails until a human fills it in."""

    reason: str
    kind: Literal["text", "value"] = "value"


def _strip_todos(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_todos(v) for k, v in value.items() if not isinstance(v, Todo)}
    if isinstance(value, list):
        return [_strip_todos(v) for v in value if not isinstance(v, Todo)]
    return value


def _todo_paths(value: Any) -> Iterator[tuple[str, Todo]]:
    return ((path, leaf) for path, leaf in iter_leaves(value) if isinstance(leaf, Todo))


@dataclass
class ImportResult:
    """One patient's draft case: ``data`` (with :class:`Todo` placeholders), the comments that
    point each value at its source resource, and the report."""

    patient_id: str
    data: dict[str, Any]
    comments: dict[str, str]
    report: ImportReport

    def todos(self) -> list[tuple[str, Todo]]:
        return list(_todo_paths(self.data))

    def case(self) -> Case:
        """The validated case; :class:`CaseInvalid` lists every TODO and invalid value."""
        from priorauth.case.parse import case_from_data

        source = f"{self.report.input} ({self.report.patient})"
        todo_problems = [Problem(path, f"not in the FHIR data; a human must fill it in: "
                                       f"{todo.reason}", source=source)
                         for path, todo in self.todos()]
        try:
            case = case_from_data(_strip_todos(self.data), None, source)
        except CaseInvalid as exc:
            todo_paths = [p.path for p in todo_problems]
            others = [p for p in exc.problems
                      if not any(p.path == t or p.path.startswith((t + ".", t + "["))
                                 or t.startswith((p.path + ".", p.path + "["))
                                 for t in todo_paths)]
            raise CaseInvalid(todo_problems + others, source) from None
        if todo_problems:
            raise CaseInvalid(todo_problems, source)
        return case

    def yaml(self) -> str:
        """The draft as a commented YAML case file (see :func:`to_yaml`)."""
        return to_yaml(self)




# --- YAML with comments -----------------------------------------------------------------------

def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return yaml_string(str(value))


_LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")


def _yaml_printable(char: str) -> bool:
    """YAML 1.1's printable set, minus every character a YAML reader treats as a line break."""
    code = ord(char)
    if char in _LINE_BREAKS or code == 0xFEFF:
        return False
    return (code == 0x09 or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF)


def yaml_string(text: str) -> str:
    """``text`` as a double-quoted YAML scalar that reads back exactly: quotes, backslashes,
    line breaks, controls, BOMs and lone surrogates escaped, so no value can end the scalar."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif _yaml_printable(char):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def comment_text(text: str) -> str:
    """``text`` safe inside a ``# comment``: one line, printable characters only (a resource id
    with a newline must not be able to add a key to the draft)."""
    return " ".join("".join(c if _yaml_printable(c) else " " for c in text).split())


def _order(model: type[BaseModel] | None, keys: Iterable[str]) -> list[str]:
    keys = list(keys)
    if model is None:
        return keys
    names = [f.alias or n for n, f in model.model_fields.items()]
    return sorted(keys, key=lambda k: names.index(k) if k in names else len(names))


def _emit(value: Any, model: type[BaseModel] | None, path: str, indent: int,
          comments: dict[str, str], lines: list[str]) -> None:
    pad = "  " * indent
    for key in _order(model, value.keys()):
        item = value[key]
        sub = f"{path}.{key}" if path else key
        note = comments.get(sub)
        comment = f"  # {comment_text(note)}" if note else ""
        if isinstance(item, Todo):
            placeholder = "" if item.kind == "text" else " TODO"
            lines.append(f"{pad}{key}:{placeholder}  # TODO(fhir): {comment_text(item.reason)}")
        elif isinstance(item, dict):
            lines.append(f"{pad}{key}:{comment}")
            _emit(item, submodel(model, key), sub, indent + 1, comments, lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(f"{pad}{key}:{comment}")
            child = submodel(model, key)
            for index, element in enumerate(item):
                block: list[str] = []
                _emit(element, child, f"{sub}[{index}]", indent + 2, comments, block)
                first = block[0].lstrip()
                lines.append(f"{pad}  - {first}")
                lines.extend(block[1:])
        elif isinstance(item, list):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in item)}]{comment}")
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}{comment}")


def to_yaml(result: ImportResult) -> str:
    """The draft case as YAML: each value commented with its source resource, ``TODO`` where a
    human must fill in what the FHIR data does not say (validation fails until then)."""
    todo = len(result.todos())
    lines = [
        "# Imported from FHIR R4 by `priorauth fhir` — a DRAFT: review every value against the",
        "# record. Comments name the source resource; TODO(fhir) marks what the data does not",
        f"# say ({todo} left). `priorauth validate` fails until every TODO is filled in.",
        "# Input: " + comment_text(f"{Path(result.report.input).name}; patient resource: "
                                   f"{result.report.patient}"),
    ]
    _emit(result.data, Case, "", 0, result.comments, lines)
    return "\n".join(lines) + "\n"
