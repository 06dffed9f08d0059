"""The ``zjfin`` command line.

Exit codes: 0 success; 1 finished with rejected rows or warnings above the policy limit;
2 unusable input or arguments (nothing is written).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
import traceback
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from zjfin._version import __version__
from zjfin._allocator import arrays_on_small_pages, arrow_pool_for_batch, keep_freed_memory, return_freed_memory
from zjfin._errors import InputFileError, ParameterError, ZjfinError

if TYPE_CHECKING:  # the command line imports pandas only when a command needs it
    import pandas as pd

    from zjfin._policy import Policy

# 0 done; 1 done, rows rejected or warnings above the limit; 2 could not finish because of
# the input, the arguments or a resource (a file, the disk, memory); 3 could not finish
# because of a fault in zjfin itself.
EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3


_JOBS_HELP = ("threads for the per-firm stages (default: the machine's cores, at most 2; 1: one after the "
              "other); the outputs are the same")


def _unit_arg(text: str) -> str | dict[str, str]:
    """``10k_yuan`` for the whole dataset, or ``financials=10k_yuan,bonds=100m_yuan``."""
    if "=" not in text:
        return text
    units = {}
    for part in text.split(","):
        table, _, unit = part.partition("=")
        if not table.strip() or not unit.strip():
            raise argparse.ArgumentTypeError(f"bad --unit part {part!r}: write TABLE=UNIT")
        units[table.strip()] = unit.strip()
    return units


_IDS_HELP = ("firm ids: uscc (unified social credit codes, checked) or any (a bank's customer numbers, "
             "anonymised ids; sets [validation] firm_id_format)")


def _parser_with(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """The parser class of the subcommands: each gets the global options of ``common``."""
    class Subcommand(argparse.ArgumentParser):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, parents=[common], **kwargs)
    return Subcommand


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zjfin",
        description="Screen enterprises for financing risk and sort them into the three lists (企业融资三张名单).",
        epilog="Exit codes: 0 success, 1 finished with rejected rows or too many warnings, 2 unusable input or arguments.",
    )
    parser.add_argument("--version", action="version", version=f"zjfin {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("--debug", action="store_true", help="on a failure, print the Python traceback too")
    # The global options, accepted after the subcommand too (zjfin screen … -q). SUPPRESS:
    # a subcommand that is not given one keeps the value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on a failure, print the Python traceback too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_parser_with(common))

    demo = sub.add_parser("demo", help="generate the synthetic province and screen it")
    demo.add_argument("--firms", type=int, default=20_000, help="number of firms (default 20,000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    demo.add_argument("--out", default="zjfin-demo", help="output folder (default ./zjfin-demo)")
    demo.add_argument("--input-format", choices=["parquet", "csv", "xlsx"], default="parquet",
                      help="format of the input tables written to OUT/input/ (default parquet)")
    demo.add_argument("--jobs", type=int, default=None, metavar="N", help=_JOBS_HELP)
    demo.add_argument("--partitioned", action="store_true",
                      help="write the input county by county (a folder of Parquet files per table), one block of "
                           "counties in memory at a time: a province of any size")
    demo.add_argument("--input-only", action="store_true", help="write the input tables and stop (no screening)")

    val = sub.add_parser("validate", help="check a dataset folder and report every finding")
    val.add_argument("data", help="dataset folder (one file per table)")
    val.add_argument("--unit", type=_unit_arg, default=None, help="money unit: yuan, 10k_yuan, 100m_yuan, or TABLE=UNIT,…")
    val.add_argument("--as-of", default=None, help="screening date: later financial periods are set aside")
    val.add_argument("--out", default=".", help="folder for findings.parquet, issues.csv and rejected.csv (default: current folder)")
    val.add_argument("--policy", default=None, help="policy TOML file")
    val.add_argument("--ids", choices=["uscc", "any"], default=None, help=_IDS_HELP)

    scr = sub.add_parser("screen", help="screen a dataset and write the outputs")
    scr.add_argument("data", help="dataset folder (one file per table)")
    scr.add_argument("--as-of", required=True, help="screening date, e.g. 2019-03-31")
    scr.add_argument("--out", required=True, help="output folder")
    scr.add_argument("--policy", default=None, help="policy TOML file (see `zjfin policy --default`)")
    scr.add_argument("--unit", type=_unit_arg, default=None, help="money unit: yuan, 10k_yuan, 100m_yuan, or TABLE=UNIT,…")
    scr.add_argument("--model", default=None, metavar="FILE",
                     help="default model JSON (zjfin.model.DefaultModel.to_json): fills pd_12m")
    scr.add_argument("--model-key-file", default=None, metavar="FILE",
                     help="file holding the secret the model was signed with (to_json(key=…)): its HMAC must match")
    scr.add_argument("--formats", type=_formats_arg, default=("parquet", "csv", "xlsx"),
                     help="list files to write, comma-separated from parquet, csv, xlsx (default all three; "
                          "the workbook writes about 50,000 listed firms a second)")
    scr.add_argument("--jobs", type=int, default=None, metavar="N", help=_JOBS_HELP)
    scr.add_argument("--ids", choices=["uscc", "any"], default=None, help=_IDS_HELP)
    scr.add_argument("--engine", choices=["local", "dask"], default="local",
                     help="local (this process, default) or dask: partitions of whole counties on a Dask cluster "
                          "(pip install 'zjfin[dask]'); the same outputs")
    scr.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="with --engine dask: an existing cluster's scheduler, e.g. tcp://10.0.0.5:8786")
    scr.add_argument("--workers", type=int, default=None, metavar="N",
                     help="with --engine dask and no --scheduler: workers of the local cluster (default 2)")
    scr.add_argument("--memory-limit", default=None, metavar="SIZE",
                     help="with --engine dask and no --scheduler: memory per local worker, e.g. 4GB")
    scr.add_argument("--partition-firms", type=int, default=None, metavar="N",
                     help="with --engine dask: firms a partition holds at least (whole counties; default 100000)")
    scr.add_argument("--read-on", choices=["here", "workers"], default=None,
                     help="with --engine dask: where firms and statements in county parts (folders of Parquet files) "
                          "are read, validated and kept: here, in this process, or on the workers, a county at a "
                          "time (this process then never holds them). Default: workers with --scheduler, here with a "
                          "local cluster, whose workers share this machine's memory")
    scr.add_argument("--by-county", action=argparse.BooleanOptionalAction, default=None,
                     help="write the screening as screening/<county>.parquet, one file per county (default with "
                          "--engine dask) or as one screening.parquet (--no-by-county; default otherwise)")

    dif = sub.add_parser("diff", help="compare the lists of two screenings: firms that entered, left or moved")
    dif.add_argument("old", help="earlier screening: an output folder of `zjfin screen`, its screening.parquet or its screening folder")
    dif.add_argument("new", help="later screening: an output folder of `zjfin screen`, its screening.parquet or its screening folder")
    dif.add_argument("--out", required=True, help="folder for changes.csv and changes.parquet")

    rep = sub.add_parser("report", help="write the quarterly bulletin (report.html and 通报.xlsx) of a screening")
    rep.add_argument("out", help="output folder of `zjfin screen`: the bulletin is written into it")
    rep.add_argument("--previous", default=None, metavar="OLD_OUT",
                     help="the previous quarter's output folder (or its screening.parquet or screening folder): "
                          "changes and movements since then")
    rep.add_argument("--title", default=None, help="the bulletin's title (default 企业融资风险季度分析通报)")
    rep.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of headings and labels (default zh)")

    sch = sub.add_parser("schema", help="print the data contract of a table")
    sch.add_argument("table", nargs="?", help="table name; omit to list the tables")
    sch.add_argument("--json", action="store_true", help="print the schema file itself")

    pol = sub.add_parser("policy", help="print or check a policy file")
    group = pol.add_mutually_exclusive_group(required=True)
    group.add_argument("--default", action="store_true", help="print the default policy as commented TOML")
    group.add_argument("--check", metavar="FILE", help="check a policy file and print it in full")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_UNUSABLE
    # This process is ours: large arrays reuse freed memory instead of fresh pages.
    keep_freed_memory()
    arrow_pool_for_batch()
    arrays_on_small_pages()
    if not args.quiet and not sys.stderr.isatty():
        logging.basicConfig(level=logging.INFO, format="%(asctime)s zjfin %(message)s", stream=sys.stderr)
    try:
        return _COMMANDS[args.command](args)
    except BrokenPipeError:  # `zjfin schema firms | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except (ZjfinError, OSError, MemoryError, RecursionError, KeyboardInterrupt, Exception) as exc:
        code, message = failure(exc)
        if args.debug:
            traceback.print_exc()
        print(f"zjfin: error: {message}", file=sys.stderr)
        return code


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line a scheduler's log shows for a run that did not finish.

    Examples
    --------
    >>> import errno
    >>> failure(OSError(errno.ENOSPC, "No space left on device", "out/screening.parquet"))
    (2, 'cannot write out/screening.parquet: No space left on device (disk full)')
    >>> failure(MemoryError())[0], failure(ZeroDivisionError("x"))[0]
    (2, 3)
    """
    if isinstance(exc, ZjfinError):
        return EXIT_UNUSABLE, str(exc)
    if isinstance(exc, OSError):
        where = exc.filename or "a file"
        hint = {errno.ENOSPC: " (disk full)", errno.EROFS: " (read-only file system)", errno.EACCES: " (no permission)",
                errno.EDQUOT: " (disk quota exceeded)"}.get(exc.errno or 0, "")
        verb = "write" if exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT) else "use"
        return EXIT_UNUSABLE, f"cannot {verb} {where}: {exc.strerror or exc}{hint}"
    if isinstance(exc, MemoryError):
        return EXIT_UNUSABLE, "out of memory: the data needs more memory than this machine has free (see README, Speed)"
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_UNUSABLE, "interrupted"
    return EXIT_INTERNAL, f"internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it"


def _formats_arg(text: str) -> tuple[str, ...]:
    formats = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(formats) - {"parquet", "csv", "xlsx"})
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"formats must be a comma-separated subset of parquet, csv, xlsx, got {text!r}")
    return formats


def _policy(path: str | None, ids: str | None = None):
    from zjfin._policy import Policy

    policy = Policy.from_toml(Path(path)) if path else Policy.default()
    return policy.update({"validation": {"firm_id_format": ids}}) if ids else policy


def _cmd_demo(args: argparse.Namespace) -> int:
    from zjfin.datasets import SYNTHETIC_AS_OF, synthetic_province, write_partitioned_province
    from zjfin._read import write_dataset

    if args.firms < 200:
        raise ParameterError("--firms", "at least 200", args.firms)
    out = Path(args.out)
    start = time.perf_counter()
    _say(args, f"building the synthetic province: {args.firms:,} firms, seed {args.seed}"
               + (", county by county" if args.partitioned else ""))
    if args.partitioned:
        if args.input_format != "parquet":
            raise ParameterError("--input-format", "parquet with --partitioned", args.input_format)
        if (out / "input").exists():  # parts of an earlier province would be read with this one's
            raise ParameterError("--out", "a folder without an input/ folder (--partitioned writes one)", str(out))
        write_partitioned_province(out / "input", args.firms, seed=args.seed)
    else:
        write_dataset(synthetic_province(args.firms, seed=args.seed), out / "input", format=args.input_format)
    _say(args, f"input tables written to {out / 'input'} ({time.perf_counter() - start:.1f} s)")
    if args.input_only:
        return 0
    code = _screen_and_report(args, out / "input", None, SYNTHETIC_AS_OF, out, _policy(None))
    from zjfin._report import bulletin_from_folder

    bulletin_from_folder(out).write(out)  # the quarter's bulletin beside the lists
    _say(args, f"bulletin written to {out / 'report.html'}")
    return code


def _cmd_validate(args: argparse.Namespace) -> int:
    from zjfin._export import write_issues
    from zjfin._read import read_dataset
    from zjfin._validate import validate

    policy = _policy(args.policy, args.ids)  # first: a bad policy stops the command before any data is read
    ds = read_dataset(args.data, unit=args.unit)
    report = validate(ds, as_of=args.as_of, policy=policy)
    written = write_issues(report, args.out, policy.output.parquet_compression)
    print(report.rows.to_string(index=False))
    print()
    f = report.firms
    print(f"firms read {f['read']:,} = screened {f['screened']:,} + not screened {f['not_screened']:,}")
    for line in _id_hint(report, policy):
        print(line)
    summary = report.summary()
    if len(summary):
        print()
        print(summary.to_string(index=False))
    print(f"\nwritten: {', '.join(str(Path(args.out) / w) for w in written)}")
    return report.exit_code(policy)


def _firm_rejections(report: Any) -> pd.Series:
    """Firms rejected, by the code that rejected them (most first)."""
    issues = report.issues
    rows = issues[(issues["table"] == "firms") & issues["rejects"]].drop_duplicates(["file", "row", "code"])
    return rows["code"].value_counts()


def _id_hint(report: Any, policy: Policy) -> list[str]:
    """A line when most firm ids fail as credit codes: they are probably another kind of id."""
    malformed = int(_firm_rejections(report).get("uscc_malformed", 0))
    if policy.validation.firm_id_format == "uscc" and malformed and malformed >= 0.5 * max(report.firms["read"], 1):
        return [f"warning: {malformed:,} of {report.firms['read']:,} firm ids are not unified social credit codes; "
                "if they are a bank's customer numbers or anonymised ids, add --ids any"]
    return []


def _why_no_firm(report: Any, policy: Policy) -> str:
    codes = _firm_rejections(report).head(3)
    reasons = ", ".join(f"{code} {int(n):,}" for code, n in codes.items()) or "no firm has a statement on or before the as-of date"
    hint = _id_hint(report, policy)
    return (f"{report.firms['read']:,} firms read, all rejected ({reasons})"
            + (f"; {hint[0].removeprefix('warning: ')}" if hint else "")
            + "; `zjfin validate` lists every rejection")


def _cmd_screen(args: argparse.Namespace) -> int:
    policy = _policy(args.policy, args.ids)  # first: a bad policy stops the command before any data is read
    return _screen_and_report(args, Path(args.data), args.unit, args.as_of, Path(args.out), policy)


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """``screen``'s engine arguments from the command line (the dask ones only with it)."""
    engine = getattr(args, "engine", "local")
    local_cluster = {k: v for k, v in (("n_workers", getattr(args, "workers", None)),
                                       ("memory_limit", getattr(args, "memory_limit", None))) if v is not None}
    given = [flag for flag, value in (("--scheduler", getattr(args, "scheduler", None)),
                                      ("--workers", getattr(args, "workers", None)),
                                      ("--memory-limit", getattr(args, "memory_limit", None)),
                                      ("--partition-firms", getattr(args, "partition_firms", None)),
                                      ("--read-on", getattr(args, "read_on", None))) if value is not None]
    if engine != "dask":
        if given:
            raise ParameterError(given[0], "used with --engine dask", "--engine local")
        return {}
    for flag, value in (("--workers", getattr(args, "workers", None)), ("--partition-firms", getattr(args, "partition_firms", None))):
        if value is not None and value < 1:
            raise ParameterError(flag, "a whole number ≥ 1", value)
    if getattr(args, "scheduler", None) and local_cluster:
        raise ParameterError("--scheduler", "either an existing cluster or --workers/--memory-limit for a local one",
                             "both")
    return {"engine": "dask", "cluster": args.scheduler or local_cluster or None,
            "partition_firms": getattr(args, "partition_firms", None)}


def _screen_and_report(args, data: Path, unit, as_of, out: Path, policy) -> int:
    from zjfin._progress import Progress
    from zjfin._read import read_dataset
    from zjfin._screen import screen, stages

    progress = Progress(["read", *stages(), "export"], enabled=not args.quiet)
    engine = _engine_options(args)
    # On the workers, firms and statements in county parts are read a county at a time, there.
    on_workers = engine.get("engine") == "dask" and (getattr(args, "read_on", None) or
                                                      ("workers" if getattr(args, "scheduler", None) else "here")) == "workers"
    with progress.stage("read"):
        dataset = read_dataset(data, unit=unit, lazy=on_workers)
    model = getattr(args, "model", None)
    key_file = getattr(args, "model_key_file", None)
    if key_file and not model:
        raise ParameterError("--model-key-file", "used with --model", key_file)
    if model and key_file:
        from zjfin.model import DefaultModel

        try:  # the key from a file: a secret on the command line shows in process lists
            key = Path(key_file).read_bytes().strip()
        except OSError as error:
            raise ParameterError("--model-key-file", "a readable file", f"{key_file} ({error.strerror})") from None
        model = DefaultModel.from_json(Path(model), key=key)
    # The statements are released once the features are made: a province's largest table.
    result = screen(dataset, as_of=as_of, policy=policy, progress=progress,
                    model=Path(model) if isinstance(model, str) else model, n_jobs=getattr(args, "jobs", None),
                    keep_inputs=False, **engine)
    del dataset
    return_freed_memory()  # what the stages freed, for the export's Arrow buffers
    if not result.validation.firms["screened"]:  # empty lists are no result: say why, write nothing
        raise InputFileError(data, "no firm could be screened: " + _why_no_firm(result.validation, policy))
    for line in _id_hint(result.validation, policy):
        print(line)
    # The manifest records every stage up to the export (it cannot time its own write).
    result.timings = dict(progress.timings)
    result.peak_memory_mb = dict(progress.peak_memory_mb)
    record = out.resolve() / "manifest.json"  # before the export: the shell may stand in OUT, which is swapped
    with progress.stage("export"):
        written = result.export(str(out), formats=getattr(args, "formats", ("parquet", "csv", "xlsx")),
                                by_county=getattr(args, "by_county", None))
    f = result.validation.firms
    print(f"firms read {f['read']:,} = screened {f['screened']:,} + not screened {f['not_screened']:,}")
    # The counts as the run's record states them (the screening may be in files; computing
    # the manifest again costs 0.3 s at 1M firms).
    counts = json.loads(record.read_text(encoding="utf-8"))["counts"]
    sizes = sorted(((n, k) for k, n in counts["size_class"].items() if n), key=lambda c: -c[0])
    print("size classes: " + ", ".join(f"{k} {n:,}" for n, k in sizes))
    risks = [f"{column.removesuffix('_risk')} {levels['high']:,}/{levels['medium']:,}"
             for column in ("bond_risk", "liquidity_risk", "pledge_risk", "guarantee_risk")
             if (levels := counts.get(column)) and sum(levels.values()) > levels["switched_off"]]
    if risks:
        print("risk high/medium: " + ", ".join(risks))
    if counts.get("lists"):
        print("lists: " + ", ".join(f"{name} {c['firms']:,}" for name, c in counts["lists"].items()))
    network = counts["guarantee_network"]
    if network:
        print(f"guarantee network: {network['guarantees_in_force']:,} guarantees in force, {network['circles']:,} circles "
              f"({network['firms_in_circles']:,} firms), {network['firms_in_mutual_pairs']:,} firms in mutual pairs, "
              f"longest chain {network['max_chain_depth']}")
    print(f"zombie firms: {counts['zombie']:,}; not viable: {counts['not_viable']:,}")
    sev = result.validation.issues["severity"].value_counts()
    print(f"findings: {int(sev.get('error', 0)):,} rejections, {int(sev.get('warning', 0)):,} warnings, "
          f"{int(sev.get('info', 0)):,} notes")
    for off in result.switched_off:
        print(f"switched off: {off['risk']} (missing {', '.join(off['missing_tables'])})")
    for row in result.coverage.itertuples():
        if row.status == "ran" and row.not_evaluated:
            lacking = ", ".join(f"{name} {count:,}" for name, count in row.missing_inputs.items())
            what = f"{row.engine} {row.rule}" if row.rule else row.engine
            flag = "warning: low coverage, " if row.low_coverage else ""
            print(f"{flag}not evaluated: {what} for {row.not_evaluated:,} of {row.firms - row.not_applicable:,} firms ({lacking})")
        elif row.status == "ran" and row.estimated and row.rule:
            print(f"estimated: {row.engine} {row.rule} for {row.estimated:,} firms")
    parts = [name for name in written if name.startswith("screening/")]
    shown = sorted(name for name in written if not name.startswith("screening/"))
    if parts:  # one file a county: named as the folder, not a hundred names
        shown = sorted([*shown, f"screening/ ({len(parts)} files, one per county)"])
    print(f"written to {out}: {', '.join(shown)}")
    return result.exit_code()


def _cmd_diff(args: argparse.Namespace) -> int:
    from zjfin._diff import diff_lists

    diff = diff_lists(args.old, args.new)
    written = diff.export(args.out)
    if not args.quiet:
        print(diff.headline())
        print()
        print(diff.summary().to_string())
        print(f"\nwritten to {args.out}: {', '.join(sorted(written))}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from zjfin._report import bulletin_from_folder

    written = bulletin_from_folder(args.out, previous=args.previous, title=args.title, lang=args.lang).write(args.out)
    _say(args, f"bulletin written to {args.out}: {', '.join(written)}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from zjfin._schema import input_tables, output_tables, table_schema

    if not args.table:
        for table in input_tables() + output_tables():
            schema = table_schema(table)
            print(f"{table:<12} {schema.kind:<7} {schema.label_zh}  {schema.description}")
        return EXIT_OK
    schema = table_schema(args.table)
    if args.json:
        print(json.dumps(schema.raw, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{schema.table} ({schema.label_zh}) — {schema.description}")
    if schema.primary_key:
        print(f"key: {', '.join(schema.primary_key)}")
    frame = schema.to_frame()[["name", "type", "unit", "required", "label_zh", "constraints", "description"]]
    with __import__("pandas").option_context("display.max_colwidth", 60, "display.width", 200):
        print(frame.to_string(index=False))
    return EXIT_OK


def _cmd_policy(args: argparse.Namespace) -> int:
    from zjfin._policy import Policy

    policy = Policy.default() if args.default else Policy.from_toml(Path(args.check))
    sys.stdout.write(policy.to_toml())
    return EXIT_OK


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


_COMMANDS = {"demo": _cmd_demo, "validate": _cmd_validate, "screen": _cmd_screen, "diff": _cmd_diff,
             "report": _cmd_report, "schema": _cmd_schema,
             "policy": _cmd_policy}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
