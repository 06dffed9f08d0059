"""Per-firm risk engines (SPEC §3.2–3.8), one module per risk.

Every engine is a pure, vectorised function of a partition of firms: the firm frame
(:func:`zjfin._features.firm_frame`, one row per firm) and the policy in, an
:class:`EngineOutput` out — new columns aligned with the frame's rows, and a boolean table
saying which reason codes (``data_schemas/reason_codes.json``) fired for which firm.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

import numpy as np
import pandas as pd

from zjfin._lanes import threads  # noqa: F401 - the network stage's import of it

__all__ = ["EngineOutput", "RISK_LEVELS", "float_column", "level_from_masks", "threads"]

#: Risk levels in order; a firm's level is the highest whose condition holds.
RISK_LEVELS = ("none", "low", "medium", "high")


class EngineOutput(NamedTuple):
    """What a risk engine returns."""

    columns: pd.DataFrame
    """New per-firm columns, same index as the firm frame."""
    fired: pd.DataFrame
    """Boolean columns named by reason code: where each rule fired."""
    tables: Mapping[str, Any] = MappingProxyType({})
    """Per-item tables behind the firm rows (one row per bond, pledge contract, circle …)."""


def level_from_masks(index: pd.Index, high, medium, low) -> pd.Series:
    """Risk level per firm from three boolean masks (checked high first).

    Examples
    --------
    >>> import numpy as np
    >>> level_from_masks(pd.RangeIndex(3), np.array([1, 0, 0], bool), np.array([1, 1, 0], bool), np.array([0, 0, 0], bool)).tolist()
    ['high', 'medium', 'none']
    """
    from zjfin._arrow import text_from_codes

    # Lowest level first, each higher one overwriting: four cheap passes, no np.select.
    level = np.asarray(low, bool).astype(np.int8)
    level[np.asarray(medium, bool)] = 2
    level[np.asarray(high, bool)] = 3
    return text_from_codes(level, RISK_LEVELS, index=index)


def float_column(values: pd.DataFrame | Mapping[str, Any], name: str, n: int | None = None) -> np.ndarray:
    """Column ``name`` of a frame (or a mapping of columns) as float64, NaN for missing;
    all NaN, ``n`` long (default: the frame's rows), when the column is absent. A float64
    column comes back as a read-only view of its buffer (no copy), so never write into it.

    Examples
    --------
    >>> float_column(pd.DataFrame({"a": [1, None]}), "a").tolist(), float_column({"a": [1.0]}, "b", 2).tolist()
    ([1.0, nan], [nan, nan])
    """
    if name not in values:
        return np.full(len(values) if n is None else n, np.nan)
    column = values[name]
    if isinstance(column, pd.Series):
        if column.dtype == np.float64:  # the common case: the column's own buffer, read-only
            view = column.to_numpy().view()
            view.flags.writeable = False
            return view
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(column, dtype=float)
