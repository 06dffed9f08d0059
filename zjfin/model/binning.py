"""Monotone binning and weight of evidence (WOE) for one feature.

A numeric feature is cut at quantiles into fine bins, then adjacent bins are pooled
until the default rate follows the feature's trend (ascending, descending, or a single
peak or valley), by weighted pool-adjacent-violators; bins smaller than the minimum
share are merged into their closest neighbour. Missing values and the special values
the user names get bins of their own: their weight of evidence is never a silent 0.

Weight of evidence of a bin (Siddiqi's convention: positive is safer than average)::

    woe = ln( (non_events + ½) / all_non_events ) − ln( (events + ½) / all_events )

the half counts keep a bin with no events (or no non-events) finite. Information value
is ``IV = Σ (non_event_share − event_share) · woe``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FeatureBinning", "TRENDS", "bin_feature", "pava"]

#: Trends of the default rate as the feature rises; ``auto`` picks the best by IV.
TRENDS = ("ascending", "descending", "peak", "valley")
# Half an observation added to each bin's counts keeps every WOE finite.
_SMOOTHING = 0.5
# The first entry of the pooled rare categories (brackets: no real category is taken for it).
MISSING, SPECIAL, OTHER = "missing", "special", "(other)"


@dataclass
class FeatureBinning:
    """The fitted bins of one feature.

    Numeric bins are ``[cuts[i-1], cuts[i])``, the first open below and the last open
    above; categorical bins list their categories. Two more bins follow the regular ones:
    missing values, then special values. ``woe`` and the counts have one entry per bin,
    regular bins first.
    """

    name: str
    kind: str  # numeric | categorical
    trend: str  # ascending | descending | peak | valley | none
    cuts: np.ndarray = field(default_factory=lambda: np.empty(0))
    categories: list[list[Any]] = field(default_factory=list)
    special_values: list[float] = field(default_factory=list)
    events: np.ndarray = field(default_factory=lambda: np.empty(0))
    non_events: np.ndarray = field(default_factory=lambda: np.empty(0))
    woe: np.ndarray = field(default_factory=lambda: np.empty(0))
    # How the missing / special bins got their WOE: "data" or "riskiest (unseen in training)".
    missing_source: str = "data"
    special_source: str = "data"

    @property
    def n_regular(self) -> int:
        return len(self.cuts) + 1 if self.kind == "numeric" else len(self.categories)

    @property
    def iv(self) -> float:
        """Information value over all bins."""
        return float(np.sum(self._iv_terms()))

    def _iv_terms(self) -> np.ndarray:
        events, non_events = self.events.sum(), self.non_events.sum()
        return (self.non_events / max(non_events, 1) - self.events / max(events, 1)) * self.woe

    def codes(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Bin number of each value: 0 … n_regular−1, then missing, then special."""
        missing_bin, special_bin = self.n_regular, self.n_regular + 1
        if self.kind == "numeric":
            x = np.asarray(values, dtype=float)
            codes = np.searchsorted(self.cuts, x, side="right")
            codes[np.isnan(x)] = missing_bin
            if self.special_values:
                codes[np.isin(x, self.special_values)] = special_bin
            return codes
        series = pd.Series(values, copy=False)
        lookup = {category: i for i, group in enumerate(self.categories) for category in group}
        other = lookup.get(OTHER, -1)
        codes = series.map(lookup).to_numpy(dtype=float, na_value=np.nan, copy=True)
        special = series.isin(self.special_values).to_numpy() if self.special_values else np.zeros(len(codes), bool)
        # A category unseen in training goes to the pooled rare categories, else the riskiest bin.
        unseen = np.isnan(codes) & series.notna().to_numpy() & ~special
        codes[unseen] = other if other >= 0 else self.riskiest_bin()
        codes[special] = special_bin
        codes[series.isna().to_numpy()] = missing_bin
        return codes.astype(np.int64)

    def riskiest_bin(self) -> int:
        """The regular bin with the lowest WOE (highest default rate)."""
        return int(np.argmin(self.woe[: self.n_regular]))

    def transform(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """WOE of each value."""
        return self.woe[self.codes(values)]

    def labels(self) -> list[str]:
        """A readable label per bin, regular bins first."""
        if self.kind == "numeric":
            edges = np.r_[-np.inf, self.cuts, np.inf]
            regular = [f"[{_number(lo)}, {_number(hi)})" for lo, hi in zip(edges[:-1], edges[1:])]
        else:
            regular = [", ".join(map(str, group)) for group in self.categories]
        shown = map(_number if self.kind == "numeric" else str, self.special_values)
        special = "special: " + ", ".join(shown) if self.special_values else SPECIAL
        return regular + [MISSING, special]

    def table(self) -> pd.DataFrame:
        """The binning table: counts, default rate, WOE and IV per bin."""
        count = self.events + self.non_events
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(count > 0, self.events / np.where(count > 0, count, 1), np.nan)
        source = ["data"] * self.n_regular + [self.missing_source, self.special_source]
        return pd.DataFrame({
            "feature": self.name, "bin": self.labels(), "count": count.astype(np.int64),
            "share": count / max(count.sum(), 1), "events": self.events.astype(np.int64),
            "non_events": self.non_events.astype(np.int64), "event_rate": rate,
            "woe": self.woe, "iv": self._iv_terms(), "woe_from": source,
        })

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "trend": self.trend,
            "cuts": [float(c) for c in self.cuts], "categories": [list(map(_plain, g)) for g in self.categories],
            "special_values": [float(v) if self.kind == "numeric" else _plain(v) for v in self.special_values],
            "events": [float(v) for v in self.events], "non_events": [float(v) for v in self.non_events],
            "woe": [float(v) for v in self.woe],
            "missing_source": self.missing_source, "special_source": self.special_source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureBinning":
        arrays = {k: np.asarray(data[k], dtype=float) for k in ("cuts", "events", "non_events", "woe")}
        return cls(name=data["name"], kind=data["kind"], trend=data["trend"], categories=data["categories"],
                   special_values=list(data["special_values"]), missing_source=data["missing_source"],
                   special_source=data["special_source"], **arrays)


def _plain(value: Any) -> Any:
    """A category as a JSON value (numpy scalars become Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _number(value: float) -> str:
    return "-inf" if value == -np.inf else "inf" if value == np.inf else f"{value:.6g}"


def pava(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators).

    Loops over bins, never over rows: a feature has at most a few dozen fine bins.

    Examples
    --------
    >>> pava(np.array([1.0, 3.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0, 1.0])).tolist()
    [1.0, 2.5, 2.5, 4.0]
    """
    means: list[float] = []
    sizes: list[float] = []
    lengths: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist()):
        means.append(value), sizes.append(weight), lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            total = sizes[-2] + sizes[-1]
            merged = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / total if total > 0 else means[-1]
            length = lengths[-2] + lengths[-1]
            del means[-1], sizes[-1], lengths[-1]
            means[-1], sizes[-1], lengths[-1] = merged, total, length
    return np.repeat(means, lengths)


def _fit_trend(rate: np.ndarray, weight: np.ndarray, trend: str) -> np.ndarray:
    """Fitted default rates following ``trend`` (weighted least squares)."""
    if trend == "ascending":
        return pava(rate, weight)
    if trend == "descending":
        return -pava(-rate, weight)
    # Peak (valley): ascending (descending) up to a turning bin, then the other way;
    # every turning bin is tried and the closest fit kept.
    sign = 1.0 if trend == "peak" else -1.0
    best, best_error = None, np.inf
    for turn in range(1, len(rate)):
        fitted = np.r_[sign * pava(sign * rate[:turn], weight[:turn]),
                       -sign * pava(-sign * rate[turn:], weight[turn:])]
        error = float(np.sum(weight * (rate - fitted) ** 2))
        if error < best_error - 1e-15:
            best, best_error = fitted, error
    return best if best is not None else np.full_like(rate, np.average(rate, weights=weight))


def _woe(events: np.ndarray, non_events: np.ndarray, all_events: float, all_non_events: float) -> np.ndarray:
    return (np.log((non_events + _SMOOTHING) / max(all_non_events, 1.0))
            - np.log((events + _SMOOTHING) / max(all_events, 1.0)))


def _iv(events: np.ndarray, non_events: np.ndarray) -> float:
    all_events, all_non_events = events.sum(), non_events.sum()
    woe = _woe(events, non_events, all_events, all_non_events)
    return float(np.sum((non_events / max(all_non_events, 1) - events / max(all_events, 1)) * woe))


def _merge_small(groups: list[np.ndarray], events: np.ndarray, totals: np.ndarray, min_count: float) -> list[np.ndarray]:
    """Merge the smallest group into the neighbour with the closer default rate until every
    group has at least ``min_count`` rows; adjacent merges keep a monotone or unimodal
    sequence so."""
    groups = list(groups)
    while len(groups) > 1:
        sizes = np.array([totals[g].sum() for g in groups])
        smallest = int(np.argmin(sizes))
        if sizes[smallest] >= min_count:
            break
        rate = np.array([events[g].sum() / max(totals[g].sum(), 1) for g in groups])
        neighbours = [i for i in (smallest - 1, smallest + 1) if 0 <= i < len(groups)]
        partner = min(neighbours, key=lambda i: (abs(rate[i] - rate[smallest]), sizes[i]))
        low, high = sorted((smallest, partner))
        groups[low:high + 1] = [np.r_[groups[low], groups[high]]]
    return groups


def _prebin_cuts(x: np.ndarray, max_prebins: int) -> np.ndarray:
    """Cut points at quantiles, placed midway between neighbouring distinct values."""
    distinct = np.unique(x)
    if len(distinct) <= 1:
        return np.empty(0)
    quantiles = np.quantile(x, np.linspace(0, 1, max_prebins + 1)[1:-1])
    # The first distinct value above each quantile starts a new bin.
    upper = np.unique(np.clip(np.searchsorted(distinct, quantiles, side="right"), 1, len(distinct) - 1))
    return (distinct[upper - 1] + distinct[upper]) / 2


def bin_feature(
    values: pd.Series | np.ndarray,
    y: np.ndarray,
    name: str,
    kind: str = "numeric",
    trend: str = "auto",
    max_prebins: int = 20,
    min_bin_share: float = 0.05,
    special_values: Sequence[float] = (),
    max_pvalue: float | None = None,
) -> FeatureBinning:
    """Bin one feature against a 0/1 target.

    Parameters
    ----------
    values : array-like
        The feature; NaN (numeric) or None/NaN (categorical) is missing.
    y : ndarray of 0/1
        1 is the event (default).
    name : str
    kind : {"numeric", "categorical"}
    trend : {"auto", "auto_monotone", "ascending", "descending", "peak", "valley"}
        Shape of the default rate as the feature rises. ``auto`` tries all four and keeps
        the highest IV, a peak or valley only when it adds at least 10 % IV over the best
        monotone shape; ``auto_monotone`` tries ascending and descending only.
    max_prebins : int
        Fine bins before pooling.
    min_bin_share : float
        Smallest share of the non-missing, non-special rows a bin may hold.
    special_values : sequence
        Values binned on their own (codes such as −999 for "not applicable"; for a
        categorical feature, categories such as "N/A").
    max_pvalue : float, optional
        Then merge neighbouring numeric bins whose default rates do not differ at this
        significance level (Pearson χ², one degree of freedom).

    Examples
    --------
    >>> x = np.arange(100.0)
    >>> y = (x > 70).astype(int)
    >>> b = bin_feature(x, y, "x", trend="ascending")
    >>> b.trend, bool(np.all(np.diff(b.woe[: b.n_regular]) <= 0))
    ('ascending', True)
    """
    y = np.asarray(y, dtype=float)
    all_events, all_non_events = float(y.sum()), float(len(y) - y.sum())
    if kind == "numeric":
        x = np.asarray(values, dtype=float)
        missing = np.isnan(x)
        special = np.isin(x, list(special_values)) & ~missing if len(special_values) else np.zeros(len(x), dtype=bool)
        regular = ~missing & ~special
        cuts = _prebin_cuts(x[regular], max_prebins)
        codes = np.searchsorted(cuts, x[regular], side="right")
        n_fine = len(cuts) + 1
    else:
        series = pd.Series(values, copy=False).reset_index(drop=True)
        missing = series.isna().to_numpy()
        special = series.isin(list(special_values)).to_numpy() & ~missing if len(special_values) else np.zeros(len(series), bool)
        regular = ~missing & ~special
        codes, uniques = pd.factorize(series[regular], sort=True)
        n_fine = len(uniques)
    fine_events = np.bincount(codes, weights=y[regular], minlength=n_fine)
    fine_totals = np.bincount(codes, minlength=n_fine).astype(float)
    min_count = min_bin_share * regular.sum()

    if kind == "numeric":
        groups, chosen = _monotone_groups(fine_events, fine_totals, trend, min_count, max_pvalue)
        kept_cuts = cuts[[g[-1] for g in groups[:-1]]] if groups else np.empty(0)
        binning = FeatureBinning(name, "numeric", chosen, cuts=kept_cuts, special_values=[float(v) for v in special_values])
    else:
        # Rare categories are pooled into "other"; the rest are ordered by default rate
        # and small neighbours merged, so each bin is a set of similar categories.
        rare = fine_totals < min_count
        order = np.argsort(np.where(fine_totals > 0, fine_events / np.maximum(fine_totals, 1), 0), kind="stable")
        common = [np.array([i]) for i in order if not rare[i]]
        groups = _merge_small(common, fine_events, fine_totals, min_count) if common else []
        categories = [[_plain(uniques[i]) for i in g] for g in groups]
        if rare.any():
            categories.append([OTHER] + [_plain(uniques[i]) for i in np.flatnonzero(rare)])
            groups.append(np.flatnonzero(rare))
        binning = FeatureBinning(name, "categorical", "none", categories=categories,
                                 special_values=[_plain(v) for v in special_values])
    events = np.array([fine_events[g].sum() for g in groups] + [y[missing].sum(), y[special].sum()])
    totals = np.array([fine_totals[g].sum() for g in groups] + [missing.sum(), special.sum()], dtype=float)
    binning.events, binning.non_events = events, totals - events
    woe = _woe(events, totals - events, all_events, all_non_events)
    # A missing or special bin unseen in training takes the riskiest regular bin's WOE: the
    # conservative choice, and said so in the table.
    riskiest = float(woe[: len(groups)].min()) if len(groups) else 0.0
    for position, attribute in ((len(groups), "missing_source"), (len(groups) + 1, "special_source")):
        if totals[position] == 0:
            woe[position] = riskiest
            setattr(binning, attribute, "riskiest (unseen in training)")
    binning.woe = woe
    return binning


def _monotone_groups(events: np.ndarray, totals: np.ndarray, trend: str, min_count: float,
                     max_pvalue: float | None = None) -> tuple[list[np.ndarray], str]:
    """Fine bins pooled into groups following the trend; the trend chosen when ``auto``."""
    present = np.flatnonzero(totals > 0)
    if len(present) == 0:
        return [np.arange(len(totals))], "none"
    candidates = {"auto": TRENDS, "auto_monotone": TRENDS[:2]}.get(trend, (trend,))
    rate = events[present] / totals[present]
    results = {}
    for candidate in candidates:
        fitted = _fit_trend(rate, totals[present], candidate)
        # Runs of equal fitted rate become one group of fine bins.
        starts = np.r_[0, np.flatnonzero(np.abs(np.diff(fitted)) > 1e-12) + 1]
        groups = [present[s:e] for s, e in zip(starts, np.r_[starts[1:], len(present)])]
        # Empty fine bins join the group on their left (the cut points stay ordered).
        groups = _with_empty(groups, len(totals))
        groups = _merge_small(groups, events, totals, min_count)
        if max_pvalue is not None:
            groups = _merge_alike(groups, events, totals, max_pvalue)
        groups = _smoothed_trend(groups, events, totals, candidate)
        iv = _iv(np.array([events[g].sum() for g in groups]), np.array([(totals - events)[g].sum() for g in groups]))
        results[candidate] = (groups, iv)
    monotone = [c for c in candidates if c in TRENDS[:2]]
    best = max(candidates, key=lambda c: results[c][1])
    if best not in monotone and monotone:
        best_monotone = max(monotone, key=lambda c: results[c][1])
        if results[best][1] < 1.1 * results[best_monotone][1]:
            best = best_monotone
    groups = results[best][0]
    return groups, best if len(groups) > 1 else "none"


def _smoothed_trend(groups: list[np.ndarray], events: np.ndarray, totals: np.ndarray, trend: str) -> list[np.ndarray]:
    """Pool neighbouring groups until the *smoothed* default rate (events + ½) / (rows + 1)
    follows the trend too. WOE falls as that rate rises, so the WOE then follows the trend
    exactly: pooling raw rates alone can leave a small bin with no events out of order
    once the half counts are added (a WOE trend the bins do not show)."""
    while len(groups) > 1:
        e = np.array([events[g].sum() for g in groups])
        t = np.array([totals[g].sum() for g in groups])
        fitted = _fit_trend((e + _SMOOTHING) / (t + 2 * _SMOOTHING), t, trend)
        starts = np.r_[0, np.flatnonzero(np.abs(np.diff(fitted)) > 1e-12) + 1]
        if len(starts) == len(groups):
            break
        groups = [np.concatenate(groups[a:b]) for a, b in zip(starts, np.r_[starts[1:], len(groups)])]
    return groups


def _merge_alike(groups: list[np.ndarray], events: np.ndarray, totals: np.ndarray, max_pvalue: float) -> list[np.ndarray]:
    """Merge the two neighbouring groups whose default rates differ least significantly
    (χ² test of the 2×2 table) while that p-value is above ``max_pvalue``."""
    groups = list(groups)
    while len(groups) > 1:
        e = np.array([events[g].sum() for g in groups])
        t = np.array([totals[g].sum() for g in groups])
        p_values = np.array([_two_rate_pvalue(e[i], t[i], e[i + 1], t[i + 1]) for i in range(len(groups) - 1)])
        alike = int(np.argmax(p_values))
        if p_values[alike] <= max_pvalue:
            break
        groups[alike:alike + 2] = [np.r_[groups[alike], groups[alike + 1]]]
    return groups


def _two_rate_pvalue(events_a: float, total_a: float, events_b: float, total_b: float) -> float:
    """p-value of Pearson's χ² test that two bins share one default rate."""
    pooled = (events_a + events_b) / (total_a + total_b)
    if pooled in (0.0, 1.0):
        return 1.0
    expected = np.array([total_a * pooled, total_a * (1 - pooled), total_b * pooled, total_b * (1 - pooled)])
    observed = np.array([events_a, total_a - events_a, events_b, total_b - events_b])
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return float(stats.chi2.sf(statistic, 1))


def _with_empty(groups: list[np.ndarray], n_fine: int) -> list[np.ndarray]:
    """Give every fine bin a group: an empty one joins the group before it (or the first)."""
    owner = np.full(n_fine, -1)
    for i, g in enumerate(groups):
        owner[g] = i
    owner = np.maximum.accumulate(owner)
    owner[owner < 0] = 0
    return [np.flatnonzero(owner == i) for i in range(len(groups))]
