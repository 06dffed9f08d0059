"""Reason codes and sentences: why a firm carries each risk, with its own figures.

The catalogue (codes, levels, Chinese and English templates) is data:
``data_schemas/reason_codes.json``. Sentences are built column-wise with Arrow string
kernels — a template is filled for every firm where its rule fired at once, no Python loop
over firms.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text, as_text
from zjfin._errors import SchemaError
from zjfin._lanes import Lanes
from zjfin.risks import float_column

__all__ = ["reason_catalogue", "render_reasons", "format_values", "join_labels"]

_PLACEHOLDER = re.compile(r"\{(\w+):(\w+)\}")
# An optional clause: [text with {figures}], left out where a figure is missing.
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
# What a left-out first clause leaves at the start of a sentence.
_LEADING = "，、, "
# Separators between sentences: Chinese full-width semicolon, English semicolon.
_SEPARATOR = {"zh": "；", "en": "; "}
# Firms whose sentences are rendered at a time (a power of two, about 40 MB of text).
_BLOCK_FIRMS = 1 << 18


@lru_cache(maxsize=None)
def reason_catalogue() -> pd.DataFrame:
    """The reason-code catalogue, indexed by code, in catalogue order."""
    raw = json.loads((resources.files("zjfin.data_schemas") / "reason_codes.json").read_text(encoding="utf-8"))
    return pd.DataFrame(raw["codes"]).set_index("code", drop=False)


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.float64(), from_pandas=True).cast(pa.string())


def format_values(values: np.ndarray | pd.Series, kind: str, lang: str) -> pa.Array:
    """Format numbers for a sentence, vectorised.

    ``money`` is yuan shown as 亿元 (from 1亿) or 万元 in Chinese and CNY bn / m in English;
    ``pct`` a share as a percentage; ``ratio`` and ``num`` two decimals; ``int`` whole;
    ``text`` as is.

    Examples
    --------
    >>> format_values(np.array([3.2e8, 1.1e6]), "money", "zh").to_pylist()
    ['3.2亿元', '110万元']
    >>> format_values(np.array([0.123]), "pct", "en").to_pylist()
    ['12.3%']
    """
    if kind == "text":
        return pa.array(pd.Series(values, dtype=object).where(pd.notna(values), "—"), type=pa.string())
    parts = _figure_parts(np.asarray(values, dtype=float), kind, lang)
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "")


def _figure_parts(x: np.ndarray, kind: str, lang: str) -> list[Any]:
    """A figure as the pieces of its text (number, then unit or sign), for the template's
    join to put together: no separate join per figure."""
    if kind == "money":
        big = np.abs(x) >= (1e8 if lang == "zh" else 1e9)
        scale = np.where(big, 1e8 if lang == "zh" else 1e9, 1e4 if lang == "zh" else 1e6)
        number = _text(np.round(x / scale, 2))
        if lang == "zh":
            return [number, pc.if_else(pa.array(big), "亿元", "万元")]
        return [pa.scalar("CNY "), number, pc.if_else(pa.array(big), "bn", "m")]
    if kind == "pct":
        return [_text(np.round(x * 100, 1)), pa.scalar("%")]
    if kind in ("ratio", "num"):
        return [_text(np.round(x, 2))]
    if kind == "int":
        return [pa.array(np.round(np.nan_to_num(x)).astype(np.int64)).cast(pa.string())]
    raise SchemaError(f"unknown placeholder format {kind!r} in reason_codes.json")


def _pieces(template: str) -> list[tuple[str, str | None, str | None]]:
    """A template (or a clause of one) as (literal, column, format) pieces; column None for
    trailing text."""
    pieces, position = [], 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append((template[position: match.start()], *match.groups()))
        position = match.end()
    pieces.append((template[position:], None, None))
    return pieces


def _clauses(template: str) -> list[tuple[bool, list[tuple[str, str | None, str | None]]]]:
    """A template as clauses: (optional, pieces). A clause in square brackets is optional:
    it is left out for a firm where one of its figures is missing.

    Examples
    --------
    >>> [(optional, [p[1] for p in pieces]) for optional, pieces in _clauses("违约[，余额{a:money}]")]
    [(False, [None]), (True, ['a', None])]
    """
    clauses, position = [], 0
    for match in _OPTIONAL.finditer(template):
        if match.start() > position:
            clauses.append((False, _pieces(template[position: match.start()])))
        clauses.append((True, _pieces(match.group(1))))
        position = match.end()
    if position < len(template) or not clauses:
        clauses.append((False, _pieces(template[position:])))
    return clauses


def _figure(values: Mapping[str, Any], column: str, kind: str, lang: str, rows: np.ndarray,
            cache: dict[tuple[str, str, str], tuple[list[Any], Any]]) -> tuple[list[Any], Any]:
    """One placeholder's figures for ``rows``, as text pieces, and where the figure is
    missing (None: nowhere). Money depends on the language, the other formats do not, so
    those are formatted once for both sentences."""
    if kind == "text" and f"{column}_{lang}" in values:  # a text in each language
        column = f"{column}_{lang}"
    key = (column, kind, lang if kind == "money" else "")
    if key not in cache:
        if column not in values:
            raise SchemaError(f"reason template names {column!r}, which the screening does not compute")
        if kind == "text":  # taken in Arrow: no Python string per firm
            parts = [arrow_text(values[column]).take(pa.array(rows)).combine_chunks()]
        else:  # nullable integers and floats: missing as NaN
            parts = _figure_parts(float_column(values, column)[rows], kind, lang)
        # A missing figure reads "—" (outside an optional clause), its unit and sign dropped.
        number = next(part for part in parts if isinstance(part, pa.Array))
        missing = None
        if number.null_count:
            missing = number.is_null()
            parts = [pc.fill_null(part, "—") if part is number else pc.if_else(missing, "", part) for part in parts]
        cache[key] = parts, missing
    return cache[key]


def _fill(clauses: list[tuple[bool, list[tuple[str, str | None, str | None]]]], values: Mapping[str, Any],
          rows: np.ndarray, lang: str, cache: dict[tuple[str, str, str], tuple[list[Any], Any]]) -> pa.Array:
    """The template filled for the given rows: optional clauses left out where a figure of
    theirs is missing, and a sentence never starts with the separator of a clause left out."""
    texts: list[Any] = []
    dropped_any = False
    for optional, pieces in clauses:
        parts: list[Any] = []
        missing = None
        for literal, column, kind in pieces:
            if literal:
                parts.append(pa.scalar(literal))  # broadcast by the join kernel
            if column is not None:
                figure, lacking = _figure(values, column, kind, lang, rows, cache)
                parts.extend(figure)
                if lacking is not None:
                    missing = lacking if missing is None else pc.or_(missing, lacking)
        if not any(isinstance(p, pa.Array) for p in parts):  # a clause with no figures
            text: Any = pa.scalar(pieces[0][0])
        else:
            text = pc.binary_join_element_wise(*parts, "")
        if optional and missing is not None:
            text = pc.if_else(missing, "", text)
            dropped_any = True
        texts.append(text)
    if not any(isinstance(t, pa.Array) for t in texts):  # a sentence with no figures
        return repeated("".join(t.as_py() for t in texts), len(rows))
    sentence = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "")
    return pc.utf8_ltrim(sentence, _LEADING) if dropped_any else sentence


def render_reasons(fired: pd.DataFrame | Mapping[str, Any], values: pd.DataFrame | Mapping[str, Any],
                   index: pd.Index | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Codes and sentences for every firm.

    Parameters
    ----------
    fired : DataFrame of bool, or mapping of code to a boolean array
        One column per reason code: where its rule fired.
    values : DataFrame, or mapping of column name to an array
        The figures the templates name (same rows).
    index : Index, optional
        Index of the result (default: ``fired``'s index, or a range).
    n_jobs : int
        With 2 or more, the English sentences are rendered on a second thread while the
        Chinese ones are (Arrow's kernels release the GIL); the result is the same.

    Returns
    -------
    DataFrame with ``reason_codes`` (codes joined by ``;``), ``reasons_zh`` (joined by
    ``；``) and ``reasons_en`` (joined by ``; ``), in catalogue order; empty strings for a
    firm with no reason.

    Examples
    --------
    >>> fired = pd.DataFrame({"B5": [True, False], "V2": [True, False]})
    >>> values = pd.DataFrame({"rating": ["A+", "AA"]})
    >>> render_reasons(fired, values).iloc[0].tolist()
    ['V2;B5', '列入淘汰落后产能名单；主体评级A+低于AA-', 'on the backward-capacity elimination list; issuer rating A+ is below AA-']
    """
    catalogue = reason_catalogue()
    unknown = set(fired) - set(catalogue.index)
    if unknown:
        raise SchemaError(f"reason codes not in the catalogue: {sorted(unknown)}")
    if index is None:
        index = fired.index if isinstance(fired, pd.DataFrame) else pd.RangeIndex(len(next(iter(fired.values()), [])))
    n = len(index)
    # Only the fired (firm, code) pairs are rendered; then each firm's sentences are
    # gathered in catalogue order and joined by one Arrow kernel over a list array.
    codes = [c for c in catalogue.index if c in fired]
    selected: list[tuple[int, str, np.ndarray]] = []
    for number, code in enumerate(codes):
        column = fired[code]
        rows = np.flatnonzero(column.to_numpy(dtype=bool) if hasattr(column, "to_numpy") else np.asarray(column, bool))
        if len(rows):
            selected.append((number, code, rows))
    code_names = pa.array(codes, type=pa.string())
    # The numeric figures as float once (nullable integers would be converted in every block).
    figures = {column for _, code, _ in selected for lang in ("zh", "en")
               for _, pieces in _template_pieces(code, lang) for _, column, kind in pieces if column and kind != "text"}
    values = {**{name: values[name] for name in _names(values)},
              **{name: float_column(values, name) for name in figures if name in values}}

    def block(start: int, stop: int, langs: tuple[str, ...]) -> dict[str, pa.Array]:
        """The firms start … stop-1: their sentences in each language (and, with Chinese,
        their codes). Non-money figures are formatted once for every language asked."""
        here = [(number, code, rows[np.searchsorted(rows, start): np.searchsorted(rows, stop)])
                for number, code, rows in selected]
        here = [(number, code, rows) for number, code, rows in here if len(rows)]
        layout = _RowLayout([rows - start for _, _, rows in here], stop - start)
        caches: dict[str, dict] = {}
        out = {lang: layout.join([_fill(_template_pieces(code, lang), values, rows, lang, caches.setdefault(code, {}))
                                  for _, code, rows in here], _SEPARATOR[lang]) for lang in langs}
        if "zh" in langs:
            numbers = np.repeat(np.array([number for number, _, _ in here], dtype=np.int32),
                                [len(rows) for _, _, rows in here])
            out["codes"] = layout.join([code_names.take(pa.array(numbers))] if here else [], ";")
        return out

    # Rendered _BLOCK_FIRMS firms at a time, so the intermediate texts (a few times the
    # sentences' size) stay bounded; the English ones on the second lane beside the Chinese.
    starts = range(0, n, _BLOCK_FIRMS) if n else [0]
    with Lanes(n_jobs if selected else 1) as lanes:
        apart = lanes.n_jobs > 1
        for start in starts:
            stop = min(start + _BLOCK_FIRMS, n)
            if apart:
                lanes.task(f"en {start}", block, lane=1, start=start, stop=stop, langs=("en",))
            lanes.task(f"zh {start}", block, start=start, stop=stop, langs=("zh", "en") if not apart else ("zh",))
        chunks = [lanes[f"zh {start}"] | (lanes[f"en {start}"] if apart else {}) for start in starts]
    out = {column: as_text(pa.chunked_array([chunk[key] for chunk in chunks], pa.string()), index=index)
           for column, key in (("reason_codes", "codes"), ("reasons_zh", "zh"), ("reasons_en", "en"))}
    return pd.DataFrame(out, index=index)


def _names(values: pd.DataFrame | Mapping[str, Any]) -> list[str]:
    return list(values.columns if isinstance(values, pd.DataFrame) else values)


def repeated(text: str, n: int) -> pa.Array:
    """``n`` copies of one text as one Arrow array (``pa.array`` of a NumPy text array comes
    back chunked past about 150,000 long strings, which ``concat_arrays`` refuses).

    Examples
    --------
    >>> repeated("未列入名单", 3).to_pylist()
    ['未列入名单', '未列入名单', '未列入名单']
    """
    return pa.repeat(pa.scalar(text, pa.string()), n)


class _RowLayout:
    """Where each rendered text goes: the parts name rows (each part's rows increasing), and
    a row's texts are joined in part order. One placement of the row numbers serves every
    column joined this way."""

    def __init__(self, rows_parts: list[np.ndarray], n: int) -> None:
        self.n = n
        if rows_parts:
            per_row = np.bincount(np.concatenate(rows_parts), minlength=n)
            start = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(per_row, out=start[1:])
            self.offsets = pa.array(start.astype(np.int32))
            # A counting sort: each part's texts go to their row's next free place, so the
            # texts end up by row and, within a row, in part order (no comparison sort).
            destination = np.empty(int(start[-1]), dtype=np.int64)
            next_free = start[:-1].copy()
            placed = 0
            for rows in rows_parts:  # one step per part (reason code), not per firm
                destination[placed: placed + len(rows)] = next_free[rows]
                next_free[rows] += 1  # a part names each row at most once
                placed += len(rows)
            order = np.empty_like(destination)
            order[destination] = np.arange(len(destination))
            self.order = pa.array(order)

    def join(self, text_parts: list[pa.Array], sep: str) -> pa.Array:
        """Per row, the texts of the parts that name it, joined by ``sep`` ("" for none)."""
        if not text_parts:
            return repeated("", self.n)
        # A part may come chunked (a text column of the screening): one buffer each.
        parts = [a.cast(pa.string()) for a in text_parts]
        parts = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in parts]
        texts = pa.concat_arrays(parts).take(self.order)
        return pc.binary_join(pa.ListArray.from_arrays(self.offsets, texts), sep)


def join_labels(masks: list[np.ndarray], labels: list[str], sep: str, n: int) -> pa.Array:
    """Per row, the labels whose mask holds there, joined by ``sep`` in the given order.

    Examples
    --------
    >>> join_labels([np.array([True, False]), np.array([True, True])], ["展期", "担保增信"], "；", 2).to_pylist()
    ['展期；担保增信', '担保增信']
    """
    rows_parts, text_parts = [], []
    for mask, label in zip(masks, labels):
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        if rows.size:
            rows_parts.append(rows)
            text_parts.append(repeated(label, rows.size))
    return _RowLayout(rows_parts, n).join(text_parts, sep)


@lru_cache(maxsize=None)
def template_columns() -> frozenset[str]:
    """Every column a reason template names (a text figure in both languages as well:
    ``<name>_zh`` and ``<name>_en``)."""
    names = {match.group(1) for lang in ("zh", "en") for template in reason_catalogue()[f"template_{lang}"]
             for match in _PLACEHOLDER.finditer(template)}
    return frozenset(names | {f"{name}_{lang}" for name in names for lang in ("zh", "en")})


@lru_cache(maxsize=None)
def _template_pieces(code: str, lang: str) -> list[tuple[bool, list[tuple[str, str | None, str | None]]]]:
    return _clauses(reason_catalogue().loc[code, f"template_{lang}"])
