"""Quarter-to-quarter list changes: diff_lists, ListDiff and `zjfin diff`."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import zjfin
from zjfin._arrow import TEXT
from zjfin._cli import main
from zjfin._diff import ListDiff, diff_lists
from zjfin._errors import InputFileError, ParameterError
from zjfin._export import write_parquet
from zjfin._read import write_dataset

AS_OF = "2019-03-31"
# A policy that changes the lists of the synthetic province in all three ways: a wider
# quality share (none → quality, sme_funding → quality) and no medium firms in
# sme_funding (sme_funding → none).
CHANGED = {"lists": {"quality_top_share": 0.5, "sme_sizes": ["small", "micro"]}}
LISTS = ["watch", "relief", "quality", "sme_funding"]


def screening(rows):
    """A hand-made screening from (firm_id, name, region_code, list, priority) rows."""
    frame = pd.DataFrame(rows, columns=["firm_id", "name", "region_code", "list", "priority"])
    frame["priority"] = frame["priority"].astype("Int64")
    return frame


# Every case once: the comment names what the diff must say about the firm.
OLD = screening([
    ("A", "甲", "330102", "none", None),       # → relief: entered
    ("C", "丙", "330106", "relief", 1),        # → none: left
    ("D", "丁", "330521", "watch", 1),         # absent from new: left
    ("E", "戊", "330102", "relief", 2),        # → watch: moved
    ("F", "己", "330102", "quality", 1),       # quality on both sides (priority 1 → 3): no change
    ("G", "庚", "330102", "none", None),       # none on both sides: no change
    ("I", "壬", "330102", "none", None),       # absent from new, was on no list: no change
    ("J", "癸", "330106", "sme_funding", 4),   # → relief: moved
])
NEW = screening([
    ("A", "甲", "330102", "relief", 3),
    ("B", "乙", "330108", "quality", 2),       # absent from old: entered
    ("C", "丙", "330106", "none", None),
    ("E", "戊", "330102", "watch", 1),
    ("F", "己", "330102", "quality", 3),
    ("G", "庚", "330102", "none", None),
    ("H", "辛", "330102", "none", None),       # absent from old, on no list: no change
    ("J", "癸新名", "330106", "relief", 5),     # renamed: the new name is shown
])
EXPECTED = [
    # firm_id, name, region_code, list_old, list_new, priority_old, priority_new, change
    ["A", "甲", "330102", "none", "relief", None, 3, "entered"],
    ["B", "乙", "330108", None, "quality", None, 2, "entered"],
    ["D", "丁", "330521", "watch", None, 1, None, "left"],
    ["C", "丙", "330106", "relief", "none", 1, None, "left"],
    ["E", "戊", "330102", "relief", "watch", 2, 1, "moved"],
    ["J", "癸新名", "330106", "sme_funding", "relief", 4, 5, "moved"],
]


def as_rows(frame):
    """Cells as plain Python values, missing as None."""
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def test_each_kind_of_change():
    diff = diff_lists(OLD, NEW)
    assert isinstance(diff, ListDiff)
    assert list(diff.changes.columns) == ["firm_id", "name", "region_code", "list_old", "list_new",
                                          "priority_old", "priority_new", "change"]
    assert as_rows(diff.changes) == EXPECTED
    assert diff.to_frame() is diff.changes
    assert str(diff.changes["priority_old"].dtype) == "Int64"


def test_counts_long_table_with_every_combination():
    counts = diff_lists(OLD, NEW).counts
    assert list(counts.columns) == ["change", "list_old", "list_new", "firms"]
    # 4 entered + 4 left + 12 ordered pairs of different lists, zeros kept.
    assert counts["change"].value_counts().to_dict() == {"entered": 4, "left": 4, "moved": 12}
    assert counts.groupby("change")["firms"].sum().to_dict() == {"entered": 2, "left": 2, "moved": 2}
    found = counts[counts["firms"] > 0]
    assert as_rows(found) == [
        ["entered", "none", "relief", 1],
        ["entered", "none", "quality", 1],
        ["left", "watch", "none", 1],
        ["left", "relief", "none", 1],
        ["moved", "relief", "watch", 1],
        ["moved", "sme_funding", "relief", 1],
    ]
    moved = counts[counts["change"] == "moved"]
    assert not (moved["list_old"] == moved["list_new"]).any()
    assert len(set(zip(moved["list_old"], moved["list_new"]))) == 12


def test_summary_balances_every_list():
    diff = diff_lists(OLD, NEW)
    table = diff.summary()
    assert list(table.index) == [*LISTS, "total"]
    assert list(table.columns) == ["before", "entered", "left", "moved_in", "moved_out", "after"]
    expected_after = table["before"] + table["entered"] - table["left"] + table["moved_in"] - table["moved_out"]
    assert (table["after"] == expected_after).all()
    assert table.loc[LISTS, "before"].tolist() == OLD["list"].value_counts().reindex(LISTS, fill_value=0).tolist()
    assert table.loc[LISTS, "after"].tolist() == NEW["list"].value_counts().reindex(LISTS, fill_value=0).tolist()
    assert table.loc["relief"].tolist() == [2, 1, 1, 1, 1, 2]  # C, E; +A; −C; +J; −E; A, J
    assert table.loc["total"].tolist() == [5, 2, 2, 2, 2, 5]


def test_headline_repr_and_html():
    diff = diff_lists(OLD, NEW)
    line = "entered 2 (relief 1, quality 1); left 2 (watch 1, relief 1); moved 2 (relief→watch 1, sme_funding→relief 1)"
    assert diff.headline() == line
    assert repr(diff) == f"<zjfin.ListDiff DataFrame → DataFrame: {line}>"
    html = diff._repr_html_()
    assert line in html and "<table" in html and "moved_in" in html


def test_order_is_the_same_whatever_the_input_order():
    expected = diff_lists(OLD, NEW).changes
    shuffled_old = OLD.sample(frac=1, random_state=1).set_axis(range(100, 100 + len(OLD)))
    shuffled_new = NEW.sample(frac=1, random_state=2)
    pd.testing.assert_frame_equal(diff_lists(shuffled_old, shuffled_new).changes, expected)


def test_ties_ordered_by_county_then_firm_and_missing_county_last():
    old = screening([(f, f, r, "none", None) for f, r in [("Z1", "330106"), ("A9", "330106"), ("M5", "330102"), ("Q", None)]])
    new = screening([(f, f, r, "relief", 1) for f, r in [("Z1", "330106"), ("A9", "330106"), ("M5", "330102"), ("Q", None)]])
    assert diff_lists(old, new).changes["firm_id"].tolist() == ["M5", "A9", "Z1", "Q"]


def test_same_lists_give_an_empty_diff(tmp_path):
    diff = diff_lists(OLD, OLD.assign(priority=OLD["priority"] + 1))
    assert diff.changes.empty and len(diff.changes.columns) == 8
    assert (diff.counts["firms"] == 0).all() and len(diff.counts) == 20
    assert diff.headline() == "entered 0; left 0; moved 0"
    assert sorted(diff.export(tmp_path / "d")) == ["changes.csv", "changes.parquet"]
    assert (tmp_path / "d" / "changes.csv").read_bytes() == (
        b"\xef\xbb\xbffirm_id,name,region_code,list_old,list_new,priority_old,priority_new,change\r\n")


def test_optional_columns_may_be_absent():
    old = pd.DataFrame({"firm_id": ["A", "B"], "list": ["none", "relief"]})
    new = pd.DataFrame({"firm_id": ["A", "B"], "list": ["quality", "relief"]}, index=[7, 3])
    assert as_rows(diff_lists(old, new).changes) == [["A", None, None, "none", "quality", None, None, "entered"]]


def test_one_side_empty():
    empty = OLD.iloc[:0]
    assert set(diff_lists(empty, NEW).changes["change"]) == {"entered"}
    assert set(diff_lists(OLD, empty).changes["change"]) == {"left"}
    assert len(diff_lists(OLD, empty).changes) == int((OLD["list"] != "none").sum())


@pytest.mark.parametrize("frame,message", [
    (OLD.drop(columns="list"), "missing required column(s): list"),
    (OLD.drop(columns="firm_id"), "missing required column(s): firm_id"),
    (pd.concat([OLD, OLD.iloc[[2]]]), "2 rows share one or lack it, first 'D'"),
    (OLD.assign(firm_id=OLD["firm_id"].where(OLD["firm_id"] != "E")), "lack it"),
    (OLD.assign(list=OLD["list"].replace("relief", "Relief")), "found 'Relief' in 2 rows"),
    (OLD.assign(priority=OLD["priority"].astype(float) + 0.5), "priority must be whole numbers"),
])
def test_unusable_tables_raise_parameter_error(frame, message):
    with pytest.raises(ParameterError, match="^old must be a screening table") as exc:
        diff_lists(frame, NEW)
    assert message in str(exc.value)


def test_other_arguments_raise_parameter_error():
    with pytest.raises(ParameterError, match="new must be a ScreeningResult"):
        diff_lists(OLD, 42)


# --- the synthetic province: two screenings with different policies ---------------------

@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The synthetic province screened with the default and a changed policy: in memory
    (results, and their exports as folders) and by `zjfin screen` (folders)."""
    root = tmp_path_factory.mktemp("province")
    ds = zjfin.datasets.synthetic_province(2000, seed=5)
    policy = zjfin.Policy.default().update(CHANGED)
    results = (zjfin.screen(ds, as_of=AS_OF), zjfin.screen(ds, as_of=AS_OF, policy=policy))
    folders = (root / "q1", root / "q2")
    for result, folder in zip(results, folders):
        result.export(str(folder))
    write_dataset(ds, root / "data")
    (root / "policy.toml").write_text(policy.to_toml(), encoding="utf-8")
    screened = (root / "cli1", root / "cli2")
    for out, extra in zip(screened, ([], ["--policy", str(root / "policy.toml")])):
        assert main(["-q", "screen", str(root / "data"), "--as-of", AS_OF, "--out", str(out), *extra]) in (0, 1)
    return {"results": results, "folders": folders, "screened": screened}


def test_synthetic_diff_matches_a_crosstab(province):
    old, new = province["results"]
    diff = diff_lists(old, new)
    # Same firms on both sides here, so the diff is the off-diagonal of the crosstab.
    table = pd.crosstab(old.screening["list"], new.screening["list"])
    on = [c for c in table.index if c != "none"]
    counts = diff.changes["change"].value_counts()
    assert counts["entered"] == table.loc["none", on].sum() > 0
    assert counts["left"] == table.loc[on, "none"].sum() > 0
    assert counts["moved"] == table.loc[on, on].to_numpy().sum() - np.trace(table.loc[on, on].to_numpy()) > 0
    assert diff.sources == ("screening as of 2019-03-31", "screening as of 2019-03-31")


def test_input_kinds_are_equivalent(province):
    (old, new), (q1, q2) = province["results"], province["folders"]
    expected = diff_lists(old, new)
    for pair in [(old.screening, new.screening), (q1, q2), (str(q1), str(q2)),
                 (q1 / "screening.parquet", str(q2 / "screening.parquet")), (old, q2), (q1, new.screening)]:
        diff = diff_lists(*pair)
        pd.testing.assert_frame_equal(diff.changes, expected.changes)
        pd.testing.assert_frame_equal(diff.counts, expected.counts)
        pd.testing.assert_frame_equal(diff.summary(), expected.summary())
    assert diff_lists(q1, q2).sources == (str(q1), str(q2))


def test_cli_end_to_end(province, tmp_path, capsys):
    q1, q2 = province["screened"]
    out = tmp_path / "changes"
    assert main(["diff", str(q1), str(q2), "--out", str(out)]) == 0
    expected = diff_lists(q1, q2)
    assert set(expected.changes["change"]) == {"entered", "left", "moved"}
    printed = capsys.readouterr().out
    assert printed.startswith(expected.headline() + "\n")
    assert "moved_out" in printed and f"written to {out}: changes.csv, changes.parquet" in printed
    assert sorted(p.name for p in out.iterdir()) == ["changes.csv", "changes.parquet"]
    written = pq.read_table(out / "changes.parquet").to_pandas()
    # pandas 2.2 reads text back as its own string dtype: compare text as text.
    text = [c for c in expected.changes.columns if expected.changes[c].dtype == TEXT]
    written[text] = written[text].astype(TEXT)
    pd.testing.assert_frame_equal(written, expected.changes)
    raw = (out / "changes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbffirm_id,name,region_code,list_old,list_new,priority_old,priority_new,change\r\n")
    csv = pd.read_csv(out / "changes.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert csv["firm_id"].tolist() == expected.changes["firm_id"].tolist()
    assert csv["change"].tolist() == expected.changes["change"].tolist()


@pytest.mark.parametrize("quiet", [["-q", "diff"], ["diff", "-q"], ["diff", "--quiet"]])
def test_cli_quiet_prints_nothing(province, tmp_path, capsys, quiet):
    q1, q2 = province["screened"]
    args = quiet + [str(q1), str(q2), "--out", str(tmp_path / "d")]
    assert main(args) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "d" / "changes.csv").exists()


def test_cli_escapes_formulas_in_the_csv(tmp_path, capsys):
    evil = '=HYPERLINK("http://example.com","x")'
    folders = []
    for name, rows in [("old", [("A", evil, "330102", "none", None), ("B", "-1+1", "330102", "relief", 1)]),
                       ("new", [("A", evil, "330102", "relief", 1), ("B", "-1+1", "330102", "none", None)])]:
        folder = tmp_path / name
        folder.mkdir()
        write_parquet(screening(rows), folder / "screening.parquet")
        folders.append(str(folder))
    out = tmp_path / "out"
    assert main(["diff", *folders, "--out", str(out)]) == 0
    assert "entered 1 (relief 1); left 1 (relief 1); moved 0" in capsys.readouterr().out
    assert (out / "changes.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    csv = pd.read_csv(out / "changes.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert csv["name"].tolist() == ["'" + evil, "'-1+1"]
    # The Parquet file keeps the names as they are.
    assert pq.read_table(out / "changes.parquet").column("name").to_pylist() == [evil, "-1+1"]


def _missing(root):
    return root / "missing", root / "missing"


def _empty_folder(root):
    root.mkdir()
    return root, root


def _garbage(root):
    root.mkdir()
    (root / "screening.parquet").write_bytes(b"PAR1 this is not parquet")
    return root, root / "screening.parquet"


def _without_list(root):
    root.mkdir()
    write_parquet(OLD.drop(columns="list"), root / "screening.parquet")
    return root / "screening.parquet", root / "screening.parquet"


@pytest.mark.parametrize("make,message", [
    (_missing, "no such file or folder"),
    (_empty_folder, "no screening.parquet in this folder"),
    (_garbage, "cannot read as a Parquet screening"),
    (_without_list, "missing required column(s): list"),
])
def test_cli_unusable_screening_exits_2_and_writes_nothing(province, tmp_path, capsys, make, message):
    q1 = province["screened"][0]
    argument, named = make(tmp_path / "bad")  # what is given, and the path the message must name
    out = tmp_path / "out"
    for args in ([str(q1), str(argument)], [str(argument), str(q1)]):
        assert main(["diff", *args, "--out", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(f"zjfin: error: {named}: ") and message in captured.err
        assert not out.exists()


def test_unusable_files_raise_input_file_error(tmp_path):
    _, file = _without_list(tmp_path / "q")
    with pytest.raises(InputFileError) as exc:
        diff_lists(file, NEW)
    assert exc.value.path == str(file) and exc.value.problem == "missing required column(s): list"
    folder = tmp_path / "dup"
    folder.mkdir()
    write_parquet(pd.concat([OLD, OLD.iloc[[0]]]), folder / "screening.parquet")
    with pytest.raises(InputFileError, match="screening.parquet: firm_id must be unique"):
        diff_lists(OLD, folder)
