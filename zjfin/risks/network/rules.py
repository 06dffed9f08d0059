"""The guarantee-risk rules (SPEC §3.6): which firms seed the contagion, whose systemic
impact is computed, and the reasons G1–G6 with the level they give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text
from zjfin._policy import Policy
from zjfin.risks import RISK_LEVELS, level_from_masks
from zjfin.risks.network.kernels import top_k

__all__ = ["distressed_firms", "systemic_candidates", "guarantee_reasons"]


def distressed_firms(columns: pd.DataFrame | dict, policy: Policy) -> np.ndarray:
    """The DebtRank seeds: firms whose risk named in ``network.seed_risks`` is at
    ``network.seed_level`` or above (default: bond or liquidity risk ``high``, which covers
    a defaulted or extended bond, a non-performing loan and 90+ days overdue)."""
    p = policy.network
    allowed = pa.array(RISK_LEVELS[RISK_LEVELS.index(p.seed_level):], type=pa.string())
    seeds = None
    for risk in p.seed_risks:
        if risk not in columns:
            continue
        hit = pc.fill_null(pc.is_in(arrow_text(columns[risk]), value_set=allowed), False)
        hit = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        seeds = hit if seeds is None else seeds | hit
    if seeds is None:
        n = len(next(iter(columns.values()))) if isinstance(columns, dict) else len(columns)
        seeds = np.zeros(n, dtype=bool)
    return seeds


def systemic_candidates(in_circle: np.ndarray, has_out: np.ndarray, out_amount: np.ndarray,
                         in_amount: np.ndarray, p, ranked_order: bool = False) -> np.ndarray:
    """The firms whose systemic impact is computed (SPEC: "top-K is enough at scale"):
    the ``systemic_top_guarantors`` largest guarantors by guarantee_out, then circle
    members by guarantee_out + guarantee_in, at most ``systemic_max_firms`` in all; ties
    by position. Returned in increasing order, or most important first with
    ``ranked_order`` (the order in which a work budget serves them)."""
    top = top_k(np.flatnonzero(has_out), out_amount, p.systemic_top_guarantors)
    ranked = top
    if p.systemic_circle_members:
        members = np.flatnonzero(in_circle)
        members = members[~np.isin(members, top)]
        ranked = np.r_[top, top_k(members, out_amount + in_amount, p.systemic_max_firms - min(top.size, p.systemic_max_firms))]
    ranked = ranked[: p.systemic_max_firms].astype(np.int64)
    return ranked if ranked_order else np.sort(ranked)


def guarantee_reasons(exposure: dict[str, np.ndarray], seeds: np.ndarray, contagion: np.ndarray, in_circle: np.ndarray,
                      circle_distressed: np.ndarray, equity_ok: np.ndarray, policy: Policy,
                      index: pd.Index) -> tuple[pd.DataFrame, pd.Series]:
    """Reasons G1–G6 per firm and the guarantee-risk level they give.

    ``high``: G1 guarantees to distressed borrowers above ``high_distressed_exposure_ratio``
    of equity (or any, with no positive equity), G2 a circle with a distressed member, G3 a
    contagion loss of at least ``high_contagion_loss``; ``medium``: G4 a circle without a
    distressed member, G5 a mutual pair, G6 guarantees given above ``medium_out_ratio`` of
    equity (or any, with no positive equity); ``low``: gives or receives a guarantee.

    Examples
    --------
    >>> exposure = {"guarantee_to_distressed": np.array([60.0, 0.0]), "guarantee_to_distressed_ratio": np.array([0.6, 0.0]),
    ...             "mutual_partners": np.array([0, 1]), "gives": np.array([True, True]), "receives": np.array([False, True]),
    ...             "guarantee_out_ratio": np.array([0.6, 0.1])}
    >>> fired, level = guarantee_reasons(exposure, np.zeros(2, bool), np.zeros(2), np.zeros(2, bool), np.zeros(2, int),
    ...                                  np.ones(2, bool), Policy.default(), pd.RangeIndex(2))
    >>> level.tolist(), fired.columns[fired.iloc[0].to_numpy()].tolist()
    (['high', 'medium'], ['G1', 'G6'])
    """
    p = policy.network
    distressed_circle = circle_distressed > 0
    equity_bad = ~equity_ok
    with np.errstate(invalid="ignore"):
        fired = pd.DataFrame({
            "G1": (exposure["guarantee_to_distressed"] > 0)
                  & ((exposure["guarantee_to_distressed_ratio"] > p.high_distressed_exposure_ratio) | equity_bad),
            "G2": distressed_circle,
            "G3": ~seeds & (contagion >= p.high_contagion_loss) & (contagion > 0),
            # A circle with a distressed member is said by G2 already.
            "G4": in_circle & ~distressed_circle,
            "G5": exposure["mutual_partners"] > 0,
            "G6": exposure["gives"] & ((exposure["guarantee_out_ratio"] > p.medium_out_ratio) | equity_bad),
        }, index=index, copy=False)
    high = fired["G1"].to_numpy() | fired["G2"].to_numpy() | fired["G3"].to_numpy()
    medium = fired["G4"].to_numpy() | fired["G5"].to_numpy() | fired["G6"].to_numpy()
    return fired, level_from_masks(index, high, medium, exposure["gives"] | exposure["receives"])
