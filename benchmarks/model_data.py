"""Loaders for the real public data sets in ../shared/data (SPEC §6 benchmarks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Statlog German credit: attributes 1…20; these are categorical (A11, A34, …), the rest numbers.
GERMAN_CATEGORICAL = (1, 3, 4, 6, 7, 9, 10, 12, 14, 15, 17, 19, 20)


def polish(path: Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Polish bankruptcy, 1-year horizon: 64 ratios (``?`` is missing); y = 1 bankrupt."""
    path = path or DATA / "polish_bankruptcy_1year.arff"
    lines = path.read_text().splitlines()
    names = [line.split()[1] for line in lines if line.lower().startswith("@attribute")]
    start = next(i for i, line in enumerate(lines) if line.lower().startswith("@data")) + 1
    frame = pd.read_csv(path, skiprows=start, header=None, names=names, na_values="?")
    y = frame.pop(names[-1]).astype(int).to_numpy()
    return frame.astype(float), y


def german(path: Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Statlog German credit: 7 numeric and 13 categorical attributes; y = 1 bad (label 2)."""
    path = path or DATA / "german_credit.data"
    frame = pd.read_csv(path, sep=r"\s+", header=None)
    y = (frame.pop(20).to_numpy() == 2).astype(int)
    frame.columns = [f"attr{i}" for i in range(1, 21)]
    for i in GERMAN_CATEGORICAL:
        frame[f"attr{i}"] = frame[f"attr{i}"].astype(str)
    return frame, y
