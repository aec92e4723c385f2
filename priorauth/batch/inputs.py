"""Batch inputs (files, folders, NDJSON, stdin, objects → records): the implementation lives in
:mod:`priorauth.case.inputs` so ``validate`` can read the same inputs without importing the
batch machinery (its start-up stays fast); this module keeps the batch-side names."""

from __future__ import annotations

from priorauth.case.inputs import (
    CASE_SUFFIXES,
    NDJSON_SUFFIXES,
    Record,
    _iter_records,
    count_records,
    iter_ndjson_records,
    iter_records,
    safe_stem,
)

__all__ = ["CASE_SUFFIXES", "NDJSON_SUFFIXES", "Record", "_iter_records", "count_records",
           "iter_ndjson_records", "iter_records", "safe_stem"]
