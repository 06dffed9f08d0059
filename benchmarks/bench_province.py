"""Province benchmark: ``zjfin screen`` end to end against the I/O floor, in one run.

For each province size (default 0.5M, 1M, 2M and 4M firms) the synthetic province's input
tables are written as Parquet (once; kept in ``--keep`` and reused), then, each in a
process of its own so that its peak memory is its own:

- the I/O floor: pyarrow reading every input file, plus pyarrow writing a table of the
  screening's shape (one row per firm, as many float columns as ``screening.parquet``),
  under the memory settings ``zjfin screen`` gives its own process;
- ``zjfin screen`` with the lists as Parquet only, as Parquet + CSV, and (at the size of
  ``--workbook-at``) with the Excel workbook too.

It prints each end-to-end time as a ratio to the floor, the peak resident memory of the
process and per million firms, and a scaling table (seconds and the memory high-water
mark per stage, from the run's manifest). With ``--runs 2`` every figure is a range over
two runs. The issue's targets are printed beside the figures.

Usage: python benchmarks/bench_province.py [--sizes 500000,1000000,2000000,4000000]
       [--runs N] [--keep DIR] [--workbook-at 1000000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2019-03-31"
TARGETS = {"parquet": 3.0, "parquet,csv": 4.0, "parquet,csv,xlsx": 8.0}  # × the floor
MEMORY_TARGET_GB_PER_M = 2.5
STAGES = ("read", "validate", "features", "risk_engines_wall", "coverage", "lists", "reasons", "assemble", "export")


def _run(args: list[str]) -> tuple[float, float]:
    """Run a process to its end; (wall seconds, its peak RSS in GB) from wait4."""
    start = time.perf_counter()
    # The child's own report (zjfin screen prints its counts) is not the benchmark's.
    quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(args[0], args, dict(os.environ), file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(args[:6])} exited {code}")
    return wall, usage.ru_maxrss / 1024 / 1024  # KiB → GB


def build(firms: int, folder: Path, seed: int = 0) -> dict:
    record = folder / "built.json"
    if record.exists():
        built = json.loads(record.read_text(encoding="utf-8"))
        if built.get("firms") == firms and built.get("seed") == seed:
            return built
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(HERE / "bench_foundation.py"), "--firms", str(firms), "--seed", str(seed),
                           "--_build", str(folder)], capture_output=True, text=True, check=True)
    built = json.loads(done.stdout.strip().splitlines()[-1]) | {"firms": firms, "seed": seed}
    record.write_text(json.dumps(built), encoding="utf-8")
    return built


def floor(folder: Path) -> dict:
    """The I/O floor, measured in a child process (median of two)."""
    wall, peak = _run([sys.executable, __file__, "--_floor", str(folder)])
    return json.loads((folder / "floor.json").read_text(encoding="utf-8")) | {"peak_gb": peak}


def _measure_floor(folder: Path) -> None:
    import statistics

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    import zjfin
    from zjfin._allocator import arrays_on_small_pages, arrow_pool_for_batch

    # The settings `zjfin screen` gives its own process (Arrow's pool, NumPy's pages): the
    # ratio then compares the work done, not the allocators (with mimalloc and huge pages
    # this machine read the 1M inputs in 6–8 s instead of 1.3 s).
    zjfin.keep_freed_memory()
    arrow_pool_for_batch()
    arrays_on_small_pages()
    files = sorted(folder.glob("*.parquet"))
    reads, writes = [], []
    for _ in range(2):
        start = time.perf_counter()
        tables = [pq.read_table(f) for f in files]
        reads.append(time.perf_counter() - start)
        firms = pq.read_metadata(folder / "firms.parquet").num_rows
        del tables
        rng = np.random.default_rng(0)
        shaped = pa.table({f"c{i}": rng.random(firms) for i in range(len(zjfin.table_schema("screening").columns))})
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            pq.write_table(shaped, Path(tmp) / "screening.parquet", compression="zstd")
            writes.append(time.perf_counter() - start)
        del shaped
    record = {"read_s": statistics.median(reads), "write_s": statistics.median(writes)}
    record["total_s"] = record["read_s"] + record["write_s"]
    (folder / "floor.json").write_text(json.dumps(record), encoding="utf-8")


def screen(folder: Path, formats: str) -> dict:
    """``zjfin screen`` on the folder, in its own process."""
    zjfin = str(Path(sys.executable).with_name("zjfin"))
    with tempfile.TemporaryDirectory(prefix="zjfin-bench-out-") as out:
        wall, peak = _run([zjfin, "screen", str(folder), "--as-of", AS_OF, "--out", out, "--formats", formats, "-q"])
        manifest = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
    timings = manifest["timings"]
    timed = sum(timings.get(k, 0.0) for k in STAGES if k != "export")  # the engines by their wall time
    # The manifest is written during the export: its time is the rest of the wall time
    # (with the interpreter's start-up, about a second).
    timings = dict(timings, export=max(wall - timed, 0.0))
    return {"wall_s": wall, "peak_gb": peak, "timings": timings, "peak_memory_mb": manifest.get("peak_memory_mb", {})}


def _span(values: list[float], fmt: str = "{:.1f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if abs(hi - lo) < 1e-9 or fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500000,1000000,2000000,4000000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", default=str(Path(tempfile.gettempdir()) / "zjfin-bench-province"),
                        help="folder for the provinces' input tables, one sub-folder per size (reused)")
    parser.add_argument("--workbook-at", type=int, default=1_000_000, help="size at which the workbook is timed too")
    parser.add_argument("--json", default=None)
    parser.add_argument("--_floor", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._floor:
        _measure_floor(Path(args._floor))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    figures: dict[str, dict] = {}
    for firms in sizes:
        folder = Path(args.keep) / f"{firms}"
        built = build(firms, folder)
        formats = ["parquet", "parquet,csv"] + (["parquet,csv,xlsx"] if firms == args.workbook_at else [])
        entry = {"built": built, "floor": [], "runs": {f: [] for f in formats}}
        for _ in range(args.runs):
            entry["floor"].append(floor(folder))
            for f in formats:
                entry["runs"][f].append(screen(folder, f))
        figures[str(firms)] = entry
        print(f"{firms:,} firms done", file=sys.stderr, flush=True)

    print(f"zjfin province benchmark — synthetic province, as of {AS_OF}, {args.runs} run(s) per figure "
          f"(ranges over runs), each in its own process")
    print("\nEnd to end against the I/O floor (pyarrow reading the inputs + writing a screening-sized table):")
    print(f"  {'firms':>9}  {'floor':>9}  {'outputs':<18} {'zjfin':>11}  {'× floor':>11}  {'target':>6}  {'peak GB':>9}  {'GB per M':>9}")
    for firms, entry in figures.items():
        floor_s = [f["total_s"] for f in entry["floor"]]
        for formats, runs in entry["runs"].items():
            walls = [r["wall_s"] for r in runs]
            ratios = [w / fl for w, fl in zip(walls, floor_s)]
            peaks = [r["peak_gb"] for r in runs]
            per_m = [p / (int(firms) / 1e6) for p in peaks]
            print(f"  {int(firms):>9,}  {_span(floor_s):>7} s  {formats:<18} {_span(walls):>9} s  {_span(ratios):>10}×  "
                  f"{TARGETS[formats]:>5}×  {_span(peaks, '{:.2f}'):>9}  {_span(per_m, '{:.2f}'):>9}")
    print(f"  memory target: ≤ {MEMORY_TARGET_GB_PER_M} GB per million firms")
    print("\nScaling (lists as Parquet + CSV): seconds per stage, and the process's memory high-water mark (GB) after it:")
    header = "  " + f"{'firms':>9}" + "".join(f"  {s[:12]:>12}" for s in STAGES) + f"  {'wall':>9}"
    print(header)
    for firms, entry in figures.items():
        runs = entry["runs"]["parquet,csv"]
        cells = []
        for stage in STAGES:
            seconds = [r["timings"].get(stage, float("nan")) for r in runs]
            cells.append(_span(seconds))
        print("  " + f"{int(firms):>9,}" + "".join(f"  {c:>12}" for c in cells) + f"  {_span([r['wall_s'] for r in runs]):>9}")
        peaks = []
        for stage in STAGES:
            values = [r["peak_memory_mb"].get(stage) for r in runs]
            peaks.append(_span([v / 1024 for v in values], "{:.2f}") if all(v is not None for v in values) else "")
        print("  " + f"{'GB':>9}" + "".join(f"  {c:>12}" for c in peaks) + f"  {_span([r['peak_gb'] for r in runs], '{:.2f}'):>9}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
