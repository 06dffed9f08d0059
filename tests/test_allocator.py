"""zjfin.keep_freed_memory: freed arrays are reused rather than mapped afresh."""

import os
import platform
import subprocess
import sys
import textwrap

import pytest

import zjfin
from zjfin import _cli as cli

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Arrays of 8–31 MiB, made and freed twice; the page faults of the second round are
# printed. glibc by default maps such arrays afresh (or grows its heap for them) after
# they were freed, so the second round touches new pages again.
_ROUNDS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import zjfin
    if sys.argv[1] == "kept":
        assert zjfin.keep_freed_memory()
    def one_round():
        for mib in (8, 16, 24, 31):
            a = np.ones(mib * 2**20 // 8)
            del a
    one_round()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    one_round()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def test_returns_whether_in_force_and_is_idempotent():
    first = zjfin.keep_freed_memory()
    assert isinstance(first, bool)
    assert zjfin.keep_freed_memory() is first
    assert first is GLIBC


@pytest.mark.skipif(not GLIBC, reason="the settings are glibc's")
def test_freed_memory_is_reused_without_new_page_faults():
    kept = _faults("kept")
    assert kept < 100  # 31 MiB is ~7,900 pages: none of them new
    default = _faults("default")
    if default <= 4 * max(kept, 25):  # e.g. GLIBC_TUNABLES already set the same thresholds
        pytest.skip(f"glibc's settings here already reuse freed memory ({default} page faults without the call)")


def test_command_line_keeps_freed_memory(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(1) or True)
    assert cli.main(["schema", "firms"]) == 0
    assert calls == [1]


def test_command_line_puts_arrays_on_small_pages(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "arrays_on_small_pages", lambda: calls.append(1) or True)
    assert cli.main(["schema", "firms"]) == 0
    assert calls == [1]


def test_command_line_gives_arrow_jemalloc_unless_told_otherwise(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "arrow_pool_for_batch", lambda: calls.append(1) or "jemalloc")
    assert cli.main(["schema", "firms"]) == 0
    assert calls == [1]
    script = "from zjfin._allocator import arrow_pool_for_batch; print(arrow_pool_for_batch())"
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
        expected = "jemalloc"
    except pa.ArrowException:  # a pyarrow built without jemalloc
        expected = pa.default_memory_pool().backend_name
    chosen = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert chosen == expected
    told = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**__import__("os").environ, "ARROW_DEFAULT_MEMORY_POOL": "system"}).stdout.strip()
    assert told == "system"


# A 400 MB Arrow array made and freed: the pool keeps its pages until they are handed back.
_HANDED_BACK = textwrap.dedent("""
    import numpy as np, pyarrow as pa
    from zjfin._allocator import return_freed_memory
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    def rss():
        return int(open("/proc/self/statm").read().split()[1]) * 4096
    a = pa.array(np.ones(50_000_000)).cast(pa.float32()).cast(pa.float64())
    del a
    kept = rss()
    return_freed_memory()
    print(kept - rss())
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident memory read from /proc")
def test_freed_arrow_memory_is_handed_back():
    handed_back = int(subprocess.run([sys.executable, "-c", _HANDED_BACK], capture_output=True, text=True,
                                     check=True).stdout.strip())
    assert handed_back > 200 * 2**20


# A 64 MiB array, touched: how much of it the kernel backed with huge pages (smaps).
_HUGE_PAGES = textwrap.dedent("""
    import sys, numpy as np
    from zjfin._allocator import arrays_on_small_pages
    took = arrays_on_small_pages() if sys.argv[1] == "small" else None
    a = np.ones(8 * 2**20)
    start, end = a.ctypes.data, a.ctypes.data + a.nbytes
    huge, inside = 0, False
    for line in open("/proc/self/smaps"):  # the array may span mappings (madvise splits them)
        first = line.split()[0]
        if "-" in first and all(c in "0123456789abcdef-" for c in first):
            lo, hi = (int(x, 16) for x in first.split("-"))
            inside = lo < end and start < hi
        elif inside and line.startswith("AnonHugePages:"):
            huge += int(line.split()[1])
    print(took, huge)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="huge pages read from /proc")
def test_arrays_on_small_pages_gets_no_huge_pages():
    def run(mode, **env):
        out = subprocess.run([sys.executable, "-c", _HUGE_PAGES, mode], capture_output=True, text=True, check=True,
                             env={**{k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}, **env}).stdout
        took, huge = out.split()
        return took, int(huge)

    assert run("small", NUMPY_MADVISE_HUGEPAGE="1")[0] == "False"  # the user's setting wins
    if run("default")[1] == 0:
        pytest.skip("this kernel gives NumPy no transparent huge pages anyway (THP off)")
    assert run("small") == ("True", 0)
