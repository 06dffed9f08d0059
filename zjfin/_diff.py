"""Compare the lists of two screenings: which firms entered a list, left one or moved.

Quarter to quarter, the lists (SPEC §4) change because firms' figures change, because
firms appear or disappear, or because the policy changed. :func:`diff_lists` lines two
screenings up by ``firm_id`` and keeps the firms whose list differs; ``zjfin diff`` is the
same on the command line.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text, as_text, index_in
from zjfin._errors import InputFileError, ParameterError
from zjfin._lists import LISTS
from zjfin._write import commit, read_parquet_columns, write_csv, write_parquet

if TYPE_CHECKING:  # pragma: no cover
    from zjfin._result import ScreeningResult

__all__ = ["CHANGES", "ListDiff", "diff_lists"]

#: The kinds of change, in the order of :attr:`ListDiff.changes`.
CHANGES = ("entered", "left", "moved")

#: What :func:`diff_lists` accepts for each side.
ScreeningLike = Union["ScreeningResult", pd.DataFrame, str, "os.PathLike[str]"]
#: Raises the error for a problem with one side, naming its file or argument.
Fail = Callable[[str], NoReturn]

_TEXT_COLUMNS = ("firm_id", "name", "region_code", "list")
_REQUIRED = ("firm_id", "list")
_ON = LISTS[:-1]  # the four lists proper; "none" is not a list
_NONE = LISTS.index("none")
_LIST_NAMES = pa.array(LISTS, type=pa.string())


class ListDiff:
    """The firms whose list changed between two screenings (from :func:`diff_lists`).

    Attributes
    ----------
    changes : DataFrame
        One row per firm whose list changed: ``firm_id``, ``name``, ``region_code``,
        ``list_old``, ``list_new``, ``priority_old``, ``priority_new`` and ``change``, one of

        - ``entered``: on no list before (``none``, or absent from the old screening) and
          on one now;
        - ``left``: on a list before and on none now (``none``, or absent from the new
          screening);
        - ``moved``: on a different list now.

        ``list_old`` / ``priority_old`` are missing for a firm absent from the old
        screening, ``list_new`` / ``priority_new`` for one absent from the new; ``name`` and
        ``region_code`` come from the new screening, or the old one for a firm that left
        it. Rows are ordered by ``change`` (entered, left, moved), ``list_new``, then
        ``list_old`` (each in the lists' order watch, relief, quality, sme_funding, none —
        an absent firm counting as none), ``region_code`` and ``firm_id``: the same input
        always gives the same rows in the same order, whatever the order of its rows.
    counts : DataFrame
        Firms per kind of change in long form, columns ``change``, ``list_old``,
        ``list_new``, ``firms``: four ``entered`` rows (``none`` → each list), four
        ``left`` rows (each list → ``none``) and twelve ``moved`` rows (every ordered pair
        of different lists), zeros included, so two diffs line up row by row. ``none``
        here includes firms absent from that screening. Ordered as ``changes``.
    before, after : Series
        Firms on each list (watch, relief, quality, sme_funding, none) in the old and the
        new screening.
    sources : tuple of str
        What the old and the new screening were read from.

    Examples
    --------
    >>> old = pd.DataFrame({"firm_id": ["A", "B", "C"], "list": ["none", "relief", "relief"]})
    >>> new = pd.DataFrame({"firm_id": ["A", "B", "C"], "list": ["relief", "watch", "relief"]})
    >>> d = diff_lists(old, new)
    >>> d
    <zjfin.ListDiff DataFrame → DataFrame: entered 1 (relief 1); left 0; moved 1 (relief→watch 1)>
    >>> d.summary().loc["relief"].tolist()
    [2, 1, 0, 0, 1, 2]
    """

    def __init__(self, changes: pd.DataFrame, before: pd.Series, after: pd.Series,
                 sources: tuple[str, str] = ("old", "new")) -> None:
        self.changes = changes
        self.before = before
        self.after = after
        self.sources = sources
        self.counts = _count(changes)

    def to_frame(self) -> pd.DataFrame:
        """The changes table (one row per firm whose list changed)."""
        return self.changes

    def summary(self) -> pd.DataFrame:
        """Flows per list: how each list got from its old size to its new one.

        Returns
        -------
        DataFrame
            Index ``list`` (watch, relief, quality, sme_funding, then ``total`` — the firms
            on any list); columns ``before``, ``entered``, ``left``, ``moved_in``,
            ``moved_out``, ``after``, with
            ``after = before + entered - left + moved_in - moved_out`` on every row.

        Examples
        --------
        >>> old = pd.DataFrame({"firm_id": ["A", "B"], "list": ["quality", "relief"]})
        >>> new = pd.DataFrame({"firm_id": ["B", "C"], "list": ["quality", "quality"]})
        >>> diff_lists(old, new).summary()
                     before  entered  left  moved_in  moved_out  after
        list
        watch             0        0     0         0          0      0
        relief            1        0     0         0          1      0
        quality           1        1     1         1          0      2
        sme_funding       0        0     0         0          0      0
        total             2        1     1         1          1      2
        """
        c = self.counts
        entered = c[c["change"] == "entered"].set_index("list_new")["firms"]
        left = c[c["change"] == "left"].set_index("list_old")["firms"]
        moved = c[c["change"] == "moved"]
        table = pd.DataFrame({
            "before": self.before.reindex(_ON).to_numpy(),
            "entered": entered.reindex(_ON).to_numpy(),
            "left": left.reindex(_ON).to_numpy(),
            "moved_in": moved.groupby("list_new")["firms"].sum().reindex(_ON).to_numpy(),
            "moved_out": moved.groupby("list_old")["firms"].sum().reindex(_ON).to_numpy(),
            "after": self.after.reindex(_ON).to_numpy(),
        }, index=pd.Index(_ON, name="list")).astype(np.int64)
        table.loc["total"] = table.sum()
        return table

    def headline(self) -> str:
        """The counts in one line, lists with no firm left out.

        Examples
        --------
        >>> old = pd.DataFrame({"firm_id": ["A", "B"], "list": ["none", "relief"]})
        >>> new = pd.DataFrame({"firm_id": ["A", "B"], "list": ["quality", "none"]})
        >>> diff_lists(old, new).headline()
        'entered 1 (quality 1); left 1 (relief 1); moved 0'
        """
        c = self.counts[self.counts["firms"] > 0]
        # The list a change is about: the one entered, the one left, or the pair.
        label = {
            "entered": c["list_new"],
            "left": c["list_old"],
            "moved": c["list_old"] + "→" + c["list_new"],
        }
        parts = []
        for change in CHANGES:
            rows = c["change"] == change
            total = int(c.loc[rows, "firms"].sum())
            detail = ", ".join(f"{k} {int(v):,}" for k, v in zip(label[change][rows], c.loc[rows, "firms"]))
            parts.append(f"{change} {total:,}" + (f" ({detail})" if detail else ""))
        return "; ".join(parts)

    def export(self, out: str | os.PathLike[str]) -> list[str]:
        """Write ``changes.csv`` and ``changes.parquet`` into ``out``, atomically.

        The CSV is for spreadsheets (UTF-8 with BOM, formulas escaped); the Parquet file
        keeps the values as they are. Returns the names written, relative to ``out``.
        """
        plan = {"changes.csv": (write_csv, self.changes), "changes.parquet": (write_parquet, self.changes)}
        return commit(Path(out), plan, None)

    def __repr__(self) -> str:
        return f"<zjfin.ListDiff {self.sources[0]} → {self.sources[1]}: {self.headline()}>"

    def _repr_html_(self) -> str:
        head = (f"<p><b>zjfin list changes</b> {self.sources[0]} → {self.sources[1]} — "
                f"{self.headline()}</p>")
        return head + self.summary().to_html()


def diff_lists(old: ScreeningLike, new: ScreeningLike) -> ListDiff:
    """The firms that entered a list, left one or moved between two screenings.

    Parameters
    ----------
    old, new : ScreeningResult, DataFrame, or path
        Each a :class:`~zjfin.ScreeningResult`, its screening table, a
        ``screening.parquet`` file, a ``screening`` folder of one file per county (a
        screening by county) or an output folder holding either. Columns ``firm_id``
        (unique) and ``list`` (watch, relief, quality, sme_funding or none) are required;
        ``name``, ``region_code`` and ``priority`` are carried along when present.

    Returns
    -------
    ListDiff
        ``changes`` (one row per firm whose list changed), ``counts``, ``summary()``,
        ``export(out)``.

    Raises
    ------
    InputFileError
        A file that is missing or not Parquet, a folder without ``screening.parquet``, or
        a screening file without ``firm_id`` or ``list``, with repeated firms or unknown
        lists; the message names the file.
    ParameterError
        The same problems in a table passed directly, or an argument of another kind.

    Examples
    --------
    A firm on the same list on both sides, or on none, is not a change; a firm present on
    one side only counts as on no list on the other.

    >>> old = pd.DataFrame({"firm_id": ["A", "B", "C", "D", "E"], "name": ["甲", "乙", "丙", "丁", "戊"],
    ...                     "list": ["none", "relief", "quality", "relief", "none"]})
    >>> new = pd.DataFrame({"firm_id": ["A", "B", "C", "E", "F"], "name": ["甲", "乙", "丙", "戊", "己"],
    ...                     "list": ["relief", "watch", "quality", "none", "sme_funding"]})
    >>> d = diff_lists(old, new)
    >>> d.changes[["firm_id", "name", "list_old", "list_new", "change"]]
      firm_id name list_old     list_new   change
    0       A    甲     none       relief  entered
    1       F    己      NaN  sme_funding  entered
    2       D    丁   relief          NaN     left
    3       B    乙   relief        watch    moved
    >>> d.counts[d.counts["firms"] > 0]
        change list_old     list_new  firms
    1  entered     none       relief      1
    3  entered     none  sme_funding      1
    5     left   relief         none      1
    8    moved   relief        watch      1
    """
    old_frame, old_source, old_fail = _screening(old, "old")
    new_frame, new_source, new_fail = _screening(new, "new")
    # One hash pass over both sides' ids gives the join and both uniqueness checks.
    codes, uniques = pd.factorize(pd.concat([old_frame["firm_id"], new_frame["firm_id"]], ignore_index=True))
    codes_old, codes_new = codes[:len(old_frame)], codes[len(old_frame):]
    _check_unique(codes_old, len(uniques), old_frame["firm_id"], old_fail)
    _check_unique(codes_new, len(uniques), new_frame["firm_id"], new_fail)
    row_in_new = np.full(len(uniques), -1, dtype=np.int64)
    row_in_new[codes_new] = np.arange(codes_new.size)
    in_new = row_in_new[codes_old]
    in_old = np.zeros(len(uniques), dtype=bool)
    in_old[codes_old] = True
    only_new = np.flatnonzero(~in_old[codes_new])
    # One entry per firm of either side: its row in old and in new (−1 where absent).
    pos_old = np.concatenate([np.arange(len(old_frame)), np.full(only_new.size, -1)])
    pos_new = np.concatenate([in_new, only_new])
    lists_old, lists_new = _list_codes(old_frame["list"]), _list_codes(new_frame["list"])
    code_old, code_new = _gather(lists_old, pos_old, _NONE), _gather(lists_new, pos_new, _NONE)
    on_old, on_new = code_old != _NONE, code_new != _NONE
    change = np.full(pos_old.size, -1, dtype=np.int8)
    change[~on_old & on_new] = CHANGES.index("entered")
    change[on_old & ~on_new] = CHANGES.index("left")
    change[on_old & on_new & (code_old != code_new)] = CHANGES.index("moved")
    keep = np.flatnonzero(change >= 0)
    pos_old, pos_new, change = pos_old[keep], pos_new[keep], change[keep]

    def both(column: str, rows_old: np.ndarray, rows_new: np.ndarray) -> pd.Series:
        # The new screening's value, else the old one's (a firm that left keeps its own).
        new_values = pd.Series(new_frame[column].array.take(rows_new, allow_fill=True))
        return new_values.fillna(pd.Series(old_frame[column].array.take(rows_old, allow_fill=True)))

    firm_id, region_code = both("firm_id", pos_old, pos_new), both("region_code", pos_old, pos_new)
    keys = pa.table({"change": change, "list_new": code_new[keep], "list_old": code_old[keep],
                     "region_code": arrow_text(region_code), "firm_id": arrow_text(firm_id)})
    # Arrow sorts nulls (a firm without a county) last.
    order = pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in keys.column_names]).to_numpy()
    pos_old, pos_new, change = pos_old[order], pos_new[order], change[order]
    index = pd.RangeIndex(order.size)
    changes = pd.DataFrame({
        "firm_id": as_text(firm_id.take(order), index=index),
        "name": as_text(both("name", pos_old, pos_new), index=index),
        "region_code": as_text(region_code.take(order), index=index),
        "list_old": as_text(old_frame["list"].array.take(pos_old, allow_fill=True), index=index),
        "list_new": as_text(new_frame["list"].array.take(pos_new, allow_fill=True), index=index),
        "priority_old": old_frame["priority"].array.take(pos_old, allow_fill=True),
        "priority_new": new_frame["priority"].array.take(pos_new, allow_fill=True),
        "change": as_text(pa.array(CHANGES, type=pa.string()).take(pa.array(change)), index=index),
    }, index=index)
    return ListDiff(changes, _sizes(lists_old), _sizes(lists_new), (old_source, new_source))


def _check_unique(codes: np.ndarray, n_ids: int, ids: pd.Series, fail: Fail) -> None:
    """Every row has a firm_id and no firm_id repeats (``codes`` from a factorize; −1 missing)."""
    seen = np.bincount(codes[codes >= 0], minlength=n_ids)
    bad = (codes < 0) | (seen[np.maximum(codes, 0)] > 1)
    if bad.any():
        fail(f"firm_id must be unique and present ({int(bad.sum()):,} rows share one or lack it, "
             f"first {ids[bad].iloc[0]!r})")


def _gather(values: np.ndarray, positions: np.ndarray, fill: int) -> np.ndarray:
    """``values[positions]`` with ``fill`` where the position is −1."""
    out = np.full(positions.size, fill, dtype=values.dtype)
    has = positions >= 0
    out[has] = values[positions[has]]
    return out


def _list_codes(values: Any) -> np.ndarray:
    """Position of each list name in LISTS; a firm absent from a side counts as on none."""
    codes = index_in(values, _LIST_NAMES)
    return np.where(codes < 0, _NONE, codes)


def _sizes(codes: np.ndarray) -> pd.Series:
    """Firms per list, in the order of LISTS, from the positions in LISTS."""
    counts = np.bincount(codes, minlength=len(LISTS))
    return pd.Series(counts.astype(np.int64), index=pd.Index(LISTS, name="list"), name="firms")


def _count(changes: pd.DataFrame) -> pd.DataFrame:
    """The long counts table: every (change, old list, new list) that can occur, zeros kept."""
    # Every combination once, in the order of the changes table (change, list_new, list_old).
    template = ([("entered", "none", new) for new in _ON] + [("left", old, "none") for old in _ON]
                + [("moved", old, new) for new, old in itertools.product(_ON, _ON) if old != new])
    counts = pd.DataFrame(template, columns=["change", "list_old", "list_new"])
    n = len(LISTS)

    def key(frame: pd.DataFrame) -> np.ndarray:
        # One number per (change, list_new, list_old): a bincount slot.
        change = index_in(frame["change"], pa.array(CHANGES, type=pa.string()))
        return (change * n + _list_codes(frame["list_new"])) * n + _list_codes(frame["list_old"])

    found = np.bincount(key(changes), minlength=len(CHANGES) * n * n)
    counts["firms"] = found[key(counts)].astype(np.int64)
    for name in ("change", "list_old", "list_new"):
        counts[name] = as_text(counts[name])
    return counts


def _screening(value: Any, side: str) -> tuple[pd.DataFrame, str, Fail]:
    """One side's needed columns (checked), where they came from, and how to report a
    problem found later (naming the file, or the argument)."""
    def fail_argument(problem: str) -> NoReturn:
        raise ParameterError(side, "a screening table with a unique firm_id per row and a valid list", problem)

    # A ScreeningResult, known by what it holds (importing it here would make the result, whose
    # bulletin reads the diff, and the diff import each other).
    if isinstance(getattr(value, "screening", None), pd.DataFrame) and hasattr(value, "as_of"):
        return _tidy(value.screening, fail_argument), f"screening as of {value.as_of.date()}", fail_argument
    if isinstance(value, pd.DataFrame):
        return _tidy(value, fail_argument), "DataFrame", fail_argument
    if isinstance(value, (str, os.PathLike)):
        frame, fail_file = _read(Path(value))
        return frame, str(value), fail_file
    raise ParameterError(side, "a ScreeningResult, a screening DataFrame, a screening.parquet or a folder holding one",
                         value)


def _read(path: Path) -> tuple[pd.DataFrame, Fail]:
    """Read only the needed columns of a screening.parquet, a screening written by county
    (a ``screening`` folder of Parquet files), or the one in an output folder."""
    if path.is_dir():
        file = next((f for f in (path / "screening.parquet", path / "screening") if f.exists()), path)
        # Else the folder itself is the screening's parts (not an output folder lacking it).
        if file == path and ((path / "manifest.json").exists() or not any(path.glob("*.parquet"))):
            raise InputFileError(path, "no screening.parquet in this folder, nor a screening folder (write one with "
                                       "`zjfin screen`)")
    elif path.exists():
        file = path
    else:
        raise InputFileError(path, "no such file or folder")

    def fail(problem: str) -> NoReturn:
        raise InputFileError(file, problem)

    try:
        # A folder of parts (one per county): read as one dataset, the parts' schemas alike.
        table, present = read_parquet_columns(file, (*_TEXT_COLUMNS, "priority"))
    except (OSError, pa.ArrowException) as exc:
        # Not Parquet, truncated, or no permission: the reason from Arrow, the file named.
        fail(f"cannot read as a Parquet screening ({exc})")
    missing = [c for c in _REQUIRED if c not in present]
    if missing:
        fail(f"missing required column(s): {', '.join(missing)}")
    columns = {name: as_text(table[name]) for name in _TEXT_COLUMNS if name in present}
    if "priority" in present:
        # Nullable integers straight from Arrow (no detour through float).
        columns["priority"] = table["priority"].to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return _tidy(pd.DataFrame(columns), fail), fail


def _tidy(frame: pd.DataFrame, fail: Fail) -> pd.DataFrame:
    """Exactly the columns firm_id, name, region_code, list (text) and priority (Int64);
    the lists checked (the firm_ids are checked with the join)."""
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        fail(f"missing required column(s): {', '.join(missing)}")
    n = len(frame)
    index = pd.RangeIndex(n)
    empty = np.full(n, None, dtype=object)
    out = pd.DataFrame({
        # Own RangeIndex, whatever the caller's index: rows are matched by firm_id only.
        name: as_text(frame[name] if name in frame.columns else empty, index=index)
        for name in _TEXT_COLUMNS
    }, index=index)
    try:
        out["priority"] = pd.array(frame["priority"] if "priority" in frame.columns else empty, dtype="Int64")
    except (TypeError, ValueError):
        fail("priority must be whole numbers")
    unknown = index_in(out["list"], _LIST_NAMES) < 0
    if unknown.any():
        shown = ", ".join(repr(v) for v in pd.unique(out["list"][unknown].astype(object))[:3])
        fail(f"list must be one of {', '.join(LISTS)}; found {shown} in {int(unknown.sum()):,} rows")
    return out
