"""亩均效益 (per-mu efficiency, Zhejiang's "亩均论英雄" evaluation), SPEC §3.7.

Industrial firms with land are scored on six indicators against the median of their peers
(same county and industry division, else the province's division, else the whole frame)
and classed A/B/C/D by rank within their county. Every number comes from the policy's
``[mujun]`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text, as_text, index_in, text_from_codes
from zjfin._errors import ParameterError
from zjfin._policy import Policy
from zjfin.risks import EngineOutput, float_column

__all__ = ["INDICATORS", "CLASSES", "ProvinceBenchmarks", "mujun", "mujun_province", "mujun_shares"]

#: The six indicators in the order of ``policy.mujun.weights``: name → (numerator, denominator).
INDICATORS = {
    "tax_per_mu": ("taxes_paid", "land_mu"),
    "value_added_per_mu": ("value_added", "land_mu"),
    "value_added_per_tce": ("value_added", "energy_tce"),
    "value_added_per_emission": ("value_added", "emissions_t"),
    "labour_productivity": ("value_added", "employees"),
    "rd_share": ("rd_expense", "revenue"),
}
#: Classes, best first.
CLASSES = ("A", "B", "C", "D")
# Scores are rounded to this many decimals (of a point) so that mathematically equal scores
# tie exactly whatever the money unit (float rounding differs in the last bit otherwise).
_SCORE_DECIMALS = 9
# Slack on the rank thresholds: a rank exactly on a class boundary keeps the better class.
_RANK_SLACK = 1e-9


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where an input is missing or the denominator ≤ 0."""
    ok = np.isfinite(numerator) & np.isfinite(denominator) & (denominator > 0)
    out = np.full(len(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=ok)
    return out


def _codes(text: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dense integer codes of Arrow text (−1 for missing) and the distinct values."""
    encoded = pc.dictionary_encode(text).combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary


@dataclass(frozen=True)
class ProvinceBenchmarks:
    """The province's figures the 亩均 benchmarks fall back on: per industry division and
    indicator, the median and the count of the firms in scope that have the indicator, and
    per indicator the median of every firm in scope (:func:`mujun_province`)."""

    divisions: pa.Array
    """The divisions (two digits of GB/T 4754) of the firms in scope."""
    median: np.ndarray
    """Indicators × divisions."""
    count: np.ndarray
    """Indicators × divisions."""
    overall: np.ndarray
    """Per indicator."""


def _in_scope(frame: pd.DataFrame, sections: list[str]) -> tuple[np.ndarray, pa.ChunkedArray, np.ndarray]:
    """The firms in scope (row positions), their industry codes, and their six indicators
    (indicators × firms, each indicator one contiguous row)."""
    # Land first (a cheap float test), so text work runs on the firms with land only.
    with_land = np.flatnonzero(float_column(frame, "land_mu") > 0)
    code = arrow_text(frame["industry_code"]).take(pa.array(with_land, type=pa.int64()))
    section = pc.utf8_slice_codeunits(code, 0, 1)
    industrial = index_in(section, pa.array(sections, type=pa.string())) >= 0
    rows = with_land[industrial]
    code = code.filter(pa.array(industrial))
    values = np.empty((len(INDICATORS), len(rows)))
    for j, (numerator, denominator) in enumerate(INDICATORS.values()):
        values[j] = _ratio(float_column(frame, numerator)[rows], float_column(frame, denominator)[rows])
    return rows, code, values


def _division(code: pa.ChunkedArray) -> pa.ChunkedArray:
    """The industry division (the two digits after the section letter; null when not two digits)."""
    text = pc.utf8_slice_codeunits(code, 1, 3)
    ok = pc.fill_null(pc.match_substring_regex(text, r"^\d\d$"), False)
    return pc.if_else(ok, text, pa.scalar(None, pa.string()))


def mujun_shares(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A partition's share of the province's 亩均 figures: for each of its firms in scope,
    the industry division and the six indicators. The shares of every partition,
    concatenated in any order, give :func:`mujun_province`.

    Examples
    --------
    >>> f = pd.DataFrame({"industry_code": ["C1711", "F5123"], "land_mu": [10.0, 5.0], "taxes_paid": [1e6, 1e6],
    ...                   "value_added": [1e7, 1e7], "energy_tce": [500.0] * 2, "emissions_t": [5.0] * 2,
    ...                   "employees": [100.0] * 2, "rd_expense": [1e6] * 2, "revenue": [5e7] * 2})
    >>> mujun_shares(f, Policy.default())[["division", "tax_per_mu"]].values.tolist()
    [['17', 100000.0]]
    """
    _, code, values = _in_scope(frame, _settings(policy)[4])
    return pd.DataFrame({"division": as_text(_division(code)), **{name: values[j] for j, name in enumerate(INDICATORS)}})


def mujun_province(shares: pd.DataFrame, policy: Policy) -> ProvinceBenchmarks:
    """The province's division and overall medians from the partitions' shares
    (:func:`mujun_shares`): what a 亩均 benchmark falls back on where a county's cell has
    fewer than ``min_peers`` firms with the indicator. Medians do not depend on the order
    of the shares, so the partitions may come in any order.

    Examples
    --------
    >>> shares = pd.DataFrame({"division": ["17", "17", "18"], **{name: [1.0, 3.0, 5.0] for name in INDICATORS}})
    >>> province = mujun_province(shares, Policy.default())
    >>> province.divisions.to_pylist(), province.median[0].tolist(), float(province.overall[0])
    (['17', '18'], [2.0, 5.0], 3.0)
    """
    division, divisions = _codes(arrow_text(shares["division"]))
    group, start = _division_groups(division, len(divisions))
    k = len(INDICATORS)
    median, count, overall = np.empty((k, len(divisions))), np.empty((k, len(divisions)), dtype=np.int64), np.empty(k)
    for j, name in enumerate(INDICATORS):
        values = shares[name].to_numpy(dtype=float)
        missing, order = _value_order(values)
        median[j], count[j], overall[j] = _province_medians(values, missing, order, group, len(divisions), start)
    by_code = np.argsort(np.asarray(divisions.to_pylist(), dtype=object))  # the same figures whatever the order
    return ProvinceBenchmarks(divisions.take(pa.array(by_code)), median[:, by_code], count[:, by_code], overall)


def _division_groups(division: np.ndarray, n_division: int) -> tuple[np.ndarray, np.ndarray]:
    """Each firm's division group (no division: group ``n_division``) and where each begins."""
    group = np.where(division >= 0, division, n_division).astype(np.int64)
    return _small(group, n_division), _starts(group, n_division)


def _value_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where an indicator is missing, and the rows in increasing value order (missing last)."""
    missing = np.isnan(values)
    # Missing as +inf for the sort: numpy's vectorised argsort leaves its fast path on NaN.
    return missing, np.argsort(np.where(missing, np.inf, values) if missing.any() else values)


def _province_medians(values: np.ndarray, missing: np.ndarray, order: np.ndarray, group: np.ndarray, n_division: int,
                      start: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """One indicator's division medians and counts, and its median over every firm (NaN
    unless positive: only a positive median serves)."""
    median, count = _group_medians(values, missing, order, group, n_division, start)
    valid = len(values) - int(missing.sum())
    whole = (values[order[(valid - 1) // 2]] + values[order[valid // 2]]) / 2.0 if valid else np.nan
    return median, count, whole if whole > 0 else np.nan


def _group_medians(values: np.ndarray, missing: np.ndarray, order: np.ndarray, group: np.ndarray, n_groups: int,
                   start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and count of the non-missing values of one indicator in each group.

    ``missing`` flags the rows without a value; ``order`` lists the rows in increasing
    value order, missing last; ``group`` is each
    row's group, 0 … n_groups − 1 (n_groups: rows in no group), and ``start`` where each
    group begins when rows are laid out by group. A stable sort by group of the rows in
    value order (a radix sort on small integers) lays each group's values out in order, so
    a median is two look-ups — no float sort per group and no groupby.
    """
    grouped = group[order]
    if grouped.dtype == np.int16:  # few groups: numpy's stable sort is a radix sort
        ranked = order[np.argsort(grouped, kind="stable")]
    else:  # many groups: sort (group, place in value order) as one integer
        shift = max(len(order).bit_length(), 1)
        ranked = order[np.sort((grouped.astype(np.int64) << shift) | np.arange(len(order), dtype=np.int64))
                       & ((1 << shift) - 1)]
    count = np.bincount(group[~missing] if missing.any() else group, minlength=n_groups + 1)[:n_groups]
    median = np.full(n_groups, np.nan)
    some = np.flatnonzero(count > 0)
    low = ranked[start[some] + (count[some] - 1) // 2]
    high = ranked[start[some] + count[some] // 2]
    median[some] = (values[low] + values[high]) / 2.0
    return median, count


def _small(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Group numbers 0 … n_groups as int16 when they fit (so the sorts by group are radix
    sorts), else as they are."""
    return group.astype(np.int16) if n_groups < np.iinfo(np.int16).max else group


def _starts(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Where each group 0 … n_groups begins when rows are laid out by group."""
    sizes = np.bincount(group, minlength=n_groups + 1)
    return np.cumsum(sizes) - sizes


def _benchmarks(values: np.ndarray, county: np.ndarray, division: np.ndarray, n_county: int, n_division: int,
                min_peers: int, province: ProvinceBenchmarks | None, at: np.ndarray | None) -> np.ndarray:
    """Each firm's benchmark of each indicator (indicators × firms): the median of its
    county × division, else of its division in the province, else of every firm in scope,
    each level only with ``min_peers`` values and a positive median. The province's
    figures come from ``province`` (``at``: each of the frame's divisions' place there),
    else from the frame itself, sorted once for both levels.

    Worked per group, then spread to the firms once: a firm's "cell" is its county ×
    division, else (county unknown) its division alone, else the single cell of firms
    with no division.
    """
    k, m = values.shape
    width = max(n_division, 1)
    known = (county >= 0) & (division >= 0)
    county_division = np.where(known, county * width + division, n_county * width).astype(np.int64)
    n_cells = n_county * width
    # Cells: county × division first, then the division-only cells, then "no division".
    cell = np.where(known, county_division, np.where(division >= 0, n_cells + division, n_cells + width))
    cell_division = np.r_[np.arange(n_cells) % width, np.arange(width)]
    local_start = _starts(county_division, n_cells)
    county_division = _small(county_division, n_cells)
    division_group, division_start = _division_groups(division, n_division)
    benchmark = np.empty((k, m))
    for j in range(k):
        missing, order = _value_order(values[j])
        local, local_count = _group_medians(values[j], missing, order, county_division, n_cells, local_start)
        if province is None:
            division_median, division_count, overall = _province_medians(values[j], missing, order, division_group,
                                                                         n_division, division_start)
        else:
            division_median, division_count, overall = province.median[j][at], province.count[j][at], province.overall[j]
        with np.errstate(invalid="ignore"):
            province_ok = (division_count >= min_peers) & (division_median > 0)
            local_ok = (local_count >= min_peers) & (local > 0)
        by_division = np.r_[np.where(province_ok, division_median, np.nan), np.full(width - n_division + 1, np.nan)]
        fallback = by_division[cell_division]
        fallback = np.where(np.isnan(fallback), overall, fallback)
        table = np.r_[np.where(local_ok, local, fallback[:n_cells]), fallback[n_cells:], overall]
        benchmark[j] = table[cell]
    return benchmark


def _county_classes(county: np.ndarray, score: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """Class index (0 = A … 3 = D) of each scored firm by its rank within its county.

    Rank r is the "min" rank (1 = best; equal scores share the best rank of their run), and
    a firm is in the first class whose cumulative share c satisfies r − ½ ≤ c · n, n the
    county's scored firms: the Hazen position (r − ½)/n, so class sizes are the cumulative
    shares times n rounded to the nearest firm.
    """
    m = len(score)
    # Best score first, then a stable sort by county (a radix sort on small integer codes).
    by_score = np.argsort(-score)
    small = np.int16 if county.max(initial=0) < np.iinfo(np.int16).max else np.int64
    order = by_score[np.argsort(county[by_score].astype(small), kind="stable")]
    sorted_county, sorted_score = county[order], score[order]
    position = np.arange(m)
    new_county = np.r_[True, sorted_county[1:] != sorted_county[:-1]]
    new_run = new_county | np.r_[True, sorted_score[1:] != sorted_score[:-1]]
    county_start = np.maximum.accumulate(np.where(new_county, position, 0))
    run_start = np.maximum.accumulate(np.where(new_run, position, 0))
    rank = (run_start - county_start + 1).astype(float)
    size = np.bincount(county, minlength=int(county.max()) + 1)[sorted_county].astype(float)
    klass = np.zeros(m, dtype=np.int8)
    for share in cumulative:  # three thresholds: beyond each, one class lower
        klass += (rank - 0.5 > share * size + _RANK_SLACK).astype(np.int8)
    out = np.empty(m, dtype=np.int8)
    out[order] = klass
    return out


def _settings(policy: Policy) -> tuple[np.ndarray, float, int, np.ndarray, list[str]]:
    """The section's values as arrays (the policy checked their ranges when it was made)."""
    p = policy.mujun
    weights = np.asarray(p.weights, dtype=float)
    return weights, float(p.cap), int(p.min_peers), np.cumsum(np.asarray(p.class_shares, dtype=float))[:-1], \
        [str(s) for s in p.industrial_sections]


def mujun(frame: pd.DataFrame, policy: Policy, province: ProvinceBenchmarks | None = None) -> EngineOutput:
    """亩均效益 score and class of industrial firms with land (SPEC §3.7).

    Firms in scope: industry section (first letter of ``industry_code``) among
    ``policy.mujun.industrial_sections`` and ``land_mu`` > 0. For them six indicators, each
    NaN when an input is missing or its denominator is ≤ 0:

    ==============================  ===============================
    ``tax_per_mu``                  taxes_paid / land_mu
    ``value_added_per_mu``          value_added / land_mu
    ``value_added_per_tce``         value_added / energy_tce
    ``value_added_per_emission``    value_added / emissions_t
    ``labour_productivity``         value_added / employees
    ``rd_share``                    rd_expense / revenue
    ==============================  ===============================

    **Benchmark** of an indicator for a firm: the median over the firms in scope of the
    same county (``region_code``) and industry division (the two digits after the section
    letter) when at least ``min_peers`` of them have the indicator; else the median of the
    division over the whole frame (the province) under the same ``min_peers`` rule; else the
    median of all firms in scope in the frame. Only a positive median serves (a level whose
    median is ≤ 0 falls through to the next one); with no positive benchmark at any level the
    indicator does not count for the firm. The firm itself is among its peers. The frame
    stands for the province unless ``province`` gives the province's figures: a partition
    of whole counties with them (:func:`mujun_shares` of every partition, reduced by
    :func:`mujun_province`) scores and classes its firms as the whole province would.

    **Score** (convention: *a firm exactly at every benchmark scores 100*)::

        mujun_score = 100 · Σ_k w_k · min(max(value_k / benchmark_k, 0), cap) / Σ_k w_k

    over the indicators k present (value and benchmark), so the weights are renormalised
    over them; it ranges from 0 to 100 · cap (300 by default), not 0–100. A negative ratio
    (negative value added) counts as 0. Scores are rounded to 1e-9 points, so equal scores
    tie exactly whatever the money unit.

    **Class** by rank within the county among its scored firms: with r the "min" rank
    (1 = best, equal scores share a rank and so a class) and n the county's scored firms, a
    firm is ``A`` when r − ½ ≤ s_A · n, else ``B`` when r − ½ ≤ (s_A + s_B) · n, else ``C``
    when r − ½ ≤ (s_A + s_B + s_C) · n, else ``D`` (s = ``class_shares``): class sizes are
    the cumulative shares times n rounded to the nearest firm (20 firms at 25/55/15/5 %:
    5 A, 11 B, 3 C, 1 D; a county's only scored firm is B).

    Parameters
    ----------
    frame : DataFrame
        The firm frame (:func:`zjfin._features.firm_frame`): ``region_code``,
        ``industry_code``, ``land_mu``, ``energy_tce``, ``emissions_t``, ``employees``,
        ``taxes_paid``, ``value_added``, ``rd_expense``, ``revenue`` (a missing column counts
        as all missing).
    policy : Policy
        Section ``[mujun]``: ``weights``, ``cap``, ``min_peers``, ``class_shares``,
        ``industrial_sections``.
    province : ProvinceBenchmarks, optional
        The province's division and overall medians (default: the frame's own).

    Returns
    -------
    EngineOutput
        ``columns``: the six indicators, ``mujun_score`` (float), ``mujun_class`` (text,
        NaN for unscored firms) and ``mujun_indicators`` (how many indicators entered the
        score; 0 when unscored). Firms out of scope have NaN indicators and score.
        ``fired``: no reason code (no columns), same index.

    Examples
    --------
    >>> import pandas as pd
    >>> from zjfin._policy import Policy
    >>> f = pd.DataFrame({"region_code": ["330102"] * 6, "industry_code": ["C1711"] * 5 + ["F5123"],
    ...                   "land_mu": [10.0] * 6, "taxes_paid": [1e6, 2e6, 3e6, 4e6, 5e6, 1e6],
    ...                   "value_added": [1e7] * 6, "energy_tce": [500.0] * 6, "emissions_t": [5.0] * 6,
    ...                   "employees": [100.0] * 6, "rd_expense": [1e6] * 6, "revenue": [5e7] * 6})
    >>> out = mujun(f, Policy.default()).columns
    >>> out["mujun_score"].tolist()  # 70 + 30 · tax / median tax
    [80.0, 90.0, 100.0, 110.0, 120.0, nan]
    >>> out["mujun_class"].tolist()
    ['C', 'B', 'B', 'B', 'A', nan]
    """
    weights, cap, min_peers, cumulative, sections = _settings(policy)
    n = len(frame)
    names = list(INDICATORS)
    rows, code, values = _in_scope(frame, sections)
    m = len(rows)

    # Peer groups: county × division, division, whole frame (the province's figures).
    take = pa.array(rows, type=pa.int64())
    county, _ = _codes(arrow_text(frame["region_code"]).take(take))
    division, divisions = _codes(_division(code))
    at = None
    if province is not None:  # else the frame is the province
        at = index_in(divisions, province.divisions)
        if (at < 0).any():
            lacking = divisions.filter(pa.array(at < 0)).to_pylist()
            raise ParameterError("province", "mujun_province() of shares that include this frame's",
                                 f"figures lacking its divisions {lacking[:10]}{' …' if len(lacking) > 10 else ''}")
    benchmark = (_benchmarks(values, county, division, int(county.max(initial=-1)) + 1, len(divisions), min_peers,
                             province, at) if m else np.empty((len(names), 0)))

    present = ~np.isnan(values) & ~np.isnan(benchmark)
    ratio = np.zeros_like(values)
    np.divide(values, benchmark, out=ratio, where=present)
    np.clip(ratio, 0.0, cap, out=ratio)
    # Weighted sums indicator by indicator, in a fixed order (the same sum whatever the unit).
    weight_present = np.zeros(m)
    weighted = np.zeros(m)
    for j, w in enumerate(weights):
        weight_present += w * present[j]
        weighted += w * ratio[j]  # ratio is 0 where the indicator is absent
    scored_part = weight_present > 0
    raw = np.full(m, np.nan)
    np.divide(100.0 * weighted, weight_present, out=raw, where=scored_part)
    score_rows = np.round(raw, _SCORE_DECIMALS)

    # Classes within the county, among the scored firms.
    klass = np.full(m, -1, dtype=np.int8)
    ranked = np.flatnonzero(scored_part)
    if len(ranked):
        county_ranked = county[ranked]
        # A missing county is a group of its own.
        county_ranked = np.where(county_ranked >= 0, county_ranked, county_ranked.max() + 1)
        klass[ranked] = _county_classes(county_ranked, score_rows[ranked], cumulative)

    columns = {}
    for j, name in enumerate(names):
        column = np.full(n, np.nan)
        column[rows] = values[j]
        columns[name] = column
    score = np.full(n, np.nan)
    score[rows] = score_rows
    columns["mujun_score"] = score
    class_index = np.full(n, -1, dtype=np.int8)
    class_index[rows] = klass
    columns["mujun_class"] = text_from_codes(class_index, CLASSES, index=frame.index)
    counted = np.zeros(n, dtype=np.int64)
    counted[rows] = np.where(scored_part, present.sum(axis=0), 0)
    columns["mujun_indicators"] = counted
    out = pd.DataFrame(columns, index=frame.index, copy=False)
    return EngineOutput(out, pd.DataFrame(index=frame.index))
