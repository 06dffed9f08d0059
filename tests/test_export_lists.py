"""The list exports (SPEC §7): lists/<list>.parquet and .csv, lists/三张名单.xlsx, summary.csv."""

import copy
import math
import shutil
import subprocess
import json
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

import zjfin
from zjfin._errors import ParameterError
from zjfin._export import SUMMARY_AMOUNTS, WORKBOOK, export_result
from zjfin._lists import LIST_FILES, LISTS
from zjfin._schema import table_schema
from zjfin._xlsx import NOTES_SHEET, SHEETS, write_lists_workbook

AS_OF = "2019-03-31"


@pytest.fixture(scope="module")
def result():
    return zjfin.screen(zjfin.datasets.synthetic_province(3000, seed=1), as_of=AS_OF)


@pytest.fixture(scope="module")
def exported(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    written = export_result(result, out)
    return out, written


@pytest.fixture(scope="module")
def workbook(exported):
    out, _ = exported
    wb = load_workbook(out / WORKBOOK)
    yield wb
    wb.close()


def test_every_list_file_is_written(exported):
    out, written = exported
    expected = {f"lists/{name}.{ext}" for name in LIST_FILES for ext in ("parquet", "csv")} | {WORKBOOK, "summary.csv"}
    assert expected <= set(written)
    for name in expected:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert expected <= set(manifest["outputs"])
    assert not [p for p in out.iterdir() if p.name.startswith(".zjfin-")]  # no staging folder left


def test_lists_partition_the_screening(exported, result):
    out, _ = exported
    s = result.screening
    total = int((s["list"] == "none").sum())
    for name in LIST_FILES:
        rows = pd.read_parquet(out / "lists" / f"{name}.parquet")
        total += len(rows)
        assert (rows["list"] == name).all()
        assert sorted(rows["firm_id"]) == sorted(s.loc[s["list"] == name, "firm_id"])
    assert total == len(s)


def test_rows_ordered_by_region_then_priority(exported):
    out, _ = exported
    for name in LIST_FILES:
        rows = pd.read_parquet(out / "lists" / f"{name}.parquet")
        assert rows["priority"].notna().all()
        keys = list(zip(rows["region_code"], rows["priority"]))
        assert keys == sorted(keys), name
        # Priority runs 1 … k within each county.
        firsts = rows.groupby("region_code")["priority"].agg(["min", "max", "size"])
        assert (firsts["min"] == 1).all() and (firsts["max"] == firsts["size"]).all()


def test_columns_follow_the_lists_schema(exported):
    out, _ = exported
    names = table_schema("lists").names
    assert len(names) == 36 and names[:3] == ["firm_id", "name", "region_code"]
    for name in LIST_FILES:
        assert list(pd.read_parquet(out / "lists" / f"{name}.parquet").columns) == names
        assert list(pd.read_csv(out / "lists" / f"{name}.csv", encoding="utf-8-sig", nrows=0).columns) == names


def test_lists_schema_copies_the_screening_columns():
    screening = table_schema("screening")
    for column in table_schema("lists").columns:
        source = screening.column(column.name)
        assert (column.type, column.unit, column.label_zh, column.description) == \
               (source.type, source.unit, source.label_zh, source.description)


def test_csv_has_a_bom_and_reads_back(exported):
    out, _ = exported
    for name in LIST_FILES:
        path = out / "lists" / f"{name}.csv"
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        csv = pd.read_csv(path, encoding="utf-8-sig", dtype={"firm_id": str, "region_code": str})
        parquet = pd.read_parquet(out / "lists" / f"{name}.parquet")
        assert csv["firm_id"].tolist() == parquet["firm_id"].tolist()
        assert csv["revenue"].to_numpy() == pytest.approx(parquet["revenue"].to_numpy(), rel=1e-9, nan_ok=True)


def test_formulas_are_escaped_in_csv_and_xlsx(result, tmp_path):
    planted = copy.copy(result)
    s = result.screening.copy()
    relief = s.index[s["list"] == "relief"]
    risky = ['=HYPERLINK("http://example.com","x")', "+1+2", "-3", "@SUM(A1)"]
    s.loc[relief[:4], "name"] = risky
    # A control character (no XML can hold it) is dropped, not a reason to fail the export.
    s.loc[relief[4], "name"] = "杭州\x07某某有限公司"
    planted.screening = s
    export_result(planted, tmp_path)

    csv = pd.read_csv(tmp_path / "lists" / "relief.csv", encoding="utf-8-sig", dtype=str)
    names = set(csv["name"])
    assert {"'" + text for text in risky} <= names
    assert not names & set(risky)

    wb = load_workbook(tmp_path / WORKBOOK)
    ws = wb[SHEETS["relief"]]
    cells = [row[0] for row in ws.iter_rows(min_row=2, min_col=2, max_col=2)]
    assert all(c.data_type == "s" for c in cells)  # no formula anywhere in the name column
    assert {"'" + text for text in risky} | {"杭州某某有限公司"} <= {c.value for c in cells}
    # Only text is escaped: a negative number stays a number.
    z2_column = table_schema("lists").names.index("z2_score") + 1
    z2 = [row[0].value for row in ws.iter_rows(min_row=2, min_col=z2_column, max_col=z2_column)]
    assert any(isinstance(v, float) and v < 0 for v in z2)
    wb.close()


def test_workbook_sheets_headers_and_formats(workbook, result):
    assert workbook.sheetnames == ["关注名单", "纾困名单", "优质企业名单", "中小企业融资需求名单", "说明"]
    schema = table_schema("lists")
    labels = [c.label_zh for c in schema.columns]
    counts = result.screening["list"].value_counts()
    for name, title in SHEETS.items():
        ws = workbook[title]
        assert [c.value for c in ws[1]] == labels
        assert ws.freeze_panes == "A2"
        assert ws.max_row == counts.get(name, 0) + 1
        assert ws.auto_filter.ref == f"A1:{get_column_letter(len(labels))}{ws.max_row}"
    ws = workbook[SHEETS["relief"]]
    column = {n: i for i, n in enumerate(schema.names, 1)}
    revenue = ws.cell(row=2, column=column["revenue"])
    assert isinstance(revenue.value, float) and revenue.number_format == "#,##0"
    assert ws.cell(row=2, column=column["z2_score"]).number_format == "0.00"
    assert ws.cell(row=2, column=column["firm_id"]).number_format == "General"
    shares = [ws.cell(row=r, column=column["guarantee_out_ratio"]) for r in range(2, ws.max_row + 1)]
    assert {c.number_format for c in shares if c.value is not None} == {"0.00%"}
    # Widths follow the content: the name column is wider than the size class.
    assert ws.column_dimensions["B"].width > ws.column_dimensions["E"].width


def test_notes_sheet_has_as_of_definitions_and_policy(workbook, result):
    ws = workbook[NOTES_SHEET]
    rows = [tuple(v for v in row) for row in ws.iter_rows(values_only=True)]
    cells = {v for row in rows for v in row if v is not None}
    assert AS_OF in cells
    assert zjfin.__version__ in cells
    counts = result.screening["list"].value_counts()
    by_list = {row[0]: row for row in rows if row[0] in LISTS}
    for name in LISTS:
        assert by_list[name][2] == counts.get(name, 0)
        assert by_list[name][3]  # a definition
    policy = result.policy.to_dict()
    keys = {(row[0], row[1]) for row in rows}
    for section, values in policy.items():
        for key in values:
            assert (section, key) in keys, (section, key)
    assert ("lists", "precedence") in keys


def test_two_exports_are_byte_identical(result, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    export_result(result, first)
    export_result(result, second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert WORKBOOK in {str(p) for p in files}
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for path in files:
        assert (first / path).read_bytes() == (second / path).read_bytes(), path
    # Not the clock: the workbook carries the as-of date, so equal bytes are no accident of timing.
    with zipfile.ZipFile(first / WORKBOOK) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2019, 3, 31, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert core.count("2019-03-31T00:00:00Z") == 2  # created and modified


def test_summary_adds_up(exported, result):
    out, _ = exported
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig", dtype={"code": str})
    assert list(summary.columns) == ["dimension", "code", "list", "firms", *SUMMARY_AMOUNTS]
    s = result.screening
    keys = {"region": "region_code", "industry": "industry_section"}
    assert list(summary["dimension"].unique()) == list(keys)
    for dimension, key in keys.items():
        part = summary[summary["dimension"] == dimension]
        assert part["firms"].sum() == len(s)
        assert part.groupby("list")["firms"].sum().to_dict() == s["list"].value_counts().to_dict() | \
               {n: 0 for n in LISTS if n not in set(s["list"])}
        # Every code has all five lists, in precedence order; codes ascending.
        assert part["list"].tolist() == list(LISTS) * part["code"].nunique()
        assert part["code"].tolist() == sorted(part["code"])
        expected = s.groupby(key)["revenue"].sum()
        got = part.groupby("code")["revenue"].sum()
        assert got.to_numpy() == pytest.approx(expected.loc[got.index].to_numpy(), abs=len(LISTS))


def test_formats_choose_the_list_files(result, tmp_path):
    written = export_result(result, tmp_path, formats=("parquet",))
    assert "lists/relief.parquet" in written and "lists/relief.csv" not in written and WORKBOOK not in written
    assert {"screening.parquet", "summary.csv", "manifest.json"} <= set(written)
    with pytest.raises(ParameterError):
        export_result(result, tmp_path, formats=("pdf",))


def test_writers_take_the_costliest_files_first(result, tmp_path, monkeypatch):
    # Handed over costliest first (cells × a format's cost a cell), so two writers finish together;
    # a list's files one after the other, so its rows are not held across the others.
    import zjfin._write as write

    taken, planned = [], []
    real = write._write_side_by_side

    def recording(plan, folder, digest=False, order=None):
        planned.extend(plan)
        taken.extend(order)
        return real(plan, folder, digest, order)

    monkeypatch.setattr(write, "_write_side_by_side", recording)
    written = export_result(result, tmp_path, formats=("parquet", "csv", "xlsx"))
    assert sorted(taken) == sorted(planned) and written[:-1] == planned  # the names returned keep the plan's order
    s = result.screening
    counts = s["list"].value_counts()
    lists = sorted(LIST_FILES, key=lambda n: -int(counts.get(n, 0)))
    assert taken[0] == WORKBOOK  # every list's cells, at the workbook's cost
    for name in LIST_FILES:
        assert taken.index(f"lists/{name}.parquet") == taken.index(f"lists/{name}.csv") + 1
    assert taken.index(f"lists/{lists[0]}.csv") < taken.index(f"lists/{lists[-1]}.csv")
    width = len(table_schema("lists").names)
    costlier = [n for n in LIST_FILES if int(counts.get(n, 0)) * width * 11 > s.size]
    assert all(taken.index(f"lists/{n}.csv") < taken.index("screening.parquet") for n in costlier)
    assert set(taken[-3:]) <= {"rejected.csv", "issues.csv", "summary.csv", "circles.parquet", "pledges.parquet",
                                "findings.parquet", *(f"lists/{n}.parquet" for n in LIST_FILES)}


def test_missing_list_gives_a_header_only_sheet(result, tmp_path):
    path = tmp_path / "book.xlsx"
    write_lists_workbook({}, path, as_of=AS_OF, policy=result.policy)
    wb = load_workbook(path)
    for title in SHEETS.values():
        ws = wb[title]
        assert ws.max_row == 1 and ws["A1"].value == "统一社会信用代码"
    wb.close()


# ------------------------------------------------------------------ hostile text (issue 15 §3)

import csv as _csv  # noqa: E402
import io as _io  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from zjfin._write import FORMULA_START, MAX_CELL_CHARS, write_csv  # noqa: E402

_NASTY = st.one_of(
    st.text(alphabet=st.sampled_from(list("=+-@＝＋－＠\t\r\n \u3000\x00\x07\x1b\"',;|!A0甲")),
            max_size=12),
    st.sampled_from(["正常公司\r=cmd|' /C calc'!A0", "\t=1+1", " =1+1", "\r=1", "＝HYPERLINK(\"x\")", "@SUM(A1)",
                     "a\r\nb", "a\rb", "x" * (MAX_CELL_CHARS + 5)]),
    st.text(max_size=20),
)


def _starts_formula(text: str) -> bool:
    return text.lstrip(" \t\r\n\u3000" + "".join(map(chr, range(32)))).startswith(FORMULA_START) or text[:1] in ("\t", "\r")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(names=st.lists(_NASTY, min_size=1, max_size=6))
def test_hostile_text_survives_every_csv_and_workbook(result, tmp_path, names):
    rows = result.lists["relief"].head(len(names)).copy()
    assert len(rows) == len(names)
    rows["name"] = names
    path = tmp_path / "l.csv"
    write_csv(rows, path)
    raw = path.read_bytes().decode("utf-8-sig")
    parsed = list(_csv.reader(_io.StringIO(raw, newline="")))
    by_pandas = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(parsed) == len(names) + 1 and len(by_pandas) == len(names)  # same rows, none split
    assert [r[0] for r in parsed[1:]] == rows["firm_id"].tolist() == by_pandas["firm_id"].tolist()
    text_columns = [i for i, c in enumerate(rows.columns) if pd.api.types.is_string_dtype(rows[c]) or rows[c].dtype == object]
    for r in parsed[1:]:  # numbers may be negative; text cells never start a formula
        for i in text_columns:
            assert not _starts_formula(r[i]) and len(r[i]) <= MAX_CELL_CHARS, r[i][:40]
    book = tmp_path / "l.xlsx"
    write_lists_workbook({"relief": rows}, book, as_of=AS_OF, policy=result.policy)
    wb = load_workbook(book)
    ws = wb[SHEETS["relief"]]
    values = list(ws.iter_rows(min_row=2, values_only=False))
    assert len(values) == len(names)
    for row in values:
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):  # (numbers stay numbers in the workbook)
                assert not _starts_formula(cell.value) and len(cell.value) <= MAX_CELL_CHARS
    wb.close()


# ------------------------------------------------------------------ workbook at scale (issue 16 §4)


def test_a_list_longer_than_a_sheet_continues_on_numbered_sheets(result, tmp_path, monkeypatch):
    import zjfin._xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_DATA_ROWS", 50)
    rows = result.lists["sme_funding"].head(120)
    path = tmp_path / "w.xlsx"
    write_lists_workbook({"sme_funding": rows}, path, as_of=AS_OF, policy=result.policy)
    wb = load_workbook(path, read_only=True)
    title = SHEETS["sme_funding"]
    assert [s for s in wb.sheetnames if s.startswith(title)] == [title, f"{title}(2)", f"{title}(3)"]
    read = []
    for sheet in (title, f"{title}(2)", f"{title}(3)"):
        values = list(wb[sheet].iter_rows(values_only=True))
        assert values[0][0] == "统一社会信用代码"  # each sheet has the header
        read.extend(values[1:])
    assert [r[0] for r in read] == rows["firm_id"].tolist()
    notes = [r for r in wb[NOTES_SHEET].iter_rows(values_only=True) if r and r[0] == "续表"]
    assert len(notes) == 1 and f"{title}(2)" in notes[0][1] and "50" in notes[0][1]
    wb.close()


def test_workbook_cells_equal_the_csv_list(exported, result):
    """The streamed sheet holds the same cells as the CSV list (numbers exact to the double)."""
    out, _ = exported
    csv = pd.read_csv(out / "lists" / "relief.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    wb = load_workbook(out / WORKBOOK, read_only=True)
    values = list(wb[SHEETS["relief"]].iter_rows(min_row=2, values_only=True))
    wb.close()
    frame = result.lists["relief"]
    assert len(values) == len(csv) == len(frame)
    for j, name in enumerate(frame.columns):
        column = [v[j] for v in values]
        if pd.api.types.is_float_dtype(frame[name].dtype):
            expected = [None if pd.isna(x) or not math.isfinite(x) else x for x in frame[name]]
            assert column == expected, name
        elif pd.api.types.is_string_dtype(frame[name].dtype) or frame[name].dtype == object:
            assert [v if v is not None else "" for v in column] == csv[name].tolist(), name


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed (make libreoffice)")
def test_libreoffice_reads_the_workbook_as_the_csv(exported, tmp_path):
    out, _ = exported
    converted = subprocess.run(["soffice", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2",
                                "--outdir", str(tmp_path), str(out / WORKBOOK)], capture_output=True, timeout=300)
    assert converted.returncode == 0, converted.stderr
    sheet = next(tmp_path.glob("*纾困*.csv"))
    lo = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    csv = pd.read_csv(out / "lists" / "relief.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(lo) == len(csv) and lo.iloc[:, 0].tolist() == csv["firm_id"].tolist()


def test_non_xml_characters_and_large_sums(result, tmp_path):
    rows = result.lists["relief"].head(3).copy()
    rows["name"] = ["杭州\uffff有限公司", "宁波\ufffe公司", "正常"]
    rows["revenue"] = [12_345_678_901.23, 123_456_789.12, 1.5]
    write_lists_workbook({"relief": rows}, tmp_path / "w.xlsx", as_of=AS_OF, policy=result.policy)
    wb = load_workbook(tmp_path / "w.xlsx", read_only=True)
    names = [r[1] for r in wb[SHEETS["relief"]].iter_rows(min_row=2, values_only=True)]
    wb.close()
    assert names == ["杭州有限公司", "宁波公司", "正常"]
    write_csv(rows, tmp_path / "l.csv")
    back = pd.read_csv(tmp_path / "l.csv", encoding="utf-8-sig")
    assert back["revenue"].tolist() == [12_345_678_901.23, 123_456_789.12, 1.5]  # %.10g cut these
