"""Bundled letter templates (HTML + CSS), installed as the package ``priorauth.templates``.

Nothing to import here: this file only lets the folder ship as package data.
"""
