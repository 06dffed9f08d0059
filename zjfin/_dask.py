"""The Dask engine: the partitions of a screening by county (:mod:`zjfin._partition`) worked
by a Dask cluster's workers instead of one after the other.

Dask is an optional dependency (``pip install zjfin[dask]``): this module imports it only
when a screening asks for ``engine="dask"``. The cluster is the caller's (a
``distributed.Client``, or a scheduler's address) or a ``LocalCluster`` made for the
screening and closed after it. What is handed to the workers: each partition's firm frame
and table rows, and, broadcast once, the policy, the model and the province's figures.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Callable, Iterable, Iterator, Mapping

from zjfin._errors import ParameterError
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
            local = stack.enter_context(distributed.LocalCluster(**options))
            client = stack.enter_context(distributed.Client(local))
        else:
            raise ParameterError("cluster", "a distributed.Client, a scheduler address or LocalCluster options", cluster)

        yield OnDask(client)


class OnDask(InOrder):
    """The partitions worked by a Dask client's workers (:class:`zjfin._partition.InOrder`'s
    contract): each partition sent as it is made and kept on its worker for every stage
    worked on it; the common arguments sent to every worker once."""

    engine = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.details = {"workers": len(client.scheduler_info().get("workers", {}))}

    def put(self, items: Iterable[Any]) -> list:
        # One at a time: the client holds one partition's copy while it is sent, not all.
        return [self.client.scatter([item], hash=False)[0] for item in items]

    def map(self, function: Callable[..., Any], handles: list, **common: Any) -> list:
        shared = {name: self.client.scatter(value, broadcast=True) if _large(value) else value
                  for name, value in common.items()}
        return self.client.gather(self.client.map(function, handles, pure=False, **shared))


def _large(value: Any) -> bool:
    """Worth scattering once rather than sending with each task (a policy, figures, a model)."""
    return not isinstance(value, (str, int, float, bool, type(None)))
