"""The real public data sets in ../shared/data (SPEC §6 benchmarks), read with zjfin's readers."""

from __future__ import annotations

from pathlib import Path

from zjfin.datasets.public import GERMAN_CREDIT_CATEGORICAL, read_german_credit, read_polish_bankruptcy

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GERMAN_CATEGORICAL = GERMAN_CREDIT_CATEGORICAL


def polish():
    return read_polish_bankruptcy(DATA / "polish_bankruptcy_1year.arff")


def german():
    return read_german_credit(DATA / "german_credit.data")
