"""The model on the real German credit data (../shared/data), when it is present."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedShuffleSplit

from zjfin.model import DefaultModel, evaluate

from zjfin.datasets.public import read_german_credit, read_polish_bankruptcy

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GERMAN = DATA / "german_credit.data"

pytestmark = pytest.mark.skipif(not GERMAN.is_file(), reason="the shared real data is not next to this clone")


@pytest.fixture(scope="module")
def german():
    return read_german_credit(GERMAN)


def test_the_readers_give_the_published_shapes(german):
    X, y = german
    assert X.shape == (1000, 20) and int(y.sum()) == 300
    assert X["attr1"].str.startswith("A1").all() and X["attr2"].dtype.kind in "if"
    P, z = read_polish_bankruptcy(DATA / "polish_bankruptcy_1year.arff")
    assert P.shape == (7027, 64) and int(z.sum()) == 271
    assert P.isna().any().any()  # "?" read as missing


def test_german_credit_holdout_and_bins_make_sense(german):
    X, y = german
    train, test = next(StratifiedShuffleSplit(n_splits=1, test_size=0.3, random_state=42).split(X, y))
    m = DefaultModel().fit(X.iloc[train], y[train])
    v = evaluate(m, X.iloc[test], y[test])
    # The first of the benchmark's splits: 0.806 (optbinning 0.808, boosting 0.789).
    assert v.auc > 0.79
    # Longer loans are riskier; having no checking account (A14) is the safest status.
    assert m.binnings_["attr2"].trend == "ascending"
    status = m.binnings_["attr1"]
    assert "A14" in status.categories[int(np.argmax(status.woe[: status.n_regular]))]
    assert v.features["psi"].max() < 0.25
