"""The network benchmark runs end to end at a small size and prints its ratios (the
figures themselves are for `make bench-network`, not for tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import zjfin

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_network.py"


def test_bench_network_small_run(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--nodes", "4000", "--edges", "8000", "--repeat", "1",
                           "--fractions", "0.5,1", "--networkx-edges", "3000", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for line in ("zjfin total / floor", "zjfin one thread / floor", "networkx (scaled, est.) / zjfin total",
                 "networkx / zjfin graph + circles", "memory (zjfin stage"):
        assert line in done.stdout, line
    figures = json.loads(out.read_text())
    # Both runs found the same network (the benchmark's own consistency checks).
    assert figures["zjfin"]["circles"] == figures["zjfin_one_thread"]["circles"] == figures["floor"]["scc_two_or_more"]
    assert [row["fraction"] for row in figures["memory"]] == [0.5, 1.0]
    assert figures["allocator_kept"] is zjfin.keep_freed_memory()  # the default: as the zjfin command runs
    assert "allocator: " in done.stdout
