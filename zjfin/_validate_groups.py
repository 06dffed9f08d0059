"""Validate a dataset whose firms are held in groups — the firms and their statements
split among workers, each group the parts of some counties, the other tables whole — to
the same report as :func:`zjfin.validate` on the whole.

Each group is validated where it is held (:func:`zjfin._validate._validate_firms`, as for
the whole). What crosses groups is settled here, on a compact summary instead of rows:

- **a firm id in two groups**: the first usable row (in table order) wins. A first pass
  says, for each group's firm rows, whether they are usable on their own (id, row, usable:
  what the checks of the row alone decide); the rows that lose to another group's earlier
  row are told so and get their ``duplicate_key`` there.
- **a statement whose firm is in another group** (or in none): every statement of an id
  goes to one group — the group of its firm's winning row, or, for an id no usable firm
  row has, the group holding its first statement — so duplicate statements meet and a
  firm sees every statement it has.
- **the other tables** (bonds, loans, pledges, prices, guarantees) are checked here
  against the :class:`zjfin._validate.FirmRegistry` that the groups' firms make.

The groups' findings join the others' and are ordered as the whole's are (by table, row,
column and code), so the report is the same whichever way the rows were grouped.

:func:`validate_groups` splits a dataset in memory (what the tests compare with the whole);
:func:`validate_in_groups` takes a dataset read lazily (``read_dataset(folder, lazy=True)``),
reads a county's parts at a time here and puts each where the mapper works (a Dask worker),
so this process never holds the firms and statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from zjfin._arrow import arrow_text, index_in
from zjfin._errors import ParameterError
from zjfin._features import firm_frame
from zjfin._partition import InOrder, in_order
from zjfin._policy import Policy
from zjfin._read import FIRST_DATA_ROW, Dataset, _concat_findings, join_in_order
from zjfin._schema import input_tables, table_schema
from zjfin._validate import (FIRM_TABLES, FirmRegistry, ValidationReport, _check_columns, _Collector, _file_rows, _finish,
                             _report, _start, _usable, _validate_firms, _validate_linked, validation_dates)

__all__ = ["validate_groups", "validate_pieces", "validate_in_groups", "GroupFrames"]


@dataclass
class _Group:
    """A group's firms and statements (rows in table order), each row's position in its
    table, and the findings the reader made of those rows."""

    tables: dict[str, pd.DataFrame]
    at: dict[str, np.ndarray]
    findings: dict[str, list[pd.DataFrame]]
    sources: dict[str, Any]

    def take(self, table: str, positions: np.ndarray) -> _Group:
        """The group's rows at ``positions`` (ascending) of ``table``, the other table whole."""
        frame = self.tables[table]
        kept = frame["_row"].to_numpy()[positions]
        findings = [f[np.isin(f["row"].to_numpy(), kept)] for f in self.findings.get(table, [])]
        return _Group({**self.tables, table: frame.iloc[positions].reset_index(drop=True)},
                      {**self.at, table: self.at[table][positions]}, {**self.findings, table: findings}, self.sources)


@dataclass
class _Validated:
    """A group validated: its findings, its checked firms and statements (``firm_idx``
    numbered within the group) and their rows' positions."""

    findings: dict[str, list[pd.DataFrame]]
    tables: dict[str, pd.DataFrame]
    at: dict[str, np.ndarray]


def _piece(work: Dataset, findings: dict[str, list[pd.DataFrame]], rows: tuple[np.ndarray, np.ndarray]) -> _Group:
    """A group of ``work``'s firms and statements, in table order."""
    at = {t: np.sort(np.asarray(r, dtype=np.int64)) for t, r in zip(FIRM_TABLES, rows)}
    tables = {t: work[t].iloc[at[t]].reset_index(drop=True) for t in FIRM_TABLES}
    mine = {t: [f[np.isin(f["row"].to_numpy(), tables[t]["_row"].to_numpy())] for f in findings[t]] for t in FIRM_TABLES}
    return _Group(tables, at, mine, work.sources)


def _joined(groups: list[_Group], table: str) -> _Group:
    """One group of several groups' rows of ``table`` (the first's other table)."""
    order = np.argsort(np.concatenate([g.at[table] for g in groups]), kind="stable")
    frame = pd.concat([g.tables[table] for g in groups], ignore_index=True).take(order).reset_index(drop=True)
    first = groups[0]
    return _Group({**first.tables, table: frame}, {**first.at, table: np.concatenate([g.at[table] for g in groups])[order]},
                  {**first.findings, table: [f for g in groups for f in g.findings.get(table, [])]}, first.sources)


def _collector(group: _Group) -> tuple[_Collector, Dataset]:
    work = Dataset({t: frame.copy(deep=False) for t, frame in group.tables.items()}, group.sources)
    col = _Collector(work)
    col.frames = {t: list(frames) for t, frames in group.findings.items()}
    return col, work


def _first_pass(group: _Group, policy: Policy, today: pd.Timestamp) -> pd.DataFrame:
    """Pass 1 on a group: its firm rows (id, position, usable on their own checks) and the
    ids of its statements that no usable firm row of the group has (id, first position)."""
    col, work = _collector(group)
    _check_columns(col, work, "firms", policy, today)
    usable = ~col.rejected_rows("firms")
    ids, theirs = _firm_ids(work["firms"]), _firm_ids(work["financials"])
    foreign = (~theirs.isin(ids[usable]) & theirs.notna()).to_numpy()
    statements = (pd.DataFrame({"firm_id": theirs[foreign].to_numpy(), "at": group.at["financials"][foreign]})
                  .groupby("firm_id", sort=False)["at"].min().reset_index())
    firms = pd.DataFrame({"firm_id": ids.to_numpy(), "at": group.at["firms"], "usable": usable})
    return pd.concat([firms.assign(firm=True), statements.assign(usable=False, firm=False)], ignore_index=True)


def _settle(summaries: list[pd.DataFrame]) -> tuple[list[np.ndarray], pd.DataFrame]:
    """From every group's first pass: the firm rows each group must reject as duplicates
    (positions), and where each statement id that is not its group's goes (``firm_id``,
    ``group`` it is in, ``owner`` group)."""
    every = pd.concat([s.assign(group=g) for g, s in enumerate(summaries)], ignore_index=True)
    code, names = pd.factorize(every.pop("firm_id"))  # ids as numbers: the rest is integer work
    every["id"] = code
    firms = every[every["firm"] & every["usable"]].sort_values("at", kind="stable")
    losing = firms.duplicated("id", keep="first").to_numpy()
    group = firms["group"].to_numpy()
    lost = [firms["at"].to_numpy()[losing & (group == g)] for g in range(len(summaries))]
    # Each id's group: its winning firm row's, else (no usable firm) the group of its first statement.
    owner_of_id = np.full(len(names), -1, dtype=np.int64)
    strays = every[~every["firm"]]
    first = strays.sort_values("at", kind="stable").drop_duplicates("id")
    owner_of_id[first["id"].to_numpy()] = first["group"].to_numpy()
    owner_of_id[firms["id"].to_numpy()[~losing]] = group[~losing]
    # Statement ids to move: those no usable firm row of their group has, and those of the
    # group's firm rows that lost to another group's.
    moving = pd.concat([strays[["id", "group"]], firms[losing][["id", "group"]]], ignore_index=True).drop_duplicates()
    moving["owner"] = owner_of_id[moving["id"].to_numpy()]
    moving = moving[moving["owner"] != moving["group"]]
    return lost, pd.DataFrame({"firm_id": np.asarray(names, dtype=object)[moving["id"].to_numpy()],
                               "group": moving["group"].to_numpy(), "owner": moving["owner"].to_numpy()})


def _firm_ids(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(arrow_text(frame["firm_id"]).to_numpy(zero_copy_only=False), dtype=object)


def _split_statements(group: _Group, me: int, ids: np.ndarray, owners: np.ndarray) -> dict[int, _Group]:
    """The group's statements of the firms ``ids`` split by the group each goes to
    (``owners``), and under its own number ``me`` the group without them: one pass over its
    statements, whatever the number of groups."""
    where = index_in(group.tables["financials"]["firm_id"], pd.Series(ids, dtype=object))
    owner = np.where(where >= 0, np.asarray(owners, dtype=np.int64)[np.maximum(where, 0)], me)
    order = np.argsort(owner, kind="stable")  # each owner's rows together, in table order
    keys, starts = np.unique(owner[order], return_index=True)
    bounds = [*starts, len(order)]
    split = {int(k): group.take("financials", order[a:b]) for k, a, b in zip(keys, bounds, bounds[1:])}
    for k in {me, *np.unique(owners).tolist()} - set(split):  # none of its statements (a firm row lost, say)
        split[int(k)] = group.take("financials", np.zeros(0, dtype=np.int64))
    for k in split:
        if k != me:  # what goes carries its statements only (the firms stay)
            split[k] = _Group({"financials": split[k].tables["financials"]}, {"financials": split[k].at["financials"]},
                              {"financials": split[k].findings.get("financials", [])}, group.sources)
    return split


def _part_of(split: dict[int, _Group], key: int) -> _Group:
    return split[key]


def _with_coming(kept: _Group, *coming: _Group) -> _Group:
    return _joined([kept, *coming], "financials")


def _moved(pieces: list[Any], moves: pd.DataFrame, mapper: InOrder) -> list[Any]:
    """Each group (a handle) with every statement of its firms: another group's statements of
    them handed over, in table order, where the groups are. One task splits a sender's
    statements by the group each goes to; each receiver joins its parts."""
    splits = {int(g): mapper.submit(_split_statements, pieces[g], int(g), m["firm_id"].to_numpy(), m["owner"].to_numpy())
              for g, m in moves.groupby("group", sort=True)}  # a loop over groups, not firms
    senders = moves[["group", "owner"]].drop_duplicates().sort_values(["owner", "group"])
    coming = senders.groupby("owner", sort=True)["group"].agg(list).to_dict()
    out = list(pieces)
    for g in sorted(set(splits) | set(coming)):
        kept = mapper.submit(_part_of, splits[g], g) if g in splits else pieces[g]
        parts = [mapper.submit(_part_of, splits[s], g) for s in coming.get(g, [])]
        out[g] = mapper.submit(_with_coming, kept, *parts) if parts else kept
    return out


def _second_pass(group: _Group, lost: np.ndarray, as_of: pd.Timestamp | None, policy: Policy,
                 today: pd.Timestamp) -> _Validated:
    """Pass 2 on a group (now with every statement of its firms): the validation of the
    firms and their statements, the firm rows at positions ``lost`` duplicates of another
    group's."""
    col, tables = _collector(group)
    _validate_firms(col, tables, as_of, policy, today, lost=np.isin(group.at["firms"], lost))
    return _Validated({t: col.frames.get(t, []) for t in FIRM_TABLES}, {t: tables[t] for t in FIRM_TABLES}, group.at)


def validate_pieces(pieces: list[Any], as_of: pd.Timestamp | None, policy: Policy, today: pd.Timestamp,
                    mapper: InOrder = in_order, first: list[Any] | None = None) -> list[Any]:
    """The firms and statements of every group validated where the group is (``pieces``:
    handles of ``mapper``): returns handles of each group's :class:`_Validated`. Only the
    first pass's summaries (an id and a position a firm row, an id a stray statement) come
    back here. ``first``: the pieces' first passes, already started."""
    if first is None:
        first = [mapper.submit(_first_pass, piece, policy=policy, today=today) for piece in pieces]
    summaries = mapper.gather(first)
    lost, moves = _settle(summaries)
    pieces = _moved(pieces, moves, mapper) if len(moves) else pieces
    return [mapper.submit(_second_pass, piece, mine, as_of=as_of, policy=policy, today=today)
            for piece, mine in zip(pieces, lost)]


def validate_groups(dataset: Dataset, groups: Sequence[tuple[np.ndarray, np.ndarray]], as_of: Any = None,
                    policy: Policy | None = None, today: Any = None, mapper: InOrder = in_order) -> ValidationReport:
    """:func:`zjfin.validate` of ``dataset``, its firms and their statements validated group by group.

    Parameters
    ----------
    dataset : Dataset
    groups : sequence of (firm rows, statement rows)
        Positions in ``dataset``'s ``firms`` and ``financials`` tables, every row in one
        group (a group may hold a firm whose statements are in another, or a statement of
        no firm).
    as_of, policy, today
        As for :func:`zjfin.validate`.
    mapper : InOrder
        Works the groups (one after the other in this process by default).

    Returns
    -------
    ValidationReport
        What :func:`zjfin.validate` gives for ``dataset``.

    Examples
    --------
    >>> import zjfin
    >>> ds = zjfin.datasets.synthetic_province(200, seed=2)
    >>> ours = ds.financials["firm_id"].isin(ds.firms["firm_id"][:100]).to_numpy()
    >>> halves = [(np.arange(100), np.flatnonzero(ours)), (np.arange(100, 200), np.flatnonzero(~ours))]
    >>> validate_groups(ds, halves, as_of="2019-03-31").issues.equals(zjfin.validate(ds, as_of="2019-03-31").issues)
    True
    """
    as_of_ts, today_ts = validation_dates(as_of, today)
    policy = policy or Policy.default()
    col, work = _start(dataset)
    groups = _checked_groups(work, groups)
    # The rows' findings go with their rows; a header's (row 0 or 1), and those of rows no
    # longer in the table (filtered out after reading), stay here.
    held = {t: col.frames.pop(t, []) for t in FIRM_TABLES}
    for table, frames in held.items():
        rows = work[table]["_row"].to_numpy()
        col.frames[table] = [f[~np.isin(f["row"].to_numpy(), rows)] for f in frames]
    pieces = [mapper.put(_piece(work, held, rows)) for rows in groups]
    done = mapper.gather(validate_pieces(pieces, as_of_ts, policy, today_ts, mapper))
    registry = _gather(col, work, done)
    _validate_linked(col, work, registry, as_of_ts, policy, today_ts)
    return _report(col, work, dataset, as_of_ts)


def _checked_groups(work: Dataset, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, ...]]:
    """``groups`` as integer positions, each group a pair, every row of both tables in one
    group; a ParameterError otherwise."""
    try:
        groups = list(groups)  # an iterator is read once
    except TypeError:
        raise ParameterError("groups", "a sequence of (firm rows, statement rows) pairs", groups) from None
    if not groups:
        raise ParameterError("groups", "at least one group", groups)
    checked = []
    for g in groups:
        pair = tuple(np.asarray(rows) for rows in g) if isinstance(g, (tuple, list)) else ()
        if len(pair) != 2 or any(p.ndim != 1 or (len(p) and not np.issubdtype(p.dtype, np.integer)) for p in pair):
            raise ParameterError("groups", "pairs of integer positions (firm rows, statement rows)", g)
        checked.append(tuple(p.astype(np.int64) for p in pair))
    for i, table in enumerate(FIRM_TABLES):
        every = np.concatenate([g[i] for g in checked])
        if len(every) != len(work[table]) or not np.array_equal(np.sort(every), np.arange(len(work[table]))):
            raise ParameterError("groups", f"every row of {table} in one group", f"{len(every):,} rows grouped of "
                                 f"{len(work[table]):,}")
    return checked


def _gather(col: _Collector, work: Dataset, done: list[_Validated]) -> FirmRegistry:
    """The groups' checked firms and statements put back in table order in ``work``, with
    the province's ``firm_idx`` (screened firms numbered in table order), their findings in
    ``col``; returns the registry of the screened firms."""
    for table in FIRM_TABLES:
        at = np.concatenate([d.at[table] for d in done])
        back = np.empty(len(at), dtype=np.int64)
        back[at] = np.arange(len(at))
        work.tables[table] = pd.concat([d.tables[table] for d in done], ignore_index=True).take(back).reset_index(drop=True)
        col.frames[table] = col.frames.get(table, []) + [f for d in done for f in d.findings[table]]
    # Each group numbered its screened firms from 0: the province's numbers in table order.
    local = [d.tables["firms"]["firm_idx"].to_numpy() for d in done]
    renumber = _province_numbers([d.at["firms"][i >= 0] for d, i in zip(done, local)])
    firms, fin = work["firms"], work["financials"]
    firm_idx = np.full(len(firms), -1, dtype=np.int64)
    for d, i, new in zip(done, local, renumber):  # a loop over groups, not firms
        firm_idx[d.at["firms"][i >= 0]] = new
    fin_idx = np.full(len(fin), -1, dtype=np.int64)
    for d, new in zip(done, renumber):
        old = d.tables["financials"]["firm_idx"].to_numpy()
        fin_idx[d.at["financials"][old >= 0]] = new[old[old >= 0]]
    work.tables["firms"] = firms.assign(firm_idx=firm_idx)
    work.tables["financials"] = fin.assign(firm_idx=fin_idx)
    screened_ids = arrow_text(firms["firm_id"]).take(pa.array(np.flatnonzero(firm_idx >= 0)))
    return FirmRegistry(screened_ids, work["firms"])


# --- A dataset read lazily: its firms and statements read where they are validated -----------


def _group_read(frame: pd.DataFrame, findings: pd.DataFrame, source: Any, table: str) -> tuple[_Group, pd.DataFrame]:
    """A group of one table as read (:class:`zjfin._read.TableInGroups`): its rows, their
    positions, and its rows' findings on the table's rows; the header findings apart."""
    rows = findings["row"].to_numpy(dtype=np.int64)
    data = rows >= FIRST_DATA_ROW
    mine = findings[data].assign(row=source.table_rows(findings["file"].to_numpy()[data], rows[data]), file=source.label)
    at = frame["_row"].to_numpy(dtype=np.int64) - FIRST_DATA_ROW  # the rows are numbered through the parts
    return _Group({table: frame}, {table: at}, {table: [mine]}, {}), findings[~data]


def _paired(firms: _Group, financials: _Group, sources: dict[str, Any]) -> _Group:
    """A group's firms and the statements read from the folder of the same name."""
    return _Group({**firms.tables, **financials.tables}, {**firms.at, **financials.at},
                  {**firms.findings, **financials.findings}, sources)


def _empty_group(table: str) -> _Group:
    frame = Dataset({table: pd.DataFrame({c: [] for c in table_schema(table).names})})[table]
    return _Group({table: frame}, {table: np.zeros(0, dtype=np.int64)}, {table: []}, {})


@dataclass
class _Summary:
    """What a validated group gives back: its findings, every firm row's keys (id, name,
    stock code: the registry's) with its position and group firm_idx, its screened firms
    (the firms table's usable rows), and its rows read and rejected by part. Its firm frame
    stays where it was made."""

    findings: dict[str, list[pd.DataFrame]]
    keys: pd.DataFrame
    firms: pd.DataFrame
    counts: pd.DataFrame


@dataclass
class GroupFrames:
    """The screened firms' frames where their groups were validated: a handle of each
    group's frame (:func:`zjfin.firm_frame` of its screened firms, in its rows' order) and
    each row's firm in the province (``firm_idx``, the screened firms numbered in table order)."""

    frames: list[Any]
    firm_idx: list[np.ndarray]


def _summary_of(framed: tuple[_Summary, pd.DataFrame]) -> _Summary:
    return framed[0]


def _frame_of(framed: tuple[_Summary, pd.DataFrame]) -> pd.DataFrame:
    return framed[1]


def _framed(validated: _Validated, as_of: pd.Timestamp, sources: dict[str, Any]) -> tuple[_Summary, pd.DataFrame]:
    """On a group's worker: the summary the client keeps, and the group's screened firms'
    frame (:func:`zjfin.firm_frame`), which stays."""
    col = _Collector(Dataset(validated.tables, sources))
    col.frames = {t: list(frames) for t, frames in validated.findings.items()}
    rejected = {t: col.rejected_rows(t) for t in FIRM_TABLES}
    firms, fin = validated.tables["firms"], validated.tables["financials"]
    screened = firms.loc[~rejected["firms"]].reset_index(drop=True)
    frame = firm_frame(screened, fin.loc[~rejected["financials"]].reset_index(drop=True), as_of)
    keys = pd.DataFrame({name: firms[name] for name in ("firm_id", "name", "stock_code") if name in firms.columns})
    keys = keys.assign(at=validated.at["firms"], firm_idx=firms["firm_idx"].to_numpy())
    counts = []
    for table in FIRM_TABLES:
        files, _ = sources[table].file_rows(validated.tables[table]["_row"].to_numpy())
        counts.append(pd.DataFrame({"table": table, "file": files, "rejected": rejected[table]}))
    tally = pd.concat(counts, ignore_index=True).groupby(["table", "file"], sort=False)["rejected"].agg(["size", "sum"])
    return _Summary(validated.findings, keys, screened, tally.reset_index()), frame


def validate_in_groups(dataset: Dataset, as_of: Any, policy: Policy | None = None, mapper: InOrder = in_order,
                       today: Any = None) -> tuple[ValidationReport, GroupFrames]:
    """Validate a dataset whose firms and statements are kept in their parts
    (``read_dataset(folder, lazy=True)``) and make the screened firms' frame, neither held
    whole here: each folder of parts (a county) is read here one at a time and put where
    ``mapper`` works (a Dask worker), validated there (:func:`validate_pieces`) and made
    into its firm frame, which stays there; this process keeps the other tables, the
    findings, the firms' registry and the screened firms.

    Returns
    -------
    report : ValidationReport
        What :func:`zjfin.validate` gives, but its ``dataset`` holds the screened firms and no
        statements (they stayed with their groups), and ``rejected_mask`` only the tables
        validated here.
    frames : GroupFrames
        Where each group's firm frame (:func:`zjfin.firm_frame` of its validated firms and
        statements) is, and its firms' places in the province.
    """
    as_of_ts, today_ts = validation_dates(as_of, today)
    policy = policy or Policy.default()
    headers, firms, pieces, first = [], {}, [], []
    sources: dict[str, Any] = {}  # the workers' passes name only a source's label: complete once read

    def paired(firm_group: Any, statements: Any) -> None:
        pieces.append(mapper.submit(_paired, firm_group, statements, sources))
        first.append(mapper.submit(_first_pass, pieces[-1], policy=policy, today=today_ts))

    # The firms first; then each county's statements paired with its firms as they are read,
    # its first pass started at once: the workers validate while this process reads on.
    for table in FIRM_TABLES:
        groups = dataset.in_groups[table]
        for key, frame, found in groups:
            sources[table] = groups.source
            piece, header = _group_read(frame, found, groups.source, table)
            headers.append(header)
            if table == "firms":
                firms[key] = mapper.put(piece)
            else:
                paired(firms.pop(key, None) or _empty_group("firms"), mapper.put(piece))
            del frame, piece
        sources[table] = dataset.sources[table] = groups.source
    for firm_group in firms.values():  # firms whose county has no statements file
        paired(firm_group, _empty_group("financials"))
    del firms
    linked = Dataset({t: frame for t, frame in dataset.tables.items() if t not in FIRM_TABLES}, dataset.sources,
                     _concat_findings([dataset.findings, *headers]), name=dataset.name)
    linked.planted = dataset.planted
    col, work = _start(linked)
    done = validate_pieces(pieces, as_of_ts, policy, today_ts, mapper, first=first)
    del pieces, first  # each group's rows as read go once validated (a worker holds what a handle here names)
    framed = [mapper.submit(_framed, d, as_of=as_of_ts, sources=sources) for d in done]
    del done
    frames = [mapper.submit(_frame_of, f) for f in framed]
    summaries = mapper.gather([mapper.submit(_summary_of, f) for f in framed])
    del framed
    registry, firms, firm_idx = _registered(col, summaries)
    _validate_linked(col, work, registry, as_of_ts, policy, today_ts)
    counts = pd.concat([s.counts for s in summaries], ignore_index=True).groupby(["table", "file"], sort=False).sum()
    _check_every_row_validated(counts, sources)
    return _grouped_report(col, work, linked, as_of_ts, counts, firms), GroupFrames(frames, firm_idx)


def _check_every_row_validated(counts: pd.DataFrame, sources: dict[str, Any]) -> None:
    """Every row read is in one group's counts: a group lost on the way is an error, never a
    smaller province."""
    for table in FIRM_TABLES:
        validated = int(counts.loc[table, "size"].sum()) if table in counts.index.get_level_values(0) else 0
        if validated != sources[table].rows_read:
            raise RuntimeError(f"zjfin bug: {validated:,} rows of {table} validated in groups of the "
                               f"{sources[table].rows_read:,} read; please report it")


def _registered(col: _Collector, summaries: list[_Summary]) -> tuple[FirmRegistry, pd.DataFrame, list[np.ndarray]]:
    """The groups' findings into ``col``; the screened firms numbered in table order (the
    province's firm_idx); the registry the other tables are judged against, the screened
    firms in that order, and each group's screened firms' province numbers (its frame's rows)."""
    for table in FIRM_TABLES:
        col.frames[table] = col.frames.get(table, []) + [f for s in summaries for f in s.findings[table]]
    keys = pd.concat([s.keys for s in summaries], ignore_index=True)
    keys = keys.take(np.argsort(keys["at"].to_numpy(), kind="stable")).reset_index(drop=True)
    # Each group's screened firms in its own firm_idx order: their positions give the province's.
    at = [s.keys["at"].to_numpy()[np.argsort(s.keys["firm_idx"].to_numpy(), kind="stable")]
          [int((s.keys["firm_idx"].to_numpy() < 0).sum()):] for s in summaries]
    every = np.concatenate(at)
    firm_pieces = [s.firms for s in summaries]
    for summary in summaries:  # each piece let go once joined
        summary.firms = None
    firms = join_in_order(firm_pieces, every)
    firms["firm_idx"] = np.arange(len(firms))
    return FirmRegistry(arrow_text(firms["firm_id"]), keys), firms, _province_numbers(at)


def _province_numbers(at: list[np.ndarray]) -> list[np.ndarray]:
    """Each group's screened firms (their positions in the table, in the group's own
    firm_idx order) numbered as the province numbers them: in table order."""
    every = np.concatenate(at) if at else np.zeros(0, dtype=np.int64)
    province = np.empty(len(every), dtype=np.int64)
    province[np.argsort(every, kind="stable")] = np.arange(len(every))
    bounds = np.cumsum([0, *(len(a) for a in at)])
    return [province[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _grouped_report(col: _Collector, work: Dataset, linked: Dataset, as_of: pd.Timestamp | None, counts: pd.DataFrame,
                    firms: pd.DataFrame) -> ValidationReport:
    """The report of a dataset validated in groups: the tables validated here as
    :func:`zjfin.validate` reports them, the firms and statements from their groups' counts."""
    issues = _finish(col)
    masks = {t: col.rejected_rows(t) for t in work.tables_present()}
    statements = _empty_group("financials").tables["financials"].assign(firm_idx=np.zeros(0, dtype=np.int64))
    clean = {"firms": firms, "financials": statements,
             **{t: _usable(work[t], masks[t] | col.folded.get(t, False)) for t in work.tables_present()}}
    order = [t for t in input_tables() if t in clean]
    read = {t: int(counts.loc[t, "size"].sum()) if t in FIRM_TABLES else len(work[t]) for t in order}
    rejected = {t: int(counts.loc[t, "sum"].sum()) if t in FIRM_TABLES else int(masks[t].sum()) for t in order}
    rows = pd.DataFrame({"table": order, "file": [col.file(t) for t in order], "read": [read[t] for t in order],
                         "rejected": [rejected[t] for t in order]})
    rows["used"] = rows["read"] - rows["rejected"]
    lines = []
    for table in order:
        if table not in FIRM_TABLES:
            lines.append(_file_rows(work, rows[rows["table"] == table], masks))
            continue
        names = [p["path"] for p in work.sources[table].parts]
        mine = counts.loc[table].reindex(names, fill_value=0)
        lines.append(pd.DataFrame({"table": table, "file": names, "read": mine["size"].to_numpy(dtype=np.int64),
                                   "rejected": mine["sum"].to_numpy(dtype=np.int64)}).assign(
            used=lambda f: f["read"] - f["rejected"]))
    file_rows = pd.concat(lines, ignore_index=True)
    dataset = Dataset(clean, linked.sources, name=linked.name)
    dataset.planted = linked.planted
    firm_counts = {"read": read["firms"], "screened": len(firms), "not_screened": read["firms"] - len(firms)}
    return ValidationReport(dataset, issues, rows, firm_counts, as_of, masks, file_rows=file_rows)
