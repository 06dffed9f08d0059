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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import as_text
from zjfin.errors import SchemaError

__all__ = ["reason_catalogue", "render_reasons", "format_values"]

_PLACEHOLDER = re.compile(r"\{(\w+):(\w+)\}")
# Separators between sentences: Chinese full-width semicolon, English semicolon.
_SEPARATOR = {"zh": "；", "en": "; "}


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
    x = np.asarray(values, dtype=float)
    if kind == "money":
        big = np.abs(x) >= (1e8 if lang == "zh" else 1e9)
        if lang == "zh":
            number = np.where(big, np.round(x / 1e8, 2), np.round(x / 1e4, 2))
            unit = pa.array(np.where(big, "亿元", "万元"))
            return pc.binary_join_element_wise(_text(number), unit, "")
        number = np.where(big, np.round(x / 1e9, 2), np.round(x / 1e6, 2))
        unit = pa.array(np.where(big, "bn", "m"))
        return pc.binary_join_element_wise(pa.array(np.full(len(x), "CNY ")), _text(number), unit, "")
    if kind == "pct":
        return pc.binary_join_element_wise(_text(np.round(x * 100, 1)), pa.array(np.full(len(x), "%")), "")
    if kind in ("ratio", "num"):
        return _text(np.round(x, 2))
    if kind == "int":
        return pa.array(np.round(np.nan_to_num(x)).astype(np.int64)).cast(pa.string())
    raise SchemaError(f"unknown placeholder format {kind!r} in reason_codes.json")


def _fill(template: str, values: pd.DataFrame, rows: np.ndarray, lang: str) -> pa.Array:
    """The template filled for the given rows."""
    pieces: list[pa.Array] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position: match.start()]
        if literal:
            pieces.append(pa.array(np.full(len(rows), literal)))
        column, kind = match.groups()
        if column not in values.columns:
            raise SchemaError(f"reason template names {column!r}, which the screening does not compute")
        pieces.append(pc.fill_null(format_values(values[column].to_numpy()[rows], kind, lang), "—"))
        position = match.end()
    if position < len(template):
        pieces.append(pa.array(np.full(len(rows), template[position:])))
    return pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]


def _join_present(parts: list[pa.Array], sep: str) -> pa.Array:
    """Join the non-null parts of each row with ``sep`` ("" where all are null).

    Pairwise with coalesce: Arrow's null_handling="skip" drops rows whose parts are all null.
    """
    joined = parts[0]
    for part in parts[1:]:
        joined = pc.coalesce(pc.binary_join_element_wise(joined, part, sep), joined, part)
    return pc.fill_null(joined, "")


def render_reasons(fired: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Codes and sentences for every firm.

    Parameters
    ----------
    fired : DataFrame of bool
        One column per reason code: where its rule fired.
    values : DataFrame
        The figures the templates name (same rows).

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
    unknown = set(fired.columns) - set(catalogue.index)
    if unknown:
        raise SchemaError(f"reason codes not in the catalogue: {sorted(unknown)}")
    n = len(fired)
    codes_parts, zh_parts, en_parts = [], [], []
    for code in [c for c in catalogue.index if c in fired.columns]:
        mask = fired[code].to_numpy(dtype=bool)
        if not mask.any():
            continue
        rows = np.flatnonzero(mask)
        entry = catalogue.loc[code]
        for parts, text in ((codes_parts, pa.array(np.full(len(rows), code))),
                            (zh_parts, _fill(entry["template_zh"], values, rows, "zh")),
                            (en_parts, _fill(entry["template_en"], values, rows, "en"))):
            parts.append(pc.replace_with_mask(pa.nulls(n, pa.string()), pa.array(mask), text))
    out = {}
    for name, parts, sep in (("reason_codes", codes_parts, ";"), ("reasons_zh", zh_parts, _SEPARATOR["zh"]),
                             ("reasons_en", en_parts, _SEPARATOR["en"])):
        joined = _join_present(parts, sep) if parts else pa.array(np.full(n, ""), type=pa.string())
        out[name] = as_text(joined, index=fired.index)
    return pd.DataFrame(out, index=fired.index)
