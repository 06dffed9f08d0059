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

import time
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from zjfin._arrow import distinct
from zjfin._engines import (BUILT_IN, ENGINES, EngineContext, EngineRun, _applicable, _check_output, _switched_off,
                            switched_off_output)
from zjfin._errors import SchemaError
from zjfin._lists import assign_lists, list_inputs
from zjfin._policy import Policy
from zjfin._reasons import render_reasons, template_columns
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
    items = {}
    for name in outputs[0].tables:
        pieces = [o.tables[name] for o in outputs]
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
    return EngineOutput(columns, fired, items)


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


def run_engines_by_partition(context: EngineContext, partitions: list[np.ndarray], mapper: InOrder = in_order) -> EngineRun:
    """:func:`zjfin._engines.run_engines`, partition by partition: the same :class:`EngineRun`.

    The reductions first (the province's figures from every firm's shares: a median does not
    depend on which partition a share comes from), then each partition's per-firm engines
    (through ``mapper``), then, here, the engines that need every firm at once.
    """
    off = _switched_off(context)
    frame, n = context.frame, len(context.frame)
    start = time.perf_counter()
    mine = [e for e in ENGINES.values() if e.name not in off and e.by_partition]
    whole = [e for e in ENGINES.values() if e.name not in off and not e.by_partition]
    for engine in mine:
        later = [w.name for w in whole if w.name in (*engine.depends, *engine.uses)]
        if later:
            raise SchemaError(f"engine {engine.name!r} runs per partition but takes {later}, which run on every firm: "
                              "register it with partitioned=False")
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
