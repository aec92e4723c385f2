"""Tools for template authors: list, vars, lint, dump, preview (``priorauth templates ...``).

Everything here returns values or raises :class:`~priorauth.errors.TemplateError`; the CLI prints.
"""

from __future__ import annotations

from priorauth.authoring.docs import Variable, template_variable_list, variables_markdown
from priorauth.authoring.dump import template_inputs
from priorauth.authoring.lint import LintProblem, lint
from priorauth.authoring.listing import TemplateInfo, describe, list_templates
from priorauth.authoring.preview import Preview, preview, watch, watched_files
from priorauth.authoring.sample import SAMPLE_CASE, lint_cases, sample_case

__all__ = [
    "SAMPLE_CASE", "LintProblem", "Preview", "TemplateInfo", "Variable", "describe", "lint",
    "lint_cases", "list_templates", "preview", "sample_case", "template_inputs",
    "template_variable_list", "variables_markdown",
    "watch", "watched_files",
]
