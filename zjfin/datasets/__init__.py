"""Built-in datasets: the synthetic province (SPEC §9)."""

from __future__ import annotations

from zjfin._errors import ParameterError
from zjfin._read import Dataset

__all__ = ["synthetic_province", "SYNTHETIC_AS_OF"]

#: The synthetic province's natural as-of date: its latest fiscal year is 2018.
SYNTHETIC_AS_OF = "2019-03-31"


def synthetic_province(n_firms: int = 20_000, seed: int = 0) -> Dataset:
    """A realistic Zhejiang-like province: every input table, with planted cases.

    Parameters
    ----------
    n_firms : int
        Number of firms (at least 200; planted cases included).
    seed : int
        Same seed, same data.

    Returns
    -------
    Dataset
        With ``planted``: the planted cases and the outcome screening must give
        (columns ``firm_id``, ``case``, ``column``, ``expected``).

    Examples
    --------
    >>> ds = synthetic_province(500, seed=3)
    >>> len(ds.firms), sorted(ds.planted["case"].unique())[:2]
    (500, ['bond_wall', 'guarantee_circle_defaulter'])
    """
    from zjfin.datasets._synthetic import build_tables

    if not isinstance(n_firms, int) or isinstance(n_firms, bool) or n_firms < 200:
        raise ParameterError("n_firms", "a whole number ≥ 200", n_firms)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ParameterError("seed", "a whole number ≥ 0", seed)
    tables, planted = build_tables(n_firms, seed)
    ds = Dataset(tables, name=f"synthetic_province(n_firms={n_firms}, seed={seed})")
    ds.planted = planted
    return ds
