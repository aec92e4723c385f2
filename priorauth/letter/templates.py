"""Where templates come from, what they may do, and which one a case gets.

- **Search path.** ``--templates-dir`` folders, then ``PRIORAUTH_TEMPLATES`` folders
  (``os.pathsep``-separated), then the bundled templates. The first folder that has a file wins,
  for templates and for ``assets/`` alike. ``priorauth/NAME`` always means the bundled file, so a
  house ``base.html.j2`` can extend ``priorauth/base.html.j2`` and change one block.
- **Sandbox.** Templates run in :class:`LetterSandbox`: Jinja's immutable sandbox, autoescape,
  StrictUndefined, only the filters in :data:`ALLOWED_BUILTIN_FILTERS` plus priorauth's own,
  attributes of case objects limited to their documented fields and properties, template names
  limited to plain ``*.j2`` file names inside the template folders.
- **Selection.** ``letter.kind`` picks the default template (:data:`KIND_TEMPLATES`); a
  ``priorauth-templates.yaml`` in a template folder may send a payer (by any of its names or
  aliases, its ``payer.id``, and/or ``payer.policy_id``) to its own templates. See
  docs/templates.md; the rules themselves are in :mod:`priorauth.letter.payer_rules`.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import os
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from priorauth.case.model import LetterKind
from priorauth.errors import TemplateError
from priorauth.letter.filters import FILTERS

ENV_VAR = "PRIORAUTH_TEMPLATES"
CONFIG_NAME = "priorauth-templates.yaml"
TEMPLATE_SUFFIX = ".html.j2"
BUNDLED_PREFIX = "priorauth/"

KIND_TEMPLATES: dict[LetterKind, str] = {
    LetterKind.initial: "letter",
    LetterKind.appeal: "appeal",
    LetterKind.peer_to_peer: "peer-to-peer",
    LetterKind.continuation: "continuation",
}
"""The template each ``letter.kind`` gets unless ``--template`` or a payer rule says otherwise."""

FAX_COVER = "fax-cover"
ROLES = (*KIND_TEMPLATES.values(), FAX_COVER)
"""Template roles a payer rule may remap (``letter: acme-letter``)."""

ALLOWED_BUILTIN_FILTERS = (
    "abs", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first",
    "float", "format", "groupby", "int", "items", "join", "last", "length", "list", "lower", "map",
    "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr",
    "slice", "sort", "string", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
)
"""Jinja built-ins templates may use. Left out on purpose: ``safe`` and ``forceescape`` (would
let record text become markup), ``random`` (output must be reproducible), ``pprint``, ``attr``,
``tojson``, ``urlize``, ``urlencode``, ``xmlattr``, ``filesizeformat`` and the layout filters
(``center``, ``indent``, ``wordwrap``, ``striptags``) that a letter does not need."""

ALLOWED_GLOBALS = ("range", "dict", "namespace", "cycler", "joiner")
"""``lipsum`` is left out: a letter must not contain text that is not from the record."""

MAX_SEQUENCE = 100_000
MAX_EXPONENT = 100

_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"
TEMPLATE_FILE_NAME = re.compile(rf"(?:{_SEGMENT}/)*{_SEGMENT}\.j2")
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def bundled_templates_dir() -> Path:
    """The templates shipped with the package (a real folder: the package is installed unzipped)."""
    resource = files("priorauth.templates")
    with as_file(resource) as path:
        return Path(path)


def env_templates_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Folders named in ``PRIORAUTH_TEMPLATES`` (``os.pathsep``-separated); each must exist."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    dirs = [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]
    for folder in dirs:
        if not folder.is_dir():
            raise TemplateError(f"{ENV_VAR} names {str(folder)!r}, which is not a folder")
    return dirs


def search_path(templates_dirs: Sequence[Path] = ()) -> list[Path]:
    """Override folders first, bundled templates last (resolved, duplicates dropped)."""
    path: list[Path] = []
    for folder in [*templates_dirs, bundled_templates_dir()]:
        resolved = Path(folder).resolve()
        if resolved not in path:
            path.append(resolved)
    return path


def check_template_name(name: str) -> str:
    """A template *name* from a user (``--template``, config): letters, digits, '-' and '_'."""
    if not TEMPLATE_NAME.fullmatch(name or ""):
        raise TemplateError(f"template name {name!r} may only use letters, digits, '-' and '_'")
    return name


# --- loader ---------------------------------------------------------------------------------


class TemplateLoader(jinja2.BaseLoader):
    """Loads ``*.j2`` files from the search path, and nothing else.

    Refused: absolute names, ``..``, backslashes, names not ending in ``.j2``, anything under
    ``assets/``, and files whose real path (after symlinks) leaves their template folder.
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = [Path(f) for f in folders]

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        folders, name = self.folders, template
        if name.startswith(BUNDLED_PREFIX):
            folders, name = self.folders[-1:], name[len(BUNDLED_PREFIX):]
        if not TEMPLATE_FILE_NAME.fullmatch(name) or name.startswith("assets/"):
            raise jinja2.TemplateNotFound(
                template,
                f"{template!r} is not a name templates may load: use a plain file name ending "
                "in .j2 from the template folders (no leading '/', no '..', nothing in assets/)",
            )
        for folder in folders:
            path = folder / name
            if not path.is_file():
                continue
            real = path.resolve()
            if not real.is_relative_to(folder.resolve()):
                raise jinja2.TemplateNotFound(
                    template, f"{template!r} is a link to a file outside its template folder")
            try:
                source = real.read_text("utf-8")
            except UnicodeDecodeError as exc:
                raise TemplateError(f"{path}: is not UTF-8 text (byte {exc.start}); save it as "
                                    "UTF-8") from None
            mtime = real.stat().st_mtime

            def uptodate(real: Path = real, mtime: float = mtime) -> bool:
                try:
                    return real.stat().st_mtime == mtime
                except OSError:
                    return False

            return source, str(path), uptodate
        raise jinja2.TemplateNotFound(
            template, f"no template {template!r} in {', '.join(str(f) for f in folders)}")

    def list_templates(self) -> list[str]:
        names: set[str] = set()
        for folder in self.folders:
            for path in folder.rglob("*.j2"):
                name = path.relative_to(folder).as_posix()
                if TEMPLATE_FILE_NAME.fullmatch(name) and not name.startswith("assets/"):
                    names.add(name)
        return sorted(names)


# --- sandbox --------------------------------------------------------------------------------


def _is_property(cls: type, attr: str) -> bool:
    return isinstance(inspect.getattr_static(cls, attr, None), property)


MAX_STRING = 1_000_000
"""Longest string a template may build with a filter, ``%`` or ``str.format`` (characters)."""
MAX_WIDTH = 10_000
"""Largest field width or precision in a format string (``'%050000000d'`` asks for 50 MB)."""
MAX_OUTPUT = 20_000_000
"""Most characters one render may produce."""
MAX_ITERATIONS = 200_000
"""Most ``range()`` steps in one render, nested loops included."""
RENDER_SECONDS = 20.0
"""Time budget for rendering one template to HTML (layout by WeasyPrint comes after)."""

_WIDTH = re.compile(r"(\d+)")


class RenderBudget:
    """What one render may still spend: ``range`` steps, output characters and time. Set by
    :func:`render_within_budget`; checked by the sandbox as the template runs."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.iterations = 0

    def tick(self, steps: int = 1) -> None:
        self.iterations += steps
        if self.iterations > MAX_ITERATIONS:
            raise jinja2.exceptions.SecurityError(
                f"the template loops more than {MAX_ITERATIONS:,} times")
        if time.monotonic() > self.deadline:
            raise jinja2.exceptions.SecurityError(
                f"the template took longer than {RENDER_SECONDS:g} s to render")


_budget = threading.local()


def _current() -> RenderBudget:
    budget: RenderBudget | None = getattr(_budget, "value", None)
    if budget is None:
        budget = _budget.value = RenderBudget()
    return budget


def _check_widths(spec: str) -> None:
    if any(int(n) > MAX_WIDTH for n in _WIDTH.findall(spec) if len(n) < 40) or any(
            len(n) >= 40 for n in _WIDTH.findall(spec)):
        raise jinja2.exceptions.SecurityError(
            f"a format width or precision above {MAX_WIDTH:,} is not allowed in a template")


def _checked_string(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise jinja2.exceptions.SecurityError(
            f"the template built a string longer than {MAX_STRING:,} characters")
    return value


def _bounded_range(*args: Any) -> Any:
    """``range`` that counts every step against the render's budget."""
    steps = range(*args)
    if len(steps) > MAX_ITERATIONS:
        raise jinja2.exceptions.SecurityError(
            f"range() of more than {MAX_ITERATIONS:,} items in a template")
    budget = _current()

    def counted() -> Any:
        for item in steps:
            budget.tick()
            yield item

    return counted()


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_widths(str(value))
    return str(_checked_string(str(value) % (kwargs or args)))


@jinja2.pass_eval_context
def _replace_filter(eval_ctx: Any, value: Any, old: str, new: str,
                    count: int | None = None) -> Any:
    text, old, new = str(value), str(old), str(new)
    hits = (len(text) + 1) if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > MAX_STRING:
        raise jinja2.exceptions.SecurityError(
            f"replace() would build a string longer than {MAX_STRING:,} characters")
    builtin = jinja2.filters.FILTERS["replace"]
    return builtin(eval_ctx, value, old, new, count)


def _bounded_filter(name: str) -> Callable[..., Any]:
    builtin = jinja2.filters.FILTERS[name]
    width_args = {"center": 0, "indent": 0, "wordwrap": 0, "truncate": 0}

    def run(*args: Any, **kwargs: Any) -> Any:
        numbers = [a for a in list(args[1:]) + list(kwargs.values())
                   if isinstance(a, int) and not isinstance(a, bool)]
        if name in width_args and any(abs(n) > MAX_WIDTH for n in numbers):
            raise jinja2.exceptions.SecurityError(
                f"{name}() with a width above {MAX_WIDTH:,} is not allowed in a template")
        return _checked_string(builtin(*args, **kwargs))

    run.__name__ = name
    run.__doc__ = builtin.__doc__
    if hasattr(builtin, "jinja_pass_arg"):  # keep Jinja's pass_eval_context / pass_environment
        run.jinja_pass_arg = builtin.jinja_pass_arg  # type: ignore[attr-defined]
    return run


def attribute_names(obj: Any) -> list[str] | None:
    """The attributes a template may read on a case object (fields and properties), or ``None``
    for anything else."""
    cls = type(obj)
    if isinstance(obj, BaseModel):
        names = list(cls.model_fields)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = [f.name for f in dataclasses.fields(obj)]
    else:
        return None
    names += [name for name in dir(cls) if not name.startswith(("_", "model_"))
              and _is_property(cls, name)]  # pydantic's own model_extra etc. are not case data
    return names


_LOCAL = re.compile(r"l_\d+_(\w+)")


def _name_of(obj: Any) -> str:
    """The template's own name for ``obj`` (``criterion`` in ``{% for criterion in … %}``),
    found among the locals of the compiled template frame that asked; else its type's name.
    Runs only when an attribute is missing."""
    try:
        frame: types.FrameType | None = sys._getframe(2)  # _name_of <- getattr <- template
    except ValueError:  # called from the top of a stack (not from a template)
        return type(obj).__name__
    try:
        for _ in range(3):
            if frame is None:
                break
            if frame.f_code.co_filename.endswith(".j2") or "<template>" in frame.f_code.co_filename:
                for key, value in frame.f_locals.items():
                    match = _LOCAL.fullmatch(key)
                    if match and value is obj:
                        return match.group(1)
            frame = frame.f_back
    finally:
        del frame
    return type(obj).__name__


class LetterSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, narrowed for letters.

    Case objects (pydantic models and the context dataclasses) expose only their fields and
    properties, so ``case.model_dump_json()`` or ``patient.model_copy`` are unavailable; ``*``,
    ``**``, ``%``, ``str.format``, ``format``, ``replace`` and padding filters are capped so a
    template cannot build a gigantic string; ``range`` steps, output size and time are budgeted
    per render (:func:`render_within_budget`).
    """

    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        cls = type(obj)
        if isinstance(obj, BaseModel):
            return attr in cls.model_fields or _is_property(cls, attr)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return attr in {f.name for f in dataclasses.fields(obj)} or _is_property(cls, attr)
        return True

    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        if (isinstance(value, jinja2.Undefined) and not isinstance(obj, jinja2.Undefined)
                and not hasattr(obj, attribute)):  # refused internals keep the sandbox's word
            known = attribute_names(obj)
            if known is not None:
                close = difflib.get_close_matches(attribute, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                return self.undefined(
                    hint=f"{_name_of(obj)} has no attribute {attribute!r}{hint}",
                    obj=obj, name=attribute)
        return value

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                   right: Any) -> Any:
        _current().tick(0)
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise jinja2.exceptions.SecurityError(f"exponent {right} is too large in a template")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (isinstance(seq, str | list | tuple) and isinstance(times, int)
                        and len(seq) * times > MAX_SEQUENCE):
                    raise jinja2.exceptions.SecurityError(
                        "a template may not build a sequence that long")
        if operator == "%" and isinstance(left, str):
            _check_widths(left)
        return _checked_string(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_widths(str(value.__self__))  # '{:>999999999}'.format(1): refused
        return wrapped

    def call(self, __context: jinja2.runtime.Context, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        _current().tick(0)
        return _checked_string(super().call(__context, __obj, *args, **kwargs))


def render_within_budget(template: jinja2.Template, variables: dict[str, Any]) -> str:
    """Render ``template`` with a fresh budget: at most :data:`MAX_OUTPUT` characters, and
    :data:`MAX_ITERATIONS` ``range`` steps and :data:`RENDER_SECONDS` seconds in all."""
    _budget.value = budget = RenderBudget()
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise jinja2.exceptions.SecurityError(
                    f"the template produced more than {MAX_OUTPUT:,} characters")
            budget.tick(0)
            parts.append(chunk)
    finally:
        _budget.value = None
    return "".join(parts)


LONG_TOKEN = 24
"""Characters without a space after which printed text gets break opportunities."""
_LONG_RUN = re.compile(rf"[\w.,]{{{LONG_TOKEN},}}")
"""Letters, digits, dots and commas: the runs a line breaker finds no break in (a URL's ``/`` or a
hyphen already is one, so those tokens are left as they are)."""
_BREAK_EVERY = 8


def _breakable(value: Any) -> Any:
    """Every ``{{ value }}`` passes here: a run of :data:`LONG_TOKEN` or more characters with
    no break opportunity (an OID, a pasted identifier, a 120-letter word) gets zero-width ones, so
    the layout can wrap it instead of clipping it at the page edge. Cheaper than CSS
    ``overflow-wrap: anywhere`` on every table cell (which doubled layout time), and ordinary
    words are untouched."""
    if type(value) is not str or len(value) < LONG_TOKEN:
        return value
    return _LONG_RUN.sub(lambda m: "\u200b".join(
        m.group(0)[i:i + _BREAK_EVERY] for i in range(0, len(m.group(0)), _BREAK_EVERY)), value)


class MissingValueError(jinja2.exceptions.TemplateRuntimeError):
    """A ``{{ … }}`` printed ``None``: the record lacks that value, and a letter must never say
    "plan None." — the template should leave the phrase out (``{% if … %}``)."""


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}`` passes here: ``None`` is refused (the error carries the template's
    file:line), long unbreakable runs get break opportunities (:func:`_breakable`)."""
    if value is None:
        raise MissingValueError(
            "prints a value the case does not have (None); wrap it in {% if … %} so the "
            "letter leaves the phrase out")
    return _breakable(value)


def make_environment(folders: Sequence[Path]) -> LetterSandbox:
    env = LetterSandbox(
        loader=TemplateLoader(folders),
        finalize=_finalize,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    builtin_filters = env.filters
    env.filters = {name: builtin_filters[name] for name in ALLOWED_BUILTIN_FILTERS}
    for name in ("center", "indent", "wordwrap", "truncate", "join", "string"):
        if name in env.filters:
            env.filters[name] = _bounded_filter(name)
    env.filters["format"] = _format_filter
    env.filters["replace"] = _replace_filter
    env.filters.update(FILTERS)
    env.globals = {name: env.globals[name] for name in ALLOWED_GLOBALS}
    env.globals["range"] = _bounded_range
    return env


def template_location(exc: BaseException) -> str | None:
    """``file.html.j2:LINE`` of the innermost template frame of a render error, if any."""
    where = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = f"{Path(filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def load_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Load ``NAME.html.j2``; the name is user input, so only plain names are accepted."""
    check_template_name(name)
    try:
        return env.get_template(name + TEMPLATE_SUFFIX)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"no template named '{name}' (looked for {name}{TEMPLATE_SUFFIX})") \
            from None
    except jinja2.TemplateSyntaxError as exc:
        filename = Path(exc.filename).name if exc.filename else name + TEMPLATE_SUFFIX
        raise TemplateError(f"{filename}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template '{name}': {exc.message}") from None
