"""``templates lint``: a template folder checked before any letter is rendered with it (syntax,
variables, filters, blocks, assets)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from priorauth.authoring.docs import _expandable, _members, _unwrap, top_level_variables
from priorauth.authoring.sample import lint_cases
from priorauth.case.model import Case, LetterKind
from priorauth.errors import PriorAuthError, TemplateError
from priorauth.letter.payer_rules import CONFIG_NAME, parse_config
from priorauth.letter.templates import (
    KIND_TEMPLATES,
    TEMPLATE_SUFFIX,
    bundled_templates_dir,
    make_environment,
    search_path,
)


@dataclass(frozen=True, order=True)
class LintProblem:
    file: str
    line: int
    message: str

    def format(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else \
            f"{self.file}: {self.message}"


_URL_ATTR = re.compile(r"""\b(?:href|src)\s*=\s*["']?([^"'\s>]+)""", re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)["']?\s*\)|@import\s+["']([^"']+)["']""")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_ITERATING_FILTERS = {"map", "select", "reject"}
_ATTACHMENT = re.compile(r"""\brel\s*=\s*["']?[^"'>]*\battachment\b""", re.I)
_NO_ATTACHMENTS = ("asks to attach a file to the PDF (rel=\"attachment\"); letters may carry no "
                   "attachment but priorauth's own case.json")
_NONE_WORD = re.compile(r"\bNone\b")
_TAG = re.compile(r"<[^>]*>")


def _assigned_names(tree: nodes.Template) -> set[str]:
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for macro in tree.find_all(nodes.Macro):
        names.add(macro.name)
    return names


def _top_level_assigned(tree: nodes.Template) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            names |= {n.name for n in node.find_all(nodes.Name) if n.ctx == "store"}
        elif isinstance(node, nodes.Import | nodes.FromImport | nodes.Macro):
            names |= {n.name for n in node.find_all(nodes.Name) if n.ctx == "store"}
            if isinstance(node, nodes.Import):
                names.add(node.target)
            elif isinstance(node, nodes.FromImport):
                names |= {alias if isinstance(alias, str) else alias[-1] for alias in node.names}
            elif isinstance(node, nodes.Macro):
                names.add(node.name)
    return names


def _stub(*args: Any, **kwargs: Any) -> None:
    return None


def _parent_name(tree: nodes.Template) -> str | None:
    for node in tree.find_all(nodes.Extends):
        if isinstance(node.template, nodes.Const) and isinstance(node.template.value, str):
            return node.template.value
    return None


class _Linter:
    def __init__(self, folder: Path, templates_dirs: Sequence[Path],
                 cases: Sequence[tuple[str, Case]]) -> None:
        self.folder = folder.resolve()
        self.cases = list(cases)
        self.contexts: dict[int, Any] = {}
        self.appeal_templates = {KIND_TEMPLATES[LetterKind.appeal]}
        self.path = search_path([folder, *templates_dirs])
        self.env = make_environment(self.path)
        self.problems: list[LintProblem] = []
        self.known = {name for name, _, _ in top_level_variables()} | set(self.env.globals)
        self.types = {name: annotation for name, annotation, _ in top_level_variables()}

    @staticmethod
    def _shown(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)

    def add(self, path: Path, line: int, message: str) -> None:
        self.problems.append(LintProblem(self._shown(path), line, message))

    def parse(self, name: str) -> nodes.Template | None:
        try:
            source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            return self.env.parse(source, name, filename)
        except (jinja2.TemplateError, OSError):
            return None

    def ancestry(self, tree: nodes.Template, name: str) -> tuple[set[str], set[str]]:
        """(block names, top-level assigned names) of every template ``tree`` extends."""
        blocks: set[str] = set()
        assigned: set[str] = set()
        seen = {name}
        parent = _parent_name(tree)
        while parent is not None and parent not in seen:
            seen.add(parent)
            parent_tree = self.parse(parent)
            if parent_tree is None:
                break
            blocks |= {b.name for b in parent_tree.find_all(nodes.Block)}
            assigned |= _top_level_assigned(parent_tree)
            parent = _parent_name(parent_tree)
        return blocks, assigned

    def run(self) -> list[LintProblem]:
        config = self.folder / CONFIG_NAME
        if config.is_file():
            self.lint_config(config)
        for path in sorted(self.folder.rglob("*.j2")):
            relative = path.relative_to(self.folder).as_posix()
            if relative.startswith("assets/"):
                continue
            self.lint_template(path, relative)
        if self.check_assets_inside():
            for css in sorted((self.folder / "assets").rglob("*.css")):
                if css.resolve().is_relative_to(self.folder):
                    self.lint_css(css)
        return sorted(set(self.problems))

    def check_assets_inside(self) -> bool:
        """The same rule as render (``letter/render.py`` asset_roots, ``letter/fetcher.py``):
        ``assets/`` and everything in it must resolve inside the template folder. False when
        ``assets/`` itself leads out (then nothing in it is read) or does not exist."""
        assets = self.folder / "assets"
        if not assets.exists() and not assets.is_symlink():
            return False
        try:
            real = assets.resolve()
        except (OSError, RuntimeError):
            real = None
        if real is None or not real.is_relative_to(self.folder) or not real.is_dir():
            self.add(assets, 0, "leads outside its template folder (a symlink to a folder "
                                "elsewhere) or is not a folder; assets must live inside the "
                                "folder, and render refuses it")
            return False
        for top, dirs, files in os.walk(assets):  # does not follow links into folders
            for name in sorted(dirs + files):
                path = Path(top) / name
                if not path.is_symlink():
                    continue
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):
                    target = None
                if target is None or not target.is_relative_to(self.folder):
                    self.add(path, 0, "is a link to a file outside its template folder; "
                                      "render refuses to load it")
                    if name in dirs:
                        dirs.remove(name)
        return True

    def lint_config(self, config: Path) -> None:
        try:
            rules = parse_config(config.read_text("utf-8"), config)
        except TemplateError as exc:
            self.add(config, 0, str(exc).removeprefix(f"{config}: "))
            return
        for index, rule in enumerate(rules):
            for role, template in rule.templates.items():
                if role == KIND_TEMPLATES[LetterKind.appeal]:
                    self.appeal_templates.add(template)
                if self.parse(template + TEMPLATE_SUFFIX) is None:
                    self.add(config, 0, f"payers[{index}].templates.{role}: no template "
                                        f"'{template}{TEMPLATE_SUFFIX}' in the search path")

    def lint_template(self, path: Path, name: str) -> None:
        source = path.read_text("utf-8")
        try:
            tree = self.env.parse(source, name, str(path))
        except jinja2.TemplateSyntaxError as exc:
            self.add(path, exc.lineno, f"syntax error: {exc.message}")
            return
        self.check_filters(path, tree)
        parent_blocks, parent_assigned = self.ancestry(tree, name)
        parent = _parent_name(tree)
        if parent is not None and self.parse(parent) is None:
            line = next(iter(tree.find_all(nodes.Extends))).lineno
            self.add(path, line, f"extends '{parent}', which is not a template in the search path")
        self.check_names(path, tree, parent_assigned | _top_level_assigned(tree))
        self.check_blocks(path, name, tree, parent, parent_blocks)
        self.check_template_assets(path, tree)
        clean = not any(p.file == self._shown(path) for p in self.problems)
        if clean and name.endswith(TEMPLATE_SUFFIX) and "/" not in name \
                and not name.startswith("_"):
            self.trial_render(path, name[: -len(TEMPLATE_SUFFIX)])

    def check_filters(self, path: Path, tree: nodes.Template) -> None:
        for node in tree.find_all((nodes.Filter, nodes.Test)):
            if isinstance(node, nodes.Filter):
                if node.name not in self.env.filters:
                    self.add(path, node.lineno, self._unknown("filter", node.name,
                                                               self.env.filters))
                elif node.name in _ITERATING_FILTERS and node.args:
                    first = node.args[0]
                    if (isinstance(first, nodes.Const) and isinstance(first.value, str)
                            and first.value not in self.env.filters):
                        self.add(path, node.lineno, self._unknown("filter", first.value,
                                                                   self.env.filters))
            elif node.name not in self.env.tests:
                self.add(path, node.lineno, self._unknown("test", node.name, self.env.tests))

    @staticmethod
    def _unknown(kind: str, name: str, available: Iterable[str]) -> str:
        close = difflib.get_close_matches(name, list(available), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown {kind} '{name}'{hint}; see docs/template-variables.md"

    def check_names(self, path: Path, tree: nodes.Template, inherited: set[str]) -> None:
        declared = self.known | inherited
        # Unknown filters are reported already; stub them so Jinja's analysis can run.
        lenient = self.env.overlay()
        lenient.filters = {**{n.name: _stub for n in tree.find_all(nodes.Filter)},
                           **self.env.filters}
        lenient.tests = {**{n.name: _stub for n in tree.find_all(nodes.Test)}, **self.env.tests}
        tree.set_environment(lenient)
        try:
            undeclared = meta.find_undeclared_variables(tree) - declared
        except jinja2.TemplateError:
            undeclared = set()
        finally:
            tree.set_environment(self.env)
        for name in sorted(undeclared):
            line = next((n.lineno for n in tree.find_all(nodes.Name)
                         if n.name == name and n.ctx == "load"), 0)
            close = difflib.get_close_matches(name, sorted(declared), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.add(path, line, f"undefined variable '{name}'{hint}; see "
                                 "`priorauth templates vars`")
        shadowed = _assigned_names(tree) | inherited
        for node in tree.find_all(nodes.Getattr):
            chain: list[str] = []
            current: nodes.Node = node
            while isinstance(current, nodes.Getattr):
                chain.append(current.attr)
                current = current.node
            if not isinstance(current, nodes.Name) or current.name in shadowed:
                continue
            if current.name not in self.types:
                continue
            self.check_chain(path, node.lineno, current.name, list(reversed(chain)))

    def check_chain(self, path: Path, line: int, root: str, chain: list[str]) -> None:
        annotation = self.types[root]
        walked = root
        for attr in chain:
            cls = _expandable(annotation)
            if cls is None or _unwrap(annotation)[2]:
                return
            members = {name: hint for name, hint, _ in _members(cls)}
            if attr not in members:
                close = difflib.get_close_matches(attr, list(members), n=1)
                hint = f" (did you mean '{walked}.{close[0]}'?)" if close else ""
                self.add(path, line, f"'{walked}.{attr}' is not a template variable{hint}")
                return
            annotation = members[attr]
            walked += "." + attr

    def check_blocks(self, path: Path, name: str, tree: nodes.Template, parent: str | None,
                     parent_blocks: set[str]) -> None:
        own = {b.name: b.lineno for b in tree.find_all(nodes.Block)}
        if parent is not None and parent_blocks:
            # Only outermost blocks override; blocks nested inside one define new blocks.
            nested = {inner.name for outer in tree.find_all(nodes.Block)
                      for inner in outer.find_all(nodes.Block)}
            outermost = {name: line for name, line in own.items() if name not in nested}
            for block, line in sorted(outermost.items()):
                if block not in parent_blocks:
                    close = difflib.get_close_matches(block, sorted(parent_blocks), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    self.add(path, line, f"block '{block}' is not defined in '{parent}' or its "
                                         f"parents, so it would never be shown{hint}")
        bundled = bundled_templates_dir() / name
        if self.folder != bundled_templates_dir().resolve() and bundled.is_file():
            required = {b.name for b in self.env.parse(bundled.read_text("utf-8")).find_all(
                nodes.Block)}
            bundled_tree = self.env.parse(bundled.read_text("utf-8"))
            required |= self.ancestry(bundled_tree, "priorauth/" + name)[0]
            missing = sorted(required - set(own) - parent_blocks)
            if missing:
                self.add(path, 1, f"replaces the bundled '{name}' but lacks its block(s) "
                                  f"{', '.join(missing)}; templates that extend it rely on them "
                                  f"(extend 'priorauth/{name}' to keep them)")

    def check_template_assets(self, path: Path, tree: nodes.Template) -> None:
        for data in tree.find_all(nodes.TemplateData):
            for match in _ATTACHMENT.finditer(data.data):
                line = data.lineno + data.data.count("\n", 0, match.start())
                self.add(path, line, "the template " + _NO_ATTACHMENTS)
            for match in _URL_ATTR.finditer(data.data):
                if match.end() == len(data.data):  # the URL goes on in a {{ … }}: unknowable
                    continue
                line = data.lineno + data.data.count("\n", 0, match.start())
                self.check_url(path, line, match.group(1), base="")

    def lint_css(self, css: Path) -> None:
        text = css.read_text("utf-8", errors="replace")
        base = css.parent.relative_to(self.folder).as_posix() + "/"
        for match in _CSS_URL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            self.check_url(css, line, match.group(1) or match.group(2), base=base)

    def check_url(self, path: Path, line: int, url: str, base: str) -> None:
        if "{{" in url or "{%" in url or url.startswith("#") or url.startswith("data:"):
            return
        if _SCHEME.match(url) or url.startswith("/") or url.startswith("\\"):
            self.add(path, line, f"'{url}' would be refused: a letter may only use files from "
                                 "the assets/ folders of the template folders")
            return
        relative = Path(base + url.split("#")[0].split("?")[0])
        parts: list[str] = []
        for part in relative.parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        if not parts or parts[0] != "assets":
            self.add(path, line, f"'{url}' is outside assets/ and would be refused")
            return
        rest = Path(*parts)
        if not any((folder / rest).is_file() for folder in self.path):
            self.add(path, line, f"asset '{rest.as_posix()}' does not exist in any template "
                                 "folder's assets/")

    def trial_render(self, path: Path, name: str) -> None:
        """Render ``name`` with every lint case; the same mistake is reported once, naming the
        first case that showed it. An appeal template gets only cases that have a denial."""
        from priorauth.letter.context import build_context
        from priorauth.letter.render import FaxInfo, Renderer, refuse_attachments

        try:
            renderer = Renderer(templates_dirs=self.path[:-1])
        except PriorAuthError as exc:  # e.g. an assets folder leading outside: reported above
            if "leads outside" not in str(exc):
                self.add(path, 0, str(exc))
            return
        extra = {"fax": FaxInfo(3, 1, 2, "letter")}
        seen: set[tuple[str, int, str]] = set()
        for label, case in self.cases:
            if name in self.appeal_templates and case.letter.denial is None:
                continue
            if id(case) not in self.contexts:
                self.contexts[id(case)] = build_context(case)
            try:
                html = renderer.html(case, self.contexts[id(case)], template=name, extra=extra)
                # Attachment links built at render time (rel="{{ 'attach' ~ 'ment' }}") show
                # only in the output: the same check render makes before layout.
                refuse_attachments(html)
                if _NONE_WORD.search(_TAG.sub(" ", html)) and \
                        not _NONE_WORD.search(case.model_dump_json()):
                    message = ("prints the word 'None' that the case does not hold: a missing "
                               "value joined with '~' or passed through a filter such as "
                               "'string'; guard it with {% if … %}")
                    if (str(path), 0, message) not in seen:
                        seen.add((str(path), 0, message))
                        self.add(path, 0, f"when rendering {label}: {message}")
            except PriorAuthError as exc:
                message = str(exc)
                match = re.match(r"([^:\s]+\.j2):(\d+): (.*)", message, re.S)
                file, line = path, 0
                if match:
                    candidate = self.folder / match.group(1)
                    file = candidate if candidate.is_file() else path
                    line, message = int(match.group(2)), match.group(3)
                if (str(file), line, message) in seen:
                    continue
                seen.add((str(file), line, message))
                self.add(file, line, f"when rendering {label}: {message}")


def lint(folder: Path, templates_dirs: Sequence[Path] = (),
         cases: Sequence[Path] = ()) -> list[LintProblem]:
    """Problems in the templates, config and CSS of ``folder`` (searched before
    ``templates_dirs`` and the bundled templates). Each template is rendered with ``cases``
    (default: :func:`~priorauth.authoring.sample.lint_cases`). An empty list means the folder
    is fine."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TemplateError(f"{folder} is not a folder")
    return _Linter(folder, templates_dirs, lint_cases(cases)).run()


