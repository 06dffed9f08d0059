"""The three lists (SPEC §4): every firm on exactly one of watch, relief, quality,
sme_funding or none, with a priority within its list and county.

Stage "lists" of the data flow, after every risk engine and the guarantee network. The
rules are masks over the screening columns; the precedence, thresholds and weights are in
``policy.lists``; the relief actions are a table (``data_schemas/policy/relief_actions.csv``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text, as_text, take_rows, text_from_codes
from zjfin._lanes import side_by_side
from zjfin._policy import Policy
from zjfin._schema import list_table, table_schema
from zjfin._reasons import join_labels
from zjfin.risks import RISK_LEVELS, EngineOutput, float_column

__all__ = ["LISTS", "LIST_FILES", "LIST_INPUTS", "assign_lists", "list_inputs", "list_rows", "relief_actions"]

#: The lists in the default precedence, then ``none`` (``data_schemas/reference/lists.csv``).
LISTS: tuple[str, ...] = tuple(list_table()["key"])
#: The lists that have files and sheets: every one but ``none``.
LIST_FILES: tuple[str, ...] = tuple(list_table().loc[list_table()["file"] != "", "key"])


#: The statement figures the lists read besides the engines' columns (quality score, the
#: priorities): kept for them when a batch screening releases the other statement columns.
STATEMENT_INPUTS = ("revenue", "net_profit", "total_assets", "total_liabilities", "taxes_paid", "rd_expense")
#: Every other screening column :func:`assign_lists` reads (the risk levels come from the
#: policy): what a partition of a screening by county is handed (a test records the reads).
LIST_INPUTS = (*STATEMENT_INPUTS, "region_code", "viable", "size_class", "z2_zone", "z2_score", "pd_12m",
               "revenue_growth", "mujun_score", "mujun_class", "specialised", "employees", "systemic_impact",
               "working_capital_need", "working_capital_estimated", "financing_demand", "loan_max_overdue_days")


def list_inputs(policy: Policy) -> tuple[str, ...]:
    """The columns :func:`assign_lists` reads under ``policy``: :data:`LIST_INPUTS` and the
    risk levels its precedence and relief triggers name."""
    risks = [*policy.lists.risks, *(t.partition(":")[0] for t in policy.lists.relief_triggers)]
    return tuple(dict.fromkeys((*LIST_INPUTS, *risks)))


@lru_cache(maxsize=None)
def relief_actions() -> pd.DataFrame:
    """Suggested relief actions and the reason codes that call for each, in the order they
    are suggested (``data_schemas/policy/relief_actions.csv``)."""
    path = resources.files("zjfin.data_schemas") / "policy" / "relief_actions.csv"
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def _is(values: Mapping[str, Any], name: str, n: int, wanted: list[str]) -> np.ndarray:
    """Text column ``name`` is one of ``wanted`` (missing: False)."""
    if name not in values:
        return np.zeros(n, dtype=bool)
    hit = pc.is_in(arrow_text(values[name]), value_set=pa.array(wanted, type=pa.string()))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def _flag(values: Mapping[str, Any], name: str, n: int, wanted: bool) -> np.ndarray:
    """Nullable boolean column equals ``wanted`` (missing: False)."""
    if name not in values:
        return np.zeros(n, dtype=bool)
    column = pd.array(values[name], dtype="boolean")
    return np.asarray(column.fillna(not wanted), dtype=bool) == wanted


def _level(values: Mapping[str, Any], name: str, n: int) -> np.ndarray:
    """Risk level as 0 … 3; a switched-off (null) risk counts as 0: no information."""
    if name not in values:
        return np.zeros(n, dtype=np.int8)
    index = pc.index_in(arrow_text(values[name]), value_set=pa.array(RISK_LEVELS, type=pa.string()))
    return np.asarray(pc.fill_null(index, 0).to_numpy(zero_copy_only=False), dtype=np.int8)


def _group_pct_rank(score: np.ndarray, groups: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Percentile rank (0 … 1, average ties, missing score lowest) of each member's score
    within its group; NaN outside ``members``."""
    out = np.full(len(score), np.nan)
    out[members] = _member_ranks(score, groups, members)
    return out


def _member_ranks(score: np.ndarray, groups: np.ndarray, members: np.ndarray) -> np.ndarray:
    """:func:`_group_pct_rank` of the members only (an array as long as they are many)."""
    if not members.any():
        return np.zeros(0)
    return _pct_rank_sorted(np.nan_to_num(score[members], nan=-np.inf), groups[members])


def _pct_rank_sorted(score: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """pandas' ``groupby(groups).rank(method="average", pct=True)`` by one sort: within a
    group of m, a run of tied scores at sorted positions i … j (from 0) ranks
    ((i + j) / 2 + 1) / m — the same float pandas computes, without a groupby."""
    k = len(score)
    # Scores sorted, then groups by a stable sort (radix on 16-bit codes): ties need no order.
    order = np.argsort(score)
    codes = groups[order]
    if len(codes) and codes.min() >= 0 and codes.max() < 2**16:
        codes = codes.astype(np.uint16)
    order = order[np.argsort(codes, kind="stable")]
    g, s = groups[order], score[order]
    position = np.arange(k)
    new_group = np.r_[True, g[1:] != g[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, position, 0))
    starts = np.flatnonzero(new_group)
    group_size = np.repeat(np.diff(np.r_[starts, k]), np.diff(np.r_[starts, k]))
    new_run = new_group | np.r_[True, s[1:] != s[:-1]]
    runs = np.flatnonzero(new_run)
    run_length = np.diff(np.r_[runs, k])
    run_first = np.repeat(runs, run_length)
    run_last = run_first + np.repeat(run_length, run_length) - 1
    ranked = np.empty(k)
    ranked[order] = ((run_first + run_last) / 2 - group_start + 1) / group_size
    return ranked


def assign_lists(values: Mapping[str, Any], fired: Mapping[str, Any], policy: Policy,
                 index: pd.Index, n_jobs: int | None = 1) -> EngineOutput:
    """Put every firm on one list and rank it (SPEC §4).

    Eligibility (each list on its own; the policy's ``precedence`` then keeps the first):

    - ``watch``: not viable, and a risk at ``high`` or a defaulted or extended bond (B1).
    - ``relief``: viable, and an acute trigger: a risk at or above the level
      ``relief_triggers`` names for it (default: bond, liquidity or pledge risk ``medium``,
      guarantee risk ``high``) or a defaulted or extended bond. A firm whose viability could
      not be judged at all (``viable`` null) and has a trigger goes here too, with
      ``verify`` true and reason K2: never silently to none.
    - ``quality``: viable, no risk above ``low``, Z'' zone ``safe`` (or ``pd_12m`` below
      ``quality_max_pd`` when a model filled it), revenue growth ≥ 0, net profit > 0, and
      one of: 亩均 class A; no 亩均 score and a financial quality score in the top
      ``quality_top_share`` of the county's firms without one; a specialised SME (专精特新).
    - ``sme_funding``: size class in ``sme_sizes``, viable, no risk above ``low``, revenue > 0,
      no overdue loan, and a working-capital need or a declared financing demand.

    A risk whose table was missing (null level) counts as giving no information, so it
    neither qualifies a firm for relief nor bars it from quality. A firm with a risk of
    ``medium`` or above that is on no list says why: K3 (viable or unknown, but no acute trigger —
    structural guarantee exposure alone is reported and ranked, not a rescue case) or K4
    (not viable, and no risk ``high``).

    **Priority** 1 … k within each list and county (1 = first), by a score in 0 … 1 —
    percentile ranks within the list and county, weights from the policy:

    - ``watch``: severity (sum of the risk levels), then total liabilities.
    - ``relief``: employees, taxes paid, systemic impact, severity (``relief_priority_weights``).
    - ``quality``: the 亩均 score, or the financial quality score without one.
    - ``sme_funding``: need relative to revenue and the Z'' score (``sme_priority_weights``).

    Ties keep the order of the firms file.

    Parameters
    ----------
    values : mapping of column name to array
        The firm frame and every engine's columns.
    fired : mapping of reason code to bool array
        Which reasons fired (B1 and the rest decide the relief actions).
    policy : Policy
        Section ``[lists]``.
    index : Index
    n_jobs : int, optional
        Threads for the percentile ranks (:func:`zjfin._lanes.side_by_side`; ``None``: the
        machine's cores, at most two). The result is the same with any.

    Returns
    -------
    EngineOutput
        ``columns``: ``list``, ``priority`` (nullable int; null on ``none``), ``verify``,
        ``list_score``, ``quality_score``, ``suggested_action`` and
        ``suggested_action_en`` (relief only). ``fired``: Q1–Q3 (quality routes), W1
        (working-capital need, sme_funding only), K1 (watch), K2 (relief, to verify), K3 and
        K4 (a medium or high risk and no list: why).

    Examples
    --------
    >>> v = {"viable": [True, False, True], "bond_risk": ["medium", "high", "none"], "liquidity_risk": ["none"] * 3,
    ...      "pledge_risk": ["none"] * 3, "guarantee_risk": ["none"] * 3, "size_class": ["small"] * 3,
    ...      "revenue": [1e7] * 3, "working_capital_need": [0.0, 0.0, 1e6], "region_code": ["330102"] * 3}
    >>> assign_lists(v, {}, Policy.default(), pd.RangeIndex(3)).columns["list"].tolist()
    ['relief', 'watch', 'sme_funding']
    """
    p = policy.lists  # checked when the policy was made
    n = len(index)
    levels = np.column_stack([_level(values, r, n) for r in p.risks]) if p.risks else np.zeros((n, 1), np.int8)
    top_level = levels.max(axis=1)
    severity = levels.sum(axis=1).astype(float)
    viable = _flag(values, "viable", n, True)
    not_viable = _flag(values, "viable", n, False)
    defaulted = np.asarray(fired["B1"], dtype=bool) if "B1" in fired else np.zeros(n, dtype=bool)

    county = arrow_text(values["region_code"]) if "region_code" in values else pa.nulls(n, pa.string())
    encoded = pc.dictionary_encode(county)
    encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
    county_code = encoded.indices.to_numpy(zero_copy_only=False)
    county_code = np.nan_to_num(np.asarray(county_code, dtype=float), nan=-1).astype(np.int64)

    revenue = float_column(values, "revenue", n)
    growth = float_column(values, "revenue_growth", n)
    profit = float_column(values, "net_profit", n)
    pd_12m = float_column(values, "pd_12m", n)
    mujun_score = float_column(values, "mujun_score", n)
    need = float_column(values, "working_capital_need", n)
    demand = float_column(values, "financing_demand", n)
    overdue = float_column(values, "loan_max_overdue_days", n)

    # Financial quality score of firms without a 亩均 score: return on assets, growth, R&D
    # share, taxes per employee, as percentile ranks within the county (missing lowest).
    without_land = np.isnan(mujun_score)
    assets = float_column(values, "total_assets", n)
    employees = float_column(values, "employees", n)
    taxes = float_column(values, "taxes_paid", n)
    with np.errstate(divide="ignore", invalid="ignore"):
        roa = profit / np.where(assets > 0, assets, np.nan)
        rd_share = float_column(values, "rd_expense", n) / np.where(revenue > 0, revenue, np.nan)
        tax_per_employee = taxes / np.where(employees > 0, employees, np.nan)
    indicators = (roa, growth, rd_share, tax_per_employee)
    weights = np.asarray(p.quality_score_weights, dtype=float)
    ranks = side_by_side(lambda x: _member_ranks(x, county_code, without_land), list(indicators), n_jobs)
    quality_score = np.full(n, np.nan)
    quality_score[without_land] = sum(w * r for w, r in zip(weights, ranks)) / weights.sum()
    quality_rank = _group_pct_rank(quality_score, county_code, without_land)

    # Viability unknown (no criterion could be judged): such a firm with an acute trigger goes
    # on the relief list marked for verification, never silently to none.
    unknown = ~viable & ~not_viable
    triggered = np.zeros(n, dtype=bool)
    for trigger in p.relief_triggers:
        risk, _, level = trigger.partition(":")
        triggered |= _level(values, risk, n) >= RISK_LEVELS.index(level)
    with np.errstate(invalid="ignore"):
        sound = viable & (top_level <= 1)
        safe = _is(values, "z2_zone", n, ["safe"]) | (pd_12m < p.quality_max_pd)
        profitable = (growth >= 0) & (profit > 0)
        mujun_a = _is(values, "mujun_class", n, ["A"])
        top_financial = without_land & (quality_rank > 1 - p.quality_top_share)
        specialised = _flag(values, "specialised", n, True)
        eligible = {
            "watch": not_viable & ((top_level == 3) | defaulted),
            "relief": (viable | unknown) & (triggered | defaulted),
            "quality": sound & safe & profitable & (mujun_a | top_financial | specialised),
            "sme_funding": (_is(values, "size_class", n, list(p.sme_sizes)) & sound & (revenue > 0)
                            & ~(overdue > 0) & ((need > 0) | (demand > 0))),
        }
    placed = np.zeros(n, dtype=bool)
    which = np.full(n, LISTS.index("none"), dtype=np.int8)
    for name in p.precedence:
        take = eligible[name] & ~placed
        which[take] = LISTS.index(name)
        placed |= take

    # Scores for the priority, as percentile ranks within list and county.
    group = which.astype(np.int64) * (int(county_code.max(initial=0)) + 2) + county_code + 1
    on = {name: which == LISTS.index(name) for name in LISTS[:-1]}
    score = np.full(n, np.nan)
    liabilities = float_column(values, "total_liabilities", n)
    relief_parts = (employees, taxes, np.nan_to_num(float_column(values, "systemic_impact", n)), severity)
    quality_basis = np.where(without_land, quality_score, mujun_score)
    with np.errstate(divide="ignore", invalid="ignore"):
        need_share = np.maximum(np.nan_to_num(need), np.nan_to_num(demand)) / np.where(revenue > 0, revenue, np.nan)
    # Every percentile rank within list and county, side by side: (list, its score's parts).
    parts = {"watch": (severity, liabilities), "relief": relief_parts, "quality": (quality_basis,),
             "sme_funding": (need_share, float_column(values, "z2_score", n))}
    ranked = side_by_side(lambda job: _member_ranks(job[1], group, on[job[0]]),
                          [(name, x) for name, xs in parts.items() for x in xs], n_jobs)
    weights_of = {"watch": np.array([0.5, 0.5]), "relief": np.asarray(p.relief_priority_weights, dtype=float),
                  "quality": np.array([1.0]), "sme_funding": np.asarray(p.sme_priority_weights, dtype=float)}
    for name, xs in parts.items():
        mine, ranked = ranked[:len(xs)], ranked[len(xs):]
        w = weights_of[name]
        score[on[name]] = sum(wk * r for wk, r in zip(w, mine)) / w.sum()
    # Priority: best score first within list and county; ties in file order (lexsort is
    # stable, and only listed firms are sorted).
    listed = which != LISTS.index("none")
    at = np.flatnonzero(listed)
    order = at[np.lexsort((-np.nan_to_num(score[at], nan=-1.0), group[at]))]
    sorted_group = group[order]
    start = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
    position = np.arange(order.size)
    rank = position - np.maximum.accumulate(np.where(start, position, 0)) + 1
    priority = np.zeros(n, dtype=np.int64)
    priority[order] = rank

    # Relief actions from the reasons that fired, in the table's order.
    actions = relief_actions()
    masks_zh, labels_zh, labels_en = [], [], []
    for row in actions.itertuples():
        codes = [c for c in row.codes.split(";") if c in fired]
        hit = np.zeros(n, dtype=bool)
        for code in codes:
            hit |= np.asarray(fired[code], dtype=bool)
        masks_zh.append(hit & on["relief"])
        labels_zh.append(row.action_zh)
        labels_en.append(row.action_en)
    action_zh = join_labels(masks_zh, labels_zh, "；", n)
    action_en = join_labels(masks_zh, labels_en, "; ", n)
    relief = pa.array(on["relief"])
    none_text = pa.scalar(None, pa.string())

    columns = pd.DataFrame({
        "list": text_from_codes(which, LISTS, index=index),
        "priority": pd.arrays.IntegerArray(priority, ~listed),
        "verify": listed & unknown,
        "list_score": score,
        "quality_score": np.where(without_land, quality_score, np.nan),
        "suggested_action": as_text(pc.if_else(relief, action_zh, none_text), index=index),
        "suggested_action_en": as_text(pc.if_else(relief, action_en, none_text), index=index),
    }, index=index, copy=False)
    # A medium or high risk and no list: say why (never silently none).
    at_risk_unlisted = (which == LISTS.index("none")) & (top_level >= 2)
    route_land = on["quality"] & mujun_a
    route_financial = on["quality"] & ~mujun_a & top_financial
    fired_out = pd.DataFrame({
        "K1": on["watch"],
        "K2": on["relief"] & unknown,
        "K3": at_risk_unlisted & ~not_viable,
        "K4": at_risk_unlisted & not_viable,
        "Q1": route_land,
        "Q2": route_financial,
        "Q3": on["quality"] & ~route_land & ~route_financial,
        "W1": on["sme_funding"],
        "W2": on["sme_funding"] & _flag(values, "working_capital_estimated", n, True),
    }, index=index, copy=False)
    return EngineOutput(columns, fired_out)


def list_rows(screening: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one list, a lender's view: the columns of ``data_schemas/lists.json``
    that the screening has, ordered by county (``region_code``) then ``priority``.

    Examples
    --------
    >>> s = pd.DataFrame({"firm_id": ["a", "b", "c", "d"], "region_code": ["330102", "330101", "330102", "330101"],
    ...                   "list": ["relief", "relief", "relief", "none"],
    ...                   "priority": pd.array([2, 1, 1, None], dtype="Int64"), "zombie": [False] * 4})
    >>> list_rows(s, "relief")
      firm_id region_code    list  priority
    0       b      330101  relief         1
    1       c      330102  relief         1
    2       a      330102  relief         2
    """
    columns = [c for c in table_schema("lists").names if c in screening.columns]
    at = np.flatnonzero(screening["list"].eq(name).to_numpy(dtype=bool, na_value=False))
    # Priority is unique within list and county; the stable sort keeps file order if it is not.
    keys = screening[["region_code", "priority"]].iloc[at].reset_index(drop=True)
    order = at[keys.sort_values(["region_code", "priority"], kind="stable", na_position="last").index.to_numpy()]
    # One take of the sorted rows: the list's columns are copied once, not filtered then sorted.
    return pd.DataFrame({name: take_rows(screening[name], order) for name in columns}, copy=False)
