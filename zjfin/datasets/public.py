"""Readers for two public credit data sets used to develop and check default models.

The files are not shipped with zjfin (download them from the UCI Machine Learning
Repository, CC BY 4.0); these functions read them as published.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zjfin._errors import InputFileError

__all__ = ["GERMAN_CREDIT_CATEGORICAL", "read_german_credit", "read_polish_bankruptcy"]

#: Statlog German credit: attributes 1…20; these are categorical (A11, A34, …), the rest numbers.
GERMAN_CREDIT_CATEGORICAL = (1, 3, 4, 6, 7, 9, 10, 12, 14, 15, 17, 19, 20)


def read_polish_bankruptcy(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Polish companies bankruptcy data (Tomczak, Zięba et al. 2016), one ARFF year file.

    Returns the 64 ratios ``Attr1`` … ``Attr64`` (``?`` is missing) and y, 1 bankrupt
    within the horizon.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror})") from None
    names = [line.split()[1] for line in lines if line.lower().startswith("@attribute")]
    starts = [i for i, line in enumerate(lines) if line.lower().startswith("@data")]
    if not names or not starts:
        raise InputFileError(path, "not an ARFF file (no @attribute or @data lines)")
    frame = pd.read_csv(path, skiprows=starts[0] + 1, header=None, names=names, na_values="?")
    y = frame.pop(names[-1]).astype(int).to_numpy()
    return frame.astype(float), y


def read_german_credit(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Statlog (German credit data), Hofmann 1994: ``german.data`` with its 20 attributes.

    Returns ``attr1`` … ``attr20`` (the categorical ones as text, e.g. ``A11``) and y,
    1 for a bad loan (label 2 in the file).
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None)
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror})") from None
    if frame.shape[1] != 21:
        raise InputFileError(path, f"expected 21 columns (20 attributes and the label), found {frame.shape[1]}")
    y = (frame.pop(20).to_numpy() == 2).astype(int)
    frame.columns = [f"attr{i}" for i in range(1, 21)]
    for i in GERMAN_CREDIT_CATEGORICAL:
        frame[f"attr{i}"] = frame[f"attr{i}"].astype(str)
    return frame, y
