"""Screen a dataset: validate, build the firm frame, run the engines, place the firms on
their lists, give the reasons, assemble the result.

The orchestration of the data flow read → validate → features → risks → lists → reasons →
export. The engines and what they read and write are declared in :mod:`zjfin._engines`;
this module only runs the stages in order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from zjfin._allocator import return_freed_memory
from zjfin._assemble import assemble_screening
from zjfin._engines import (BUILT_IN, ENGINES, EngineContext, EngineRun, coverage, engine_columns, run_engines,
                            stage_columns, switched_off_risks)
from zjfin._errors import ParameterError
from zjfin._features import firm_frame
from zjfin._lanes import Lanes, threads
from zjfin._lists import STATEMENT_INPUTS, assign_lists
from zjfin._partition import (InOrder, county_partitions, in_order, lists_by_partition, partitions_from_groups,
                              reasons_by_partition, run_engines_by_partition, screen_partitions)
from zjfin._policy import Policy
from zjfin._progress import Progress
from zjfin._read import Dataset
from zjfin._reasons import render_reasons, template_columns
from zjfin._result import ScreeningResult
from zjfin._schema import table_schema
from zjfin._validate import FIRM_TABLES, validate
from zjfin._validate_groups import validate_in_groups

__all__ = ["screen", "stages"]

# Engines on the second lane while the others run on the first (measured: 亩均 has the
# county sorts, about as long as the rest together).
_SECOND_LANE = ("mujun",)


def stages() -> list[str]:
    """The stages of a screening in order, each engine one (for a progress bar).

    Examples
    --------
    >>> stages()[:3], stages()[-3:]
    (['validate', 'features', 'size_class'], ['lists', 'reasons', 'assemble'])
    """
    return ["validate", "features", *ENGINES, "coverage", "lists", "reasons", "assemble"]


def _as_of(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError("as_of", "a date such as 2019-03-31", value) from None
    if pd.isna(ts):
        raise ParameterError("as_of", "a date such as 2019-03-31", value)
    return ts.normalize()


def screen(
    dataset: Dataset,
    as_of: str | dt.date | pd.Timestamp,
    policy: Policy | None = None,
    progress: bool | Progress = False,
    model: Any = None,
    n_jobs: int | None = None,
    keep_inputs: bool = True,
    engine: str = "local",
    cluster: Any = None,
    partition_firms: int | None = None,
) -> ScreeningResult:
    """Screen every firm of a dataset.

    Parameters
    ----------
    dataset : Dataset
        From :func:`zjfin.read_dataset` or :func:`zjfin.datasets.synthetic_province`.
    as_of : date
        Screening date: the current fiscal period of a firm is its latest ending on or
        before it.
    policy : Policy, optional
        Thresholds and tables (default :meth:`Policy.default`).
    progress : bool or Progress
        Report stages (a bar on a terminal, log lines otherwise).
    model : DefaultModel or path, optional
        A fitted :class:`zjfin.model.DefaultModel` (or its JSON file) trained on
        :func:`zjfin.model.features`: it fills ``pd_12m``, which the policy's
        ``[lists] quality_max_pd`` then uses.
    n_jobs : int, optional
        Threads for the independent stages (the risk engines run in two lanes, chain
        depth beside the DebtRank runs in the guarantee network, the Chinese and English
        reasons side by side; :mod:`zjfin._lanes`). ``None`` (default): as many as the
        machine has cores, at most two; ``1``: one stage after the other. The result is the
        same either way.
    keep_inputs : bool
        ``False`` releases what a batch job no longer needs as soon as it can: every table of
        ``dataset`` once validated (the result's ``validation.dataset`` holds the validated
        ones; where rows were set aside, such as periods after the as-of date, they are
        copies), then the validated financial statements (the largest input: several periods
        per firm) once the features stage has read them, and the statement figures only the
        risk engines read. The emptied tables keep their columns. For a job that screens and
        exports, as ``zjfin screen`` does; a notebook keeps the default.
    engine : {"local", "dask"}
        ``local``: this process. ``dask``: the stages after validation partition by partition,
        each whole counties, on a Dask cluster (``pip install zjfin[dask]``): per-firm engines,
        亩均 benchmarks and county ranks inside each partition, the province's medians they fall
        back on reduced first and broadcast, pledge attribution and the guarantee network once
        on every firm. The result is the same, to the byte of every file written from it.
    cluster : distributed.Client, str or mapping, optional
        With ``engine="dask"``: a client, a scheduler's address, or the options of the
        ``LocalCluster`` made for the screening (default: two workers on this machine).
    partition_firms : int, optional
        With ``engine="dask"``: firms a partition holds at least (counties are joined until
        it does; default 100,000).

    Returns
    -------
    ScreeningResult

    Examples
    --------
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> int(res.screening["size_class"].isin(["medium", "small", "micro"]).mean() > 0.9)
    1
    """
    if engine == "local":
        if cluster is not None or partition_firms is not None:
            raise ParameterError("cluster" if cluster is not None else "partition_firms", "given with engine='dask'",
                                 "engine='local'")
        return _screen(dataset, as_of, policy, progress, model, n_jobs, keep_inputs)
    if engine != "dask":
        raise ParameterError("engine", "'local' or 'dask'", engine)
    from zjfin._dask import DEFAULT_PARTITION_FIRMS, dask_mapper

    if partition_firms is not None and (isinstance(partition_firms, bool) or not isinstance(partition_firms, int)
                                        or partition_firms < 1):
        raise ParameterError("partition_firms", "a whole number ≥ 1", partition_firms)
    with dask_mapper(cluster) as mapper:
        return _screen(dataset, as_of, policy, progress, model, n_jobs, keep_inputs,
                       partition_firms=partition_firms or DEFAULT_PARTITION_FIRMS, mapper=mapper)


def _screen(dataset: Dataset, as_of: Any, policy: Policy | None = None, progress: bool | Progress = False,
            model: Any = None, n_jobs: int | None = None, keep_inputs: bool = True,
            partition_firms: int | None = None, mapper: InOrder = in_order) -> ScreeningResult:
    """:func:`screen`; with ``partition_firms`` the stages after the firm frame run
    partition by partition, each whole counties and at least that many firms
    (:mod:`zjfin._partition`), worked by ``mapper``: the same result."""
    as_of_ts = _as_of(as_of)
    n_jobs = threads(n_jobs)
    policy = policy or Policy.default()
    if not isinstance(policy, Policy):
        raise ParameterError("policy", "a zjfin.Policy", policy)
    if model is not None and not hasattr(model, "predict_proba"):
        from zjfin.model import DefaultModel

        model = DefaultModel.from_json(model)  # a bad file fails before any work is done
    tracker = progress if isinstance(progress, Progress) else Progress(stages(), enabled=bool(progress))
    # Firms and statements both kept in their parts (else what is kept is read whole when taken).
    # Engines registered by the user read what they like, and workers may not know them: read whole.
    in_groups = (partition_firms is not None and set(FIRM_TABLES) <= set(dataset.in_groups)
                 and set(ENGINES) <= BUILT_IN)
    with tracker.stage("validate"):
        if in_groups:  # read, validated and framed a county at a time where the partitions are worked
            report, groups = validate_in_groups(dataset, as_of_ts, policy, mapper)
        else:
            report = validate(dataset, as_of=as_of_ts, policy=policy)
    clean = report.dataset
    if in_groups and len(clean["firms"]):  # else no firm: the stages below run here, on the empty frame
        return _screen_where_framed(report, groups, as_of_ts, policy, model, partition_firms, mapper, tracker)
    if not keep_inputs:  # the validated copies serve from here (a table with rows set aside is a copy)
        for table in list(dataset.tables):
            _release(table, dataset)
        return_freed_memory()
    with tracker.stage("features"):
        frame = firm_frame(clean["firms"], clean["financials"], as_of_ts)
        frame["industry_section"] = frame["industry_code"].str[0]
    if not keep_inputs:
        _release("financials", clean)
        return_freed_memory()
    context = EngineContext(frame, {t: clean[t] for t in clean.tables_present()}, as_of_ts, policy, model=model,
                            n_jobs=n_jobs)
    # No firm to screen: nothing to partition (the stages run here, on the empty frame).
    partitions = None if partition_firms is None or not len(frame) else county_partitions(frame["region_code"],
                                                                                          partition_firms)
    if partitions is not None:
        with tracker.stage("risk_engines"):
            run = run_engines_by_partition(context, partitions, mapper)
    else:
        with Lanes(n_jobs, stage=tracker.stage) as lanes:
            run = run_engines(context, lanes, second_lane=_SECOND_LANE)
    tracker.record("risk_engines_wall", run.firm_seconds)
    fired, values = stage_columns(frame, run.outputs)
    with tracker.stage("coverage"):  # before the statement figures only the engines read go
        summary, evaluated = coverage(run, frame, values, policy.validation.min_coverage)
    index = frame.index
    if not keep_inputs:
        for name in _read_by_engines_only(frame, clean["firms"]):
            del values[name]
        del frame, context
        return_freed_memory()
    with tracker.stage("lists"):
        placed = (lists_by_partition(values, fired, policy, index, partitions, mapper) if partitions is not None
                  else assign_lists(values, fired, policy, index, n_jobs=n_jobs))
        fired.update((code, placed.fired[code]) for code in placed.fired.columns)
        values.update((name, placed.columns[name]) for name in placed.columns.columns)
    with tracker.stage("reasons"):
        reasons = (reasons_by_partition(fired, values, index, partitions, mapper) if partitions is not None
                   else render_reasons(fired, values, index=index, n_jobs=n_jobs))
        values.update((name, reasons[name]) for name in reasons.columns)
    with tracker.stage("assemble"):
        screening = assemble_screening(values, index)
        evaluated = pd.DataFrame(evaluated, copy=False)
    result = ScreeningResult(screening, report, as_of_ts, policy, dict(tracker.timings), switched_off_risks(run),
                             run.tables, model=model, coverage=summary, evaluated=evaluated)
    result.peak_memory_mb = dict(tracker.peak_memory_mb)
    if partition_firms is not None:
        result.engine = _engine_record(mapper, partitions or [], partition_firms)
    return result


def _engine_record(mapper: InOrder, partitions: list[Any], partition_firms: int) -> dict[str, Any]:
    """The manifest's ``engine`` block of a screening by partitions."""
    return {"name": mapper.engine, "partitions": len(partitions), "partition_firms": partition_firms, **mapper.details}


def _screen_where_framed(report: Any, groups: Any, as_of: pd.Timestamp, policy: Policy, model: Any, partition_firms: int,
                         mapper: InOrder, tracker: Progress) -> ScreeningResult:
    """The stages after validation for firms framed where their groups were validated
    (``read_dataset(lazy=True)``): the partitions' frames cut from the groups' there, every
    stage run there (:func:`zjfin._partition.screen_partitions`); this process holds the
    registry, the other tables, what the engines on every firm read, and the screening."""
    clean = report.dataset
    with tracker.stage("features"):
        partitions = county_partitions(clean["firms"]["region_code"], partition_firms)
        frames = partitions_from_groups(groups, partitions, mapper)
        groups.frames.clear()  # the groups' frames go from the workers once the partitions are cut
    done = screen_partitions(frames, partitions, {t: clean[t] for t in clean.tables_present()}, as_of, policy, model,
                             mapper, tracker.stage)
    tracker.record("risk_engines_wall", done.firm_seconds)
    result = ScreeningResult(done.screening, report, as_of, policy, dict(tracker.timings),
                             switched_off_risks(EngineRun({}, done.switched_off)), done.tables, model=model,
                             coverage=done.coverage, evaluated=pd.DataFrame(done.evaluated, copy=False))
    result.peak_memory_mb = dict(tracker.peak_memory_mb)
    result.engine = _engine_record(mapper, partitions, partition_firms)
    return result


def _read_by_engines_only(frame: pd.DataFrame, firms: pd.DataFrame) -> list[str]:
    """The firm frame's statement columns (current and prior years) that neither the lists,
    the reason templates nor the screening table read: 0.3 GB per million firms."""
    later = {c.name for c in table_schema("screening").columns} | set(engine_columns()) | set(STATEMENT_INPUTS)
    later |= template_columns()
    return [name for name in frame.columns if name not in firms.columns and name not in later]


def _release(table: str, *datasets: Dataset) -> None:
    """Empty a table (same columns, no rows) in each dataset: its arrays are freed once no
    other frame shares them (an empty copy, not a slice, which would keep them)."""
    for dataset in datasets:
        if table in dataset.tables:
            dataset.tables[table] = dataset.tables[table].iloc[:0].copy()
