"""The quarterly bulletin (zjfin._report, `zjfin report`): its figures are the screening's
own (recomputed here with plain pandas), its movements `zjfin diff`'s, its workbook the
page's numbers; text is escaped; the same inputs give the same bytes; and the page loads in
a real browser (headless Chromium, when installed: `make chromium`) without errors or any
request outside the file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import zjfin
import zjfin._lists
from zjfin._cli import main
from zjfin._diff import diff_lists
from zjfin._export import manifest
from zjfin._lists import LISTS
from zjfin._report import bulletin, bulletin_from_folder

AS_OF, NEXT_QUARTER = "2019-03-31", "2019-06-30"
SECTIONS = ["headline", "counties", "risks", "movements", "industries", "quality", "policy"]


@pytest.fixture(scope="module")
def quarters():
    dataset = zjfin.datasets.synthetic_province(20_000, seed=0)
    return zjfin.screen(dataset, as_of=AS_OF), zjfin.screen(dataset, as_of=NEXT_QUARTER)


@pytest.fixture(scope="module")
def made(quarters):
    before, now = quarters
    return now.report(previous=before)


def test_headline_and_counties_are_the_screenings_own(quarters, made):
    _, now = quarters
    s = now.screening
    head = made.tables["headline"].set_index("list")
    counts = s["list"].value_counts()
    for key in LISTS:
        assert head.loc[key, "firms"] == counts.get(key, 0)
        for amount in ("revenue", "total_liabilities", "bond_due_12m", "suggested_credit_line"):
            assert head.loc[key, amount] == pytest.approx(s.loc[s["list"] == key, amount].sum(), rel=1e-12)
    assert head.loc["total", "firms"] == len(s)
    # Per county and list, against a plain group-by.
    expected = s.groupby(["region_code", "list"]).size().unstack(fill_value=0)
    counties = made.tables["counties"].set_index("region_code")
    for key in LISTS:
        got = counties[key].reindex(expected.index)
        np.testing.assert_array_equal(got.to_numpy(), expected.get(key, pd.Series(0, index=expected.index)).to_numpy())
    np.testing.assert_allclose(counties["relief_share"], counties["relief"] / counties["firms"])
    # Cities sum their counties (a county's city: its code's first four digits).
    cities = made.tables["cities"].set_index("city_code")["firms"]
    by_city = s.groupby(s["region_code"].str[:4] + "00").size()
    assert cities.to_dict() == by_city.to_dict()


def page_tables(page: str) -> dict[str, list[list[list[str]]]]:
    """The page's tables, per section id, as rows of cell texts (read back with the standard
    library's HTML parser, as a browser would see the text)."""
    from html.parser import HTMLParser

    class Tables(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.section, self.found, self.cell = "", {}, None

        def handle_starttag(self, tag, attrs):
            if tag == "section":
                self.section = dict(attrs).get("id", "")
            elif tag == "table":
                self.found.setdefault(self.section, []).append([])
            elif tag == "tr":
                self.found[self.section][-1].append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.found[self.section][-1][-1].append(self.cell)
                self.cell = None

    parser = Tables()
    parser.feed(page)
    return parser.found


def test_the_pages_figures_are_the_screenings_own(quarters, made):
    _, now = quarters
    s = now.screening
    tables = page_tables(made.html())
    headline = tables["headline"][0]
    names = zjfin._lists.list_table().set_index("key")["name_zh"]
    shown = {row[0]: row for row in headline[1:]}
    for key in LISTS:
        row = shown[names[key]]
        assert int(row[1].replace(",", "")) == (s["list"] == key).sum()
        # Amounts in 100 million yuan, two decimals.
        assert row[-4] == f"{s.loc[s['list'] == key, 'revenue'].sum() / 1e8:,.2f}"
    assert int(shown["合计"][1].replace(",", "")) == len(s)
    # The county table: firms and relief per county code.
    counties = next(t for t in tables["counties"] if t[0][:3] == ["城市", "区划代码", "县（市、区）"])
    per_county = s.groupby("region_code")["list"].agg(firms="size", relief=lambda v: (v == "relief").sum())
    for row in counties[1:]:
        assert int(row[3].replace(",", "")) == per_county.loc[row[1], "firms"]
        assert int(row[5].replace(",", "")) == per_county.loc[row[1], "relief"]
    assert len(counties) - 1 == len(per_county)


def test_risks_wall_pledges_and_circles_are_the_screenings_own(quarters, made):
    _, now = quarters
    s = now.screening
    levels = made.tables["risk_levels"].set_index("risk")
    for risk in levels.index:
        assert levels.loc[risk, "high"] == (s[risk] == "high").sum()
        assert levels.loc[risk, ["none", "low", "medium", "high", "switched_off"]].sum() == len(s)
    wall = made.tables["maturity_wall"]["amount"].to_numpy()
    assert wall.sum() == pytest.approx(s["bond_due_12m"].fillna(0).sum())
    assert wall[0] == pytest.approx(s["bond_due_3m"].fillna(0).sum())
    pledges = now.tables["pledges"]
    live = pledges[pledges["state"] != "released"]
    bands = made.tables["pledges"].set_index("band")["contracts"]
    assert bands.sum() == len(live)
    assert bands.iloc[0] == (live["distance"] < 0).sum() and bands.iloc[1] == live["distance"].between(0, 0.1, "left").sum()
    circles = made.tables["circles"]
    largest = now.tables["circles"].sort_values("total_amount", ascending=False).head(10)
    assert circles["circle_id"].tolist() == largest["circle_id"].tolist()
    assert circles["size"].tolist() == largest["size"].tolist()


def test_movements_are_zjfin_diffs(quarters, made):
    before, now = quarters
    diff = diff_lists(before, now)
    moved = made.tables["movements"]
    expected = diff.counts[diff.counts["firms"] > 0].reset_index(drop=True)
    assert len(moved) > 0
    pd.testing.assert_frame_equal(moved.sort_values(["change", "list_old", "list_new"]).reset_index(drop=True),
                                  expected[["change", "list_old", "list_new", "firms"]].sort_values(
                                      ["change", "list_old", "list_new"]).reset_index(drop=True), check_dtype=False)
    by_county = made.tables["movements_by_county"].set_index("region_code")
    plain = diff.changes.groupby(["region_code", "change"]).size().unstack(fill_value=0)
    for change in plain.columns:
        assert by_county[change].reindex(plain.index).tolist() == plain[change].tolist()
    # The headline's changes are the two quarters' counts apart.
    head = made.tables["headline"].set_index("list")
    assert head.loc["relief", "firms_change"] == (now.screening["list"] == "relief").sum() - (
        before.screening["list"] == "relief").sum()


def test_traditional_industries_are_sums_over_their_firms(quarters, made):
    _, now = quarters
    s = now.screening
    ind = made.tables["industries"].set_index("group")
    c17 = s[s["industry_code"].str.startswith("C17")]
    both = c17.dropna(subset=["revenue", "revenue_prev"])
    assert ind.loc["C17", "firms"] == len(c17)
    assert ind.loc["C17", "revenue_growth"] == pytest.approx(both["revenue"].sum() / both["revenue_prev"].sum() - 1)
    assert ind.loc["C17", "finance_cost_per_100"] == pytest.approx(
        100 * c17["interest_expense"].sum() / c17.loc[c17["interest_expense"].notna(), "revenue"].sum())
    assert ind.loc["全部企业", "firms"] == len(s)
    traditional = ind.loc["传统制造业合计", "firms"]
    assert 0 < traditional < len(s)
    with_lp = c17.dropna(subset=["labour_productivity"])
    assert ind.loc["C17", "labour_productivity"] == pytest.approx(
        (with_lp["labour_productivity"] * with_lp["employees"]).sum() / with_lp["employees"].sum())


def test_the_workbook_holds_the_pages_numbers(made, tmp_path):
    """Each sheet is a table of the page, in the unit its header names (亿元: 100 million
    yuan, 万元: 10k yuan; the tables hold yuan), shares formatted as per cent, every header
    once and none a section's title."""
    from openpyxl import load_workbook

    made.write(tmp_path)
    sheets = pd.read_excel(tmp_path / "通报.xlsx", sheet_name=None)
    book = load_workbook(tmp_path / "通报.xlsx")
    assert list(sheets) == list(made.tables)
    titles = set(re.findall(r"<h[23][^>]*>([^<]*)</h[23]>", made.html()))
    list_names = {"relief": "纾困名单", "quality": "优质企业名单", "sme_funding": "中小企业融资需求名单", "watch": "关注名单"}
    for name, table in made.tables.items():
        sheet = sheets[name]
        assert len(sheet) == len(table), name
        headers = [c.value for c in book[name][1]]
        assert len(set(headers)) == len(headers) and not set(headers) & titles, (name, headers)
        for column, header in zip(table.columns, headers):
            if name in ("cities", "counties") and column in list_names:
                assert header.startswith(list_names[column][:2]), (name, column, header)
            if pd.api.types.is_numeric_dtype(table[column]) and not pd.api.types.is_bool_dtype(table[column]):
                scale = 1e8 if "亿元" in header else 1e4 if "万元" in header else 1.0
                np.testing.assert_allclose(sheet[header].to_numpy(dtype=float) * scale, table[column].to_numpy(dtype=float),
                                           rtol=1e-12, err_msg=f"{name}.{column}")
            if header.endswith("占比") or header.endswith("增长率"):
                assert {c.number_format for (c,) in book[name].iter_rows(min_row=2, min_col=headers.index(header) + 1,
                                                                          max_col=headers.index(header) + 1)} <= {"0.0%"}


def test_same_inputs_same_bytes(quarters, tmp_path):
    before, now = quarters
    for folder in ("a", "b"):
        now.report(tmp_path / folder, previous=before)
    for name in ("report.html", "通报.xlsx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # Two runs within one second would agree even with the clock in the file: look inside.
    with zipfile.ZipFile(tmp_path / "a" / "通报.xlsx") as book:
        core = book.read("docProps/core.xml").decode()
        stamps = {info.date_time[:3] for info in book.infolist()}
    assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == ["2019-06-30T00:00:00Z"] * 2
    assert stamps == {(2019, 6, 30)}


def test_hostile_names_are_shown_as_text(tmp_path):
    dataset = zjfin.datasets.synthetic_province(600, seed=3)
    firms = dataset.tables["firms"].copy()
    hostile = ['<script>alert(1)</script>甲公司', 'A & B "quoted" \'co\'', '=HYPERLINK("http://x","y")']
    # Members of the largest circle get the names: the page lists circle members by name.
    res = zjfin.screen(dataset, as_of=AS_OF)
    members = list(res.tables["circles"].sort_values("total_amount", ascending=False)["members"].iloc[0])
    for member, name in zip(members, hostile):
        firms.loc[firms["firm_id"] == member, "name"] = name
    dataset.tables["firms"] = firms
    made = zjfin.screen(dataset, as_of=AS_OF).report(tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert made == ["report.html", "通报.xlsx"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;甲公司" in page
    assert "A &amp; B &quot;quoted&quot; &#x27;co&#x27;" in page
    circles = pd.read_excel(tmp_path / "通报.xlsx", sheet_name="circles")
    text = " ".join(circles.iloc[:, -1].astype(str))
    assert "<script>alert(1)</script>甲公司" in text  # the workbook holds the name as it is, as text
    from openpyxl import load_workbook

    cell_values = [c.value for row in load_workbook(tmp_path / "通报.xlsx")["circles"].iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in cell_values)


def test_zjfin_report_from_output_folders(tmp_path, capsys):
    dataset = zjfin.datasets.synthetic_province(2_000, seed=5)
    zjfin.write_dataset(dataset, tmp_path / "input")
    for quarter, as_of in (("q1", AS_OF), ("q2", NEXT_QUARTER)):
        assert main(["screen", str(tmp_path / "input"), "--as-of", as_of, "--out", str(tmp_path / quarter),
                     "--formats", "parquet", "-q"]) == 0
    assert main(["report", str(tmp_path / "q2"), "--previous", str(tmp_path / "q1"), "--lang", "en",
                 "--title", "Q2 <bulletin>"]) == 0
    page = (tmp_path / "q2" / "report.html").read_text(encoding="utf-8")
    assert "<title>Q2 &lt;bulletin&gt;</title>" in page and "Movements since last quarter" in page
    # From the folder, the same figures as from the results in memory.
    from_folder = bulletin_from_folder(tmp_path / "q2", previous=tmp_path / "q1")
    q1 = pd.read_parquet(tmp_path / "q1" / "screening.parquet")
    q2 = pd.read_parquet(tmp_path / "q2" / "screening.parquet")
    in_memory = bulletin(q2, json.loads((tmp_path / "q2" / "manifest.json").read_text(encoding="utf-8")),
                         circles=pd.read_parquet(tmp_path / "q2" / "circles.parquet"),
                         pledges=pd.read_parquet(tmp_path / "q2" / "pledges.parquet"),
                         findings=pd.read_parquet(tmp_path / "q2" / "findings.parquet"), previous=q1)
    for name in ("headline", "counties", "movements", "industries", "circles"):
        pd.testing.assert_frame_equal(from_folder.tables[name], in_memory.tables[name], obj=name)
    # A new screening into the folder removes the bulletin of the run before (it is that run's).
    assert main(["screen", str(tmp_path / "input"), "--as-of", AS_OF, "--out", str(tmp_path / "q2"),
                 "--formats", "parquet", "-q"]) == 0
    assert not (tmp_path / "q2" / "report.html").exists()
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "manifest.json" in capsys.readouterr().err


# ------------------------------------------------------------------ in a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make chromium)")


def open_in_chromium(page: Path, work: Path) -> tuple[str, list[str], list[str]]:
    """Load ``page`` from disk in headless Chromium with no network: (the DOM after loading,
    the console's messages, the URLs the page asked for other than its own file)."""
    netlog = work / "netlog.json"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={work / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing leaves
         "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    log = json.loads(netlog.read_text(encoding="utf-8"))
    requests = sorted({e["params"]["url"] for e in log["events"]
                       if str(e.get("params", {}).get("network_isolation_key", "")).startswith("file://")
                       and "url" in e.get("params", {})})
    return done.stdout, console, [u for u in requests if u != page.resolve().as_uri()]


@needs_chromium
def test_the_browser_check_sees_errors_and_requests(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><section id="x"></section><img src="http://example.com/a.png">'
                   "<script>console.error('boom'); missing();</script></body></html>", encoding="utf-8")
    dom, console, requests = open_in_chromium(bad, tmp_path)
    assert '<section id="x">' in dom
    assert any("boom" in line for line in console) and any("missing" in line for line in console)
    assert requests == ["http://example.com/a.png"]


@needs_chromium
def test_the_bulletin_loads_in_chromium_without_errors_or_requests(quarters, tmp_path):
    before, now = quarters
    now.report(tmp_path, previous=before)
    dom, console, requests = open_in_chromium(tmp_path / "report.html", tmp_path)
    assert console == [] and requests == []
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom, section
    assert dom.count("<svg") >= 3  # the cities' bars, the maturity wall, a circle's drawing
    shot = tmp_path / "first-screen.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile2'}", "--hide-scrollbars",
                    "--window-size=900,1200", f"--screenshot={shot}", (tmp_path / "report.html").resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def _page_table(page: str, heading: str) -> pd.DataFrame:
    """The first table after ``heading`` on the page, as text."""
    after = page[page.index(f">{heading}<"):]
    block = after[after.index("<table>"):after.index("</table>")]
    heads = re.findall(r"<th>(.*?)</th>", block)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", block.split("<tbody>")[1])]
    return pd.DataFrame(rows, columns=heads)


def test_the_changes_since_last_quarter_are_on_the_page(quarters, made):
    before, now = quarters
    changes = _page_table(made.html(), "与上期相比").set_index("名单")
    for key, name in zjfin._report._list_names("zh").items():
        old, new = before.screening["list"] == key, now.screening["list"] == key
        assert int(changes.loc[name, "企业数变动"].replace(",", "")) == new.sum() - old.sum()
        for column, header in (("revenue", "营业收入变动（亿元）"), ("bond_due_12m", "12个月内到期债券变动（亿元）")):
            expected = (now.screening.loc[new, column].sum() - before.screening.loc[old, column].sum()) / 1e8
            assert float(changes.loc[name, header].replace(",", "")) == pytest.approx(expected, abs=0.006)


def test_the_same_firms_in_another_order_give_the_same_bytes(quarters, tmp_path):
    """A screening written by county holds the firms in another order: the sums (floats)
    must not depend on it."""
    _, now = quarters
    record = manifest(now)
    shuffled = now.screening.sample(frac=1.0, random_state=7)
    for folder, screening in (("a", now.screening), ("b", shuffled)):
        bulletin(screening, record, circles=now.tables.get("circles"), pledges=now.tables.get("pledges")).write(tmp_path / folder)
    for name in ("report.html", "通报.xlsx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_every_reason_is_named_and_labour_productivity_says_whom_it_covers(quarters, made):
    reasons = made.tables["movements_by_reason"]
    assert len(reasons) and (reasons["reason"].str.len() > 3).all() and not reasons["reason"].str.contains("{").any()
    _, now = quarters
    s = now.screening
    ind = made.tables["industries"].set_index("group")
    assert ind.loc["全部企业", "productivity_firms"] == (s["labour_productivity"].notna() & s["employees"].notna()).sum()
    assert ind.loc["全部企业", "productivity_firms"] < len(s)  # the 亩均 evaluation's firms only: shown


def test_a_dataset_in_memory_an_empty_section_and_the_notebook_view(tmp_path):
    import html as html_module

    dataset = zjfin.datasets.synthetic_province(400, seed=2)
    tables = {t: dataset[t].drop(columns="_row") for t in ("firms", "financials")}
    res = zjfin.screen(zjfin.Dataset(tables), as_of=AS_OF)
    page = res.report().html()
    assert "<td>None</td>" not in page and "（内存中的表）" in page
    # No pledges and no circles: the sections say there is nothing, not a bare header.
    assert "无数据" in page.split("圈内担保金额最大的担保圈")[1].split("</table>")[0]
    viewed = res.report()._repr_html_()
    assert viewed.startswith("<iframe srcdoc=") and html_module.unescape(viewed.split('"')[1]) == page


def test_each_circle_drawing_has_its_own_arrow(made):
    page = made.html()
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)) and sum(i.startswith("arrow-") for i in ids) == len(made.circles) > 1


def test_rejected_rows_by_reason_add_up_to_the_manifests(tmp_path):
    dataset = zjfin.datasets.synthetic_province(2_000, seed=5)
    fin = dataset["financials"].drop(columns="_row").copy()
    fin.loc[fin.index[:7], "firm_id"] = [f"91330100MA000000{k}X" for k in range(7)]  # no such firms: rejected
    tables = {t: dataset[t].drop(columns="_row") for t in dataset.tables_present()} | {"financials": fin}
    folder = tmp_path / "input"
    zjfin.write_dataset(zjfin.Dataset(tables), folder)
    assert main(["screen", str(folder), "--as-of", AS_OF, "--out", str(tmp_path / "out"), "--formats", "parquet", "-q"]) in (0, 1)
    record = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    made = bulletin_from_folder(tmp_path / "out")
    rejected = made.tables["rejected_rows"].groupby("table")["rows"].sum()
    for table, entry in record["inputs"].items():
        assert int(rejected.get(table, 0)) == entry["rows_rejected"], table
    assert made.tables["rejected_rows"].set_index(["table", "code"]).loc[("financials", "unknown_firm"), "rows"] == 7
    # The previous quarter may be named as a screening file or folder too, as zjfin diff takes it.
    by_file = bulletin_from_folder(tmp_path / "out", previous=tmp_path / "out" / "screening.parquet")
    assert by_file.tables["movements"]["firms"].sum() == 0


def test_a_circle_of_most_of_the_province_is_named_and_drawn_in_part():
    """A random network's circle may hold most of the firms (265,394 of 300,000 gave an 82 MB
    page): its row names 20 members and counts the rest, its drawing shows 40, distressed first."""
    dataset = zjfin.datasets.synthetic_province(3_000, seed=4)
    firms = dataset["firms"]["firm_id"].to_numpy()
    ring = firms[:500]
    guarantees = pd.DataFrame({"guarantor_id": ring, "borrower_id": np.roll(ring, -1), "amount": 1e9,
                               "start_date": pd.Timestamp("2018-01-01"), "end_date": pd.Timestamp("2021-01-01"),
                               "kind": "general"})
    tables = {t: dataset[t].drop(columns="_row") for t in dataset.tables_present()}
    tables["guarantees"] = pd.concat([tables["guarantees"], guarantees], ignore_index=True)
    res = zjfin.screen(zjfin.Dataset(tables), as_of=AS_OF)
    circle = res.tables["circles"].sort_values("total_amount", ascending=False).iloc[0]
    assert circle["size"] >= 500
    made = res.report()
    row = made.tables["circles"].iloc[0]
    assert row["members"].count("、") == 19 and row["members"].endswith(f"等{circle['size']:,}家")
    drawn = made.circles[0]["members"]
    assert len(drawn) == 40
    distressed = set(np.asarray(circle["distressed_members"], dtype=object).astype(str))
    flags = [d for _, d in drawn]
    assert distressed and flags == sorted(flags, reverse=True) and sum(flags) == min(40, len(distressed))
    assert len(made.html()) < 300_000
