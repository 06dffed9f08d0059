"""Memory settings for a process that screens a whole province.

numpy asks the C allocator for every array. glibc's defaults give an array larger than
128 KiB (rising to 32 MiB as arrays are freed) pages of its own and hand them back when it
is freed, so the next array of that size starts on fresh pages the kernel must find and
zero. On the machines measured that cost up to a quarter of the guarantee-network stage
(1 s of system time at 3M firms). :func:`keep_freed_memory` keeps freed memory in the
process for reuse instead; ``zjfin`` on the command line calls it, a notebook or a batch
job may call it once at its start. :func:`return_freed_memory` is the other side: a
batch screening calls it where it has just released a large table.
:func:`arrow_pool_for_batch` gives Arrow's buffers jemalloc, which hands freed pages back
in small pieces as it goes, instead of mimalloc, which keeps them in large segments.
:func:`arrays_on_small_pages` stops NumPy asking for transparent huge pages.
"""

from __future__ import annotations

import ctypes
import functools
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

# glibc's mallopt parameters (malloc.h) and the values used: arrays up to the largest
# threshold glibc accepts (32 MiB on 64-bit systems, 512 KiB on 32-bit ones) come from the
# heap, and the heap is not trimmed until 2 GiB lie free at its top. (Limiting the number
# of arenas as well was slower: set after numpy is imported, it only partly takes hold.)
_LARGEST_THRESHOLD = 32 * 1024 * 1024 if ctypes.sizeof(ctypes.c_void_p) == 8 else 512 * 1024
_MALLOPT = (
    ("M_MMAP_THRESHOLD", -3, _LARGEST_THRESHOLD),
    ("M_TRIM_THRESHOLD", -1, 2**31 - 1),
)

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Keep memory freed by large arrays in the process, for the next ones (glibc only).

    Process-wide and not undone: the resident size stays near its peak after a large
    screening (a batch screening hands memory back where it releases a large table:
    :func:`return_freed_memory`). It changes no result. Calling it again does nothing.

    Returns
    -------
    bool
        Whether glibc took the settings (False where the C library is not glibc; a
        preloaded allocator such as jemalloc ignores them).

    Examples
    --------
    >>> import zjfin
    >>> isinstance(zjfin.keep_freed_memory(), bool)
    True
    """
    global _applied
    if _applied is None:
        _applied = _set_mallopt()
    return _applied


def _set_mallopt() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = _libc().mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for _, param, value in _MALLOPT)


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, looked up once (``find_library`` may start a subprocess)."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def return_freed_memory() -> bool:
    """Hand the memory freed so far back to the system now: Arrow's pool's and the C
    library's (glibc's ``malloc_trim``).

    A table read from Parquet lives in Arrow's pool, and what the stages after it make
    lives in glibc's heap (NumPy) or Arrow's. Each allocator keeps what is freed for its
    own reuse: when a large table is released, neither can use the other's freed memory,
    so without this the stages that follow add their memory on top (1M firms: the
    statements' 0.75 GB stayed in Arrow's pool). mimalloc's pool hands it back at once;
    jemalloc's (:func:`arrow_pool_for_batch`) does so itself within a second or so.
    Returns whether glibc was trimmed.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = _libc().malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    trim(0)
    return True


def arrow_pool_for_batch() -> str:
    """Allocate Arrow's buffers from jemalloc where this pyarrow has it; returns the pool's
    backend in use. Leaves the choice alone when ``ARROW_DEFAULT_MEMORY_POOL`` makes it.

    Measured on the 1M-firm province (``zjfin screen``, Parquet and CSV lists, two runs
    each): peak 2.25–2.32 GB and 31 s with jemalloc against 2.37–2.39 GB and 37–48 s with
    mimalloc, Arrow's default; the process hands freed pages back in small pieces, which a
    virtual machine gives back cheaply, where mimalloc's large segments are reclaimed by the
    host and must be faulted in again.
    """
    import os

    import pyarrow as pa

    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except pa.ArrowException:  # this pyarrow was built without jemalloc (Windows wheels)
            pass
    return pa.default_memory_pool().backend_name


def arrays_on_small_pages() -> bool:
    """Stop NumPy asking the kernel for transparent huge pages for its large arrays (its
    default on Linux); returns whether NumPy took the setting. Leaves the choice alone when
    ``NUMPY_MADVISE_HUGEPAGE`` makes it.

    A huge page is 2 MiB the kernel must find and zero at the first touch (on a virtual
    machine, that the host must back), for arrays that mostly live for one stage. Measured
    on the 1M-firm province (``zjfin screen``, Parquet lists, two runs each): 20.3–22.3 s
    with 6–7 s of system time, against 27–35 s with 13–18 s; the same peak (2.14 GB).
    """
    import os

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is None:
        return False
    setter(False)
    return True
