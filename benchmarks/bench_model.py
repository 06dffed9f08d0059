"""Default-model benchmark on real data (SPEC §6): zjfin against optbinning and gradient boosting.

Over 5 stratified 70/30 splits (seed 42) of each data set in ../shared/data, in one run:

- zjfin ``DefaultModel()`` with its defaults;
- optbinning's scorecard: ``BinningProcess`` (defaults, categorical columns declared) +
  scikit-learn ``LogisticRegression`` inside ``optbinning.Scorecard``;
- scikit-learn ``HistGradientBoostingClassifier`` (defaults, native categorical support);
- the same boosting with ``interaction_cst="no_interactions"``: an additive model, each
  feature's effect a curve one can plot, i.e. as explainable per firm as a scorecard.

Prints holdout AUC (mean, sd, per split) and fit time, and whether zjfin's mean AUC is at
least the optbinning scorecard's on both data sets.

Usage: python benchmarks/bench_model.py [--splits 5] [--seed 42]
(needs the ``bench`` extra: ``pip install -e .[bench]`` — ``make bench-model`` does it)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_data import GERMAN_CATEGORICAL, german, polish  # noqa: E402


def _zjfin(X, y, categorical):
    from zjfin.model import DefaultModel

    return DefaultModel().fit(X, y)


def _optbinning(X, y, categorical):
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    process = BinningProcess(list(X.columns), categorical_variables=categorical)
    card = Scorecard(binning_process=process, estimator=LogisticRegression(max_iter=1000),
                     scaling_method="min_max", scaling_method_params={"min": 300, "max": 850})
    return card.fit(X, y)


def _boosting(additive: bool):
    def fit(X, y, categorical):
        from sklearn.ensemble import HistGradientBoostingClassifier

        extra = {"interaction_cst": "no_interactions"} if additive else {}
        return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0, **extra).fit(X, y)
    return fit


METHODS = {
    "zjfin DefaultModel": _zjfin,
    "optbinning scorecard": _optbinning,
    "HistGradientBoosting": _boosting(False),
    "HistGradientBoosting, additive": _boosting(True),
}


def run(name: str, X, y, categorical: list[str], splits: int, seed: int) -> dict[str, dict]:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedShuffleSplit

    boosted = X.copy()
    for column in categorical:
        boosted[column] = boosted[column].astype("category")
    results = {}
    folds = list(StratifiedShuffleSplit(n_splits=splits, test_size=0.3, random_state=seed).split(X, y))
    for method, fit in METHODS.items():
        frame = boosted if method.startswith("Hist") else X
        aucs, times = [], []
        for train, test in folds:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = fit(frame.iloc[train], y[train], categorical)
            times.append(time.perf_counter() - start)
            aucs.append(roc_auc_score(y[test], model.predict_proba(frame.iloc[test])[:, 1]))
        results[method] = {"auc": aucs, "fit_s": times}
        print(f"{name:7s} {method:32s} AUC {statistics.mean(aucs):.4f} ± {statistics.stdev(aucs):.4f}  "
              f"[{' '.join(f'{a:.4f}' for a in aucs)}]  fit {statistics.mean(times):.3f} s", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    X_p, y_p = polish()
    X_g, y_g = german()
    print(f"Polish bankruptcy (1 year): {len(y_p):,} firms, {int(y_p.sum())} bankrupt, {X_p.shape[1]} ratios")
    print(f"German credit: {len(y_g):,} loans, {int(y_g.sum())} bad, {X_g.shape[1]} attributes "
          f"({len(GERMAN_CATEGORICAL)} categorical)")
    print(f"{args.splits} stratified 70/30 splits, seed {args.seed}; holdout AUC mean ± sd [per split]; mean fit time\n")
    results = {
        "polish": run("polish", X_p, y_p, [], args.splits, args.seed),
        "german": run("german", X_g, y_g, [f"attr{i}" for i in GERMAN_CATEGORICAL], args.splits, args.seed),
    }
    print()
    ok = True
    for name, by_method in results.items():
        ours = statistics.mean(by_method["zjfin DefaultModel"]["auc"])
        peer = statistics.mean(by_method["optbinning scorecard"]["auc"])
        boost = statistics.mean(by_method["HistGradientBoosting"]["auc"])
        additive = statistics.mean(by_method["HistGradientBoosting, additive"]["auc"])
        wins = sum(a >= b for a, b in zip(by_method["zjfin DefaultModel"]["auc"], by_method["optbinning scorecard"]["auc"]))
        ok &= ours >= peer
        print(f"{name}: zjfin − optbinning {ours - peer:+.4f} (zjfin at least as high in {wins}/{len(by_method['zjfin DefaultModel']['auc'])} splits); "
              f"zjfin − boosting {ours - boost:+.4f}; additive boosting − boosting {additive - boost:+.4f}")
    print(f"\nzjfin's mean AUC at least optbinning's on both data sets: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
