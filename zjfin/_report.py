"""The quarterly bulletin (季度分析通报): one self-contained HTML page and a workbook, made
from a screening's own outputs.

The stage after the export: :func:`bulletin` takes what a screening wrote (the screening
table, the manifest, the circles, pledges and findings tables; or the same from a
:class:`~zjfin.ScreeningResult` in memory) and, optionally, the previous quarter's screening,
and builds the bulletin's tables once (:attr:`Bulletin.tables`). The page
(:meth:`Bulletin.html`) and the workbook ``通报.xlsx`` are two renderings of those tables, so
they hold the same numbers. The page needs no network (styles and charts inline, charts as
SVG, no script), prints on A4 and is the same bytes for the same inputs: no clock is read.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from zjfin._arrow import index_in, is_in
from zjfin._errors import InputFileError, ParameterError
from zjfin._lists import LISTS
from zjfin._policy import Policy
from zjfin._reasons import reason_catalogue
from zjfin._schema import list_table, risk_level_columns
from zjfin._version import __version__
from zjfin._write import read_parquet_columns

__all__ = ["Bulletin", "bulletin", "bulletin_from_folder", "REPORT_FILES"]

#: What ``zjfin report`` writes into the output folder.
REPORT_FILES = ("report.html", "通报.xlsx")

# The screening's columns the bulletin reads (a screening written by an older zjfin may
# lack the newer ones: their figures are then shown as not available).
_COLUMNS = ("firm_id", "name", "region_code", "industry_code", "employees", "revenue", "revenue_prev", "net_profit",
            "net_profit_prev", "interest_expense", "total_liabilities", "labour_productivity", "bond_due_3m",
            "bond_due_6m", "bond_due_12m", "suggested_credit_line", "list", "reason_codes",
            *risk_level_columns())
_AMOUNTS = ("revenue", "total_liabilities", "bond_due_12m", "suggested_credit_line")
# How the tables' numbers are shown, on the page and in the workbook alike: amounts (yuan in
# the tables) in 100 million yuan, productivity (yuan per employee) in 10k yuan, shares in per cent.
_DIVISORS = {**{c: 1e8 for c in (*_AMOUNTS, *(f"{a}_change" for a in _AMOUNTS), "amount", "loan_amount", "total_amount")},
             "labour_productivity": 1e4}
_SHARE_COLUMNS = frozenset({"relief_share", "watch_share", "share", "revenue_growth", "profit_growth"})
# Tables whose columns include one per list (headed by the list's name).
_BY_LIST_TABLES = frozenset({"cities", "counties"})
_LEVELS = ("none", "low", "medium", "high")
# A county's list shares are ranked only where it has this many firms (a county of three
# firms, one on the watch list, is not the province's concentration of risk).
_MIN_COUNTY_FIRMS = 20
_TOP = 10
# A circle's members named in its row, and drawn on its ring (the rest are counted).
_MEMBERS_LISTED, _MEMBERS_DRAWN = 20, 40

# Every heading and label of the page, in Chinese and English.
_TEXT: dict[str, tuple[str, str]] = {
    "title": ("企业融资风险季度分析通报", "Quarterly bulletin on enterprise financing risk"),
    "as_of": ("截至", "As of"),
    "headline": ("一、总体情况", "1. Headline"),
    "counties": ("二、分地区情况", "2. By city and county"),
    "risks": ("三、融资风险", "3. Financing risks"),
    "risks_note": ("2019年提出的五类风险中，国际市场风险和核心技术对外依存风险无法由企业融资数据计算；本节为可计算的债券兑付、"
                   "资金链（流动性）、股权质押和担保链风险。",
                   "Of the five risks named in 2019, international market risk and dependence on foreign core technology "
                   "cannot be computed from financing data: this section shows the bond, cash-chain (liquidity), share "
                   "pledge and guarantee-chain risks."),
    "movements": ("四、名单变动", "4. Movements since last quarter"),
    "industries": ("五、传统制造业主要指标", "5. Traditional manufacturing industries"),
    "quality": ("六、数据质量", "6. Data quality"),
    "policy": ("七、政策参数与数据来源", "7. Policy in force and data sources"),
    "no_previous": ("未提供上期结果（--previous），本节从略。", "No previous quarter given (--previous): this section is left out."),
    "firms": ("企业数", "firms"),
    "firms_prev": ("上期企业数", "firms last quarter"),
    "firms_change": ("企业数变动", "change in firms"),
    "list": ("名单代码", "list key"),
    "name": ("名单", "list"),
    "rank": ("排名", "rank"),
    "kind": ("类别", "kind"),
    "total": ("合计", "total"),
    "revenue": ("营业收入（亿元）", "revenue (100M yuan)"),
    "total_liabilities": ("负债总额（亿元）", "liabilities (100M yuan)"),
    "bond_due_12m": ("12个月内到期债券（亿元）", "bonds due in 12 months (100M yuan)"),
    "suggested_credit_line": ("建议授信额度（亿元）", "suggested credit lines (100M yuan)"),
    "changes": ("与上期相比", "Change since last quarter"),
    "revenue_change": ("营业收入变动（亿元）", "change in revenue (100M yuan)"),
    "total_liabilities_change": ("负债总额变动（亿元）", "change in liabilities (100M yuan)"),
    "bond_due_12m_change": ("12个月内到期债券变动（亿元）", "change in bonds due in 12 months (100M yuan)"),
    "suggested_credit_line_change": ("建议授信额度变动（亿元）", "change in suggested credit lines (100M yuan)"),
    "city": ("城市", "city"),
    "county": ("县（市、区）", "county"),
    "region_code": ("区划代码", "county code"),
    "relief_share": ("纾困名单占比", "relief share"),
    "watch_share": ("关注名单占比", "watch share"),
    "top_relief": ("纾困名单占比最高的县（市、区）", "Counties with the largest relief share"),
    "top_watch": ("关注名单占比最高的县（市、区）", "Counties with the largest watch share"),
    "top_note": (f"仅含企业数不少于{_MIN_COUNTY_FIRMS}家的县（市、区）。",
                 f"Counties with at least {_MIN_COUNTY_FIRMS} firms."),
    "share": ("占比", "share"),
    "risk": ("风险", "risk"),
    "none": ("无", "none"), "low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"),
    "switched_off": ("未评估", "not evaluated"),
    "bond_risk": ("债券兑付风险", "bond repayment"), "liquidity_risk": ("流动性风险", "liquidity"),
    "pledge_risk": ("股权质押风险", "share pledges"), "guarantee_risk": ("担保链风险", "guarantee chains"),
    "maturity_wall": ("未来12个月债券到期分布", "Bonds falling due in the next 12 months"),
    "bucket": ("到期期限", "falls due in"),
    "amount": ("金额（亿元）", "amount (100M yuan)"),
    "pledges": ("股权质押距平仓线分布", "Share pledges by distance to the liquidation line"),
    "band": ("距平仓线", "distance to the liquidation line"),
    "contracts": ("合同数", "contracts"),
    "loan_amount": ("融资金额（亿元）", "loans (100M yuan)"),
    "circles": ("圈内担保金额最大的担保圈", "The guarantee circles with the largest amounts guaranteed within"),
    "circle_id": ("担保圈", "circle"),
    "size": ("成员数", "size (members)"),
    "total_amount": ("圈内担保金额（亿元）", "guaranteed within (100M yuan)"),
    "distressed_count": ("困境成员数", "distressed members"),
    "members": ("成员", "members"),
    "circle_note": (f"示意图：红色为困境成员，箭头为担保方向示意；成员多于{_MEMBERS_DRAWN}家的担保圈只画其中{_MEMBERS_DRAWN}家（困境成员在前），"
                    f"表中列出前{_MEMBERS_LISTED}家。",
                    f"Drawings: distressed members in red; arrows sketch the guarantees; a circle of more than "
                    f"{_MEMBERS_DRAWN} members is drawn with {_MEMBERS_DRAWN} of them (distressed first), and the table "
                    f"names {_MEMBERS_LISTED}."),
    "change": ("变动", "change"), "list_old": ("上期名单", "list last quarter"), "list_new": ("本期名单", "list now"),
    "absent": ("（该期无此企业）", "(not in that screening)"),
    "entered": ("新进入", "entered"), "left": ("退出", "left"), "moved": ("调整", "moved"),
    "movements_by_county": ("分县（市、区）变动", "Movements by county"),
    "movements_by_reason": ("新进入和调整企业的原因", "Reasons of the firms that entered or moved"),
    "code": ("原因代码", "reason code"), "reason": ("原因", "reason"),
    "group": ("行业", "industry"),
    "revenue_growth": ("营业收入增长率", "revenue growth"),
    "profit_growth": ("净利润增长率", "net profit growth"),
    "labour_productivity": ("全员劳动生产率（万元/人）", "labour productivity (10k yuan per employee)"),
    "productivity_firms": ("有劳动生产率的企业数", "firms with labour productivity"),
    "finance_cost_per_100": ("每百元营业收入财务费用（元）", "financial expense per 100 yuan of revenue"),
    "industries_note": ("增长率为合计值之比（两年均有报表的企业）；劳动生产率为增加值合计除以从业人员合计，仅含参与亩均评价、"
                        "有增加值的企业（其数见表）；财务费用以利息费用计。",
                        "Growth rates are ratios of sums over firms with both years; labour productivity is value added "
                        "over employees, summed, over the firms the 亩均 evaluation covers (their number is shown); the "
                        "financial expense is the interest expense."),
    "traditional": ("传统制造业合计", "traditional manufacturing"),
    "all_firms": ("全部企业", "all firms"),
    "item": ("项目", "item"), "value": ("数值", "value"),
    "read": ("读入企业", "firms read"), "screened": ("参与筛查企业", "firms screened"),
    "not_screened": ("未参与筛查企业", "firms not screened"),
    "findings": ("数据问题（按表和代码）", "Findings by table and code"),
    "rejected": ("剔除的行", "rows rejected"),
    "rejected_rows": ("剔除的行（按表和原因）", "Rejected rows by table and reason"),
    "info": ("提示", "info"), "warning": ("警告", "warning"), "error": ("错误", "error"),
    "in_memory": ("（内存中的表）", "(a table in memory)"),
    "table": ("表", "table"), "severity": ("级别", "severity"), "rows": ("行数", "rows"),
    "coverage": ("规则覆盖情况", "Coverage of the rules"),
    "engine": ("模块", "engine"), "rule": ("规则", "rule"), "status": ("状态", "status"),
    "evaluated": ("已评估", "evaluated"), "estimated": ("估算", "estimated"),
    "not_evaluated": ("无法评估", "not evaluated"), "not_applicable": ("不适用", "not applicable"),
    "missing_inputs": ("缺少的数据", "missing inputs"),
    "key": ("参数", "key"), "default": ("默认值", "default"), "changed": ("与默认值不同", "differs from the default"),
    "inputs": ("输入文件", "Input files"), "path": ("文件", "file"), "sha256": ("SHA-256", "SHA-256"),
    "rows_read": ("读入行数", "rows read"),
    "version": ("zjfin 版本", "zjfin version"),
    "not_available": ("无数据", "n/a"),
}

_LIST_COLORS = {"watch": "#b2182b", "relief": "#ef8a62", "quality": "#2166ac", "sme_funding": "#67a9cf", "none": "#d9d9d9"}


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return zh if lang == "zh" else en


def _list_names(lang: str) -> dict[str, str]:
    table = list_table().set_index("key")
    return {key: table.loc[key, "name_zh" if lang == "zh" else "name_en"] for key in LISTS}


def _counties() -> pd.DataFrame:
    """County and city names (the synthetic province's counties; other codes show as codes)."""
    path = resources.files("zjfin.datasets") / "zhejiang_counties.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file, dtype=str).set_index("code")


@dataclass
class Bulletin:
    """The bulletin's tables and how to render them (from :func:`bulletin`).

    Attributes
    ----------
    tables : dict of str to DataFrame
        Section tables in page order; each is one sheet of ``通报.xlsx``.
    meta : dict
        Title, as-of date, language, zjfin version, whether a previous quarter was given.
    circles : list of dict
        The largest circles' members (name, distressed) for the drawings.
    """

    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any]
    circles: list[dict[str, Any]] = field(default_factory=list)

    def html(self) -> str:
        """The page: one HTML document, styles and charts inline."""
        return _render(self)

    def write(self, out: str | os.PathLike[str]) -> list[str]:
        """Write ``report.html`` and ``通报.xlsx`` into ``out`` (files moved into place whole)."""
        from zjfin._write import commit

        plan = {"report.html": (lambda page, p: Path(p).write_text(page, encoding="utf-8"), self.html()),
                "通报.xlsx": (lambda made, p: _write_workbook(made, p), self)}
        return commit(Path(out), plan, None)

    def _repr_html_(self) -> str:
        # In a frame of its own: the page's styles (body, table, h1) would restyle the notebook.
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" title="{html.escape(self.meta["title"])}" '
                'style="width:100%;height:720px;border:1px solid #ccc"></iframe>')


# ------------------------------------------------------------------ the tables


def bulletin(screening: pd.DataFrame, record: Mapping[str, Any], *, circles: pd.DataFrame | None = None,
             pledges: pd.DataFrame | None = None, findings: pd.DataFrame | None = None,
             previous: pd.DataFrame | None = None, title: str | None = None, lang: str = "zh") -> Bulletin:
    """Build the bulletin from a screening's outputs.

    Parameters
    ----------
    screening : DataFrame
        The screening table (``screening.parquet``).
    record : mapping
        The run's manifest (``manifest.json``): as-of date, policy, firms, coverage, inputs.
    circles, pledges, findings : DataFrame, optional
        ``circles.parquet``, ``pledges.parquet`` and ``findings.parquet`` (or the validation
        report's findings).
    previous : DataFrame, optional
        The previous quarter's screening: the headline's changes and the movements.
    title : str, optional
        The page's title (default 企业融资风险季度分析通报).
    lang : {"zh", "en"}
        Language of the headings and labels (firm and county names stay as they are).

    Returns
    -------
    Bulletin

    Examples
    --------
    >>> import zjfin
    >>> from zjfin._export import manifest
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=1), as_of="2019-03-31")
    >>> b = bulletin(res.screening, manifest(res))
    >>> int(b.tables["headline"]["firms"].iloc[-1])
    300
    """
    if lang not in ("zh", "en"):
        raise ParameterError("lang", "'zh' or 'en'", lang)
    policy = Policy(record.get("policy") or {})
    frame = _with_columns(screening)
    names = _list_names(lang)
    tables: dict[str, pd.DataFrame] = {}
    tables["headline"] = _headline(frame, None if previous is None else _with_columns(previous), names, lang)
    tables["cities"], tables["counties"] = _by_region(frame)
    tables["top_counties"] = _top_counties(tables["counties"])
    tables["risk_levels"] = _risk_levels(frame, lang)
    tables["maturity_wall"] = _maturity_wall(frame, lang)
    tables["pledges"] = _pledge_bands(pledges, lang)
    tables["circles"], drawings = _largest_circles(circles, frame, lang)
    if previous is not None:
        from zjfin._diff import diff_lists

        changes = diff_lists(_with_columns(previous), frame).changes
        tables["movements"] = _movements(changes)
        tables["movements_by_county"] = _movements_by_county(changes)
        tables["movements_by_reason"] = _movements_by_reason(changes, frame, lang)
    tables["industries"] = _industries(frame, policy.report.traditional_industries, lang)
    tables["data_quality"] = pd.DataFrame({"item": ["read", "screened", "not_screened"],
                                           "value": [int(record.get("firms", {}).get(k, 0))
                                                     for k in ("read", "screened", "not_screened")]})
    tables["rejected_rows"], tables["findings"] = _findings(findings, lang)
    tables["coverage"] = _coverage(record.get("coverage", {}))
    tables["policy"] = _policy_rows(policy)
    tables["inputs"] = pd.DataFrame([{"table": t, "path": Path(str(i["path"])).name if i.get("path") else _t("in_memory", lang),
                                      "sha256": i.get("sha256") or "", "rows_read": int(i.get("rows_read") or 0)}
                                     for t, i in sorted(record.get("inputs", {}).items())],
                                    columns=["table", "path", "sha256", "rows_read"])
    meta = {"title": title or _t("title", lang), "as_of": str(record.get("as_of", ""))[:10], "lang": lang,
            "version": record.get("zjfin_version", __version__), "previous": previous is not None,
            "dataset": record.get("dataset") or ""}
    return Bulletin(tables, meta, drawings)


def _with_columns(screening: pd.DataFrame) -> pd.DataFrame:
    """The screening's columns the bulletin reads; a column it lacks, all missing."""
    if not isinstance(screening, pd.DataFrame) or "list" not in screening or "firm_id" not in screening:
        raise ParameterError("screening", "a screening table with firm_id and list", type(screening).__name__)
    frame = pd.DataFrame({c: screening[c] if c in screening else pd.Series(np.nan, index=screening.index)
                          for c in _COLUMNS})
    # In firm order, whatever the file's: a sum of floats depends on the order of its terms, and
    # a screening written by county holds the firms in another order (same bytes either way).
    return frame.sort_values("firm_id", kind="stable").reset_index(drop=True)


def _money(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _headline(frame: pd.DataFrame, previous: pd.DataFrame | None, names: Mapping[str, str], lang: str) -> pd.DataFrame:
    """Per list and in total: firms and the amounts, and with a previous quarter the changes."""
    def sums(data: pd.DataFrame) -> pd.DataFrame:
        grouped = pd.DataFrame({"list": pd.Categorical(data["list"], categories=list(LISTS)),
                                **{a: _money(data, a) for a in _AMOUNTS}})
        table = grouped.groupby("list", observed=False).agg(
            firms=("list", "size"), **{a: (a, lambda s: float(s.sum(min_count=0))) for a in _AMOUNTS})
        table.loc["total"] = [len(data), *(float(_money(data, a).sum()) for a in _AMOUNTS)]
        return table

    now = sums(frame)
    out = pd.DataFrame({"list": now.index.astype(str),
                        "name": [names.get(k, _t("total", lang)) for k in now.index.astype(str)],
                        "firms": now["firms"].astype(np.int64).to_numpy(),
                        **{a: now[a].to_numpy(dtype=float) for a in _AMOUNTS}})
    if previous is not None:
        before = sums(previous)
        out["firms_prev"] = before["firms"].astype(np.int64).to_numpy()
        out["firms_change"] = out["firms"] - out["firms_prev"]
        for a in _AMOUNTS:
            out[f"{a}_change"] = out[a] - before[a].to_numpy(dtype=float)
    return out


def _by_region(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Firms per list by county and by city (a county's city: its code's first four digits)."""
    names = _counties()
    code = frame["region_code"].astype(object).where(frame["region_code"].notna(), "")
    lists = pd.Categorical(frame["list"], categories=list(LISTS))
    counts = pd.crosstab(code.to_numpy(), lists, dropna=False).reindex(columns=list(LISTS), fill_value=0)
    counts.index.name, counts.columns.name = "region_code", None
    counties = counts.reset_index()
    counties.insert(1, "county", [names["name_zh"].get(c, c) for c in counties["region_code"]])
    city = [c[:4] + "00" if len(c) == 6 else "" for c in counties["region_code"]]
    counties.insert(0, "city_code", city)
    counties.insert(1, "city", [names.set_index("city_code")["city_zh"].to_dict().get(c, c) if c else "" for c in city])
    counties.insert(4, "firms", counts.sum(axis=1).to_numpy(dtype=np.int64))
    counties = counties.sort_values(["city_code", "region_code"], kind="stable").reset_index(drop=True)
    total = counties["firms"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        counties["relief_share"] = np.where(total > 0, counties["relief"] / total, np.nan)
        counties["watch_share"] = np.where(total > 0, counties["watch"] / total, np.nan)
    cities = counties.groupby(["city_code", "city"], sort=True)[["firms", *LISTS]].sum().reset_index()
    return cities, counties


def _top_counties(counties: pd.DataFrame) -> pd.DataFrame:
    eligible = counties[counties["firms"] >= _MIN_COUNTY_FIRMS]
    parts = []
    for kind in ("relief", "watch"):
        top = eligible.sort_values([f"{kind}_share", "region_code"], ascending=[False, True], kind="stable").head(_TOP)
        parts.append(pd.DataFrame({"kind": kind, "rank": np.arange(1, len(top) + 1), "region_code": top["region_code"],
                                   "county": top["county"], "firms": top["firms"], "share": top[f"{kind}_share"]}))
    return pd.concat(parts, ignore_index=True)


def _risk_levels(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    rows = []
    for risk in risk_level_columns():
        levels = frame[risk].astype(object)
        counts = levels.value_counts()
        rows.append({"risk": risk, **{lvl: int(counts.get(lvl, 0)) for lvl in _LEVELS},
                     "switched_off": int(levels.isna().sum())})
    return pd.DataFrame(rows, columns=["risk", *_LEVELS, "switched_off"])


def _maturity_wall(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Bonds falling due within 0–3, 3–6 and 6–12 months (amounts from the screening's
    cumulative 3/6/12-month columns)."""
    due = {m: _money(frame, f"bond_due_{m}m").fillna(0.0).to_numpy() for m in (3, 6, 12)}
    buckets = {"0–3": due[3], "3–6": due[6] - due[3], "6–12": due[12] - due[6]}
    return pd.DataFrame({"bucket": [f"{b} 个月" if lang == "zh" else f"{b} months" for b in buckets],
                         "firms": [int((v > 0).sum()) for v in buckets.values()],
                         "amount": [float(v.sum()) for v in buckets.values()]})


# Distance to the liquidation line: (price − liquidation price) / price, bands' lower bounds.
_BANDS = ((-np.inf, "below"), (0.0, "0–10%"), (0.1, "10–30%"), (0.3, "≥30%"))


def _pledge_bands(pledges: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    columns = ["band", "contracts", "loan_amount"]
    if pledges is None or not len(pledges) or "distance" not in pledges:
        return pd.DataFrame(columns=columns)
    live = pledges[pledges.get("state", pd.Series("", index=pledges.index)).astype(object) != "released"]
    distance = pd.to_numeric(live["distance"], errors="coerce").to_numpy(dtype=float)
    loans = pd.to_numeric(live.get("loan_amount", pd.Series(np.nan, index=live.index)), errors="coerce").to_numpy(float)
    lows = [b[0] for b in _BANDS]
    band = np.searchsorted(lows, distance, side="right") - 1
    labels = ["已跌破平仓线" if lang == "zh" else "below the line", *(b[1] for b in _BANDS[1:])]
    known = ~np.isnan(distance)
    rows = [{"band": label, "contracts": int((known & (band == i)).sum()),
             "loan_amount": float(np.nansum(np.where(known & (band == i), loans, np.nan)))} for i, label in enumerate(labels)]
    rows.append({"band": _t("not_available", lang), "contracts": int((~known).sum()),
                 "loan_amount": float(np.nansum(np.where(~known, loans, np.nan)))})
    return pd.DataFrame(rows, columns=columns)


def _largest_circles(circles: pd.DataFrame | None, frame: pd.DataFrame,
                     lang: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The ten circles with the largest amounts: members named up to ``_MEMBERS_LISTED`` and
    drawn up to ``_MEMBERS_DRAWN`` (distressed members first), the rest counted — a circle of a
    random network may hold most of the province (265,394 of 300,000 firms: 82 MB of page)."""
    columns = ["circle_id", "size", "total_amount", "distressed_count", "members"]
    if circles is None or not len(circles):
        return pd.DataFrame(columns=columns), []
    top = circles.sort_values(["total_amount", "circle_id"], ascending=[False, True], kind="stable").head(_TOP)
    shown = []
    for circle in top.itertuples(index=False):  # ten circles, not firms
        members = _ids(circle.members)
        in_distress = is_in(members, _ids(getattr(circle, "distressed_members", None)))  # Arrow hashes, not sorts
        first = [*members[in_distress][:_MEMBERS_DRAWN], *members[~in_distress][:_MEMBERS_DRAWN]][:_MEMBERS_DRAWN]
        shown.append((circle, len(members), set(members[in_distress][:_MEMBERS_DRAWN]), int(in_distress.sum()), first))
    # Only the names shown are looked up (not a dictionary of every firm's name).
    wanted = [m for *_, first in shown for m in first]  # at most 10 × 40
    at = index_in(pd.Series(wanted, dtype=object), frame["firm_id"])
    names = frame["name"].to_numpy(dtype=object)
    name_of = {m: (str(names[k]) if k >= 0 and isinstance(names[k], str) else m) for m, k in zip(wanted, at)}
    rows, drawings = [], []
    for circle, size, distressed, n_distressed, first in shown:
        listed = "、".join(name_of[m] for m in first[:_MEMBERS_LISTED])
        if size > _MEMBERS_LISTED:
            more = size - min(len(first), _MEMBERS_LISTED)
            listed += f" 等{size:,}家" if lang == "zh" else f" and {more:,} more"
        rows.append({"circle_id": circle.circle_id, "size": int(circle.size), "total_amount": float(circle.total_amount),
                     "distressed_count": int(getattr(circle, "distressed_count", n_distressed) or 0),
                     "members": listed})
        if len(drawings) < 3:
            drawings.append({"circle_id": circle.circle_id, "size": size,
                             "members": [(name_of[m], m in distressed) for m in first]})
    return pd.DataFrame(rows, columns=columns), drawings


def _ids(value: Any) -> np.ndarray:
    """A list column's cell (a list in memory, an array read from Parquet, or missing) as text."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.array([], dtype=object)
    return np.asarray(value, dtype=object).astype(str).astype(object)


def _movements(changes: pd.DataFrame) -> pd.DataFrame:
    counts = changes.groupby(["change", "list_old", "list_new"], sort=False, dropna=False).size()
    return counts.rename("firms").reset_index()


def _movements_by_county(changes: pd.DataFrame) -> pd.DataFrame:
    names = _counties()["name_zh"]
    code = changes["region_code"].astype(object).where(changes["region_code"].notna(), "")
    table = pd.crosstab(code.to_numpy(), changes["change"].to_numpy()).reindex(columns=["entered", "left", "moved"],
                                                                                fill_value=0)
    table.index.name = "region_code"
    table = table.reset_index()
    table.insert(1, "county", [names.get(c, c) for c in table["region_code"]])
    return table


def _movements_by_reason(changes: pd.DataFrame, frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Firms that entered a list or moved, by the reason codes they carry now."""
    arrived = changes.loc[changes["change"].isin(["entered", "moved"]), "firm_id"]
    codes = frame.set_index("firm_id").reindex(arrived)["reason_codes"].dropna().astype(str)
    exploded = codes.str.split(";").explode()
    exploded = exploded[exploded != ""]
    counts = exploded.value_counts()
    catalogue = reason_catalogue()
    # The reason's sentence with its figures left out (they differ from firm to firm).
    label = catalogue["template_zh" if lang == "zh" else "template_en"].str.replace(r"\{[^}]*\}", "…", regex=True)
    order = [c for c in catalogue.index if c in counts.index] + sorted(c for c in counts.index if c not in catalogue.index)
    return pd.DataFrame({"code": order, "reason": [label.get(c, "") for c in order],
                         "firms": [int(counts[c]) for c in order]}, columns=["code", "reason", "firms"])


def _industries(frame: pd.DataFrame, industries: list[str], lang: str) -> pd.DataFrame:
    """The tracked indicators for each traditional industry, their total and all firms:
    sums over firms, so a large firm weighs as its size."""
    code = frame["industry_code"].astype(object).where(frame["industry_code"].notna(), "").astype(str)
    groups = [(c, code.str.startswith(c).to_numpy()) for c in industries]
    traditional = np.any([m for _, m in groups], axis=0) if groups else np.zeros(len(frame), dtype=bool)
    groups += [(_t("traditional", lang), traditional), (_t("all_firms", lang), np.ones(len(frame), dtype=bool))]
    revenue, revenue_prev = _money(frame, "revenue").to_numpy(), _money(frame, "revenue_prev").to_numpy()
    profit, profit_prev = _money(frame, "net_profit").to_numpy(), _money(frame, "net_profit_prev").to_numpy()
    interest = _money(frame, "interest_expense").to_numpy()
    employees = _money(frame, "employees").to_numpy()
    productivity = _money(frame, "labour_productivity").to_numpy()
    rows = []
    for name, member in groups:
        measured = member & ~np.isnan(productivity) & ~np.isnan(employees)
        rows.append({"group": name, "firms": int(member.sum()),
                     "revenue_growth": _growth(revenue, revenue_prev, member),
                     "profit_growth": _growth(profit, profit_prev, member),
                     # yuan per employee in the table; the page and workbook show 10k yuan
                     "labour_productivity": _ratio_of_sums(productivity * employees, employees, measured),
                     "productivity_firms": int(measured.sum()),
                     "finance_cost_per_100": _ratio_of_sums(interest * 100.0, revenue,
                                                            member & ~np.isnan(interest))})
    return pd.DataFrame(rows)


def _growth(now: np.ndarray, before: np.ndarray, member: np.ndarray) -> float:
    both = member & ~np.isnan(now) & ~np.isnan(before)
    base = before[both].sum()
    return float(now[both].sum() / base - 1.0) if base > 0 else np.nan  # no growth from a loss


def _ratio_of_sums(top: np.ndarray, bottom: np.ndarray, member: np.ndarray) -> float:
    use = member & ~np.isnan(top) & ~np.isnan(bottom)
    below = bottom[use].sum()
    return float(top[use].sum() / below) if below > 0 else np.nan


def _findings(findings: pd.DataFrame | None, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows rejected by table and reason (a row is counted once, under its first reason, as
    the manifest counts it), and every finding by table, code and severity."""
    rejected_columns, columns = ["table", "code", "rows"], ["table", "code", "severity", "rows", "rejected"]
    if findings is None or not len(findings):
        return pd.DataFrame(columns=rejected_columns), pd.DataFrame(columns=columns)
    rejects = findings["rejects"].fillna(False).astype(bool) if "rejects" in findings else pd.Series(False, index=findings.index)
    work = findings.assign(rejected=rejects.to_numpy())
    counts = work.groupby(["table", "code", "severity"], sort=True).agg(rows=("code", "size"), rejected=("rejected", "sum"))
    every = counts.reset_index().astype({"rows": np.int64, "rejected": np.int64})
    # Named in the page's language once grouped (a few lines, not a call a finding).
    every["severity"] = [_t(v, lang) if v in _TEXT else v for v in every["severity"]]
    every = every.sort_values(["table", "code", "severity"], kind="stable").reset_index(drop=True)
    lines = work.loc[rejects.to_numpy()]
    keyed = [c for c in ("table", "file", "row") if c in lines]
    first = lines.drop_duplicates(keyed, keep="first") if keyed else lines
    rejected = first.groupby(["table", "code"], sort=True).size().rename("rows").reset_index()
    return rejected.astype({"rows": np.int64}), every[columns]


def _coverage(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for engine, entry in record.items():
        for rule, item in [("", entry), *entry.get("rules", {}).items()]:
            rows.append({"engine": engine, "rule": rule, "status": item.get("status", ""),
                         **{k: int(item.get(k, 0)) for k in ("firms", "evaluated", "estimated", "not_evaluated",
                                                             "not_applicable")},
                         "missing_inputs": "; ".join(f"{k} {v:,}" for k, v in item.get("missing_inputs", {}).items())})
    return pd.DataFrame(rows, columns=["engine", "rule", "status", "firms", "evaluated", "estimated", "not_evaluated",
                                       "not_applicable", "missing_inputs"])


def _policy_rows(policy: Policy) -> pd.DataFrame:
    def flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        out = {}
        for key, value in values.items():
            if isinstance(value, Mapping):
                out |= flat(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value
        return out

    now, default = flat(policy.to_dict()), flat(Policy.default().to_dict())
    text = {k: json.dumps(v, ensure_ascii=False) for k, v in now.items()}
    return pd.DataFrame({"key": list(now), "value": [text[k] for k in now],
                         "default": [json.dumps(default.get(k), ensure_ascii=False) for k in now],
                         "changed": [now[k] != default.get(k) for k in now]})


# ------------------------------------------------------------------ from an output folder


def bulletin_from_folder(out: str | os.PathLike[str], previous: str | os.PathLike[str] | None = None,
                         title: str | None = None, lang: str = "zh") -> Bulletin:
    """:func:`bulletin` from the output folder of ``zjfin screen`` (and an earlier one)."""
    folder = Path(out)
    record = _manifest(folder)
    optional = {name: _parquet(folder / f"{name}.parquet") for name in ("circles", "pledges", "findings")}
    return bulletin(_screening(folder), record, **optional,
                    previous=None if previous is None else _screening(Path(previous)), title=title, lang=lang)


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except OSError:
        raise InputFileError(folder, "holds no manifest.json: not the output folder of `zjfin screen`") from None
    except ValueError as exc:
        raise InputFileError(folder / "manifest.json", f"is not valid JSON ({exc})") from None


def _screening(folder: Path) -> pd.DataFrame:
    """The screening columns the bulletin reads: from an output folder's screening.parquet or
    screening by county, or from such a file or folder named directly (as ``zjfin diff`` takes them)."""
    source = folder if folder.is_file() else next(
        (p for p in (folder / "screening.parquet", folder / "screening") if p.exists()), None)
    if source is None and folder.is_dir() and not (folder / "manifest.json").exists() and any(folder.glob("*.parquet")):
        source = folder  # a screening's county files themselves
    if source is None:
        raise InputFileError(folder, "holds no screening.parquet nor a screening folder (write one with `zjfin screen`)")
    try:
        return read_parquet_columns(source, _COLUMNS)[0].to_pandas()
    except (OSError, ValueError) as exc:
        raise InputFileError(source, f"cannot be read as a screening ({exc})") from None


def _parquet(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"cannot be read as Parquet ({exc})") from None


# ------------------------------------------------------------------ the page

_STYLE = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       color: #222; max-width: 190mm; margin: 0 auto; font-size: 10.5pt; line-height: 1.45; }
h1 { font-size: 18pt; margin: 0 0 2mm; } h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 8mm; }
h3 { font-size: 11pt; margin: 5mm 0 2mm; }
.meta { color: #555; margin: 0 0 4mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; }
th { background: #eef1f5; text-align: left; }
td:first-child { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.changed td { background: #fff3cd; font-weight: bold; }
.note { color: #555; font-size: 8.5pt; }
section { page-break-inside: auto; } svg { display: block; margin: 2mm 0; }
.drawings { display: flex; flex-wrap: wrap; gap: 4mm; }
"""


def _render(b: Bulletin) -> str:
    lang = b.meta["lang"]
    t = b.tables
    names = _list_names(lang)
    parts = [f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
             f"<title>{_esc(b.meta['title'])}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
             f"<header><h1>{_esc(b.meta['title'])}</h1>\n<p class=\"meta\">{_t('as_of', lang)} {_esc(b.meta['as_of'])}"
             f" · {_t('version', lang)} {_esc(b.meta['version'])}"
             + (f" · {_esc(b.meta['dataset'])}" if b.meta["dataset"] else "") + "</p></header>\n"]

    head = t["headline"]
    body = _table(head, ["name", "firms", *_AMOUNTS], lang)
    if b.meta["previous"]:
        changes = [f"{a}_change" for a in _AMOUNTS]
        body += f"<h3>{_t('changes', lang)}</h3>" + _table(head, ["name", "firms_prev", "firms_change", *changes], lang)
    parts.append(_section("headline", lang, body))

    cities = t["cities"]
    chart = _stacked_bars([str(c or "—") for c in cities["city"]], {k: cities[k].tolist() for k in LISTS}, names)
    county_cols = ["city", "region_code", "county", "firms", *LISTS, "relief_share", "watch_share"]
    tops = "".join(f"<h3>{_t('top_' + kind, lang)}</h3>"
                   + _table(t["top_counties"][t["top_counties"]["kind"] == kind], ["rank", "region_code", "county", "firms",
                                                                                   "share"], lang)
                   for kind in ("relief", "watch"))
    parts.append(_section("counties", lang, chart + _table(cities, ["city", "firms", *LISTS], lang, headers=names)
                          + tops + f'<p class="note">{_t("top_note", lang)}</p>'
                          + _table(t["counties"], county_cols, lang, headers=names)))

    levels = t["risk_levels"].assign(risk=lambda f: [_t(r, lang) if r in _TEXT else r for r in f["risk"]])
    wall = t["maturity_wall"]
    risks = (f'<p class="note">{_t("risks_note", lang)}</p>' + _table(levels, ["risk", *_LEVELS, "switched_off"], lang)
             + f"<h3>{_t('maturity_wall', lang)}</h3>"
             + _stacked_bars(wall["bucket"].tolist(), {"amount": (wall["amount"] / 1e8).round(2).tolist()},
                             {"amount": _t("amount", lang)}, colors={"amount": "#b2182b"})
             + _table(wall, ["bucket", "firms", "amount"], lang)
             + f"<h3>{_t('pledges', lang)}</h3>" + _table(t["pledges"], ["band", "contracts", "loan_amount"], lang)
             + f"<h3>{_t('circles', lang)}</h3>"
             + _table(t["circles"], ["circle_id", "size", "total_amount", "distressed_count", "members"], lang)
             + ('<div class="drawings">' + "".join(_circle_drawing(d, k) for k, d in enumerate(b.circles)) + "</div>"
                + f'<p class="note">{_t("circle_note", lang)}</p>' if b.circles else ""))
    parts.append(_section("risks", lang, risks))

    if b.meta["previous"]:
        absent = _t("absent", lang)  # a firm in one of the two screenings only
        moved = t["movements"].assign(list_old=lambda f: f["list_old"].map(names).fillna(absent),
                                      list_new=lambda f: f["list_new"].map(names).fillna(absent),
                                      change=lambda f: [_t(c, lang) for c in f["change"]])
        body = (_table(moved, ["change", "list_old", "list_new", "firms"], lang)
                + f"<h3>{_t('movements_by_county', lang)}</h3>"
                + _table(t["movements_by_county"], ["region_code", "county", "entered", "left", "moved"], lang)
                + f"<h3>{_t('movements_by_reason', lang)}</h3>"
                + _table(t["movements_by_reason"], ["code", "reason", "firms"], lang))
    else:
        body = f'<p class="note">{_t("no_previous", lang)}</p>'
    parts.append(_section("movements", lang, body))

    ind = t["industries"]
    parts.append(_section("industries", lang, _table(ind, ["group", "firms", "revenue_growth", "profit_growth",
                                                           "labour_productivity", "productivity_firms",
                                                           "finance_cost_per_100"], lang)
                          + f'<p class="note">{_t("industries_note", lang)}</p>'))

    quality = t["data_quality"].assign(item=lambda f: [_t(i, lang) for i in f["item"]])
    parts.append(_section("quality", lang, _table(quality, ["item", "value"], lang)
                          + f"<h3>{_t('rejected_rows', lang)}</h3>" + _table(t["rejected_rows"], ["table", "code", "rows"], lang)
                          + f"<h3>{_t('findings', lang)}</h3>"
                          + _table(t["findings"], ["table", "code", "severity", "rows", "rejected"], lang)
                          + f"<h3>{_t('coverage', lang)}</h3>"
                          + _table(t["coverage"], ["engine", "rule", "status", "firms", "evaluated", "estimated",
                                                   "not_evaluated", "not_applicable", "missing_inputs"], lang)))

    parts.append(_section("policy", lang, _table(t["policy"], ["key", "value", "default"], lang, marked="changed")
                          + f"<h3>{_t('inputs', lang)}</h3>" + _table(t["inputs"], ["table", "path", "rows_read", "sha256"], lang)))
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _section(key: str, lang: str, body: str) -> str:
    return f'<section id="{key}">\n<h2>{_t(key, lang)}</h2>\n{body}\n</section>\n'


def _table(frame: pd.DataFrame, columns: list[str], lang: str, *, headers: Mapping[str, str] | None = None,
           marked: str | None = None) -> str:
    """An HTML table of ``columns``, each number in its column's unit (:data:`_DIVISORS`,
    shares in per cent), counts with thousands separators, every text escaped."""
    headers = headers or {}
    head = "".join(f"<th>{_esc(headers.get(c) or (_t(c, lang) if c in _TEXT else c))}</th>" for c in columns)
    rows = []
    for record in frame.to_dict("records"):
        cells = "".join(_cell(record.get(c), c, lang) for c in columns)
        rows.append(f'<tr class="changed">{cells}</tr>' if marked and record.get(marked) else f"<tr>{cells}</tr>")
    if not rows:  # an empty section says so, not a bare header
        rows.append(f'<tr><td colspan="{len(columns)}">{_t("not_available", lang)}</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>\n"


def _cell(value: Any, column: str, lang: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f'<td class="n">{_t("not_available", lang)}</td>'
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{'✓' if value else ''}</td>"
    if isinstance(value, (int, np.integer)):
        return f'<td class="n">{int(value):,}</td>'
    if isinstance(value, (float, np.floating)):
        if column in _SHARE_COLUMNS:
            return f'<td class="n">{value * 100:.1f}%</td>'
        return f'<td class="n">{value / _DIVISORS.get(column, 1.0):,.2f}</td>'
    return f"<td>{_esc(value)}</td>"


def _stacked_bars(categories: list[str], series: Mapping[str, list[float]], labels: Mapping[str, str],
                  colors: Mapping[str, str] | None = None) -> str:
    """Horizontal stacked bars as inline SVG (one bar a category), with a legend."""
    colors = colors or _LIST_COLORS
    categories = [c if len(c) <= 16 else c[:15] + "…" for c in categories]  # a label, not a paragraph
    # Room for the longest label at 11 px a font size (CJK full width, Latin about 0.6 of it).
    longest = max((sum(11.0 if ord(ch) >= 0x2E80 else 6.6 for ch in c) for c in categories), default=0.0)
    width, label_w, bar_h, gap = 680, int(min(max(longest + 12, 60), 200)), 16, 6
    totals = np.sum([np.asarray(v, dtype=float) for v in series.values()], axis=0) if series else np.zeros(0)
    top = float(totals.max()) if len(totals) and totals.max() > 0 else 1.0
    scale = (width - label_w - 70) / top
    height = len(categories) * (bar_h + gap) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" font-size="11">']
    for i, category in enumerate(categories):
        y, x = 4 + i * (bar_h + gap), float(label_w)
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end">{_esc(category)}</text>')
        for key, values in series.items():
            w = float(values[i]) * scale
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colors.get(key, "#888")}">'
                           f"<title>{_esc(labels.get(key, key))}: {float(values[i]):,.2f}</title></rect>")
                x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 4}">{float(totals[i]):,.{0 if float(totals[i]).is_integer() else 2}f}</text>')
    y = height - 12
    x = float(label_w)
    for key in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{colors.get(key, "#888")}"/>'
                   f'<text x="{x + 14:.1f}" y="{y}">{_esc(labels.get(key, key))}</text>')
        x += 14 + 12 * len(str(labels.get(key, key))) + 10
    out.append("</svg>\n")
    return "".join(out)


def _circle_drawing(drawing: Mapping[str, Any], number: int) -> str:
    """A circle's members on a ring, each guaranteeing the next (a sketch: a circle's real
    guarantees may cross it), distressed members in red."""
    members = drawing["members"]
    width, size, radius, r = 300, 220, 80, 7  # room either side for the names
    centre, middle = size / 2, width / 2
    angles = [2 * np.pi * i / len(members) - np.pi / 2 for i in range(len(members))]
    points = [(middle + radius * np.cos(a), centre + radius * np.sin(a)) for a in angles]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{size + 16}" viewBox="0 0 {width} {size + 16}" '
           f'font-size="9"><defs><marker id="arrow-{number}" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" '
           f'orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>'
           f'<text x="{middle}" y="{size + 12}" text-anchor="middle">{_esc(drawing["circle_id"])}'
           f' ({int(drawing.get("size", len(members))):,})</text>']
    for i, (x, y) in enumerate(points):
        nx, ny = points[(i + 1) % len(points)]
        dx, dy = nx - x, ny - y
        length = float(np.hypot(dx, dy)) or 1.0
        if len(points) > 1:
            out.append(f'<line x1="{x + dx * r / length:.1f}" y1="{y + dy * r / length:.1f}" '
                       f'x2="{nx - dx * r / length:.1f}" y2="{ny - dy * r / length:.1f}" stroke="#555" '
                       f'marker-end="url(#arrow-{number})"/>')
    for (x, y), (name, distressed) in zip(points, members):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{"#b2182b" if distressed else "#4393c3"}">'
                   f"<title>{_esc(name)}</title></circle>")
        short = name if len(name) <= 8 else name[:7] + "…"
        out.append(f'<text x="{x:.1f}" y="{y - r - 3:.1f}" text-anchor="middle">{_esc(short)}</text>')
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------ the workbook


def _write_workbook(b: Bulletin, path: str | os.PathLike[str]) -> None:
    """``通报.xlsx``: each table of the page a sheet, headed and in the units as on the page
    (amounts in 100 million yuan, productivity in 10k yuan, shares as per cent), text that a
    spreadsheet would run as a formula escaped, the same bytes for the same bulletin."""
    from openpyxl import Workbook

    from zjfin._write import escape_formulas
    from zjfin._xlsx import save_stamped

    lang = b.meta["lang"]
    names = _list_names(lang)
    wb = Workbook()
    wb.remove(wb.active)
    for name, table in b.tables.items():
        sheet = wb.create_sheet(name[:31])
        by_list = name in _BY_LIST_TABLES
        sheet.append([names[c] if by_list and c in names else _t(c, lang) if c in _TEXT else c for c in table.columns])
        shown = table.copy()
        for column in shown.columns:
            if column in _DIVISORS:
                shown[column] = pd.to_numeric(shown[column], errors="coerce") / _DIVISORS[column]
        for row in escape_formulas(shown).itertuples(index=False):
            sheet.append([_xlsx_value(v) for v in row])
        for k, column in enumerate(table.columns, start=1):
            if column in _SHARE_COLUMNS:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=k, max_col=k):
                    cell.number_format = "0.0%"
    wb.properties.creator = "zjfin"
    save_stamped(wb, path, b.meta["as_of"] or "2000-01-01")


def _xlsx_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
