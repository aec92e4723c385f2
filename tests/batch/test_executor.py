"""``render_many(..., executor=...)``: any :class:`concurrent.futures.Executor` renders chunks of
records and sends back bytes and a status; this process writes PDFs, manifest and report, so the
letters are the same bytes as the local pool's and ``resume`` works the same."""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from priorauth.batch import MANIFEST_NAME, RecordResult, render_many
from tests.conftest import SAMPLES

TWO = [SAMPLES / "chronic-migraine-with-aura.yaml", SAMPLES / "crps.yaml"]
MIXED = [*TWO, SAMPLES / "invalid-case.yaml", SAMPLES / "fails-criteria.yaml"]


def letters(results: list[RecordResult]) -> dict[str, bytes]:
    return {r.output.name: r.output.read_bytes() for r in results if r.output is not None}


def summary(results: list[RecordResult]) -> list[tuple[str, str | None, str | None]]:
    return [(r.status, r.id, r.sha256) for r in results]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> list[RecordResult]:
    """The reference: the same records through the local process pool."""
    return list(render_many(MIXED, tmp_path_factory.mktemp("pool"), jobs=2))


def test_a_process_pool_of_ones_own(local: list[RecordResult], tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as executor:
        results = list(render_many(MIXED, tmp_path, executor=executor, chunk_size=3))
        assert summary(results) == summary(local)
        assert letters(results) == letters(local)
        assert [r.status for r in results] == [
            "rendered", "rendered", "invalid", "criteria-not-met"]
        for result in results:
            if result.output is not None:
                assert hashlib.sha256(result.output.read_bytes()).hexdigest() == result.sha256
        lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
        assert len(lines) == 3  # written here, one line per PDF
        again = list(render_many(MIXED, tmp_path, executor=executor, resume=True))
    assert [r.resumed for r in again] == [True, True, False, True]
    assert summary(again) == summary(local)


class FlakyExecutor(Executor):
    """Runs tasks in this process; a task of more than one record fails as a whole (as a lost
    worker would), and so does any task holding the record ``cursed``."""

    def __init__(self) -> None:
        self.tasks: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        chunk = args[1]
        self.tasks.append(len(chunk))
        if len(chunk) > 1 or any(case.id == "cursed" for _, case in chunk):
            future.set_exception(RuntimeError("worker lost"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_a_failed_task_is_retried_record_by_record(tmp_path: Path) -> None:
    from priorauth import load_case

    cursed = load_case(TWO[0]).model_copy(update={"id": "cursed"})
    executor = FlakyExecutor()
    results = list(render_many([TWO[0], cursed, TWO[1]], tmp_path, executor=executor,
                               chunk_size=4))
    assert [(r.status, r.id) for r in results] == [
        ("rendered", "sample-cm-aura"), ("error", "cursed"), ("rendered", "sample-crps")]
    assert "executor could not run" in (results[1].error or "")
    assert "RuntimeError" in (results[1].error or "")
    assert executor.tasks == [3, 1, 1, 1]


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[Executor]:
    distributed = pytest.importorskip(
        "distributed", reason="the Dask path needs the 'dask' extra: pip install priorauth[dask]")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client.get_executor()


@pytest.mark.slow
def test_dask_renders_the_same_bytes_as_the_local_pool(
        local: list[RecordResult], dask_executor: Executor, tmp_path: Path) -> None:
    results = list(render_many(MIXED, tmp_path, executor=dask_executor))
    assert summary(results) == summary(local)
    assert letters(results) == letters(local)
    assert [r.status for r in results] == ["rendered", "rendered", "invalid", "criteria-not-met"]
    again = list(render_many(MIXED, tmp_path, executor=dask_executor, resume=True))
    assert [r.resumed for r in again] == [True, True, False, True]
