"""Foundation benchmark: zjfin against the SPEC §10 floors, measured in the same run.

Builds the synthetic province (default 1,000,000 firms), writes its input tables as
Parquet, then times in one process:

- the floor: pyarrow reading every input file, and pyarrow writing a table of the same
  shape as ``screening.parquet``; scipy's strongly connected components on the
  guarantee graph; ~60 vectorised numpy column rules on one row per firm (SPEC §10's
  floor for per-firm rules); and Arrow's own kernels producing the reasons' text (the
  same templates, the same number of sentences per language and per firm, each figure a
  number cast to text) — the floor for rendering sentences, which is string work;
- zjfin: ``read_dataset`` + ``validate``; ``screen`` with one thread and with its default
  threads (every stage timed; the risk engines' wall time); ``export``.

and prints each zjfin time as a ratio to its floor, plus peak memory (RSS).

Usage: python benchmarks/bench_foundation.py [--firms N] [--repeat R] [--keep DIR] [--reuse-inputs] [--skip-xlsx]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(firms: int, seed: int, folder: Path) -> dict:
    """Build and write the province (run in a child process: its memory is not ours)."""
    import zjfin

    start = time.perf_counter()
    ds = zjfin.datasets.synthetic_province(firms, seed=seed)
    built = time.perf_counter() - start
    zjfin.write_dataset(ds, folder, format="parquet")
    rows = {t: len(ds[t]) for t in ds.tables_present()}
    return {"build_s": built, "write_inputs_s": time.perf_counter() - start - built,
            "peak_rss_mb": _peak_rss_mb(), "rows": rows}


def _sixty_rules(n: int, _cache: dict = {}) -> list:
    """SPEC §10's floor for per-firm rules: ~60 vectorised column rules on n rows
    (a ratio, two comparisons and a combination each), in plain numpy."""
    import numpy as np

    if n not in _cache:
        rng = np.random.default_rng(0)
        _cache[n] = [rng.normal(size=n) * 1e6 for _ in range(30)]
    cols = _cache[n]
    out = []
    for k in range(60):
        a, b, c = cols[k % 30], cols[(k * 7 + 3) % 30], cols[(k * 11 + 5) % 30]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(b != 0, a / b, np.nan)
        out.append(((ratio > 0.5) & (c < 0)) | np.isnan(ratio))
    return out


ENGINE_STAGES = ("distress", "bonds", "liquidity", "pledges", "mujun", "working_capital")


def _reason_volume(screening) -> dict[str, int]:
    """How many times each reason code fired in a screening."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = pc.split_pattern(pa.array(screening["reason_codes"].to_numpy(dtype=object), type=pa.string()), ";")
    counts = pc.value_counts(pc.list_flatten(codes))
    return {str(v): int(c) for v, c in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()) if v}


def _string_floor(volume: dict[str, int], firms_per_count: list[int]):
    """The floor for the reasons: Arrow's own kernels producing the same text — for every
    fired (firm, code) and both languages, the code's template with each figure a number
    cast to text, joined per sentence; then each firm's sentences joined into one string.
    Returns a function that does it once."""
    import json
    import re

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    catalogue = json.loads((Path(__file__).resolve().parents[1] / "data_schemas" / "reason_codes.json").read_text(encoding="utf-8"))
    templates = {c["code"]: (c["template_zh"], c["template_en"]) for c in catalogue["codes"]}
    rng = np.random.default_rng(0)
    plan = []
    for code, count in volume.items():
        for template in templates[code]:
            pieces = re.split(r"\{\w+:\w+\}", template)
            plan.append((pieces, rng.lognormal(3.0, 2.0, (len(pieces) - 1, count)).round(2)))
    # Each firm's number of sentences (as in the screening), to join them per firm.
    offsets = pa.array(np.r_[0, np.cumsum(firms_per_count)].astype(np.int32))

    def run():
        by_language = [[], []]
        for k, (pieces, figures) in enumerate(plan):
            if not len(figures):  # a sentence without figures
                by_language[k % 2].append(pa.array(np.full(figures.shape[1], pieces[0]), type=pa.string()))
                continue
            parts = []
            for j, literal in enumerate(pieces):
                parts.append(pa.scalar(literal))
                if j < len(figures):
                    parts.append(pa.array(figures[j]).cast(pa.string()))
            by_language[k % 2].append(pc.binary_join_element_wise(*parts, ""))
        for sentences in by_language:
            pc.binary_join(pa.ListArray.from_arrays(offsets, pa.concat_arrays(sentences)), "; ")
    return run


def measure(folder: Path, repeat: int, skip_xlsx: bool = False) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    import zjfin

    files = sorted(folder.glob("*.parquet"))
    floor_read, tables = _median_time(lambda: {f.stem: pq.read_table(f) for f in files}, repeat)

    # A result of the same shape as screening.parquet, written by pyarrow alone.
    firms = tables["firms"].num_rows
    shape_columns = len(zjfin.table_schema("screening").columns)
    rng = np.random.default_rng(0)
    result_like = pa.table({f"c{i}": rng.random(firms) for i in range(shape_columns)})
    out = Path(tempfile.mkdtemp(prefix="zjfin-bench-"))
    floor_write, _ = _median_time(lambda: pq.write_table(result_like, out / "floor.parquet", compression="zstd"), repeat)

    # scipy SCC on the guarantee graph (the floor of the network stage).
    import pandas as pd

    g = tables["guarantees"].to_pandas()
    pd_index = pd.Index(pd.concat([g["guarantor_id"], g["borrower_id"]]).unique())
    src, dst = pd_index.get_indexer(g["guarantor_id"]), pd_index.get_indexer(g["borrower_id"])
    graph = sp.csr_array((np.ones(len(src)), (src, dst)), shape=(len(pd_index),) * 2)
    floor_scc, _ = _median_time(lambda: connected_components(graph, directed=True, connection="strong"), repeat)
    del tables, result_like, g, graph
    floor_rules, _ = _median_time(lambda: _sixty_rules(firms), max(repeat, 5))

    def read_and_validate():
        ds = zjfin.read_dataset(folder)
        return ds, zjfin.validate(ds, as_of="2019-03-31")

    zj_read_validate, (ds, report) = _median_time(read_and_validate, repeat)
    zj_read, _ = _median_time(lambda: zjfin.read_dataset(folder), repeat)
    runs = {"threads": [], "one_thread": []}

    def screen_once(n_jobs, key):
        res = zjfin.screen(ds, as_of="2019-03-31", n_jobs=n_jobs)
        runs[key].append(res.timings)
        return res

    zj_screen_one, _ = _median_time(lambda: screen_once(1, "one_thread"), repeat)
    zj_screen, res = _median_time(lambda: screen_once(None, "threads"), repeat)
    stages = {key: {name: statistics.median(t[name] for t in timings) for name in timings[0]} for key, timings in runs.items()}
    volume = _reason_volume(res.screening)
    sentences_per_firm = res.screening["reason_codes"].str.count(";").to_numpy() + (res.screening["reason_codes"] != "").to_numpy()
    floor_strings, _ = _median_time(_string_floor(volume, sentences_per_firm.tolist()), repeat)
    # The data files (Parquet and CSV lists) timed against the floor; the Excel workbook,
    # written by openpyxl cell by cell, once on its own.
    zj_export, _ = _median_time(lambda: res.export(str(out / "run"), formats=("parquet", "csv")), repeat)
    zj_xlsx = float("nan")
    if not skip_xlsx:
        start = time.perf_counter()
        res.export(str(out / "xlsx"), formats=("xlsx",))
        zj_xlsx = time.perf_counter() - start
    engines_wall = stages["threads"]["risk_engines_wall"]
    engines_one = stages["one_thread"]["risk_engines_wall"]
    reasons, reasons_one = stages["threads"]["reasons"], stages["one_thread"]["reasons"]
    return {
        "firms": firms,
        "floor": {"pyarrow_read_inputs_s": floor_read, "pyarrow_write_result_s": floor_write, "scipy_scc_s": floor_scc,
                  "numpy_60_rules_s": floor_rules, "pyarrow_reason_text_s": floor_strings},
        "reason_volume": {"sentences_per_language": int(sum(volume.values())), "firms_with_reasons": int((sentences_per_firm > 0).sum())},
        "zjfin": {"read_s": zj_read, "read_validate_s": zj_read_validate, "screen_s": zj_screen,
                  "screen_one_thread_s": zj_screen_one, "export_s": zj_export, "export_xlsx_once_s": zj_xlsx,
                  "listed_firms": int((res.screening["list"] != "none").sum()),
                  "risk_engines_wall_s": engines_wall, "risk_engines_one_thread_s": engines_one,
                  "reasons_s": reasons, "reasons_one_thread_s": reasons_one,
                  "stage_timings": stages["threads"], "stage_timings_one_thread": stages["one_thread"]},
        "ratios": {
            "read_validate / pyarrow_read": zj_read_validate / floor_read,
            "read / pyarrow_read": zj_read / floor_read,
            "read+screen+export / (pyarrow read+write)": (zj_read + zj_screen + zj_export) / (floor_read + floor_write),
            "export / pyarrow_write": zj_export / floor_write,
            "risk engines (wall) / 60 rules": engines_wall / floor_rules,
            "risk engines (one thread) / 60 rules": engines_one / floor_rules,
            "reasons / pyarrow reason text": reasons / floor_strings,
            "reasons (one thread) / pyarrow reason text": reasons_one / floor_strings,
            "engines + reasons / (60 rules + reason text)": (engines_wall + reasons) / (floor_rules + floor_strings),
            "engines + reasons / 60 rules": (engines_wall + reasons) / floor_rules,
        },
        "peak_rss_mb": _peak_rss_mb(),
        "firms_screened": report.firms["screened"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", default=None, help="folder for the input tables (default: a temporary folder)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--reuse-inputs", action="store_true", help="use the input tables already in --keep (same --firms and --seed)")
    parser.add_argument("--skip-xlsx", action="store_true", help="do not time the Excel workbook")
    parser.add_argument("--_build", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._build:
        print(json.dumps(build(args.firms, args.seed, Path(args._build))))
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="zjfin-bench-in-"))
    record = folder / "built.json"
    if args.reuse_inputs and record.exists():
        built = json.loads(record.read_text(encoding="utf-8"))
    else:
        done = subprocess.run([sys.executable, __file__, "--firms", str(args.firms), "--seed", str(args.seed), "--_build", str(folder)],
                              capture_output=True, text=True, check=True)
        built = json.loads(done.stdout.strip().splitlines()[-1])
        record.write_text(json.dumps(built), encoding="utf-8")
    figures = measure(folder, args.repeat, skip_xlsx=args.skip_xlsx)
    figures["synthetic_province"] = built

    print(f"zjfin foundation benchmark — {figures['firms']:,} firms, median of {args.repeat}")
    print(f"  synthetic province: build {built['build_s']:.1f} s, write inputs {built['write_inputs_s']:.1f} s, "
          f"peak {built['peak_rss_mb']:,.0f} MB; rows {built['rows']}")
    print("  floor (same run):")
    for k, v in figures["floor"].items():
        print(f"    {k:<28} {v:8.3f} s")
    print("  zjfin:")
    for k, v in figures["zjfin"].items():
        if isinstance(v, int):
            print(f"    {k:<28} {v:8,}")
        elif not k.startswith("stage_timings"):
            print(f"    {k:<28} {v:8.3f} s")
    print(f"    screen stages (threads, median): {figures['zjfin']['stage_timings']}")
    print(f"    screen stages (one thread, median): {figures['zjfin']['stage_timings_one_thread']}")
    print(f"    reasons: {figures['reason_volume']['sentences_per_language']:,} sentences per language for "
          f"{figures['reason_volume']['firms_with_reasons']:,} firms")
    print("  ratios (zjfin / floor):")
    for k, v in figures["ratios"].items():
        print(f"    {k:<44} {v:6.2f}×")
    print(f"  peak RSS of the measuring process: {figures['peak_rss_mb']:,.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
