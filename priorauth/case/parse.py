"""Read case files (YAML, JSON, one NDJSON line) into a validated :class:`Case`.

Everything a person might get wrong becomes a :class:`Problem` with the field path, a plain-words
message and, for files, the line number, so ``priorauth validate`` can list every problem at once.
Parsing is deliberately conservative: YAML anchors/aliases are refused (they enable "billion laughs"
blow-ups and no case needs them), ``012345`` stays the text "012345" instead of becoming an octal
number, ``no``/``on`` stay text unless a field wants a true/false, and duplicate keys are errors.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from priorauth._yaml import ALIAS_MESSAGE, MERGE_MESSAGE, is_merge_key, refusal
from priorauth.case.model import Case, record_date_problems, submodel
from priorauth.case.starter import placeholder_problems
from priorauth.codes import code_for_pydantic
from priorauth.errors import (
    CaseInvalid,
    DetailedValueError,
    FieldProblems,
    InvalidValue,
    Problem,
)

MAX_CASE_BYTES = 2 * 1024 * 1024
"""Largest case file accepted (2 MiB): a real case is a few KiB."""

MAX_DEPTH = 32
"""Deepest nesting accepted in a case document: a real case nests 4 levels."""

MAX_PROBLEMS = 100
"""Most problems listed for one case; the rest are summed up in one last line."""

MAX_LIST = 1000
"""Most items in any list the model does not cap itself (a real case's longest list is ~20)."""

Format = Literal["yaml", "json"]
PathKey = tuple[str | int, ...]

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CaseLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML loader that keeps ambiguous YAML 1.1 scalars as the text the person typed."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's constructors raise plain ValueError/TypeError on values such as
        ``!!float abc`` or ``!!timestamp x``; report those as YAML errors at the value's line."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, LookupError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"this value cannot be read as {kind[:40]}", node.start_mark
            ) from None


def _construct_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    """Numbers stay the text the person typed: ``group_number: 0012.30`` is "0012.30", not 12.3,
    ``reference: 12:34:56.7`` is not 45296.7 (YAML 1.1 sexagesimal). A field that wants a number
    converts the text itself (and refuses .inf, .nan and 1e400)."""
    return str(node.value)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool | str:
    text = str(node.value)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text  # yes/no/on/off: pydantic still accepts these where a field wants a bool


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError, AttributeError):
        return str(node.value)  # 0000-00-00, 2024-02-30: the model says "must be a date"


_CaseLoader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_CaseLoader.add_constructor("tag:yaml.org,2002:float", _construct_number)
_CaseLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_CaseLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class Locator:
    """Maps a field path to the line (and column) where it stands in the source text."""

    def __init__(self, marks: dict[PathKey, tuple[int, int]] | None = None) -> None:
        self.marks = marks or {}

    def find(self, path: PathKey) -> tuple[int | None, int | None]:
        """The position of ``path``, or of its nearest ancestor (a missing field's parent)."""
        key = tuple(path)
        while True:
            if key in self.marks:
                return self.marks[key]
            if not key:
                return None, None
            key = key[:-1]


_FIELD_LIKE = re.compile(r"[a-z][a-z0-9_]{0,63}")
UNKNOWN_KEY = "(unknown key)"
"""How a path shows a key that cannot be a field name: such a key is often a value typed in the
wrong place (``{street: 1 Main St, Apt 3}`` makes ``Apt 3`` a key), so it is PHI."""


def format_path(path: typing.Iterable[str | int]) -> str:
    """``('prior_therapies', 2, 'end')`` → ``prior_therapies[2].end``. Every field name is
    lower-case snake_case; any other key is shown as :data:`UNKNOWN_KEY`, never as typed."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = str(part) if _FIELD_LIKE.fullmatch(str(part)) else UNKNOWN_KEY
            text += f".{shown}" if text else shown
    return text


def iter_ndjson_lines(handle: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Non-blank lines of an NDJSON stream with their 1-based numbers, read in bounded chunks so a
    huge line never sits in memory whole: a line longer than ``max_bytes`` is skipped and yields
    ``None`` in its place (the caller decides whether that is one bad record or a bad file)."""
    number = 0
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        elif line.strip():
            yield number, line


def iter_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar in nested dicts/lists with its field path: ``('patient.given_name', 'Ana')``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from iter_leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def list_limit(path: PathKey) -> int:
    """The most items the list at ``path`` may hold: the field's own ``max_length`` when the
    model sets one (``diagnoses``: MAX_DIAGNOSES), else :data:`MAX_LIST`."""
    if not path or isinstance(path[-1], int):
        return MAX_LIST
    parent = _model_at(path[:-1])
    key = str(path[-1])
    field = None if parent is None else next(
        (f for name, f in parent.model_fields.items() if key in (name, f.alias)), None)
    caps = [getattr(m, "max_length", None) for m in (field.metadata if field else [])]
    return min([c for c in caps if isinstance(c, int)] or [MAX_LIST])


def _too_many(length: int, path: PathKey) -> str | None:
    """The problem for a list too long for its field, checked before any item is validated:
    100,000 diagnoses are refused at once instead of building 100,000 models first."""
    limit = list_limit(path)
    if length > limit:
        return f"has too many items (at most {limit})"
    return None


def _oversized_lists(data: Any, locator: Locator | None,
                     source: str | None) -> list[Problem]:
    """Lists over their cap anywhere in already-parsed data (JSON, NDJSON, API dicts)."""
    problems: list[Problem] = []
    stack: list[tuple[Any, PathKey]] = [(data, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            stack.extend((value, (*path, str(key))) for key, value in item.items())
        elif isinstance(item, list):
            message = _too_many(len(item), path)
            if message is not None:
                problems.append(Problem(format_path(path), message,
                                        *(locator or Locator()).find(path), source))
                continue
            stack.extend((value, (*path, index)) for index, value in enumerate(item))
    return problems


def _walk_yaml(root: yaml.Node, source: str | None) -> tuple[Locator, list[Problem]]:
    """Record every field's position; refuse aliases, duplicate keys and absurd nesting."""
    marks: dict[PathKey, tuple[int, int]] = {}
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, PathKey]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if id(node) in seen:
            problems.append(Problem(format_path(path), ALIAS_MESSAGE, line, column, source,
                                    code="yaml.alias"))
            continue
        seen.add(id(node))
        marks.setdefault(path, (line, column))
        if len(path) > MAX_DEPTH:
            problems.append(Problem(format_path(path),
                                    f"is nested more than {MAX_DEPTH} levels deep",
                                    line, column, source, code="document.too_deep"))
            continue
        reason = refusal(node)  # !!set, !!omap, !!pairs, !!binary
        if reason is not None:
            problems.append(Problem(format_path(path), reason, line, column, source))
            continue
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = (*path, key)
                key_pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if is_merge_key(key_node):
                    problems.append(Problem(format_path(path) or "<<", MERGE_MESSAGE, *key_pos,
                                            source))
                    continue
                if key in keys:
                    problems.append(
                        Problem(format_path(child), "appears twice; keep only one", *key_pos,
                                source, code="yaml.duplicate_key")
                    )
                keys.add(key)
                marks[child] = key_pos
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            message = _too_many(len(node.value), path)
            if message is not None:
                problems.append(Problem(format_path(path), message, line, column, source))
                continue
            for index, item in enumerate(node.value):
                stack.append((item, (*path, index)))
    return Locator(marks), problems


def _yaml_problem(exc: yaml.YAMLError, source: str | None) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem("", f"is not valid YAML: {what}", line, column, source, code="yaml.syntax")


def parse_yaml(text: str, source: str | None = None) -> tuple[Any, Locator]:
    """Parse YAML text safely; raise :class:`CaseInvalid` with the line of any syntax problem."""
    loader = _CaseLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise CaseInvalid([Problem("", "the file is empty", source=source,
                                       code="file.empty")], source)
        locator, problems = _walk_yaml(root, source)
        if problems:
            raise CaseInvalid(_capped(problems, source), source)
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise CaseInvalid([_yaml_problem(exc, source)], source) from None
    except RecursionError:
        raise CaseInvalid([Problem("", "is nested too deeply", source=source,
                                            code="document.too_deep")], source) from None
    finally:
        loader.dispose()
    return data, locator


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a case file may contain")


def _parse_int(text: str) -> int | str:
    """Like YAML: an absurdly long number stays text, so the model reports the field."""
    return int(text) if len(text.lstrip("-")) <= 30 else text


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f'the key "{key[:40]}" appears twice in one object; keep only one')
        result[key] = value
    return result


def parse_json(text: str, source: str | None = None) -> tuple[Any, Locator]:
    """Parse JSON strictly (no NaN, no duplicate keys); line numbers come from a YAML pass."""
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                          object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        problem = Problem("", f"is not valid JSON: {exc.msg}", exc.lineno, exc.colno, source,
                          code="json.syntax")
        raise CaseInvalid([problem], source) from None
    except ValueError as exc:
        problem = Problem("", f"is not valid JSON: {exc}", source=source, code="json.syntax")
        raise CaseInvalid([problem], source) from None
    except RecursionError:
        raise CaseInvalid([Problem("", "is nested too deeply", source=source,
                                            code="document.too_deep")], source) from None
    if _too_deep(data):
        problem = Problem("", f"is nested more than {MAX_DEPTH} levels deep", source=source,
                          code="document.too_deep")
        raise CaseInvalid([problem], source)
    try:  # JSON is (nearly) YAML: reuse the YAML composer just to learn line numbers.
        _, locator = parse_yaml(text, source)
    except CaseInvalid:
        locator = Locator()
    return data, locator


def _too_deep(data: Any) -> bool:
    """True when parsed data nests deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
    return False


def detect_format(text: str, name: str | None) -> Format:
    suffix = Path(name).suffix.lower() if name else ""
    if suffix in (".json", ".ndjson", ".jsonl"):
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def _decode(raw: bytes, source: str | None) -> str:
    if len(raw) > MAX_CASE_BYTES:
        raise CaseInvalid([Problem(
            "", f"the file is {len(raw):,} bytes; a case file may be at most {MAX_CASE_BYTES:,}",
            source=source, code="file.too_large")], source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaseInvalid([Problem(
            "", f"is not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8",
            source=source, code="file.encoding")], source) from None


# --- pydantic errors → problems ---------------------------------------------------------------

def _model_at(path: PathKey) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Case
    for part in path:
        if not isinstance(part, int):  # list indexes keep the item model
            model = submodel(model, part)
    return model


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: Mapping[str, Any], path: PathKey) -> str:
    """Plain words for one pydantic error, chosen by its type and context, never its text."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required but missing; add it"
    if kind == "extra_forbidden":
        parent = _model_at(path[:-1])
        hint = ""
        if parent is not None:
            close = difflib.get_close_matches(str(path[-1]), _field_names(parent), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else (
                "; allowed here: " + ", ".join(_field_names(parent)))
        if any(ch in str(path[-1]) for ch in " ()"):
            hint = ("; a comma inside { } starts a new field, so put a value that contains "
                    "commas in quotes")
        return f"is not a field priorauth knows{hint}"
    if kind in ("string_type", "string_sub_type"):
        return "must be text"
    if kind == "string_unicode":
        return "contains a broken character (a lone surrogate); retype the text"
    if kind == "invalid_key":
        return "is not a field name (field names are words such as 'patient')"
    if kind in ("int_type", "int_parsing", "int_parsing_size", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        typed = str(error.get("input", "")).strip().lower().lstrip("+-")
        if typed in (".nan", ".inf", "nan", "inf", "infinity"):
            return "must be a finite number"
        return "must be a number"
    if kind == "finite_number":
        return "must be a finite number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "must be a date written YYYY-MM-DD, e.g. 2024-03-31"
    if kind in ("enum", "literal_error"):
        return f"must be one of: {ctx.get('expected', '')}".replace("'", "")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {"greater_than": "more than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {words} {bound}"
    if kind == "too_short":
        need = ctx.get("min_length", 1)
        if error.get("input") == "" or isinstance(error.get("input"), str):
            return "must not be empty"
        return f"needs at least {need} item{'s' if need != 1 else ''}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_long":
        return f"has too many items (at most {ctx.get('max_length')})"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length'):,} characters)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a group of fields (key: value lines), not a single value"
    if kind in ("list_type", "tuple_type"):
        return "must be a list (lines starting with '- ')"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def problem_code(error: Mapping[str, Any]) -> str:
    """The stable code of one pydantic error: from its type, or from the
    :class:`InvalidValue` our validators raise (never from the message text)."""
    kind = str(error["type"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidValue):
        return cause.code
    detail = ""
    typed = error.get("input")
    if kind in ("float_type", "float_parsing") and str(typed).strip().lower().lstrip("+-") in (
            ".nan", ".inf", "nan", "inf", "infinity"):
        detail = "not_finite"
    elif kind == "too_short" and isinstance(typed, str):
        detail = "text"
    return code_for_pydantic(kind, detail)


def problems_from_validation_error(
    exc: ValidationError, locator: Locator | None = None, source: str | None = None
) -> list[Problem]:
    locator = locator or Locator()
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        path: PathKey = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblems):
            for sub_path, message, code in cause.coded:
                full = (*path, *_split_path(sub_path))
                problems.append(Problem(format_path(full), message, *locator.find(full), source,
                                        code=code))
            continue
        value = None if error["type"] == "missing" else _short(error.get("input"))
        if isinstance(cause, DetailedValueError):
            value = cause.detail
        if error["type"] == "extra_forbidden" and path and \
                not _FIELD_LIKE.fullmatch(str(path[-1])):
            value = _short(path[-1])  # the key itself is what a terminal user needs to see
        problems.append(Problem(format_path(path), _message(error, path), *locator.find(path),
                                source, value, code=problem_code(error)))
    return problems


def _split_path(text: str) -> PathKey:
    """Inverse of :func:`format_path` for the simple paths validators use."""
    parts: list[str | int] = []
    for chunk in text.replace("[", ".[").split("."):
        if not chunk:
            continue
        if chunk.startswith("[") and chunk.endswith("]"):
            parts.append(int(chunk[1:-1]))
        else:
            parts.append(chunk)
    return tuple(parts)


# --- public entry points ----------------------------------------------------------------------

def case_from_data(data: Any, locator: Locator | None = None, source: str | None = None) -> Case:
    """Validate already-parsed data (a dict) as a case."""
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        message = f"a case must be a mapping of fields, but this file holds {kind}"
        raise CaseInvalid([Problem("", message, source=source, code="document.not_mapping")],
                          source)
    oversized = _oversized_lists(data, locator, source)
    if oversized:
        raise CaseInvalid(_capped(oversized, source), source)
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, locator, source)
    else:
        untouched = placeholder_problems(data)
        if not untouched:
            return case
        problems = [Problem(path, message, *(locator or Locator()).find(_split_path(path)),
                            source, code=code) for path, message, code in untouched]
    # Cross-field date rules only run inside the model once every field is valid; run them on the
    # raw data too so one pass reports everything.
    reported = {p.path for p in problems}
    for path, message, code in record_date_problems(data):
        if path not in reported:
            full = _split_path(path)
            problems.append(Problem(path, message, *(locator or Locator()).find(full), source,
                                    code=code))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    raise CaseInvalid(_capped(problems, source), source)


def _capped(problems: list[Problem], source: str | None) -> list[Problem]:
    """At most :data:`MAX_PROBLEMS` problems, then one line saying how many more there are."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS],
            Problem("", f"... and {more:,} more problems; fix the ones above first",
                    source=source, code="case.too_many_problems")]


def parse_case(text: str | bytes, fmt: Format | None = None, source: str | None = None) -> Case:
    """Parse and validate one case document given as text or bytes."""
    return parse_located(text, fmt, source)[0]


def parse_located(text: str | bytes, fmt: Format | None = None,
                  source: str | None = None) -> tuple[Case, Locator]:
    """Like :func:`parse_case`, also returning where each field stands (for line numbers)."""
    if isinstance(text, str):  # round-trip: enforces the byte limit, refuses lone surrogates
        text = text.encode("utf-8", "surrogatepass")
    text = _decode(text, source)
    fmt = fmt or detect_format(text, source)
    data, locator = parse_json(text, source) if fmt == "json" else parse_yaml(text, source)
    return case_from_data(data, locator, source), locator


def read_source(path: str | Path) -> tuple[bytes, str]:
    """Bytes of a case file (``-`` = stdin) and the name to use in messages."""
    if str(path) == "-":
        return sys.stdin.buffer.read(MAX_CASE_BYTES + 1), "<stdin>"
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return handle.read(MAX_CASE_BYTES + 1), str(path)
    except FileNotFoundError:
        problem = Problem("", "file not found; check the path", source=str(path),
                          code="file.not_found")
    except IsADirectoryError:
        problem = Problem("", "is a folder, not a case file", source=str(path),
                          code="file.is_folder")
    except PermissionError:
        problem = Problem("", "cannot be read (permission denied)", source=str(path),
                          code="file.unreadable")
    raise CaseInvalid([problem], str(path))


def load_case(path: str | Path, fmt: Format | None = None) -> Case:
    """Read, parse and validate a case file (``-`` reads standard input)."""
    raw, name = read_source(path)
    return parse_case(raw, fmt, name)
