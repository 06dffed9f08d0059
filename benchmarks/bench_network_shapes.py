"""The guarantee-network stage on graphs that are not the synthetic province's (issue 15).

Each shape runs in its own process (so its peak memory is its own), once: uniformly
random graphs at mean degree 1.5 and 3 with 50k, 300k and 3M firms; a 1M-firm circle,
chain and star. For each: the stage's time, split into the exact parts and the systemic
impact (bounded by the policy's work budget), the scipy floor on the same graph (strong
components + 20 matrix-vector products), the ratio of the exact parts to the floor, and
the stage's peak memory (above what the process held before it) per firm, against the
target of 1 KB per firm + 200 B per guarantee. Building the graph from the firm ids is
timed apart (``graph_build``): the floor starts from integer positions too.

    python benchmarks/bench_network_shapes.py [--only random-50k-1.5,chain-1m] [--json FILE]

The benchmark's community graph is in ``bench_network.py`` (``make bench-network`` runs both).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

SHAPES = {
    "random-50k-1.5": ("random", 50_000, 1.5), "random-50k-3": ("random", 50_000, 3.0),
    "random-300k-1.5": ("random", 300_000, 1.5), "random-300k-3": ("random", 300_000, 3.0),
    "random-3m-1.5": ("random", 3_000_000, 1.5), "random-3m-3": ("random", 3_000_000, 3.0),
    "circle-1m": ("circle", 1_000_000, 1.0), "chain-1m": ("chain", 1_000_000, 1.0), "star-1m": ("star", 1_000_000, 1.0),
}


def edges(kind: str, n: int, degree: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Guarantor and borrower positions of one shape (degree: guarantees per firm, as in
    the issue's 20k firms / 30k guarantees)."""
    if kind == "random":
        m = int(n * degree)
        g, b = rng.integers(0, n, m), rng.integers(0, n, m)
        keep = g != b
        return g[keep], b[keep]
    if kind == "chain":
        return np.arange(n - 1), np.arange(1, n)
    if kind == "circle":
        return np.arange(n), (np.arange(n) + 1) % n
    return np.zeros(n - 1, dtype=np.int64), np.arange(1, n)  # star: one guarantor for all


def run_one(name: str) -> dict:
    import pandas as pd
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    from zjfin._policy import Policy
    from zjfin.risks.network import guarantee_graph, guarantee_network

    kind, n, degree = SHAPES[name]
    rng = np.random.default_rng(0)
    g, b = edges(kind, n, degree, rng)
    firm = np.char.add("F", np.arange(n).astype("U9")).astype(object)
    frame = pd.DataFrame({"firm_id": firm, "equity": rng.lognormal(16, 1, n), "total_assets": rng.lognormal(17, 1, n)})
    guarantees = pd.DataFrame({"guarantor_id": firm[g], "borrower_id": firm[b], "amount": rng.lognormal(15, 1, g.size)})
    seeds = rng.random(n) < 0.01
    del firm
    # The floor: what any correct implementation must do on this graph.
    matrix = sp.csr_matrix((np.ones(g.size), (g, b)), shape=(n, n))
    start = time.perf_counter()
    connected_components(matrix, directed=True, connection="strong")
    x = np.ones(n)
    for _ in range(20):
        x = matrix @ x
    floor = time.perf_counter() - start
    del matrix, x
    start = time.perf_counter()
    graph = guarantee_graph(guarantees, frame["firm_id"], "2019-03-31")
    built = time.perf_counter() - start
    before = _rss()
    _reset_peak()
    steps: dict[str, float] = {}
    start = time.perf_counter()
    out, _ = guarantee_network(graph, frame, seeds, Policy.default(), timings=steps)
    total = time.perf_counter() - start
    systemic = steps.get("lane 2: systemic", steps.get("systemic", 0.0))
    waited = steps.get("waiting for lane 2", 0.0)
    # The exact parts: everything but systemic impact (lane 2 waits only for it when it is the long pole).
    exact = total - min(systemic, waited) if waited else total - systemic
    status = out.columns["systemic_status"]
    # The stage's own memory: its peak above what the process held when it started.
    peak = max(_peak() - before, 0)
    target = 1024 * n + 200 * g.size
    return {"shape": name, "firms": n, "guarantees": int(g.size), "graph_build": round(built, 2),
            "seconds": round(total, 2), "exact_parts": round(exact, 2), "steps": {k: round(v, 2) for k, v in steps.items()},
            "systemic": round(systemic, 2), "floor": round(floor, 2), "exact_over_floor": round(exact / max(floor, 1e-9), 2),
            "systemic_computed": int((status == "computed").sum()), "systemic_not_computed": int(status.str.startswith("not").sum()),
            "peak_mb": round(peak / 2**20), "bytes_per_firm": round(peak / n), "target_mb": round(target / 2**20),
            "within_memory_target": bool(peak <= target)}


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SHAPES), help="comma-separated shapes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child)))
        return
    rows = []
    print(f"{'shape':<16}{'firms':>10}{'guar.':>10}{'total s':>9}{'exact s':>9}{'floor s':>9}{'exact/floor':>12}"
          f"{'systemic s':>11}{'computed':>10}{'left':>7}{'peak MB':>9}{'B/firm':>8}{'target MB':>10}")
    for name in args.only.split(","):
        done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True)
        if done.returncode:
            print(f"{name:<16} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{name:<16}{row['firms']:>10,}{row['guarantees']:>10,}{row['seconds']:>9.2f}{row['exact_parts']:>9.2f}"
              f"{row['floor']:>9.2f}{row['exact_over_floor']:>12.2f}{row['systemic']:>11.2f}{row['systemic_computed']:>10,}"
              f"{row['systemic_not_computed']:>7,}{row['peak_mb']:>9,}{row['bytes_per_firm']:>8,}{row['target_mb']:>10,}",
              flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
