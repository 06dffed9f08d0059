"""Two lanes of work, the one thread helper shared by screen, the guarantee network and
the reasons.

A stage hands the runner named tasks, each with the names of the tasks whose results it
takes (its inputs), in an order where every input comes before the task that takes it.
Lane 0 is the caller's thread: its tasks run at once. Lane 1 is one worker thread (when
``n_jobs`` ≥ 2), which runs its tasks in the order given; with one thread they run at
once too, so the work and its results are the same either way — only the overlap
differs. numpy, scipy and Arrow release the GIL in their kernels, which is what makes a
second lane pay on two cores.

The runner owns the threads, the ordering and the timings: each task's seconds are kept
under its name, and the time lane 0 spends waiting for lane 1 under ``waiting for lane 2``.
"""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, ContextManager, Iterator

import numpy as np

from zjfin._errors import ParameterError

__all__ = ["Lanes", "side_by_side", "threads"]

WAITING = "waiting for lane 2"


def threads(n_jobs: int | None) -> int:
    """Threads for the stages that run side by side: ``None`` is every core, at most two
    (no stage has more than two lanes).

    Examples
    --------
    >>> threads(1)
    1
    """
    if n_jobs is None:
        return max(1, min(2, os.cpu_count() or 1))
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ParameterError("n_jobs", "a whole number ≥ 1 or None", n_jobs)
    return int(n_jobs)


class _Skipped(RuntimeError):
    """A lane-1 task left out because an earlier one failed (that one's error is raised)."""


class Lanes:
    """Run named tasks on two lanes.

    Parameters
    ----------
    n_jobs : int or None
        Threads (see :func:`threads`): with 2, lane 1 is a worker thread.
    timings : dict, optional
        Filled with seconds per task (and :data:`WAITING`).
    stage : callable, optional
        ``stage(label)`` gives a context manager that times and reports one task (such as
        :meth:`zjfin._progress.Progress.stage`); used instead of ``timings``.
    second_lane_label : str
        Prefix of the timing label of a lane-1 task (``"lane 2: "`` where the lanes'
        steps are reported apart).

    Examples
    --------
    >>> with Lanes(2) as lanes:
    ...     lanes.task("a", lambda: 2)
    ...     lanes.task("b", lambda a: a + 1, inputs=("a",), lane=1)
    ...     lanes.task("c", lambda a, b: a * b, inputs=("a", "b"))
    >>> lanes["c"]
    6
    """

    def __init__(self, n_jobs: int | None = None, timings: dict[str, float] | None = None,
                 stage: Callable[[str], ContextManager[Any]] | None = None, second_lane_label: str = "") -> None:
        self.n_jobs = threads(n_jobs)
        self.timings = timings
        self._stage = stage
        self._label = second_lane_label
        self._done: dict[str, Future] = {}
        self._failed: str | None = None  # the first lane-1 task that failed
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-lane") if self.n_jobs > 1 else None

    def task(self, name: str, run: Callable[..., Any], inputs: tuple[str, ...] = (), lane: int = 0,
             **arguments: Any) -> None:
        """Add task ``name``: ``run(**{input: its result, …}, **arguments)`` on ``lane``.

        Every input must be a task added before this one (so nothing can wait on itself).
        """
        if name in self._done:
            raise ValueError(f"task {name!r} added twice")
        unknown = [i for i in inputs if i not in self._done]
        if unknown:
            raise ValueError(f"task {name!r} takes {unknown}, which no earlier task gives")
        if lane not in (0, 1):
            raise ValueError(f"lane must be 0 or 1, got {lane!r}")
        label = name if lane == 0 else self._label + name

        def call() -> Any:
            taken = {i: self[i] for i in inputs}
            with self.timed(label):
                return run(**taken, **arguments)

        def call_on_worker() -> Any:
            # After a failure the lane stops: its later tasks may build on what failed.
            if self._failed is not None:
                raise _Skipped(f"task {name!r} not run: task {self._failed!r} failed before it")
            try:
                return call()
            except BaseException:
                self._failed = name
                raise

        if lane == 1 and self._pool is not None:
            self._done[name] = self._pool.submit(call_on_worker)
            return
        done: Future = Future()
        try:
            done.set_result(call())
        except BaseException as error:  # kept for whoever reads the result, as the worker's are
            done.set_exception(error)
            self._done[name] = done
            raise
        self._done[name] = done

    def __getitem__(self, name: str) -> Any:
        """The result of task ``name`` (waiting for it if lane 1 still runs it)."""
        done = self._done[name]
        if not done.done():
            start = time.perf_counter()
            try:
                done.exception()  # waits
            finally:  # a wait is no stage of its own: kept in ``timings`` only
                if self.timings is not None:
                    self.timings[WAITING] = self.timings.get(WAITING, 0.0) + time.perf_counter() - start
        if isinstance(done.exception(), _Skipped):  # the cause, not the task it stopped
            return self._done[self._failed].result()
        return done.result()

    def __contains__(self, name: str) -> bool:
        return name in self._done

    @contextmanager
    def timed(self, label: str) -> Iterator[None]:
        """Time (and report) work done here under ``label``, as a task's."""
        if self._stage is not None:
            with self._stage(label):
                yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                self.timings[label] = self.timings.get(label, 0.0) + time.perf_counter() - start

    def close(self, failed: bool = False) -> None:
        """Wait for lane 1 and raise its first error; after a failure here, drop its queued
        tasks instead of running them."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=True, cancel_futures=failed)
        self._pool = None
        if not failed:  # the first error in the order the tasks were given
            for done in self._done.values():
                if done.done() and not done.cancelled() and done.exception() is not None:
                    raise done.exception()

    def __enter__(self) -> "Lanes":
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        self.close(failed=error is not None)


def side_by_side(function: Callable[[Any], Any], items: list[Any], n_jobs: int | None = None) -> list[Any]:
    """``[function(item) for item in items]``, the items shared between the two lanes (every
    other one on lane 1): for several independent array kernels of one stage, such as the
    percentile ranks of the lists. The results are the same with one thread.

    Examples
    --------
    >>> side_by_side(lambda x: x * x, [1, 2, 3], n_jobs=2)
    [1, 4, 9]
    """
    with Lanes(n_jobs) as lanes:
        # Lane 1's items handed over first: a lane-0 task runs as soon as it is added.
        for i in [*range(1, len(items), 2), *range(0, len(items), 2)]:
            lanes.task(str(i), functools.partial(function, items[i]), lane=i % 2)
        return [lanes[str(i)] for i in range(len(items))]
