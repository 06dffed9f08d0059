"""The findings files: findings.parquet holds every finding; issues.csv and rejected.csv list
every rejection and warning and summarise notes per table, column and code; the manifest
reconciles the three."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import zjfin
from zjfin._cli import main
from zjfin._export import FINDINGS_FILES, export_result

AS_OF = "2019-03-31"


@pytest.fixture(scope="module")
def damaged():
    """A province with errors (bad ids, loans of unknown firms), warnings (negative
    revenue, unknown guarantee parties) and many notes (expired guarantees)."""
    ds = zjfin.datasets.synthetic_province(2000, seed=3)
    firms, financials = ds["firms"].copy(), ds["financials"].copy()
    firms.loc[firms.index[:4], "firm_id"] = ["BAD1", "BAD2", "BAD3", "=HYPERLINK(1)"]
    financials.loc[financials.index[:6], "revenue"] = -5.0
    tables = {t: ds[t] for t in ds.tables_present()}
    return zjfin.Dataset({**tables, "firms": firms, "financials": financials})


@pytest.fixture(scope="module")
def written(damaged, tmp_path_factory):
    res = zjfin.screen(damaged, as_of=AS_OF)
    out = tmp_path_factory.mktemp("findings")
    export_result(res, out, formats=("parquet",))
    read_csv = lambda name: pd.read_csv(out / name, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return res, out, pq.read_table(out / "findings.parquet").to_pandas(), read_csv("issues.csv"), read_csv("rejected.csv")


def test_findings_parquet_holds_every_finding(written):
    res, _, findings, _, _ = written
    assert len(findings) == len(res.validation.issues)
    assert set(findings["severity"]) == {"error", "warning", "info"}
    # Row for row the same (table, row, code) triples as the report.
    ours = findings[["table", "row", "code"]].astype(str).apply(tuple, axis=1).sort_values().tolist()
    theirs = res.validation.issues[["table", "row", "code"]].astype(str).apply(tuple, axis=1).sort_values().tolist()
    assert ours == theirs


def test_issues_csv_lists_errors_and_warnings_and_counts_notes(written):
    _, _, findings, issues, _ = written
    listed = findings[findings["severity"].isin(["error", "warning"])]
    lines = issues[issues["severity"].isin(["error", "warning"])]
    assert len(lines) == len(listed) and set(lines["findings"]) == {"1"}
    assert sorted(zip(lines["table"], lines["row"].astype(int), lines["code"])) == sorted(
        zip(listed["table"], listed["row"], listed["code"]))
    # Notes: one line per (table, column, code) carrying the count; no row, key or value.
    notes = issues[issues["severity"] == "info"]
    expected = findings[findings["severity"] == "info"].groupby(["table", "column", "code"]).size()
    got = notes.set_index(["table", "column", "code"])["findings"].astype(int).sort_index()
    pd.testing.assert_series_equal(got, expected.sort_index(), check_names=False)
    assert (notes[["row", "key", "value"]] == "").all().all()
    assert len(issues) < len(findings) / 10  # the expired guarantees are one line, not hundreds


def test_rejected_csv_lists_every_defect_and_counts_rows_set_aside(written):
    res, _, findings, _, rejected = written
    defects = findings[findings["rejects"] & (findings["severity"] == "error")]
    lines = rejected[rejected["severity"] == "error"]
    assert sorted(zip(lines["table"], lines["row"].astype(int), lines["code"])) == sorted(
        zip(defects["table"], defects["row"], defects["code"]))
    assert {"uscc_malformed", "unknown_firm"} <= set(lines["code"])
    assert rejected["findings"].astype(int).sum() == findings["rejects"].sum()
    # Every rejected row of every table is in rejected.csv, listed or counted.
    rows = res.validation.rows.set_index("table")
    set_aside = rejected.groupby("table")["findings"].apply(lambda c: c.astype(int).sum())
    distinct_defects = findings[findings["rejects"]].groupby("table")["row"].nunique()
    for table, count in distinct_defects.items():
        assert rows.loc[table, "rejected"] == count <= set_aside[table]


def test_formula_in_a_finding_is_escaped(written):
    _, out, *_ = written
    text = (out / "rejected.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_manifest_reconciles_the_findings_files(written):
    res, out, findings, issues, rejected = written
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["findings"]
    assert record["total"] == len(findings) == record["error"] + record["warning"] + record["info"]
    files = record["files"]
    assert set(files) == set(FINDINGS_FILES)
    for name, frame in (("issues.csv", issues), ("rejected.csv", rejected)):
        entry = files[name]
        assert entry["lines"] == len(frame)
        assert entry["findings"] == frame["findings"].astype(int).sum() == entry["listed"] + entry["summarised"]
        assert entry["holds"] == FINDINGS_FILES[name]
    assert files["findings.parquet"]["findings"] == len(findings)
    assert files["rejected.csv"]["findings"] == int(findings["rejects"].sum())


def test_no_notes_means_no_summary_lines(tmp_path):
    res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=1), as_of=AS_OF)
    keep = res.validation.issues["severity"] != "info"
    res.validation.issues = res.validation.issues[keep].reset_index(drop=True)
    export_result(res, tmp_path, formats=("parquet",))
    issues = pd.read_csv(tmp_path / "issues.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert (issues["findings"] == "1").all() and len(issues) == keep.sum()


def test_validate_command_writes_the_three_files(tmp_path):
    data = tmp_path / "in"
    zjfin.write_dataset(zjfin.datasets.synthetic_province(400, seed=2), data, format="csv")
    out = tmp_path / "v"
    main(["-q", "validate", str(data), "--as-of", AS_OF, "--out", str(out)])
    assert {p.name for p in out.iterdir()} == set(FINDINGS_FILES)
    findings = pd.read_parquet(out / "findings.parquet")
    issues = pd.read_csv(out / "issues.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert issues["findings"].astype(int).sum() == len(findings) > 0
    assert np.array_equal(np.sort(findings["severity"].unique()), np.sort(issues["severity"].unique()))
