"""Stage timing and progress: a bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
try:  # Unix: the process's high-water mark of resident memory
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None
import threading
import time
from contextlib import contextmanager
from typing import IO, Iterator

__all__ = ["Progress"]

logger = logging.getLogger("zjfin")


class Progress:
    """Time named stages and report them.

    Parameters
    ----------
    stages : list of str
        The stages expected, in order (for the bar's length).
    stream : file, optional
        Where a terminal bar is drawn (default ``sys.stderr``). When it is not a
        terminal, each stage is a log line on the ``zjfin`` logger instead.
    enabled : bool
        Report at all (timings are kept either way).

    Examples
    --------
    >>> p = Progress(["read"], enabled=False)
    >>> with p.stage("read"):
    ...     pass
    >>> list(p.timings), list(p.peak_memory_mb) in (["read"], [])
    (['read'], True)
    """

    def __init__(self, stages: list[str], stream: IO[str] | None = None, enabled: bool = True) -> None:
        self.stages = list(stages)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        #: The process's peak resident memory (MB) when each stage ended (Unix only): the
        #: stage where it rises is the one that needed the memory.
        self.peak_memory_mb: dict[str, float] = {}
        self._tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._lock = threading.Lock()  # stages may run on several threads at once
        self._records: set[str] = set()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        with self._lock:
            total = max(len(self.stages), self._done() + 1)
            if self._tty:
                self._draw(self._done(), total, name)
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.timings[name] = self.timings.get(name, 0.0) + round(time.perf_counter() - start, 4)
                if resource is not None:
                    self.peak_memory_mb[name] = round(_max_rss_mb(), 1)
        with self._lock:
            done = self._done()
            total = max(len(self.stages), done)
            if self._tty:
                self._draw(done, total, name, final=done >= total)
            elif self.enabled:
                logger.info("[%d/%d] %s: %.2f s", done, total, name, self.timings[name])

    def record(self, name: str, seconds: float) -> None:
        """Keep a timing that is not a stage of its own (such as the wall time of stages
        that ran side by side)."""
        with self._lock:
            self.timings[name] = round(seconds, 4)
            self._records.add(name)

    def _done(self) -> int:
        return len(self.timings) - len(self._records)

    def _draw(self, done: int, total: int, name: str, final: bool = False) -> None:
        width = 30
        filled = int(width * done / total)
        bar = "█" * filled + "░" * (width - filled)
        self.stream.write(f"\r{bar} {done}/{total} {name:<24}")
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _max_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
