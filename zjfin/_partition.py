"""Screening by partitions of whole counties: the same result as the whole province at once.

The stages after the firm frame, county by county (SPEC §10): the per-firm engines run on
each partition's firms and the rows of the tables that belong to them, with the province's
figures some of them fall back on (:class:`zjfin._engines.Reduction`: the firms' shares,
reduced once and handed to every partition); the engines that link firms across
counties (pledge attribution, the guarantee network) run once, on every firm; the lists
(ranks within list and county) and the reasons run per partition. Each partition's columns
are put back at its firms' rows, so what follows (coverage, assembly, export) is unchanged.

What makes the partitions' results the whole run's: a partition holds whole counties
(the county benchmarks and ranks see every firm of the county), a firm's rows keep their
order within it (ties are broken by file order), and every province figure is a median,
which does not depend on the order the shares come in. This module is the plan the Dask
engine distributes; here the partitions run one after the other in this process.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from zjfin._arrow import distinct
from zjfin._assemble import assemble_screening
from zjfin._engines import (BUILT_IN, ENGINES, EngineContext, EngineRun, _applicable, _check_output, _switched_off,
                            coverage_counts, coverage_summary, stage_columns, switched_off_output)
from zjfin._errors import SchemaError
from zjfin._lists import assign_lists, list_inputs
from zjfin._policy import Policy
from zjfin._read import join_in_order
from zjfin._reasons import render_reasons, template_columns
from zjfin._screening_parts import ScreeningParts
from zjfin._validate import FIRM_INDEX_COLUMNS
from zjfin.risks import EngineOutput

__all__ = ["county_partitions", "InOrder", "in_order", "partition_tables", "run_engines_by_partition", "lists_by_partition",
           "reasons_by_partition"]


def county_partitions(region_code: Any, min_firms: int = 1) -> list[np.ndarray]:
    """The row positions of each partition's firms (county after county, each county's in
    row order): whole counties, in code order, the next county joining a partition until it holds ``min_firms``; the firms
    without a county last, as a partition of their own.

    Examples
    --------
    >>> codes = pd.Series(["330102", None, "330101", "330102"])
    >>> [p.tolist() for p in county_partitions(codes)]
    [[2], [0, 3], [1]]
    >>> [p.tolist() for p in county_partitions(codes, min_firms=2)]
    [[2, 0, 3], [1]]
    """
    codes, at = distinct(region_code)
    at = at.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    # Counties in code order: the partitions come out the same whatever the file's order.
    rank = np.full(len(codes) + 1, len(codes), dtype=np.int64)  # last slot: no county
    rank[np.argsort(np.asarray(codes.to_pylist(), dtype=object))] = np.arange(len(codes))
    key = rank[np.where(at >= 0, at, len(codes))]
    order = np.argsort(key, kind="stable")
    sizes = np.bincount(key, minlength=len(codes) + 1)
    # A loop over counties (a few thousand in China), not firms.
    partition, filled, of_county = 0, 0, np.empty(len(codes) + 1, dtype=np.int64)
    for county in range(len(codes)):
        if filled >= min_firms:
            partition, filled = partition + 1, 0
        of_county[county], filled = partition, filled + sizes[county]
    of_county[len(codes)] = partition + 1  # no county: a partition of its own
    group = of_county[key[order]]
    bounds = np.flatnonzero(np.diff(group)) + 1
    return [part for part in np.split(order, bounds) if len(part)]


def partition_tables(tables: Mapping[str, pd.DataFrame], rows: np.ndarray, n: int) -> dict[str, pd.DataFrame]:
    """The tables as a partition's engines see them: a table whose rows belong to one firm
    (one firm-index column: statements, bonds, loans, pledges) keeps that firm's rows of the
    partition, their firm index renumbered to the partition's rows; the others are whole.

    Examples
    --------
    >>> bonds = pd.DataFrame({"bond_id": ["b1", "b2", "b3"], "issuer_idx": [2, 0, 2]})
    >>> partition_tables({"bonds": bonds}, np.array([2, 3]), 4)["bonds"].values.tolist()
    [['b1', 0], ['b3', 0]]
    """
    return _cut(tables, rows, n)[0]


def _cut(tables: Mapping[str, pd.DataFrame], rows: np.ndarray, n: int) -> tuple[dict[str, pd.DataFrame],
                                                                                  dict[str, np.ndarray]]:
    """:func:`partition_tables`, and the input rows each cut table kept."""
    local = np.full(n, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    out, kept = {}, {}
    for table, frame in tables.items():
        mine = _rows_of(table, frame, local)
        if mine is None:
            out[table] = frame
            continue
        column = _index_column(table)
        out[table] = frame.iloc[mine].reset_index(drop=True).assign(**{column: local[frame[column].to_numpy()[mine]]})
        kept[table] = mine
    return out, kept


def _index_column(table: str) -> str | None:
    """A table's firm-index column when it has exactly one (None: no firm owns its rows)."""
    columns = list(FIRM_INDEX_COLUMNS.get(table, {}).values())
    return columns[0] if len(columns) == 1 else None


def _rows_of(table: str, frame: pd.DataFrame, local: np.ndarray) -> np.ndarray | None:
    column = _index_column(table)
    if column is None or column not in frame.columns:
        return None
    index = frame[column].to_numpy()
    return np.flatnonzero((index >= 0) & (local[np.maximum(index, 0)] >= 0))


def _gather(parts: list[pd.DataFrame], partitions: list[np.ndarray], index: pd.Index) -> pd.DataFrame:
    """Partitions' frames (each row-aligned with its partition) put back in the rows' order."""
    joined = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    back = np.empty(len(index), dtype=np.int64)
    back[np.concatenate(partitions)] = np.arange(len(index))
    return joined.take(back).set_axis(index)


def _gather_output(engine: str, outputs: list[EngineOutput], partitions: list[np.ndarray], index: pd.Index,
                   tables: Mapping[str, pd.DataFrame], kept: list[dict[str, np.ndarray]]) -> EngineOutput:
    """An engine's partition outputs as one: its columns and reasons in the frame's rows; a
    per-item table named after an input table (one row per input row) in that table's
    rows, with the input's firm index. Any other per-item table cannot be put back (its
    firm positions are the partition's): an error, never a silently wrong table."""
    columns = _gather([o.columns for o in outputs], partitions, index)
    fired = _gather([o.fired for o in outputs], partitions, index)
    return EngineOutput(columns, fired, _gather_tables(engine, [o.tables for o in outputs], tables, kept))


def _gather_tables(engine: str, made: list[Mapping[str, pd.DataFrame]], tables: Mapping[str, pd.DataFrame],
                   kept: list[dict[str, np.ndarray]]) -> dict[str, pd.DataFrame]:
    """An engine's per-item tables from its partitions (``made``), each in its input table's rows."""
    items = {}
    for name in made[0]:
        pieces = [m[name] for m in made]
        column = _index_column(name)
        aligned = (name in tables and column is not None and all(name in k for k in kept)
                   and all(len(piece) == len(k[name]) for piece, k in zip(pieces, kept)))
        if not aligned:
            raise SchemaError(f"engine {engine!r} returns the table {name!r}, which a screening by county cannot put "
                              "back: a per-partition engine's table must be named after an input table with one row "
                              "per input row (or register the engine with partitioned=False)")
        # Back in the input table's order, with its index and its firm index.
        rows = np.concatenate([k[name] for k in kept])
        joined = pd.concat(pieces, ignore_index=True)
        items[name] = joined.take(np.argsort(rows, kind="stable")).set_axis(tables[name].index[np.sort(rows)])
        if column in items[name].columns:
            items[name][column] = tables[name][column].to_numpy()[np.sort(rows)]
    return items


def _take(value: Any, rows: np.ndarray) -> Any:
    """A column's rows, for a partition (a Series keeps its dtype, with a fresh index)."""
    if isinstance(value, pd.Series):
        return value.iloc[rows].reset_index(drop=True)
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return value.take(pa.array(rows))
    return value.take(rows) if hasattr(value, "take") else np.asarray(value)[rows]


class InOrder:
    """How the partitions are worked: ``map(function, items, **common)`` is
    ``[function(item, **common) for item in items]``, the items made as they are taken. This
    one works them one after the other in this process; :class:`zjfin._dask.OnDask` on a
    cluster's workers, a few partitions in flight at a time.

    Work whose results stay where they are made (a group's validated tables, on its worker)
    goes through handles: ``put(value)`` places a value, ``submit(function, *args, **common)``
    runs a function on values or handles and returns a handle to its result, ``gather(handles)``
    fetches results. Here a handle is the value itself."""

    engine = "partitions"
    details: dict[str, Any] = {}

    def map(self, function: Any, items: Iterable[Any], **common: Any) -> list:
        return [function(item, **common) for item in items]

    def put(self, value: Any) -> Any:
        return value

    def submit(self, function: Any, *args: Any, **common: Any) -> Any:
        return function(*args, **common)

    def gather(self, handles: Iterable[Any]) -> list:
        return list(handles)


#: The partitions one after the other, in this process.
in_order = InOrder()


def _partition_engines(work: tuple[pd.DataFrame, dict[str, pd.DataFrame]], as_of: pd.Timestamp, policy: Policy,
                       model: Any, province: Mapping[str, Any], engines: list) -> dict[str, EngineOutput]:
    """One partition's per-firm engines, in the registry's order (each after its inputs)."""
    frame, tables = work
    done: dict[str, EngineOutput] = {}
    for engine in engines:
        inputs = {d: done[d] for d in (*engine.depends, *engine.uses) if d in done}
        done[engine.name] = engine.run(EngineContext(frame, tables, as_of, policy, inputs, model, 1, province))
        _check_output(engine, done[engine.name])
    return done


def _split_engines(off: Mapping[str, Any]) -> tuple[list, list]:
    """The engines that run (not ``off``): those run per partition, and those on every firm
    at once (after them: a per-partition engine cannot take one of these)."""
    mine = [e for e in ENGINES.values() if e.name not in off and e.by_partition]
    whole = [e for e in ENGINES.values() if e.name not in off and not e.by_partition]
    for engine in mine:
        later = [w.name for w in whole if w.name in (*engine.depends, *engine.uses)]
        if later:
            raise SchemaError(f"engine {engine.name!r} runs per partition but takes {later}, which run on every firm: "
                              "register it with partitioned=False")
    return mine, whole


def run_engines_by_partition(context: EngineContext, partitions: list[np.ndarray], mapper: InOrder = in_order) -> EngineRun:
    """:func:`zjfin._engines.run_engines`, partition by partition: the same :class:`EngineRun`.

    The reductions first (the province's figures from every firm's shares: a median does not
    depend on which partition a share comes from), then each partition's per-firm engines
    (through ``mapper``), then, here, the engines that need every firm at once.
    """
    off = _switched_off(context)
    frame, n = context.frame, len(context.frame)
    start = time.perf_counter()
    mine, whole = _split_engines(off)
    # A partition is handed only the tables its engines declare (the whole firms, prices and
    # guarantees tables are for the engines that run on every firm).
    # An engine registered by the user may read more than it declares: then every table and column.
    declared = all(e.name in BUILT_IN for e in mine)
    wanted = ({t: context.tables[t] for e in mine for t in e.tables if t in context.tables} if declared
              else dict(context.tables))
    # ... and the firm frame's columns they read (all of them when an engine declares none,
    # as the model's features do not).
    reads = (None if not declared or any(not e.reads for e in mine)
             else [c for c in frame.columns if any(c in e.reads for e in mine)])
    # Rows and columns taken together, partition by partition: no copy of the frame's columns.
    columns = slice(None) if reads is None else [frame.columns.get_loc(c) for c in reads]
    kept: list[dict[str, np.ndarray]] = []

    def partition(rows: np.ndarray) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        tables, rows_kept = _cut(wanted, rows, n)
        kept.append(rows_kept)
        return frame.iloc[rows, columns].reset_index(drop=True), tables

    # The shares here, on every firm at once (the client holds the frame: sending each
    # partition twice would cost more than the few columns' pass); reduced, as partitions' would be.
    province = {e.name: e.reduction.reduce(e.reduction.shares(frame, context.policy), context.policy)
                for e in mine if e.reduction is not None}
    # Each partition made as the mapper takes it: a few in flight, not all at once.
    per_partition = mapper.map(_partition_engines, (partition(rows) for rows in partitions), as_of=context.as_of,
                               policy=context.policy, model=context.model, province=province, engines=mine)
    outputs: dict[str, EngineOutput] = {}
    for engine in mine:
        # Each engine's pieces let go once it is put together: the client holds the
        # partitions' results and one engine's joined copy, not every engine's twice.
        outputs[engine.name] = _gather_output(engine.name, [p.pop(engine.name) for p in per_partition], partitions,
                                              frame.index, wanted, kept)
    firm_seconds = time.perf_counter() - start
    for engine in whole:
        inputs = {d: outputs[d] for d in (*engine.depends, *engine.uses) if d in outputs}
        ctx = EngineContext(frame, context.tables, context.as_of, context.policy, inputs, context.model,
                            context.n_jobs, province)
        outputs[engine.name] = engine.run(ctx)
        _check_output(engine, outputs[engine.name])
    for name in off:
        outputs[name] = switched_off_output(ENGINES[name], frame.index)
    applicable = {name: _applicable(ENGINES[name], context) for name in ENGINES if name not in off}
    return EngineRun({name: outputs[name] for name in ENGINES}, off, applicable, firm_seconds)


def _partition_values(values: Mapping[str, Any], fired: Mapping[str, Any], rows: np.ndarray) -> tuple[dict, dict, int]:
    return ({name: _take(value, rows) for name, value in values.items()},
            {code: _take(mask, rows) for code, mask in fired.items()}, len(rows))


def _partition_lists(work: tuple[dict, dict, int], policy: Policy) -> EngineOutput:
    values, fired, n = work
    return assign_lists(values, fired, policy, pd.RangeIndex(n), n_jobs=1)


def _partition_reasons(work: tuple[dict, dict, int]) -> pd.DataFrame:
    values, fired, n = work
    return render_reasons(fired, values, index=pd.RangeIndex(n), n_jobs=1)


def lists_by_partition(values: Mapping[str, Any], fired: Mapping[str, Any], policy: Policy, index: pd.Index,
                       partitions: list[np.ndarray], mapper: InOrder = in_order) -> EngineOutput:
    """:func:`zjfin._lists.assign_lists` per partition (its ranks are within list and county)."""
    read = {name: values[name] for name in list_inputs(policy) if name in values}  # not every column
    outputs = mapper.map(_partition_lists, (_partition_values(read, fired, rows) for rows in partitions), policy=policy)
    return EngineOutput(_gather([o.columns for o in outputs], partitions, index),
                        _gather([o.fired for o in outputs], partitions, index))


def reasons_by_partition(fired: Mapping[str, Any], values: Mapping[str, Any], index: pd.Index,
                         partitions: list[np.ndarray], mapper: InOrder = in_order) -> pd.DataFrame:
    """:func:`zjfin._reasons.render_reasons` per partition (a firm's reasons are its own)."""
    read = {name: values[name] for name in template_columns() if name in values}  # what the sentences name
    parts = mapper.map(_partition_reasons, (_partition_values(read, fired, rows) for rows in partitions))
    return _gather(parts, partitions, index)


# --- Partitions whose frames stay on the workers ---------------------------------------------
#
# A province read a county at a time (read_dataset(lazy=True)) has its firm frames made on the
# workers (zjfin._validate_groups.validate_in_groups). There they stay: each partition's frame
# is cut from the groups' frames where they are, every stage after it runs there, and this
# process gathers only the few columns the engines that need every firm read (pledges: the
# firm's shares; the guarantee network: equity, assets and the seed risks), the per-item
# tables, the coverage counts and, last, each partition's screening rows, written to a file
# as they come (zjfin._screening_parts): the province's screening is never held here.


def partitions_from_groups(groups: Any, partitions: list[np.ndarray], mapper: InOrder = in_order) -> list[Any]:
    """Each partition's firm frame (handles), made where the groups' frames are
    (``groups``: :class:`zjfin._validate_groups.GroupFrames`): its firms' rows of each group
    that holds some, put in the partition's order (``partitions``: province firm numbers),
    numbered as in the province (``firm_idx``)."""
    n = sum(len(idx) for idx in groups.firm_idx)
    owner_group, owner_row = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for g, idx in enumerate(groups.firm_idx):  # a loop over groups, not firms
        owner_group[idx], owner_row[idx] = g, np.arange(len(idx))
    out = []
    for rows in partitions:  # a loop over partitions
        # The partition's rows by group (each group's in partition order): one sort, not a scan a group.
        at = np.argsort(owner_group[rows], kind="stable")
        present, starts = np.unique(owner_group[rows[at]], return_index=True)
        pieces = [mapper.submit(_frame_rows, groups.frames[g], owner_row[rows[mine]])
                  for g, mine in zip(present, np.split(at, starts[1:]))]
        out.append(mapper.submit(_partition_frame, rows, at, *pieces))
    return out


def _frame_rows(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return frame.iloc[rows]


def _partition_frame(firm_idx: np.ndarray, at: np.ndarray, *pieces: pd.DataFrame) -> pd.DataFrame:
    """A partition's frame from its groups' pieces (row ``i`` of the pieces joined goes to
    place ``at[i]``), with the columns the screening adds to the firm frame."""
    frame = join_in_order(list(pieces), at)
    if "firm_idx" in frame.columns:
        frame["firm_idx"] = firm_idx
    frame["industry_section"] = frame["industry_code"].str[0]
    return frame


def _shares_of(frame: pd.DataFrame, engines: list, policy: Policy) -> dict[str, pd.DataFrame]:
    return {e.name: e.reduction.shares(frame, policy) for e in engines}


def _engines_on(frame: pd.DataFrame, tables: dict[str, pd.DataFrame], **common: Any) -> dict[str, EngineOutput]:
    return _partition_engines((frame, tables), **common)


def _read_by_whole(frame: pd.DataFrame, outputs: Mapping[str, EngineOutput], columns: list[str],
                   engines: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """What the engines that need every firm read of a partition: the frame columns they
    declare and the columns of the per-firm engines they take."""
    return frame[columns], {name: outputs[name].columns for name in engines}


def _tables_made(outputs: Mapping[str, EngineOutput]) -> dict[str, dict[str, pd.DataFrame]]:
    return {name: dict(o.tables) for name, o in outputs.items()}


def _finish_on(frame: pd.DataFrame, outputs: Mapping[str, EngineOutput], whole: Mapping[str, EngineOutput],
               as_of: pd.Timestamp, policy: Policy, off: Mapping[str, list[str]]) -> dict[str, Any]:
    """A partition's stages after the engines, where its frame is: the coverage counts,
    the lists, the reasons and its screening rows (:func:`zjfin._assemble.assemble_screening`)."""
    index = frame.index
    done = {**outputs, **whole, **{name: switched_off_output(ENGINES[name], index) for name in off}}
    context = EngineContext(frame, {}, as_of, policy)
    applicable = {name: _applicable(ENGINES[name], context) for name in ENGINES if name not in off}
    fired, values = stage_columns(frame, {name: done[name] for name in ENGINES})
    counts, evaluated = coverage_counts(off, applicable, frame, values)
    placed = assign_lists(values, fired, policy, index, n_jobs=1)
    fired.update((code, placed.fired[code]) for code in placed.fired.columns)
    values.update((name, placed.columns[name]) for name in placed.columns.columns)
    reasons = render_reasons(fired, values, index=index, n_jobs=1)
    values.update((name, reasons[name]) for name in reasons.columns)
    return {"screening": assemble_screening(values, index), "coverage": counts, "evaluated": evaluated}


def _sliced(output: EngineOutput, rows: np.ndarray) -> EngineOutput:
    return EngineOutput(output.columns.iloc[rows].reset_index(drop=True), output.fired.iloc[rows].reset_index(drop=True))


@dataclass
class PartitionedScreening:
    """What the stages after the firm frame give when they run on partitions that stay
    where their frames are (:func:`screen_partitions`)."""

    screening: ScreeningParts
    coverage: pd.DataFrame
    evaluated: dict[str, Any]
    tables: dict[str, Any]
    switched_off: dict[str, list[str]]
    firm_seconds: float


def screen_partitions(frames: list[Any], partitions: list[np.ndarray], tables: Mapping[str, pd.DataFrame],
                      as_of: pd.Timestamp, policy: Policy, model: Any = None, mapper: InOrder = in_order,
                      stage: Any = None) -> PartitionedScreening:
    """The stages after the firm frame on partitions whose frames are where ``mapper``
    works (``frames``: handles, row-aligned with ``partitions``, the province's firm
    numbers; the list is emptied once the frames are done with): the same screening, coverage and tables as :func:`run_engines_by_partition`,
    :func:`lists_by_partition` and :func:`reasons_by_partition` on the whole frame.
    ``stage(name)``: a context timing each stage (the progress tracker's)."""
    stage = stage or (lambda name: contextlib.nullcontext())
    n = int(sum(len(rows) for rows in partitions))
    index = pd.RangeIndex(n)
    present = EngineContext(pd.DataFrame(index=index), dict(tables), as_of, policy, model=model)
    off = _switched_off(present)
    mine, whole = _split_engines(off)
    unknown = [e.name for e in ENGINES.values() if e.name not in BUILT_IN]
    if unknown:  # their tables and columns are not declared, and workers do not know them
        raise SchemaError(f"frames left on the workers serve the engines zjfin registers itself, not {unknown}: "
                          "screen a dataset read whole (read_dataset(folder))")
    wanted = {t: tables[t] for e in mine for t in e.tables if t in tables}
    with stage("risk_engines"):
        start = time.perf_counter()
        reduced = [e for e in mine if e.reduction is not None]
        shares = mapper.gather([mapper.submit(_shares_of, f, reduced, policy) for f in frames])
        province = {e.name: e.reduction.reduce(pd.concat([s[e.name] for s in shares], ignore_index=True), policy)
                    for e in reduced}
        del shares
        cuts = [_cut(wanted, rows, n) for rows in partitions]
        outputs = [mapper.submit(_engines_on, f, cut, as_of=as_of, policy=policy, model=model, province=province,
                                 engines=mine) for f, (cut, _) in zip(frames, cuts)]
        kept = [k for _, k in cuts]
        del cuts
        made = mapper.gather([mapper.submit(_tables_made, o) for o in outputs])
        firm_seconds = time.perf_counter() - start
        # The engines that need every firm: here, on the columns they read, gathered.
        reads = sorted({c for e in whole for c in e.reads})  # zjfin's engines declare what they read
        taken = sorted({d for e in whole for d in (*e.depends, *e.uses)} & {e.name for e in mine})
        read = mapper.gather([mapper.submit(_read_by_whole, f, o, reads, taken) for f, o in zip(frames, outputs)])
        compact = _gather([r[0] for r in read], partitions, index)
        inputs = {name: EngineOutput(_gather([r[1][name] for r in read], partitions, index), pd.DataFrame(index=index))
                  for name in taken}
        del read
        whole_out: dict[str, EngineOutput] = {}
        for engine in whole:
            given = {d: whole_out[d] if d in whole_out else inputs[d] for d in (*engine.depends, *engine.uses)
                     if d in whole_out or d in inputs}
            ctx = EngineContext(compact, dict(tables), as_of, policy, given, model, 1, province)
            whole_out[engine.name] = engine.run(ctx)
            _check_output(engine, whole_out[engine.name])
        del compact, inputs
    item_tables: dict[str, Any] = {}
    for engine in mine:
        item_tables.update(_gather_tables(engine.name, [m[engine.name] for m in made], wanted, kept))
    del made
    for output in whole_out.values():
        item_tables.update(output.tables)
    with stage("lists"):
        finished = [mapper.submit(_finish_on, f, o, {name: _sliced(w, rows) for name, w in whole_out.items()},
                                  as_of=as_of, policy=policy, off=off)
                    for f, o, rows in zip(frames, outputs, partitions)]
        del outputs, whole_out
        frames.clear()  # each partition's frame goes from its worker once its stages are done
        counts = mapper.gather([mapper.submit(itemgetter("coverage", "evaluated"), f) for f in finished])
    with stage("coverage"):
        summary = coverage_summary([c for c, _ in counts], policy.validation.min_coverage)
        order = np.argsort(np.concatenate(partitions), kind="stable")
        evaluated = {name: pd.concat([pd.Series(e[name]) for _, e in counts], ignore_index=True).array[order]
                     for name in counts[0][1]}
        del counts
    with stage("assemble"):
        rows = [mapper.submit(itemgetter("screening"), f) for f in finished]
        del finished  # each partition's rows held by its handle alone: let go once written
        screening = ScreeningParts(np.concatenate(partitions))
        while rows:  # a loop over partitions: a partition's rows fetched while the one before is written
            screening.add(mapper.gather([rows.pop(0)])[0])
        screening.finish()
    return PartitionedScreening(screening, summary, evaluated, item_tables, off, firm_seconds)
