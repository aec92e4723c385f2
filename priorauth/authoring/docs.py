"""``templates vars``: the variables a template may use, from the code itself (types and the
attribute docstrings), as a list or as docs/template-variables.md."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import enum
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from priorauth.case.model import Case, Diagnosis
from priorauth.letter import context as context_module
from priorauth.letter.filters import FILTERS
from priorauth.letter.templates import (
    ALLOWED_BUILTIN_FILTERS,
    ALLOWED_GLOBALS,
)


@dataclass(frozen=True)
class Variable:
    path: str
    type: str
    description: str


def _attribute_docs(cls: type) -> dict[str, str]:
    """Docstrings written under attributes (``x: int`` then ``\"\"\"what x is\"\"\"``)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] != "priorauth":
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for first, second in itertools.pairwise(body):
            if (isinstance(first, ast.AnnAssign) and isinstance(first.target, ast.Name)
                    and isinstance(second, ast.Expr) and isinstance(second.value, ast.Constant)
                    and isinstance(second.value.value, str)):
                docs[first.target.id] = " ".join(second.value.value.split())
    return docs


def _unwrap(annotation: Any) -> tuple[Any, bool, bool]:
    """(inner type, optional?, list?) of an annotation."""
    optional = is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, optional, is_list
        elif origin in (list, tuple, set, frozenset, Sequence):
            is_list = True
            annotation = typing.get_args(annotation)[0] if typing.get_args(annotation) else Any
        else:
            return annotation, optional, is_list


def _type_name(annotation: Any) -> str:
    inner, optional, is_list = _unwrap(annotation)
    if typing.get_origin(inner) is typing.Literal:
        name = " | ".join(repr(a) for a in typing.get_args(inner))
    elif typing.get_origin(inner) is dict:
        key, value = typing.get_args(inner)
        name = f"dict[{_type_name(key)}, {_type_name(value)}]"
    elif isinstance(inner, type) and issubclass(inner, enum.Enum):
        name = " | ".join(repr(m.value) for m in inner)
    elif inner is dt.date:
        name = "date"
    elif inner is Any:
        name = "any"
    elif isinstance(inner, type):
        name = inner.__name__
    else:
        name = str(inner).replace("typing.", "")
    if is_list:
        name = f"list[{name}]"
    return f"{name} | none" if optional else name


def _members(cls: type) -> Iterator[tuple[str, Any, str]]:
    """(attribute, annotation, description) of a model or dataclass, then its properties."""
    docs = _attribute_docs(cls)
    if issubclass(cls, BaseModel):
        for name, info in cls.model_fields.items():
            yield name, info.annotation, info.description or docs.get(name, "")
    elif dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):
            yield item.name, hints.get(item.name, Any), docs.get(item.name, "")
    for name, value in sorted(vars(cls).items()):
        if isinstance(value, property) and not name.startswith("_"):
            hint = typing.get_type_hints(value.fget).get("return", Any) if value.fget else Any
            doc = inspect.getdoc(value) or ""
            yield name, hint, " ".join(doc.split())


def _expandable(annotation: Any) -> type | None:
    inner, _, _ = _unwrap(annotation)
    if isinstance(inner, type) and (issubclass(inner, BaseModel)
                                    or dataclasses.is_dataclass(inner)):
        return inner
    return None


def top_level_variables() -> list[tuple[str, Any, str]]:
    """The names every template sees (see :func:`priorauth.letter.context.template_variables`)."""
    from priorauth.letter.render import FaxInfo

    hints = typing.get_type_hints(Case)
    return [
        ("letter", hints["letter"], "The letter: kind, date, urgency, reference, denial."),
        ("patient", hints["patient"], "The patient (same as case.patient)."),
        ("payer", hints["payer"], "The payer the letter goes to (same as case.payer)."),
        ("provider", hints["provider"], "The requesting clinician (same as case.provider)."),
        ("facility", hints["facility"], "Site of care, if the case names one."),
        ("primary_diagnosis", Diagnosis, "The diagnosis marked primary (or the only one)."),
        ("case", Case, "The whole case."),
        ("ctx", context_module.LetterContext,
         "Facts derived from the case (never added to it): therapy grouping, counts, codes."),
        ("fax", FaxInfo, "Only in the fax cover: the packet it fronts."),
    ]


def template_variable_list() -> list[Variable]:
    """Every path a template may use, each type expanded once where it first appears."""
    out: list[Variable] = []
    expanded: dict[type, str] = {}

    def walk(path: str, annotation: Any, description: str, depth: int) -> None:
        cls = _expandable(annotation)
        type_name = _type_name(annotation)
        if cls is not None and cls in expanded:
            description = (description + " " if description else "") + \
                f"(fields as under `{expanded[cls]}`)"
        out.append(Variable(path, type_name, description))
        if cls is None or cls in expanded or depth > 6:
            return
        expanded[cls] = path
        _, _, is_list = _unwrap(annotation)
        prefix = path + ("[]" if is_list else "")
        for name, hint, doc in _members(cls):
            walk(f"{prefix}.{name}", hint, doc, depth + 1)

    for name, annotation, description in top_level_variables():
        walk(name, annotation, description, 0)
    return out


def _filter_doc(func: Callable[..., Any]) -> str:
    return (inspect.getdoc(func) or "").split("\n")[0]


def variables_markdown() -> str:
    """``docs/template-variables.md``: generated, and tested to match the committed copy."""
    lines = [
        "# Template variables",
        "",
        "<!-- Generated by `priorauth templates vars --markdown`; do not edit by hand. "
        "A test fails when this file is out of date. -->",
        "",
        "Every letter template sees the names below (built by `priorauth/context.py` from the",
        "case model in `priorauth/models.py`). A value marked `| none` may be missing: guard it",
        "with `{% if … %}` — templates run with StrictUndefined, so a typo is an error, never a",
        "blank. `[]` marks a list: loop over it with `{% for … in … %}`. Only these attributes",
        "are reachable from a template; methods of the case objects are not.",
        "",
        "| Variable | Type | Description |",
        "|---|---|---|",
    ]
    for var in template_variable_list():
        description = var.description.replace("|", "\\|")
        type_name = var.type.replace("|", "\\|")
        lines.append(f"| `{var.path}` | `{type_name}` | {description} |")
    lines += ["", "## Filters", "", "| Filter | What it does |", "|---|---|"]
    for name, func in sorted(FILTERS.items()):
        lines.append(f"| `{name}` | {_filter_doc(func) or '—'} |")
    lines += [
        "",
        "Jinja built-in filters available: " + ", ".join(f"`{n}`" for n in ALLOWED_BUILTIN_FILTERS)
        + ".",
        "",
        "Not available (on purpose): `safe`, `forceescape`, `random`, `pprint`, `attr`, `tojson`,",
        "`urlize`, `urlencode`, `xmlattr`, `filesizeformat`, `center`, `indent`, `wordwrap`,",
        "`striptags`.",
        "",
        "Globals: " + ", ".join(f"`{n}`" for n in ALLOWED_GLOBALS) + ".",
        "",
    ]
    return "\n".join(lines)


