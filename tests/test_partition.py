"""Screening by partitions of whole counties (zjfin._partition) gives the whole province's
result: the same screening, the same per-item tables, the same files to the byte."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zjfin
from zjfin._export import export_result
from zjfin._partition import county_partitions, partition_tables
from zjfin._policy import Policy
from zjfin._report import bulletin_from_folder
from zjfin._screen import _screen
from zjfin.risks.mujun import mujun, mujun_province, mujun_shares
from zjfin.risks.working_capital import working_capital, working_capital_province, working_capital_shares

AS_OF = "2019-03-31"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["330102", "330106", "330281", "331002", ""])), max_size=40),
       st.integers(1, 12))
def test_partitions_are_whole_counties_in_row_order(codes, min_firms):
    parts = county_partitions(pd.Series(codes, dtype=object), min_firms)
    rows = np.concatenate(parts) if parts else np.array([], dtype=np.int64)
    assert sorted(rows.tolist()) == list(range(len(codes)))  # every firm once
    seen = {}
    for i, part in enumerate(parts):
        counties = [codes[r] for r in part]
        for county in set(counties):
            assert county not in seen, "a county split over two partitions"
            seen[county] = i
            mine = [r for r in part if codes[r] == county]
            assert mine == sorted(mine)  # file order within the county
        if None in counties:
            assert set(counties) == {None}  # the firms without a county stand apart
    named = [p for p in parts if codes[p[0]] is not None]
    for part in named[:-1]:  # every partition but the last of the counties is full
        assert len(part) >= min_firms


def test_a_partitions_tables_keep_its_firms_rows_renumbered():
    loans = pd.DataFrame({"loan_id": ["l1", "l2", "l3", "l4"], "firm_idx": [3, 1, 3, 0]})
    guarantees = pd.DataFrame({"guarantor_idx": [0, 3], "borrower_idx": [3, 1]})
    out = partition_tables({"loans": loans, "guarantees": guarantees}, np.array([1, 3]), 4)
    assert out["loans"].values.tolist() == [["l1", 1], ["l2", 0], ["l3", 1]]
    assert out["guarantees"] is guarantees  # two firm ends: a table of the whole province


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def in_county_order(screening: pd.DataFrame) -> pd.DataFrame:
    """The screening as its by-county files hold it: county after county (code order, the
    firms without a county last), each county's firms in file order."""
    key = screening["region_code"].fillna("\uffff").to_numpy(dtype=object)
    return screening.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def assert_same_files(whole: Path, parts: Path, screening: pd.DataFrame) -> None:
    """``parts`` (written by county) holds ``whole``'s files to the byte but the screening,
    which is ``screening`` by county: one file per county, each that county's rows."""
    digests, by_county = _digests(whole), _digests(parts)
    assert any(name.startswith("lists/") for name in digests)
    assert {n: d for n, d in digests.items() if n != "screening.parquet"} == {
        n: d for n, d in by_county.items() if not n.startswith("screening/")}
    files = sorted(n for n in by_county if n.startswith("screening/"))
    codes = screening["region_code"].dropna().unique()
    assert files == sorted([f"screening/{c}.parquet" for c in codes]
                           + (["screening/no-county.parquet"] if screening["region_code"].isna().any() else []))
    pd.testing.assert_frame_equal(pd.read_parquet(parts / "screening"), in_county_order(screening))
    one = pd.read_parquet(parts / files[0])
    assert one["region_code"].nunique() == 1 and len(one) == (screening["region_code"] == one["region_code"][0]).sum()


def _assert_same(whole, parts):
    pd.testing.assert_frame_equal(whole.screening, parts.screening)
    assert set(whole.tables) == set(parts.tables)
    for name, table in whole.tables.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(table, parts.tables[name], obj=name)
    pd.testing.assert_frame_equal(whole.coverage, parts.coverage)


@pytest.mark.parametrize("firms,seed,partition_firms", [(20_000, 0, 2_500), (4_000, 3, 1)])
def test_by_county_gives_the_whole_provinces_files_to_the_byte(tmp_path, firms, seed, partition_firms):
    dataset = zjfin.datasets.synthetic_province(firms, seed=seed)
    whole = _screen(dataset, AS_OF)
    parts = _screen(dataset, AS_OF, partition_firms=partition_firms)
    _assert_same(whole, parts)
    assert len(county_partitions(whole.screening["region_code"], partition_firms)) > 3
    export_result(whole, tmp_path / "whole", formats=("parquet", "csv"))
    export_result(parts, tmp_path / "parts", formats=("parquet", "csv"))
    assert_same_files(tmp_path / "whole", tmp_path / "parts", whole.screening)
    # Written as one file, the screening by county is the whole province's to the byte.
    export_result(parts, tmp_path / "one", formats=("parquet", "csv"), by_county=False)
    assert _digests(tmp_path / "whole") == _digests(tmp_path / "one")


def _cross_county_province() -> tuple[zjfin.Dataset, list[str]]:
    """The synthetic province with a guarantee circle through three counties around a
    distressed firm, and a listed company's shares pledged, below the liquidation line, by a
    controlling holder that is a firm of another county."""
    dataset = zjfin.datasets.synthetic_province(3_000, seed=0)
    base = zjfin.screen(dataset, as_of=AS_OF).screening
    firms = dataset["firms"]
    distressed = base.loc[base["liquidity_risk"] == "high", ["firm_id", "region_code"]].iloc[0]
    others = base.loc[base["region_code"] != distressed["region_code"]].drop_duplicates("region_code")
    ring = [distressed["firm_id"], *others["firm_id"].iloc[:2]]
    circle = pd.DataFrame({"guarantor_id": ring, "borrower_id": ring[1:] + ring[:1], "amount": 3e7,
                           "start_date": pd.Timestamp("2018-06-30"), "end_date": pd.Timestamp("2021-06-30"),
                           "kind": "general"})
    guarantees = pd.concat([dataset["guarantees"].drop(columns="_row"), circle], ignore_index=True)
    listed = firms.loc[firms["stock_code"].notna()].iloc[0]
    price = dataset["prices"].loc[dataset["prices"]["stock_code"] == listed["stock_code"], "close"].iloc[-1]
    pledger = base.loc[base["region_code"] != base.loc[base["firm_id"] == listed["firm_id"], "region_code"].iloc[0],
                       "firm_id"].iloc[5]
    contract = dataset["pledges"].drop(columns="_row").iloc[[0]].assign(
        pledge_id="PLG-X", company_id=listed["firm_id"], stock_code=listed["stock_code"], pledger_id=pledger,
        pledged_shares=1e7, loan_amount=1e7 * price, start_date=pd.Timestamp("2018-06-01"),
        end_date=pd.Timestamp("2020-06-01"), status="active", release_date=pd.NaT, pledger_is_controlling=True,
        pledger_holding_shares=2e7)
    pledges = pd.concat([dataset["pledges"].drop(columns="_row"), contract], ignore_index=True)
    tables = {t: dataset[t].drop(columns="_row") for t in dataset.tables_present()}
    tables.update(guarantees=guarantees, pledges=pledges)
    return zjfin.Dataset(tables), [*ring, pledger]


def test_counties_linked_by_guarantees_and_pledges_give_the_whole_provinces_result():
    dataset, (a, b, c, pledger) = _cross_county_province()
    whole = _screen(dataset, AS_OF)
    s = whole.screening.set_index("firm_id")
    # The links cross counties: one circle through three counties, a pledger of another county.
    assert s.loc[[a, b, c], "region_code"].nunique() == 3
    circle = s.loc[[a, b, c], "guarantee_circle_id"]
    assert circle.notna().all() and circle.nunique() == 1
    assert "P8" in str(s.loc[pledger, "reason_codes"])  # attributed across the county line
    _assert_same(whole, _screen(dataset, AS_OF, partition_firms=1))


def _one_county(frame: pd.DataFrame) -> pd.DataFrame:
    county = frame["region_code"].value_counts().index[0]
    return frame[frame["region_code"] == county].reset_index(drop=True)


def test_the_province_figures_are_what_a_county_alone_lacks():
    """A county scored alone against its own medians is not scored as in the province: the
    reductions carry what it lacks (so the equalities above can fail)."""
    dataset = zjfin.datasets.synthetic_province(6_000, seed=1)
    clean = zjfin.validate(dataset, as_of=AS_OF).dataset
    frame = zjfin.firm_frame(clean["firms"], clean["financials"], AS_OF)
    frame["industry_section"] = frame["industry_code"].str[0]
    policy = Policy.default()
    county = _one_county(frame)
    in_province = frame["region_code"].eq(county["region_code"].iloc[0]).to_numpy()

    whole = mujun(frame, policy).columns.loc[in_province, "mujun_score"].to_numpy()
    alone = mujun(county, policy).columns["mujun_score"].to_numpy()
    given = mujun(county, policy, province=mujun_province(mujun_shares(frame, policy), policy)).columns["mujun_score"]
    np.testing.assert_array_equal(given.to_numpy(), whole)
    assert not np.array_equal(alone, whole, equal_nan=True)

    columns = ["turnover_days", "working_capital_need"]
    whole = working_capital(frame, policy).columns.loc[in_province, columns].reset_index(drop=True)
    peers = working_capital_province(working_capital_shares(frame, policy), policy)
    pd.testing.assert_frame_equal(working_capital(county, policy, province=peers).columns[columns], whole)


def test_shares_may_come_in_any_order():
    dataset = zjfin.datasets.synthetic_province(3_000, seed=2)
    clean = zjfin.validate(dataset, as_of=AS_OF).dataset
    frame = zjfin.firm_frame(clean["firms"], clean["financials"], AS_OF)
    policy = Policy.default()
    shares = mujun_shares(frame, policy)
    shuffled = shares.sample(frac=1.0, random_state=7).reset_index(drop=True)
    a, b = mujun_province(shares, policy), mujun_province(shuffled, policy)
    assert a.divisions.to_pylist() == b.divisions.to_pylist()
    np.testing.assert_array_equal(a.median, b.median)
    np.testing.assert_array_equal(a.overall, b.overall)


def test_a_dataset_without_a_screened_firm_partitions_nothing():
    dataset = zjfin.datasets.synthetic_province(300, seed=9)
    tables = {"firms": dataset["firms"].drop(columns="_row"), "financials": dataset["financials"].iloc[:0].drop(columns="_row")}
    whole = _screen(zjfin.Dataset(tables), AS_OF)
    parts = _screen(zjfin.Dataset(tables), AS_OF, partition_firms=1)
    assert len(whole.screening) == 0 and parts.engine["partitions"] == 0
    pd.testing.assert_frame_equal(whole.screening, parts.screening)


def _custom(run, **declared):
    from zjfin._engines import Engine, register, unregister

    engine = register(Engine("custom_x", run, columns={"custom_x": "float"}, **declared))
    return engine, lambda: unregister("custom_x")


def test_a_users_engine_gets_every_column_and_table_in_partitions():
    """An engine registered by the user may read what it does not declare: a partition hands
    it the whole frame and every table, so its result is the whole province's."""
    def run(ctx):
        x = ctx.frame["employees"].to_numpy(dtype=float) + float("guarantees" in ctx.tables)
        return zjfin.risks.EngineOutput(pd.DataFrame({"custom_x": x}, index=ctx.frame.index), pd.DataFrame(index=ctx.frame.index))

    _, remove = _custom(run, reads=("revenue",))
    try:
        dataset = zjfin.datasets.synthetic_province(2_000, seed=0)
        _assert_same(_screen(dataset, AS_OF), _screen(dataset, AS_OF, partition_firms=1))
    finally:
        remove()


def test_a_per_item_table_a_partition_cannot_put_back_is_an_error():
    def run(ctx):
        loans = ctx.tables["loans"]
        return zjfin.risks.EngineOutput(pd.DataFrame({"custom_x": 1.0}, index=ctx.frame.index),
                                        pd.DataFrame(index=ctx.frame.index),
                                        {"loan_view": pd.DataFrame({"firm_idx": loans["firm_idx"].to_numpy()})})

    _, remove = _custom(run, tables=("loans",), reads=("revenue",))
    try:
        with pytest.raises(zjfin.SchemaError, match="loan_view"):
            _screen(zjfin.datasets.synthetic_province(1_000, seed=0), AS_OF, partition_firms=1)
    finally:
        remove()


def test_switching_layouts_leaves_no_earlier_screening_behind(tmp_path):
    dataset = zjfin.datasets.synthetic_province(1_500, seed=4)
    whole, parts = _screen(dataset, AS_OF), _screen(dataset, AS_OF, partition_firms=500)
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)  # a user's own empty folder stays
    export_result(parts, out, formats=("parquet",))
    assert (out / "screening").is_dir() and not (out / "screening.parquet").exists()
    export_result(whole, out, formats=("parquet",))
    assert (out / "screening.parquet").is_file() and not (out / "screening").exists() and (out / "notes").is_dir()
    export_result(parts, out, formats=("parquet",))
    assert not (out / "screening.parquet").exists() and len(list((out / "screening").iterdir())) > 3


def test_a_screening_by_county_without_a_firm_reads_back_as_an_empty_table(tmp_path):
    dataset = zjfin.datasets.synthetic_province(300, seed=9)
    tables = {"firms": dataset["firms"].drop(columns="_row"), "financials": dataset["financials"].iloc[:0].drop(columns="_row")}
    result = _screen(zjfin.Dataset(tables), AS_OF, partition_firms=1)
    export_result(result, tmp_path / "out", formats=("parquet",), by_county=True)
    assert sorted(p.name for p in (tmp_path / "out" / "screening").iterdir()) == ["no-county.parquet"]
    back = pd.read_parquet(tmp_path / "out" / "screening")
    assert len(back) == 0 and list(back.columns) == list(result.screening.columns)
    assert len(zjfin.diff_lists(tmp_path / "out", tmp_path / "out").changes) == 0


def test_an_earlier_runs_county_files_go_even_without_its_manifest(tmp_path):
    """A county screened in an earlier run and not in this one must not read back as part
    of this run's screening, even when the earlier manifest was deleted."""
    dataset = zjfin.datasets.synthetic_province(1_500, seed=4)
    parts = _screen(dataset, AS_OF, partition_firms=500)
    out = tmp_path / "out"
    export_result(parts, out, formats=("parquet",))
    (out / "manifest.json").unlink()
    ghost = out / "screening" / "339999.parquet"
    (out / "screening" / f"{parts.screening['region_code'].iloc[0]}.parquet").rename(ghost)
    (out / "screening" / "说明.txt").write_text("a user's note", encoding="utf-8")
    export_result(parts, out, formats=("parquet",))
    assert not ghost.exists() and (out / "screening" / "说明.txt").is_file()
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "screening/339999.parquet" in record["removed_outputs"]
    # The user's note beside the parts does not stop the readers.
    assert len(zjfin.diff_lists(out, out).changes) == 0
    pd.testing.assert_frame_equal(bulletin_from_folder(out).tables["counties"], parts.report().tables["counties"])


def test_a_county_named_like_the_no_county_part_gets_a_file_of_its_own(tmp_path):
    from zjfin._export import _screening_by_county

    screening = pd.DataFrame({"region_code": ["no-county", None, "330102"], "x": [1.0, 2.0, 3.0]})
    assert sorted(_screening_by_county(screening, "zstd")) == [
        "screening/%6Eo-county.parquet", "screening/330102.parquet", "screening/no-county.parquet"]


def test_switching_layouts_in_the_current_folder_leaves_no_empty_screening_folder(tmp_path, monkeypatch):
    """--out . is written file by file (the shell stands in it): the county parts' folder
    goes with them, a folder holding a user's file stays."""
    dataset = zjfin.datasets.synthetic_province(1_500, seed=4)
    whole, parts = _screen(dataset, AS_OF), _screen(dataset, AS_OF, partition_firms=500)
    monkeypatch.chdir(tmp_path)
    export_result(parts, ".", formats=("parquet",))
    assert len(list((tmp_path / "screening").glob("*.parquet"))) > 3
    export_result(whole, ".", formats=("parquet",))
    assert (tmp_path / "screening.parquet").is_file() and not (tmp_path / "screening").exists()
    export_result(parts, ".", formats=("parquet",))
    (tmp_path / "screening" / "note.txt").write_text("mine")
    export_result(whole, ".", formats=("parquet",))
    assert [p.name for p in (tmp_path / "screening").iterdir()] == ["note.txt"]


def hostile_parts(folder: Path) -> Path:
    """The synthetic province county by county (one Parquet file a county and table), with
    what crosses counties: a firm written again in a later file (the first usable row wins),
    a firm's statement in another county's file, statements of a firm no file has in two
    counties' files, one period in both, and a county in three files whose names give its key
    twice with another's between (``330xxx.parquet``, ``330xxx.x.parquet``, ``330xxx/part-0.parquet``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from builders import uscc

    zjfin.datasets.write_partitioned_province(folder, 3_000, seed=3)
    firms = sorted((folder / "firms").glob("*.parquet"))
    fins = sorted((folder / "financials").glob("*.parquet"))
    a, b = pq.read_table(firms[0]), pq.read_table(fins[1])
    pq.write_table(a.slice(0, 2), folder / "firms" / "zz-again.parquet")  # after every county: the copies lose
    first = pq.read_table(fins[0])
    moved = first.filter(pa.compute.equal(first["firm_id"], a["firm_id"][3]))
    pq.write_table(first.filter(pa.compute.not_equal(first["firm_id"], a["firm_id"][3])), fins[0])
    stray = b.slice(0, 1).set_column(b.schema.get_field_index("firm_id"), "firm_id",
                                     pa.array([uscc("330102", "99999990")], b.schema.field("firm_id").type))
    pq.write_table(pa.concat_tables([b, moved, stray]), fins[1])
    pq.write_table(pa.concat_tables([pq.read_table(fins[2]), stray]), fins[2])
    for table in (firms[4], fins[4]):  # a county in three files, the third's key again after another's
        (table.parent / table.stem).mkdir()
        whole = pq.read_table(table)
        pq.write_table(whole.slice(0, 10), table)
        pq.write_table(whole.slice(10, 10), table.with_suffix(".x.parquet"))
        pq.write_table(whole.slice(20), table.parent / table.stem / "part-0.parquet")
    return folder


def test_a_province_read_county_by_county_gives_the_whole_result(tmp_path):
    """Firms and statements kept in their county files (read_dataset(lazy=True)) are read,
    validated and framed a county at a time; the result and every file are the whole's."""
    folder = hostile_parts(tmp_path / "in")
    whole = _screen(zjfin.read_dataset(folder), AS_OF)
    lazy = zjfin.read_dataset(folder, lazy=True)
    assert set(lazy.in_groups) == {"firms", "financials"} and len(lazy.in_groups["firms"].groups) > 80
    grouped = _screen(lazy, AS_OF, partition_firms=400)
    codes = set(whole.validation.issues["code"])
    assert {"duplicate_key", "unknown_firm"} <= codes
    pd.testing.assert_frame_equal(grouped.validation.issues, whole.validation.issues)
    pd.testing.assert_frame_equal(grouped.validation.file_rows, whole.validation.file_rows)
    assert grouped.validation.firms == whole.validation.firms
    # Written, counted and listed from the screening's files, which are never read whole here.
    export_result(whole, tmp_path / "whole")
    export_result(grouped, tmp_path / "grouped")
    assert grouped._screening is None and len(grouped._parts.files) > 3
    for name, rows in whole.lists.items():
        pd.testing.assert_frame_equal(grouped.lists[name], rows, obj=name)
    pd.testing.assert_frame_equal(grouped.summary("city"), whole.summary("city"))
    assert grouped.manifest()["counts"] == whole.manifest()["counts"] and grouped._screening is None
    assert_same_files(tmp_path / "whole", tmp_path / "grouped", whole.screening)
    _assert_same(whole, grouped)  # the screening read back in the firms file's order
    a, b = (json.loads((tmp_path / o / "manifest.json").read_text()) for o in ("whole", "grouped"))
    assert a["inputs"] == b["inputs"] and a["firms"] == b["firms"] and a["issues"] == b["issues"]


def test_firms_in_parts_beside_statements_in_one_file_are_read_whole(tmp_path):
    """Only one of the two tables in parts: nothing to pair county by county, so it is read
    whole when the screening takes it; the result is the whole's."""
    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 600, seed=2)
    statements = pd.read_parquet(folder / "financials")
    for part in (folder / "financials").glob("*.parquet"):
        part.unlink()
    (folder / "financials").rmdir()
    statements.to_parquet(folder / "financials.parquet")
    lazy = zjfin.read_dataset(folder, lazy=True)
    assert set(lazy.in_groups) == {"firms"}
    whole = _screen(zjfin.read_dataset(folder), AS_OF)
    _assert_same(whole, _screen(lazy, AS_OF, partition_firms=100))
    assert not lazy.in_groups  # read whole when taken


def test_a_county_whose_file_lacks_the_yes_no_lists_is_judged_as_in_the_whole():
    """The viability lists (落后产能, 失信, 重大违法) given for the province but empty for one
    county's firms: the whole run judges those firms "not on the list"; so must their
    partition (the lists given anywhere are a province figure, reduced first)."""
    dataset = zjfin.datasets.synthetic_province(3_000, seed=1)
    firms = dataset.tables["firms"]
    mine = (firms["region_code"] == sorted(firms["region_code"].dropna().unique())[0]).to_numpy()
    for flag in ("backward_capacity", "dishonest_debtor", "major_violation"):
        firms.loc[mine, flag] = pd.NA
    whole = _screen(dataset, AS_OF)
    unchecked = whole.screening.loc[mine, "viability_unchecked"].fillna("")
    assert mine.sum() > 10 and not unchecked.str.contains("V2|V3|V4").any()
    _assert_same(whole, _screen(dataset, AS_OF, partition_firms=1))


def test_a_models_probabilities_are_the_same_by_county():
    """A firm's pd_12m to the last bit whichever partition scores it (a matrix product's sums
    depend on the number of rows; the model's are taken feature by feature)."""
    from zjfin.model import DefaultModel, default_labels, features

    dataset = zjfin.datasets.synthetic_province(3_000, seed=1)
    x = features(dataset, "2018-03-31")
    model = DefaultModel().fit(x, default_labels(dataset, "2019-03-31").loc[x.index])
    whole = _screen(dataset, AS_OF, model=model)
    assert whole.screening["pd_12m"].notna().sum() > 2_000
    parts = _screen(dataset, AS_OF, model=model, partition_firms=1)
    _assert_same(whole, parts)
    np.testing.assert_array_equal(parts.screening["pd_12m"].to_numpy(), whole.screening["pd_12m"].to_numpy())  # exactly


def test_counties_out_of_file_order_and_a_county_over_two_files_read_county_by_county(tmp_path):
    """Files named so that their order is not the counties' (the partitions then come out of
    the province's order) and a county's firms split over two files far apart (a partition
    cut from two groups): read lazily, the whole's result and files."""
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 3_000, seed=4)
    for table in ("firms", "financials"):
        for k, part in enumerate(sorted((folder / table).glob("*.parquet"))):
            part.rename(part.with_name(f"{(k * 7) % 11:02d}-{part.name}"))  # 07-330102.parquet, …
    split = sorted((folder / "firms").glob("*.parquet"))[3]
    firms = pq.read_table(split)
    pq.write_table(firms.slice(0, len(firms) // 2), split)
    pq.write_table(firms.slice(len(firms) // 2), folder / "firms" / "zz-late.parquet")
    whole = _screen(zjfin.read_dataset(folder), AS_OF)
    lazy = _screen(zjfin.read_dataset(folder, lazy=True), AS_OF, partition_firms=300)
    order = whole.screening["region_code"].to_numpy(dtype=object)
    assert (order[1:] < order[:-1]).any()  # the province's files are not in county order
    assert lazy.validation.firms == whole.validation.firms and whole.validation.firms["screened"] == 3_000
    export_result(whole, tmp_path / "whole", formats=("parquet", "csv"))
    export_result(lazy, tmp_path / "lazy", formats=("parquet", "csv"))
    assert lazy._screening is None  # the county files from the partitions' files
    assert_same_files(tmp_path / "whole", tmp_path / "lazy", whole.screening)
    _assert_same(whole, lazy)


def _statements_counted(ctx):
    from zjfin.risks import EngineOutput

    firm_idx = ctx.tables["financials"]["firm_idx"].to_numpy()
    counted = np.bincount(firm_idx[firm_idx >= 0], minlength=len(ctx.frame)).astype(float)
    return EngineOutput(pd.DataFrame({"n_statements": counted}, index=ctx.frame.index), pd.DataFrame(index=ctx.frame.index))


def test_an_engine_of_ones_own_on_a_province_read_county_by_county_reads_it_whole(tmp_path):
    """An engine the user registers (here one reading the statements table) may read any
    table or column, and workers may not know it: the firms and statements are then read
    whole (a review found the statements empty for it, and its columns lost on workers)."""
    from zjfin._engines import Engine, register, unregister
    from zjfin._partition import screen_partitions

    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 600, seed=2)
    register(Engine("statements_counted", _statements_counted, tables=("financials",),
                    columns={"n_statements": "float"}))
    try:
        whole = _screen(zjfin.read_dataset(folder), AS_OF)
        lazy = _screen(zjfin.read_dataset(folder, lazy=True), AS_OF, partition_firms=100)
        assert (whole.screening["n_statements"] == 3).all()
        _assert_same(whole, lazy)
        with pytest.raises(zjfin.SchemaError, match="statements_counted"):
            screen_partitions([], [], {}, pd.Timestamp(AS_OF), Policy.default())
    finally:
        unregister("statements_counted")


def test_a_screening_in_files_is_written_a_file_at_a_time(tmp_path, monkeypatch):
    """The county files of a screening kept in files: each file's counties one after the
    other in the writers' order, so the export reads one file (two, with two writers) at a
    time, never the whole screening."""
    import zjfin._export

    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 3_000, seed=5)
    lazy = _screen(zjfin.read_dataset(folder, lazy=True), AS_OF, partition_firms=300)
    counties = {}
    for number, part in enumerate(lazy._parts.frames(["region_code"])):
        counties.update((f"screening/{code}.parquet", number) for code in part["region_code"].unique())
    assert len(set(counties.values())) > 5
    seen, commit = {}, zjfin._export.commit
    monkeypatch.setattr(zjfin._export, "commit", lambda out, plan, *a, order=None, **k: seen.update(order=order) or
                        commit(out, plan, *a, order=order, **k))
    export_result(lazy, tmp_path / "out", formats=("parquet",))
    pieces = [counties[name] for name in seen["order"] if name.startswith("screening/")]
    assert sorted(pieces) == sorted(counties.values()) and len(pieces) == len(counties)
    runs = [p for i, p in enumerate(pieces) if i == 0 or p != pieces[i - 1]]
    assert len(runs) == len(set(runs)), pieces
    assert lazy._screening is None


def test_long_text_in_a_screening_in_files_gives_the_same_list_files(tmp_path):
    """A list column whose Parquet dictionary passes 1 MB (names of 4,000 characters): the
    writer falls back from the dictionary at a point that depends on how the column is
    chunked, so a list joined from the screening's files is one chunk a column, as the
    whole's is (the sweep found the list files' bytes differ)."""
    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 1_500, seed=6)
    for part in (folder / "firms").glob("*.parquet"):
        firms = pd.read_parquet(part)
        firms["name"] = firms["firm_id"].astype(str) + "有限公司" * 1_000
        firms.to_parquet(part, index=False)
    whole = _screen(zjfin.read_dataset(folder), AS_OF)
    lazy = _screen(zjfin.read_dataset(folder, lazy=True), AS_OF, partition_firms=100)
    export_result(whole, tmp_path / "whole", formats=("parquet",))
    export_result(lazy, tmp_path / "lazy", formats=("parquet",))
    assert lazy._screening is None and max(len(r) for r in whole.lists.values()) > 300
    assert_same_files(tmp_path / "whole", tmp_path / "lazy", whole.screening)
