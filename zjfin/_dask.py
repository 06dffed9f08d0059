"""The Dask engine: the partitions of a screening by county (:mod:`zjfin._partition`) worked
by a Dask cluster's workers instead of one after the other.

Dask is an optional dependency (``pip install zjfin[dask]``): this module imports it only
when a screening asks for ``engine="dask"``. The cluster is the caller's (a
``distributed.Client``, or a scheduler's address) or a ``LocalCluster`` made for the
screening and closed after it. What is handed to the workers: each partition's firm frame
and table rows, and, broadcast once, the policy, the model and the province's figures.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import logging
from typing import Any, Callable, Iterable, Iterator, Mapping

from zjfin._errors import ClusterError, ParameterError
from zjfin._partition import InOrder

__all__ = ["dask_mapper", "DEFAULT_PARTITION_FIRMS"]

#: Firms a partition holds at least (whole counties are joined until it does): enough work
#: per task that Dask's overhead a task (a few milliseconds) does not count.
DEFAULT_PARTITION_FIRMS = 100_000
# How long a scheduler's address is tried before the screening gives up on it.
_CONNECT_SECONDS = 10


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ParameterError("engine", "'local', or 'dask' with Dask installed: pip install 'zjfin[dask]'",
                             "dask (distributed is not installed)") from None
    return distributed


@contextlib.contextmanager
def dask_mapper(cluster: Any = None) -> Iterator[OnDask]:
    """An :class:`OnDask` on a Dask cluster, for the time of a ``with`` block.

    Parameters
    ----------
    cluster : distributed.Client, str or mapping, optional
        A client (left open), a scheduler's address such as ``tcp://10.0.0.5:8786`` (a
        client is made and closed), or the options of a ``LocalCluster`` made for the block
        (default ``{"n_workers": 2, "threads_per_worker": 1}``; ``memory_limit`` per worker,
        such as ``"4GB"``).

    Examples
    --------
    >>> with dask_mapper({"n_workers": 1, "processes": False}) as on_dask:  # doctest: +SKIP
    ...     on_dask.map(pow, on_dask.put([1, 2, 3]), exp=2)
    [1, 4, 9]
    """
    distributed = _distributed()
    # Dask's start-up and shut-down notes are not the screening's: warnings and errors only.
    chatty = logging.getLogger("distributed")
    level = chatty.level
    chatty.setLevel(max(level, logging.WARNING))
    with contextlib.ExitStack() as stack:
        stack.callback(chatty.setLevel, level)
        if isinstance(cluster, distributed.Client):
            client = cluster
        elif isinstance(cluster, str):
            try:
                client = stack.enter_context(distributed.Client(cluster, timeout=_CONNECT_SECONDS))
            except (OSError, TimeoutError) as error:
                raise ParameterError("cluster", "the address of a Dask scheduler that answers",
                                     f"{cluster} ({type(error).__name__}: {error})") from None
        elif cluster is None or isinstance(cluster, Mapping):
            # No dashboard unless asked for: a screening job is not watched in a browser.
            options = {"n_workers": 2, "threads_per_worker": 1, "dashboard_address": ":0", **(cluster or {})}

            def client() -> Any:  # started when a partition is first worked (none: no cluster at all)
                local = stack.enter_context(distributed.LocalCluster(**options))
                return stack.enter_context(distributed.Client(local))
        else:
            raise ParameterError("cluster", "a distributed.Client, a scheduler address or LocalCluster options", cluster)

        yield OnDask(client)


class OnDask(InOrder):
    """The partitions worked by a Dask client's workers (:class:`zjfin._partition.InOrder`'s
    contract): each partition sent when a worker is about to be free, at most
    ``in_flight`` on the cluster at once (so the workers hold a few partitions, not the
    province), its result gathered as soon as it is done; the common arguments sent to every
    worker once. A partition whose worker is lost (killed over its memory limit) is sent
    again once; lost again, the screening stops with a :class:`ClusterError`."""

    engine = "dask"

    def __init__(self, client: Any, in_flight: int | None = None) -> None:
        # A client, or what makes one when first needed (a LocalCluster is started only then).
        self._client, self._in_flight = client, in_flight

    @property
    def client(self) -> Any:
        if callable(self._client) and not hasattr(self._client, "scheduler_info"):
            self._client = self._client()
        return self._client

    @property
    def details(self) -> dict[str, Any]:  # type: ignore[override]
        started = hasattr(self._client, "scheduler_info")
        return {"workers": len(self._client.scheduler_info().get("workers", {})) if started else 0}

    @property
    def in_flight(self) -> int:
        # Two a worker: one worked, the next already there when it is done.
        return self._in_flight or max(2, 2 * self.details["workers"])

    def map(self, function: Callable[..., Any], items: Iterable[Any], **common: Any) -> list:
        distributed = _distributed()
        source = enumerate(items)
        first = list(itertools.islice(source, 1))
        if not first:
            return []  # nothing to work: no cluster started
        source = itertools.chain(first, source)
        client = self.client  # started here, on the first partitions
        in_flight = self.in_flight
        # One list a value: a dict scattered alone would be scattered item by item, under its
        # keys as Dask keys (another map's {"mujun": …} would take their place).
        try:
            shared = {name: _scatter(client, value, broadcast=True) if _large(value) else value
                      for name, value in common.items()}
        except OSError as error:
            raise _lost("the values every partition shares twice", error) from None
        results: dict[int, Any] = {}
        pending: dict[Any, tuple[int, Any, int]] = {}  # future → (position, item, tries)
        done = distributed.as_completed()
        lost = (distributed.KilledWorker, concurrent.futures.CancelledError, distributed.comm.CommClosedError)

        def send(position: int, item: Any, tries: int) -> None:
            try:
                data = _scatter(client, item)
            except OSError as error:  # no worker to take it, twice
                raise _lost(position, error) from None
            future = client.submit(function, data, pure=False, **shared)
            pending[future] = (position, item, tries)  # kept until done: sent again if its worker is lost
            done.add(future)

        try:
            for position, item in itertools.islice(source, in_flight):
                send(position, item, 0)
            for future in done:
                position, item, tries = pending.pop(future)
                try:
                    results[position] = future.result()
                except lost as error:  # a worker lost, not a bug in the partition's work
                    if tries:
                        raise _lost(position, error) from None
                    send(position, item, 1)  # the worker was lost: once more, on a live one
                    continue
                for position, item in itertools.islice(source, 1):  # the next partition for the free slot
                    send(position, item, 0)
        finally:
            # A partition failed (or the caller was interrupted): the others stop working.
            # Best effort: a client already gone must not hide the error that stopped the map.
            with contextlib.suppress(Exception):
                if pending:
                    client.cancel(list(pending))
                client.cancel([f for f in shared.values() if isinstance(f, distributed.Future)])
        return [results[i] for i in range(len(results))]

    def put(self, value: Any) -> Any:
        try:
            return _scatter(self.client, value)
        except OSError as error:
            raise _lost("a value sent to it twice", error) from None

    def submit(self, function: Callable[..., Any], *args: Any, **common: Any) -> Any:
        # Data sent inside a task goes through the scheduler (Dask warns past 10 MB): sent
        # straight to a worker first (a partition's table rows, the network's columns for it).
        args = tuple(self.put(a) if _worth_sending_first(a) else a for a in args)
        common = {k: self.put(v) if _worth_sending_first(v) else v for k, v in common.items()}
        return self.client.submit(function, *args, pure=False, **common)

    def gather(self, handles: Iterable[Any]) -> list:
        distributed = _distributed()
        try:
            return self.client.gather(list(handles))
        except (distributed.KilledWorker, distributed.comm.CommClosedError, concurrent.futures.CancelledError) as error:
            raise _lost("work a result depends on", error) from None


def _scatter(client: Any, value: Any, broadcast: bool = False) -> Any:
    """``value`` on a worker (on every worker: ``broadcast``). A worker lost a moment ago may
    still be chosen — its connection closed, or refused until it times out, each an OSError —
    so once more, to the workers left."""
    try:
        return client.scatter([value], broadcast=broadcast, hash=False)[0]
    except OSError:
        return client.scatter([value], broadcast=broadcast, hash=False)[0]


def _lost(what: str | int, error: BaseException) -> ClusterError:
    """A ClusterError for work lost with its worker: ``what``, or partition number ``what`` (lost twice)."""
    what = f"partition {what + 1} twice" if isinstance(what, int) else what
    return ClusterError(f"the Dask cluster lost {what} ({type(error).__name__}: {error}): "
                        "most often a worker killed over its memory limit; give the workers more memory "
                        "(--memory-limit), make partitions smaller (--partition-firms) or use fewer threads a worker")


# Past this, a task's argument is scattered rather than sent inside the task.
_INLINE_BYTES = 1 << 20


def _worth_sending_first(value: Any) -> bool:
    """Large, and holding no handle (a value scattered whole keeps its handles unresolved:
    the task would be given the handle, not what it names)."""
    return _nbytes(value) > _INLINE_BYTES and not _holds_handle(value)


def _holds_handle(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_handle(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_handle(v) for v in value)
    return isinstance(value, _distributed().Future)


def _nbytes(value: Any) -> int:
    """About what a value's arrays hold (frames, arrays, and containers of them); 0 for the rest.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> _nbytes({"a": (np.zeros(10), pd.DataFrame({"x": np.zeros(4)}))}), _nbytes("text")
    (112, 0)
    """
    import numpy as np
    import pandas as pd

    if isinstance(value, (pd.DataFrame, pd.Series)):
        return int(np.sum(value.memory_usage(index=False)))
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, Mapping):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


def _large(value: Any) -> bool:
    """Worth scattering once rather than sending with each task (a policy, figures, a model)."""
    return not isinstance(value, (str, int, float, bool, type(None)))
