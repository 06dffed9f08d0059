"""A synthetic Zhejiang-like province: every input table of the data contract (SPEC §9).

``build_tables(n_firms, seed)`` returns ``({table: DataFrame}, planted)``. Everything is drawn
from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same arguments give the
same tables. The generator is fully vectorised (arrays over firms, firm-years, edges,
contracts and stock-days); the only Python loops run over the fixed list of planted cases,
the three fiscal years, the industry groups and a handful of structure shapes.

Design notes
------------
- Firms: a county (real GB/T 2260 codes of the 11 prefecture cities, read from
  ``zhejiang_counties.csv``), a GB/T 4754-2017 class, a target size class of the 2011
  standard (≈ 99 % SMEs, micro most common), employees, revenue and total assets drawn
  inside the class's bands, so the standard classifies them as drawn.
- Statements are built bottom-up per firm-year from drivers (revenue, asset turnover,
  leverage, component shares, margins): components are rounded to fen first and totals are
  the rounded sums plus a positive "other" item, so every inequality of the brief holds
  exactly and ``total_assets == round(total_liabilities + equity, 2)``.
- Bonds are drawn before the statements; bonds falling due within a year of a period end
  sit in ``current_portion_long_term_debt``, the rest in ``bonds_payable``.
- The guarantee network respects a global order of firms (larger firms earlier) for every
  chain, focal star and cross (bipartite) structure, so it is acyclic apart from the
  designed reciprocal pairs and circles, whose members take no other part in the network:
  the strongly connected components are exactly the designed ones.
- Planted cases (SPEC §9) are firms at random rows whose drivers are overwritten; they are
  excluded from every random selection (listing, bonds, pledges, loans, network, flags).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterator

import numpy as np
import pandas as pd

from zjfin._codes import make_uscc

__all__ = ["build_tables", "TABLE_COLUMNS", "AS_OF", "FISCAL_YEARS", "counties", "Block", "blocks", "county_tables"]

#: The natural as-of date of the synthetic province.
AS_OF = "2019-03-31"
#: Fiscal years of the statements (period_end = 31 December).
FISCAL_YEARS = (2016, 2017, 2018)

#: Canonical columns of every input table, in the order of SPEC §2.
TABLE_COLUMNS: dict[str, list[str]] = {
    "firms": [
        "firm_id", "name", "region_code", "industry_code", "employees", "ownership", "listed",
        "stock_code", "total_shares", "land_mu", "energy_tce", "emissions_t",
        "backward_capacity", "dishonest_debtor", "major_violation", "financing_demand", "specialised",
    ],
    "financials": [
        "firm_id", "period_end", "revenue", "total_assets", "total_liabilities",
        "cost_of_sales", "operating_profit", "net_profit", "ebit", "interest_expense",
        "depreciation_amortization", "government_subsidies", "taxes_paid", "rd_expense",
        "value_added", "current_assets", "cash", "restricted_cash", "accounts_receivable",
        "inventory", "prepayments", "current_liabilities", "short_term_debt", "notes_payable",
        "accounts_payable", "advances_from_customers", "current_portion_long_term_debt",
        "long_term_debt", "bonds_payable", "equity", "retained_earnings", "operating_cash_flow",
    ],
    "bonds": [
        "bond_id", "issuer_id", "amount_outstanding", "maturity_date", "put_date",
        "issue_date", "coupon_rate", "rating", "rating_prev", "status",
    ],
    "pledges": [
        "pledge_id", "company_id", "pledger_id", "pledged_shares", "loan_amount", "start_date",
        "end_date", "interest_rate", "warning_ratio", "liquidation_ratio",
        "pledger_is_controlling", "pledger_holding_shares", "status",
    ],
    "prices": ["stock_code", "date", "close"],
    "guarantees": ["guarantor_id", "borrower_id", "amount", "start_date", "end_date", "kind"],
    "loans": ["firm_id", "amount", "maturity_date", "lender", "classification", "overdue_days"],
}

_D = np.timedelta64(1, "D")
# Largest neighbourhood of firms that guarantee each other (see _guarantee_blocks).
_MAX_BLOCK = 600
# Longest guarantee chain kept in the synthetic network.
_MAX_CHAIN = 5
# Share of firms in large neighbourhoods, their size scale, share of structures drawn in them.
_LARGE_SHARE, _LARGE_BLOCK_SCALE, _IN_LARGE_SHARE = 0.1, 30.0, 0.3
_ASOF = np.datetime64(AS_OF, "D")
_PRICE_FIRST = np.datetime64("2018-01-02", "D")
_PRICE_LAST = np.datetime64("2019-03-29", "D")
_SIM_FIRST = np.datetime64("2017-01-02", "D")  # prices simulated from here (pledges of 2017)

# --------------------------------------------------------------------------------------
# Static tables
# --------------------------------------------------------------------------------------

# Prefecture cities: weight in the province's enterprise population.
_CITY_WEIGHT = {
    "330100": 0.200, "330200": 0.165, "330300": 0.125, "330400": 0.085, "330500": 0.050,
    "330600": 0.090, "330700": 0.110, "330800": 0.025, "330900": 0.015, "331000": 0.105,
    "331100": 0.030,
}
# County-level economies far larger than a typical county of their city.
_COUNTY_BOOST = {
    "330109": 2.0, "330110": 2.0, "330106": 1.4, "330108": 1.3, "330212": 2.0,
    "330282": 1.8, "330281": 1.5, "330206": 1.3, "330382": 1.8, "330381": 1.6,
    "330483": 1.3, "330481": 1.3, "330603": 1.8, "330681": 1.6, "330782": 3.0,
    "330784": 1.6, "330783": 1.4, "331081": 1.8, "331082": 1.3, "331004": 1.3,
}

# GB/T 4754-2017 classes: code, trade word used in names, weight, size-standard group.
_MANUFACTURING = [
    ("C1311", "粮油", 0.008), ("C1371", "食品", 0.007),
    ("C1711", "纺织", 0.025), ("C1713", "印染", 0.015), ("C1751", "化纤织造", 0.020),
    ("C1761", "针织", 0.012), ("C1819", "服饰", 0.030), ("C1829", "针织服饰", 0.012),
    ("C1910", "皮革", 0.006), ("C1952", "鞋业", 0.022),
    ("C2110", "家具", 0.018), ("C2130", "金属家具", 0.006),
    ("C2221", "纸业", 0.008), ("C2231", "包装", 0.012), ("C2411", "文具", 0.006),
    ("C2614", "化工", 0.012), ("C2641", "涂料", 0.006), ("C2651", "新材料", 0.006),
    ("C2662", "精细化工", 0.006), ("C2710", "药业", 0.005), ("C2720", "制药", 0.004),
    ("C2821", "锦纶", 0.004), ("C2822", "化纤", 0.010),
    ("C2913", "橡胶", 0.008), ("C2921", "塑业", 0.012), ("C2927", "塑料制品", 0.010),
    ("C2929", "塑胶", 0.014),
    ("C3021", "建材", 0.010), ("C3031", "新型墙材", 0.005), ("C3099", "非金属材料", 0.005),
    ("C3251", "铜业", 0.006), ("C3252", "铝业", 0.008),
    ("C3311", "钢结构", 0.010), ("C3321", "工具", 0.010), ("C3351", "五金", 0.020),
    ("C3381", "厨具", 0.012),
    ("C3441", "泵业", 0.010), ("C3443", "阀门", 0.014), ("C3451", "轴承", 0.010),
    ("C3453", "传动", 0.006), ("C3551", "纺织机械", 0.008),
    ("C3670", "汽车零部件", 0.035),
    ("C3812", "电机", 0.014), ("C3823", "电气", 0.016), ("C3841", "新能源", 0.006),
    ("C3854", "电器", 0.012), ("C3872", "照明", 0.012),
    ("C3976", "光电", 0.006), ("C3982", "电子", 0.012), ("C4011", "自动化", 0.006),
]
_OTHER_INDUSTRIES = [
    ("F5131", "纺织品", 0.030, "wholesale"), ("F5165", "建材贸易", 0.030, "wholesale"),
    ("F5174", "五金贸易", 0.030, "wholesale"), ("F5176", "数码科技", 0.015, "wholesale"),
    ("F5193", "电子商务", 0.015, "wholesale"),
    ("F5212", "超市", 0.015, "retail"), ("F5232", "服装", 0.015, "retail"),
    ("F5261", "汽车销售服务", 0.015, "retail"), ("F5292", "网络科技", 0.025, "retail"),
    ("E4710", "建设", 0.025, "construction"), ("E4813", "市政工程", 0.010, "construction"),
    ("E5011", "装饰工程", 0.015, "construction"),
    ("G5431", "物流", 0.020, "transport"), ("G5433", "集装箱运输", 0.010, "transport"),
    ("G5920", "仓储", 0.010, "warehousing"), ("G5930", "冷链物流", 0.005, "warehousing"),
    ("H6210", "餐饮管理", 0.015, "catering"), ("H6220", "餐饮", 0.005, "catering"),
    ("I6513", "软件", 0.015, "software"), ("I6531", "信息技术", 0.010, "software"),
    ("I6550", "数据科技", 0.005, "software"),
    ("K7010", "房地产开发", 0.015, "real_estate"),
    ("L7211", "控股", 0.010, "leasing"), ("L7212", "投资管理", 0.010, "leasing"),
    ("L7259", "广告", 0.010, "leasing"),
    ("A0111", "农业开发", 0.005, "agriculture"), ("A0141", "蔬菜", 0.005, "agriculture"),
    ("A0153", "果业", 0.005, "agriculture"), ("A0164", "茶业", 0.005, "agriculture"),
]
_MANUFACTURING_SHARE = 0.60

_GROUPS = [
    "industry", "wholesale", "retail", "construction", "transport", "warehousing",
    "catering", "software", "real_estate", "leasing", "agriculture",
]
# Size thresholds of 工信部联企业〔2011〕300号 per group, revenue and assets in 万元:
# (E_large, R_large, A_large, E_medium, R_medium, A_medium, E_small, R_small, A_small).
_NA = np.nan
_SIZE_2011 = {
    "agriculture": (_NA, 20000, _NA, _NA, 500, _NA, _NA, 50, _NA),
    "industry": (1000, 40000, _NA, 300, 2000, _NA, 20, 300, _NA),
    "construction": (_NA, 80000, 80000, _NA, 6000, 5000, _NA, 300, 300),
    "wholesale": (200, 40000, _NA, 20, 5000, _NA, 5, 1000, _NA),
    "retail": (300, 20000, _NA, 50, 500, _NA, 10, 100, _NA),
    "transport": (1000, 30000, _NA, 300, 3000, _NA, 20, 200, _NA),
    "warehousing": (200, 30000, _NA, 100, 1000, _NA, 20, 100, _NA),
    "catering": (300, 10000, _NA, 100, 2000, _NA, 10, 100, _NA),
    "software": (300, 10000, _NA, 100, 1000, _NA, 10, 50, _NA),
    "real_estate": (_NA, 200000, 10000, _NA, 1000, 5000, _NA, 100, 2000),
    "leasing": (300, _NA, 120000, 100, _NA, 8000, 10, _NA, 100),
}
# Group economics: asset turnover, gross margin, operating margin, current-asset share,
# leverage shift, revenue per employee (万元, for groups whose standard ignores employees).
_ECON = {
    "industry": (1.00, 0.18, 0.050, 0.55, 0.00, 60.0),
    "wholesale": (2.00, 0.07, 0.025, 0.80, 0.03, 300.0),
    "retail": (1.60, 0.20, 0.030, 0.65, 0.00, 80.0),
    "construction": (0.80, 0.11, 0.035, 0.75, 0.08, 80.0),
    "transport": (0.90, 0.15, 0.040, 0.35, 0.00, 50.0),
    "warehousing": (0.50, 0.30, 0.060, 0.30, 0.00, 50.0),
    "catering": (1.30, 0.55, 0.040, 0.35, -0.05, 20.0),
    "software": (0.80, 0.50, 0.080, 0.70, -0.12, 40.0),
    "real_estate": (0.25, 0.30, 0.100, 0.85, 0.18, 200.0),
    "leasing": (0.40, 0.35, 0.060, 0.50, 0.00, 60.0),
    "agriculture": (0.60, 0.22, 0.040, 0.35, -0.05, 30.0),
}
# Dirichlet shapes of current assets: cash, receivables, inventory, prepayments, other.
_CA_SHAPES = {
    "industry": (2.0, 3.0, 2.5, 0.6, 1.5),
    "wholesale": (1.5, 4.0, 3.0, 1.0, 1.0),
    "retail": (2.5, 1.0, 4.0, 0.8, 1.2),
    "construction": (1.5, 4.0, 2.0, 0.6, 1.5),
    "transport": (2.5, 3.0, 0.5, 0.8, 1.5),
    "warehousing": (2.5, 2.0, 0.8, 0.6, 1.5),
    "catering": (3.0, 0.5, 1.0, 0.6, 1.5),
    "software": (3.0, 4.0, 0.5, 0.5, 1.5),
    "real_estate": (1.5, 0.5, 8.0, 1.0, 1.0),
    "leasing": (2.0, 2.0, 0.8, 0.6, 2.5),
    "agriculture": (2.0, 1.5, 3.0, 0.6, 1.2),
}
# Dirichlet shapes of current liabilities: short-term debt, notes payable, accounts payable,
# advances from customers, current portion of long-term debt, other.
_CL_SHAPES = (3.0, 0.8, 3.0, 1.0, 0.3, 2.0)

_SIZE_CLASSES = ("large", "medium", "small", "micro")
_SIZE_PROBS = (0.007, 0.050, 0.280, 0.663)
_LOAN_PROB = (0.95, 0.90, 0.70, 0.38)  # share of firms with bank loans, by size class

_RATINGS = np.array([
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-",
    "B+", "B", "B-", "CCC", "CC", "C",
], dtype=object)
_LENDERS = np.array([
    "中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "中国邮政储蓄银行",
    "招商银行", "浙商银行", "杭州银行", "宁波银行", "温州银行", "台州银行",
    "浙江泰隆商业银行", "浙江民泰商业银行", "农村商业银行",
], dtype=object)
_LENDER_WEIGHTS = np.array([12, 10, 9, 10, 5, 4, 5, 6, 5, 5, 3, 3, 4, 3, 16], dtype=float)
_TRADE_CHARS = list("华兴达恒泰宏盛鑫隆丰瑞祥通利德信源嘉鼎汇永益安康诚昌富远凯正新天东金和力中浩博海")
_OWNERSHIP = np.array(["private", "soe", "foreign", "collective", "other"], dtype=object)

# --------------------------------------------------------------------------------------
# Planted cases
# --------------------------------------------------------------------------------------
# key, industry, employees, revenue 2016/2017/2018 (yuan), listed, has bank loans.
_PLANTED = [
    ("circle_a", "C3670", 900, (8.6e8, 9.2e8, 1.0e9), False, True),
    ("circle_b", "C3351", 150, (6.2e7, 6.6e7, 7.0e7), False, True),
    ("circle_c", "C2929", 120, (4.8e7, 5.1e7, 5.5e7), False, True),
    ("circle_d", "F5174", 40, (1.1e8, 1.2e8, 1.3e8), False, True),
    ("pair_e", "C3443", 160, (7.2e7, 7.6e7, 8.0e7), False, True),
    ("pair_f", "C3812", 180, (8.1e7, 8.5e7, 9.0e7), False, True),
    ("pledge_g", "C3841", 1500, (1.5e9, 1.7e9, 1.9e9), True, False),
    ("zombie", "C1711", 150, (5.3e7, 5.1e7, 5.0e7), False, True),
    ("not_zombie", "C1711", 150, (5.3e7, 5.1e7, 5.0e7), False, True),
    ("bond_wall", "C2822", 2500, (2.6e9, 2.8e9, 3.0e9), False, True),
    ("size_medium", "C3381", 300, (1.75e7, 1.85e7, 2.0e7), False, False),
    ("size_small", "C3381", 299, (1.75e7, 1.85e7, 2.0e7), False, False),
    ("healthy_sme", "C3443", 80, (2.5e7, 2.75e7, 3.0e7), False, False),
    ("suspended", "C1819", 1200, (1.2e9, 1.3e9, 1.4e9), True, False),
]
_PK = {key: i for i, (key, *_rest) in enumerate(_PLANTED)}
# Bonds of the bond-wall firm: amount, maturity, put date (NaT: none), issue date, rating.
_WALL_BONDS = [
    (8.0e8, "2019-06-15", None, "2016-06-15"),
    (5.0e8, "2019-11-20", None, "2016-11-20"),
    (4.0e8, "2022-02-10", "2020-02-10", "2017-02-10"),
    (3.0e8, "2021-09-01", None, "2018-09-01"),
]
_WALL_DUE_12M = 8.0e8 + 5.0e8 + 4.0e8  # maturities or puts in (2019-03-31, 2020-03-31]


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


# Stock numbers the listed firms draw from: Shanghai main board, Shenzhen main and ChiNext.
_STOCK_POOL = np.concatenate([np.arange(600000, 606000), np.arange(1, 3000), np.arange(300001, 301000)])
# A block's bond and pledge numbers start at its number times this: unique across blocks.
_BLOCK_ID_SPAN = 1_000_000
#: Firms a block of a partitioned province holds at least (whole counties are joined until it does).
BLOCK_FIRMS = 2_000


@dataclass(frozen=True)
class Block:
    """One block of a partitioned province: whole counties generated together by
    :func:`build_tables` from a seed of their own."""

    number: int
    counties: np.ndarray
    """Indices into :func:`counties`."""
    firms: int
    listed: int
    """Listed firms besides the block's two planted ones."""
    stock_pool: np.ndarray
    """The block's own stock numbers (no other block draws from them)."""


def blocks(n_firms: int, seed: int = 0) -> list[Block]:
    """The blocks of a partitioned province of ``n_firms``: the firms apportioned to the
    counties by their weights (largest remainders, no randomness), counties in code order
    joined into blocks of at least :data:`BLOCK_FIRMS`, and the province's listed firms
    and stock numbers shared out by block.

    Examples
    --------
    >>> plan = blocks(50_000)
    >>> sum(b.firms for b in plan), min(b.firms for b in plan) >= BLOCK_FIRMS
    (50000, True)
    """
    cty = counties()
    share = _county_weights(cty) * n_firms
    sizes = np.floor(share).astype(np.int64)
    sizes[np.argsort(-(share - sizes), kind="stable")[: n_firms - int(sizes.sum())]] += 1
    order = np.argsort(cty["code"].to_numpy(dtype=str), kind="stable")
    groups, current = [], []
    for county in order:  # a loop over counties (about ninety)
        current.append(county)
        if sizes[current].sum() >= BLOCK_FIRMS:
            groups.append(current)
            current = []
    if current:  # the last counties join the block before them, if there is one
        if groups:
            groups[-1] = groups[-1] + current
        else:
            groups.append(current)
    listed_total = min(int(round(0.025 * n_firms)), 5000)
    pool = np.random.default_rng(np.random.SeedSequence([seed, 1 << 20])).permutation(_STOCK_POOL)
    plan, used = [], 0
    for number, group in enumerate(groups):
        firms = int(sizes[group].sum())
        listed = max(int(round(listed_total * firms / n_firms)) - 2, 0)
        plan.append(Block(number, np.asarray(group), firms, listed, pool[used: used + listed + 2]))
        used += listed + 2
    return plan


def county_tables(tables: dict[str, pd.DataFrame]) -> Iterator[tuple[str, dict[str, pd.DataFrame]]]:
    """A block's tables split by county (code order): each row goes with its firm's county
    (a statement, loan or bond with its firm, a pledge with the company, a guarantee with
    the guarantor, a price with the listed firm)."""
    firms = tables["firms"]
    county_of = pd.Series(firms["region_code"].to_numpy(dtype=object), index=firms["firm_id"].to_numpy(dtype=object))
    by_stock = pd.Series(firms["region_code"].to_numpy(dtype=object), index=firms["stock_code"].to_numpy(dtype=object))
    by_stock = by_stock[by_stock.index.notna()]
    owner = {"firms": None, "financials": "firm_id", "loans": "firm_id", "bonds": "issuer_id", "pledges": "company_id",
             "guarantees": "guarantor_id", "prices": "stock_code"}
    keys = {}
    for table, frame in tables.items():
        column = owner[table]
        if column is None:
            keys[table] = frame["region_code"].to_numpy(dtype=object)
        else:
            lookup = by_stock if table == "prices" else county_of
            keys[table] = lookup.reindex(frame[column].to_numpy(dtype=object)).to_numpy(dtype=object)
    lost = {t: int(pd.isna(k).sum()) for t, k in keys.items() if pd.isna(k).any()}
    if lost:  # a row whose firm is not in the block: the generator's mistake, never silently dropped
        raise AssertionError(f"rows without a county in the block: {lost}")
    for code in sorted(set(keys["firms"])):
        yield code, {t: frame[keys[t] == code].reset_index(drop=True) for t, frame in tables.items()}


def counties() -> pd.DataFrame:
    """The county-level divisions of Zhejiang used by the generator (GB/T 2260, 2018)."""
    path = resources.files("zjfin.datasets") / "zhejiang_counties.csv"
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str)


def _r2(x):
    return np.round(x, 2)


def _loguniform(rng, lo, hi, size=None):
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _dirichlet(rng, shapes, size):
    """Rows of shares from gamma draws; ``shapes`` broadcast against ``size``."""
    g = rng.gamma(np.broadcast_to(shapes, size))
    return g / g.sum(axis=-1, keepdims=True)


def _top_k(rng, log_weight, k):
    """Indices of a weighted sample without replacement (Gumbel top-k), in index order."""
    k = int(min(k, np.isfinite(log_weight).sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    key = log_weight + rng.gumbel(size=log_weight.shape)
    key = np.where(np.isfinite(log_weight), key, -np.inf)
    top = np.argpartition(-key, k - 1)[:k]
    return np.sort(top)


def _obj(values) -> np.ndarray:
    """An object array of Python str (None stays None)."""
    arr = np.asarray(values)
    if arr.dtype == object:
        return arr
    return arr.astype(object)


def _strs(values) -> pd.Series:
    return pd.Series(_obj(values), dtype=object)


def _dates(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype="datetime64[D]").astype("datetime64[ns]"))


def _zfill(numbers, width: int) -> np.ndarray:
    return np.char.zfill(np.asarray(numbers, dtype=np.int64).astype(str), width)


def _frame(table: str, columns: dict) -> pd.DataFrame:
    out = pd.DataFrame({name: columns[name] for name in TABLE_COLUMNS[table]})
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Firms
# --------------------------------------------------------------------------------------


def _industry_table():
    codes, words, weights, groups = [], [], [], []
    total = sum(w for _c, _w, w in _MANUFACTURING)
    for code, word, w in _MANUFACTURING:
        codes.append(code), words.append(word), groups.append("industry")
        weights.append(w / total * _MANUFACTURING_SHARE)
    total = sum(w for *_x, w, _g in _OTHER_INDUSTRIES)
    for code, word, w, group in _OTHER_INDUSTRIES:
        codes.append(code), words.append(word), groups.append(group)
        weights.append(w / total * (1 - _MANUFACTURING_SHARE))
    group_idx = np.array([_GROUPS.index(g) for g in groups])
    return np.array(codes), np.array(words), np.array(weights), group_idx


def _county_weights(cty: pd.DataFrame) -> np.ndarray:
    suffix = cty["code"].str[4:].astype(int).to_numpy()
    # districts (01-20) and county-level cities (81-) host more firms than counties (21-80).
    base = np.where(suffix >= 81, 1.3, np.where(suffix <= 20, 1.0, 0.6))
    base = base * cty["code"].map(_COUNTY_BOOST).fillna(1.0).to_numpy()
    city = cty["city_code"].to_numpy()
    w = np.empty(len(cty))
    for c, share in _CITY_WEIGHT.items():  # 11 cities
        m = city == c
        w[m] = share * base[m] / base[m].sum()
    return w / w.sum()


def _draw_size(rng, n, group, size_class):
    """Employees (persons) and revenue, assets (万元) inside the class's bands.

    Returns (employees, revenue_10k, assets_10k, assets_drawn) where assets are NaN for
    groups whose standard does not use them (drawn later from turnover).
    """
    th = np.array([_SIZE_2011[g] for g in _GROUPS], dtype=float)[group]  # (n, 9)
    large, medium, small = th[:, 0:3], th[:, 3:6], th[:, 6:9]
    used = ~np.isnan(small)
    # One binding indicator per firm, among those its standard uses.
    score = np.where(used, rng.random((n, 3)), -1.0)
    binding = np.zeros((n, 3), dtype=bool)
    binding[np.arange(n), score.argmax(axis=1)] = True
    lo = np.empty((n, 3))
    hi = np.empty((n, 3))
    for k, name in enumerate(_SIZE_CLASSES):  # four classes
        m = size_class == k
        if name == "large":
            lo[m], hi[m] = large[m], large[m] * 5
        elif name == "medium":
            lo[m] = medium[m]
            hi[m] = np.where(binding[m], large[m], large[m] * 3)
        elif name == "small":
            lo[m] = small[m]
            hi[m] = np.where(binding[m], medium[m], medium[m] * 2)
        else:
            lo[m] = small[m] / 8
            hi[m] = np.where(binding[m], small[m], small[m] * 2)
    lo = np.where(used, lo, 1.0)
    hi = np.where(used, hi, 2.0)
    x = _loguniform(rng, lo, hi)
    # Employees are whole numbers inside [ceil(lo), ceil(hi) - 1].
    e_lo = np.maximum(np.ceil(lo[:, 0]), 1)
    e_hi = np.maximum(np.ceil(hi[:, 0]) - 1, e_lo)
    employees = np.clip(np.floor(x[:, 0]), e_lo, e_hi)
    revenue = np.where(used[:, 1], x[:, 1], np.nan)
    assets = np.where(used[:, 2], x[:, 2], np.nan)
    return employees, revenue, assets, used


def _firm_ids(rng, n, region_codes):
    # 8-digit organisation bodies: an affine permutation of 0..1e8-1 (unique per firm).
    modulus = 100_000_000
    a = int(rng.integers(10_000_000, modulus // 2)) * 2 + 1
    while a % 5 == 0:
        a += 2
    b = int(rng.integers(0, modulus))
    order = rng.permutation(n).astype(np.int64)
    bodies = (order * a + b) % modulus
    return make_uscc(np.full(n, "91"), region_codes, _zfill(bodies, 8))


def _draw_bonds(rng, n, A18, L18_star, listed, is_planted, planted) -> dict:
    """Bonds of ≈ 0.5 % of firms (the larger ones, listed ones more likely) plus the
    planted bonds (circle A's defaulted bond, the bond wall), as arrays."""
    n_issuers = int(min(round(0.005 * n), 6500))
    logw = np.log(A18) + np.where(listed, np.log(4.0), 0.0) - np.where(L18_star < 2e8, 1e3, 0.0)
    logw = np.where(is_planted, -np.inf, logw)
    issuers = _top_k(rng, logw, n_issuers)
    n_per = rng.choice(np.arange(1, 6), size=issuers.size, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    b_firm = np.repeat(issuers, n_per)[:20_000 - len(_WALL_BONDS) - 1]
    nb = b_firm.size
    cap = np.clip(0.25 * L18_star[b_firm], 1.0e8, 3.0e9)
    b_amount = np.round(_loguniform(rng, 1.0e8, np.maximum(cap, 1.0001e8)) / 1e7) * 1e7
    wall = rng.random(nb) < 0.55
    lo = np.where(wall, np.datetime64("2019-04-01"), np.datetime64("2021-01-01"))
    span = np.where(wall, 640, 1094)
    b_mat = lo + (rng.random(nb) * span).astype(np.int64) * _D
    tenor = rng.choice([2, 3, 5, 7], size=nb, p=[0.1, 0.45, 0.35, 0.1])
    mat_y = b_mat.astype("datetime64[Y]").astype(int) + 1970
    md = b_mat - b_mat.astype("datetime64[Y]")  # day of year offset
    for _ in range(3):  # bump tenors until the issue date is in the past (≤ 3 steps)
        issue_y = mat_y - tenor
        b_issue = (issue_y - 1970).astype("datetime64[Y]").astype("datetime64[D]") + md
        late = b_issue > np.datetime64("2019-03-15")
        tenor = np.where(late, np.select([tenor < 3, tenor < 5], [3, 5], 7), tenor)
    issue_y = mat_y - tenor
    b_issue = (issue_y - 1970).astype("datetime64[Y]").astype("datetime64[D]") + md
    has_put = (rng.random(nb) < 0.3) & (tenor >= 3)
    b_put = (issue_y + tenor - 2 - 1970).astype("datetime64[Y]").astype("datetime64[D]") + md
    b_put = np.where(has_put & (b_put > _ASOF) & (b_put < b_mat), b_put, np.datetime64("NaT"))
    # Issuer ratings and statuses.
    iss_rating = rng.choice(5, size=issuers.size, p=[0.20, 0.35, 0.35, 0.06, 0.04])
    iss_move = rng.choice([0, -1, 1], size=issuers.size, p=[0.82, 0.12, 0.06])  # -1: downgraded
    iss_status = rng.choice(3, size=issuers.size, p=[0.975, 0.01, 0.015])
    pos = np.searchsorted(issuers, b_firm)
    rating = iss_rating[pos]
    rating_prev = np.clip(rating + iss_move[pos], 0, len(_RATINGS) - 1)
    order = np.lexsort((b_mat, b_firm))
    first = np.zeros(nb, dtype=bool)
    first[order[np.r_[True, b_firm[order][1:] != b_firm[order][:-1]]]] = True
    b_status = np.where(first, iss_status[pos], 0)
    bad_issuer = iss_status[pos] > 0
    rating = np.where(bad_issuer, np.where(iss_status[pos] == 2, 18, 11), rating)  # C / BB
    rating_prev = np.where(bad_issuer, np.where(iss_status[pos] == 2, 2, 3), rating_prev)
    coupon_base = np.array([0.045, 0.052, 0.060, 0.068, 0.075] + [0.078] * 14)
    b_coupon = np.round(np.clip(coupon_base[np.minimum(rating_prev, 18)] + rng.uniform(-0.005, 0.005, nb), 0.04, 0.08), 4)
    # Planted bonds: circle A's defaulted bond, the bond wall.
    wa, ww = planted[_PK["circle_a"]], planted[_PK["bond_wall"]]
    pb_firm = np.array([wa] + [ww] * len(_WALL_BONDS))
    pb_amount = np.array([3.0e8] + [b[0] for b in _WALL_BONDS])
    pb_mat = np.array(["2019-03-15"] + [b[1] for b in _WALL_BONDS], dtype="datetime64[D]")
    pb_put = np.array(["NaT"] + [b[2] or "NaT" for b in _WALL_BONDS], dtype="datetime64[D]")
    pb_issue = np.array(["2016-03-15"] + [b[3] for b in _WALL_BONDS], dtype="datetime64[D]")
    b_firm = np.concatenate([b_firm, pb_firm])
    b_amount = np.concatenate([b_amount, pb_amount])
    b_mat = np.concatenate([b_mat, pb_mat])
    b_put = np.concatenate([b_put, pb_put])
    b_issue = np.concatenate([b_issue, pb_issue])
    b_coupon = np.concatenate([b_coupon, [0.065, 0.058, 0.06, 0.062, 0.061]])
    rating = np.concatenate([rating, [18, 2, 2, 2, 2]])
    rating_prev = np.concatenate([rating_prev, [2, 2, 2, 2, 2]])
    b_status = np.concatenate([b_status, [2, 0, 0, 0, 0]])
    return {
        "firm": b_firm, "amount": b_amount, "maturity": b_mat, "put": b_put, "issue": b_issue,
        "coupon": b_coupon, "rating": rating, "rating_prev": rating_prev, "status": b_status,
    }


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------


def build_tables(n_firms: int = 20_000, seed: Any = 0, _block: "Block | None" = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Return ``({table_name: DataFrame}, planted)`` for a Zhejiang-like province.

    Parameters
    ----------
    n_firms : int
        Number of firms, planted cases included (200 … 3,000,000).
    seed : int
        Seed of the one ``numpy.random.default_rng`` used; same arguments ⇒ same tables.

    Returns
    -------
    tables : dict of DataFrame
        ``firms``, ``financials``, ``bonds``, ``pledges``, ``prices``, ``guarantees``,
        ``loans``, each with the canonical columns of SPEC §2 in order. Text columns are
        object dtype (Python str or None), numbers float64, dates datetime64[ns], flags bool.
    planted : DataFrame
        ``firm_id``, ``case``, ``column``, ``expected`` (all str): the outcome screening as
        of 2019-03-31 must give for each planted case.

    Examples
    --------
    >>> tables, planted = build_tables(300, seed=1)
    >>> sorted(tables) == sorted(TABLE_COLUMNS)
    True
    >>> (tables["firms"].shape[0], planted["case"].nunique())
    (300, 10)
    """
    n = int(n_firms)
    if n < 200:
        raise ValueError(f"n_firms must be at least 200, got {n}")
    rng = np.random.default_rng(seed)
    P = len(_PLANTED)

    # ---------------------------------------------------------------- regions, industries
    cty = counties()
    if _block is None:
        county = rng.choice(len(cty), size=n, p=_county_weights(cty))
    else:  # a block of a partitioned province: its own counties only
        weights = _county_weights(cty)[_block.counties]
        county = rng.choice(_block.counties, size=n, p=weights / weights.sum())
    region_codes = cty["code"].to_numpy(dtype=str)[county]
    ind_codes, ind_words, ind_weights, ind_group = _industry_table()
    industry = rng.choice(len(ind_codes), size=n, p=ind_weights / ind_weights.sum())

    planted = rng.choice(n, size=P, replace=False)  # planted[i]: the row of _PLANTED[i]
    is_planted = np.zeros(n, dtype=bool)
    is_planted[planted] = True
    code_index = {c: i for i, c in enumerate(ind_codes)}
    industry[planted] = [code_index[p[1]] for p in _PLANTED]
    group = ind_group[industry]
    is_manu = group == _GROUPS.index("industry")

    # ---------------------------------------------------------------- size, employees
    size_class = rng.choice(4, size=n, p=_SIZE_PROBS)
    size_class[planted] = 2
    emp, rev10k, ast10k, used = _draw_size(rng, n, group, size_class)
    econ = np.array([_ECON[g] for g in _GROUPS])[group]
    turnover_f = econ[:, 0] * rng.lognormal(0.0, 0.35, n)
    rev_from_assets = ~used[:, 1]  # leasing: revenue follows assets
    rev10k = np.where(rev_from_assets, ast10k * turnover_f, rev10k)
    emp_derived = ~used[:, 0]
    emp = np.where(emp_derived, np.maximum(np.round(rev10k / (econ[:, 5] * rng.lognormal(0, 0.4, n))), 1), emp)
    R18 = rev10k * 1e4
    # assets drawn where the standard uses them, else from turnover.
    A18 = np.where(used[:, 2], ast10k * 1e4, R18 / turnover_f)
    turnover_f = R18 / A18

    # Planted sizes and revenues.
    emp[planted] = [p[2] for p in _PLANTED]
    plant_rev = np.array([p[3] for p in _PLANTED], dtype=float)
    R18[planted] = plant_rev[:, 2]
    turnover_f[planted] = 1.0
    turnover_f[planted[_PK["circle_a"]]] = 0.8
    turnover_f[planted[_PK["circle_d"]]] = 2.0
    turnover_f[planted[_PK["bond_wall"]]] = 0.5
    turnover_f[planted[_PK["pledge_g"]]] = 0.9
    A18 = R18 / turnover_f

    # ---------------------------------------------------------------- revenue paths
    growth_f = rng.normal(0.06, 0.07, n)
    shock = np.where(rng.random((n, 2)) < 0.03, rng.uniform(-0.6, -0.3, (n, 2)), 0.0)
    g = np.clip(growth_f[:, None] + rng.normal(0.0, 0.08, (n, 2)) + shock, -0.7, 1.0)  # g17, g18
    R = np.empty((n, 3))
    R[:, 2] = R18
    R[:, 1] = R18 / (1 + g[:, 1])
    R[:, 0] = R[:, 1] / (1 + g[:, 0])
    R[planted] = plant_rev
    turnover = turnover_f[:, None] * np.exp(rng.normal(0.0, 0.05, (n, 3)))
    turnover[:, 2] = turnover_f
    turnover[planted] = turnover_f[planted, None]

    # Leverage: firm level with yearly noise; a few insolvent firms.
    lev_f = rng.beta(5.0, 4.0, n) + econ[:, 4]
    insolvent = rng.random(n) < 0.006
    lev_f = np.where(insolvent, rng.uniform(1.0, 1.2, n), np.clip(lev_f, 0.05, 0.95))
    lam = np.clip(lev_f[:, None] + rng.normal(0.0, 0.03, (n, 3)), 0.03, 1.3)

    has_loan = rng.random(n) < np.array(_LOAN_PROB)[size_class]
    has_loan[planted] = [p[5] for p in _PLANTED]

    # ---------------------------------------------------------------- listed firms
    n_listed = max(min(int(round(0.025 * n)), 5000) - 2, 0) if _block is None else _block.listed
    logw = np.where(is_planted, -np.inf, np.log(R18))
    listed_idx = _top_k(rng, logw, n_listed)
    listed_idx = np.concatenate([listed_idx, planted[[_PK["pledge_g"], _PK["suspended"]]]])
    listed = np.zeros(n, dtype=bool)
    listed[listed_idx] = True
    n_stocks = listed_idx.size
    stock_num = rng.choice(_STOCK_POOL if _block is None else _block.stock_pool, size=n_stocks, replace=False)
    suffix = np.where(stock_num >= 600000, ".SH", ".SZ")
    stock_codes = np.char.add(_zfill(stock_num, 6), suffix).astype(object)
    stock_code = np.full(n, None, dtype=object)
    stock_code[listed_idx] = stock_codes

    # ---------------------------------------------------------------- bonds (drawn first)
    L18_star = A18 * lam[:, 2]
    bond = _draw_bonds(rng, n, A18, L18_star, listed, is_planted, planted)
    b_firm, b_amount, b_mat, b_issue = bond["firm"], bond["amount"], bond["maturity"], bond["issue"]
    # Bond parts per firm-year: current if maturing within a year of the period end.
    bond_cur = np.zeros((n, 3))
    bond_lt = np.zeros((n, 3))
    for t, year in enumerate(FISCAL_YEARS):  # three fiscal years
        pe = np.datetime64(f"{year}-12-31")
        live = (b_issue <= pe) & (b_mat > pe)
        cur = live & (b_mat <= np.datetime64(f"{year + 1}-12-31"))
        bond_cur[:, t] = np.bincount(b_firm[cur], weights=b_amount[cur], minlength=n)
        bond_lt[:, t] = np.bincount(b_firm[live & ~cur], weights=b_amount[live & ~cur], minlength=n)

    # ---------------------------------------------------------------- statement drivers
    c_share = np.clip(rng.normal(0.85, 0.08, n), 0.45, 0.98)
    w_cl = _dirichlet(rng, np.array(_CL_SHAPES), (n, 3, 6))
    w_cl[~has_loan, :, 0] = 0.0
    w_cl[~has_loan, :, 4] = 0.0
    w_ltd = np.where(has_loan, rng.uniform(0.2, 0.8, n), 0.0)
    ca_share = np.clip(econ[:, 3] + rng.normal(0, 0.08, n), 0.10, 0.92)
    ca_shapes = np.array([_CA_SHAPES[g] for g in _GROUPS])[group]
    w_ca = _dirichlet(rng, ca_shapes[:, None, :] * 3.0, (n, 3, 5))
    restricted_share = np.where(rng.random(n) < 0.4, rng.uniform(0.0, 0.35, n), 0.0)
    gm_f = np.clip(econ[:, 1] + rng.normal(0, 0.35 * econ[:, 1], n), -0.05, 0.85)
    gm = np.clip(gm_f[:, None] + rng.normal(0, 0.02, (n, 3)), -0.1, 0.9)
    sd = np.maximum(0.7 * econ[:, 2], 0.03)
    m_f = econ[:, 2] + sd * rng.normal(0, 1, n)
    margin = np.minimum(m_f[:, None] + 0.5 * sd[:, None] * rng.normal(0, 1, (n, 3)), gm - 0.005)
    sub_rate = np.where(rng.random(n) < 0.4, rng.uniform(0.0005, 0.008, n), 0.0)
    sub_noise = rng.uniform(0.5, 1.5, (n, 3))
    nonop = rng.normal(0, 0.002, (n, 3))
    eff_tax = rng.uniform(0.4, 1.0, n)
    int_rate = rng.uniform(0.045, 0.07, n)
    dep_rate = rng.uniform(0.04, 0.10, n)
    vat = rng.uniform(0.01, 0.04, n)
    division = np.array([c[1:3] for c in ind_codes])[industry]
    tech = np.isin(division, ["38", "39", "40"]) | (np.array([c[:3] for c in ind_codes])[industry] == "I65")
    rd_rate = np.where(
        tech, rng.uniform(0.03, 0.10, n),
        np.where(is_manu, rng.uniform(0.0, 0.035, n), rng.uniform(0.0, 0.005, n)),
    )
    rd_rate = np.where(~tech & (rng.random(n) < 0.3), 0.0, rd_rate)
    va_add = rng.uniform(0.06, 0.14, n)
    ocf_noise = rng.normal(0, 0.04, (n, 3))
    paid_in = rng.uniform(0.3, 0.8, n)

    # Planted drivers: sound defaults, then each case.
    pl = planted
    c_share[pl] = 0.8
    w_cl[pl] = np.array([0.30, 0.05, 0.35, 0.05, 0.03, 0.22])
    w_cl[pl[~has_loan[pl]], :, 0] = 0.0
    w_cl[pl[~has_loan[pl]], :, 4] = 0.0
    w_ltd[pl] = np.where(has_loan[pl], 0.5, 0.0)
    ca_share[pl] = 0.55
    w_ca[pl] = np.array([0.30, 0.30, 0.20, 0.05, 0.15])
    restricted_share[pl] = 0.05
    gm[pl] = 0.22
    margin[pl] = 0.08
    lam[pl] = 0.45
    sub_rate[pl] = 0.002
    sub_noise[pl] = 1.0
    nonop[pl] = 0.0
    eff_tax[pl] = 0.8
    int_rate[pl] = 0.05
    dep_rate[pl] = 0.07
    vat[pl] = 0.03
    rd_rate[pl] = 0.02
    va_add[pl] = 0.10
    ocf_noise[pl] = 0.0
    paid_in[pl] = 0.5
    for key in ("zombie", "not_zombie"):
        i = pl[_PK[key]]
        lam[i] = (0.62, 0.66, 0.72)
        gm[i] = 0.08
        margin[i] = -0.04
        sub_rate[i] = 0.004
        w_cl[i] = np.array([0.20, 0.05, 0.45, 0.05, 0.03, 0.22])
        w_ca[i] = np.array([0.45, 0.25, 0.15, 0.03, 0.12])
        ocf_noise[i] = 0.03
    margin[pl[_PK["not_zombie"]], 2] = 0.01
    i = pl[_PK["bond_wall"]]
    lam[i] = 0.70
    ca_share[i] = 0.40
    w_cl[i] = np.array([0.30, 0.06, 0.35, 0.04, 0.02, 0.23])
    w_ca[i] = np.array([0.05, 0.40, 0.35, 0.05, 0.15])
    restricted_share[i] = 0.30
    margin[i] = 0.03
    lam[pl[_PK["circle_a"]]] = 0.55

    # ---------------------------------------------------------------- balance sheet
    A_star = R / turnover
    L_star = A_star * lam
    CL_star = L_star * c_share[:, None]
    NCL_star = L_star - CL_star
    base_cl = np.maximum(CL_star - bond_cur, 0.3 * CL_star)
    w = w_cl / w_cl.sum(axis=-1, keepdims=True) * 0.98
    w[..., 5] += 0.02
    std = _r2(base_cl * w[..., 0])
    notes = _r2(base_cl * w[..., 1])
    ap = _r2(base_cl * w[..., 2])
    adv = _r2(base_cl * w[..., 3])
    cpltd = _r2(base_cl * w[..., 4] + bond_cur)
    CL = _r2(std + notes + ap + adv + cpltd + base_cl * w[..., 5])
    del w, w_cl
    base_ncl = np.maximum(NCL_star - bond_lt, 0.3 * NCL_star)
    ltd = _r2(base_ncl * w_ltd[:, None])
    bonds_payable = _r2(bond_lt)
    NCL = _r2(ltd + bonds_payable + base_ncl * (1 - w_ltd[:, None]))
    L = _r2(CL + NCL)
    Eq = _r2(A_star - L_star)
    A = _r2(L + Eq)
    del base_cl, base_ncl, NCL, L_star, CL_star, NCL_star
    w = w_ca / w_ca.sum(axis=-1, keepdims=True) * 0.98
    w[..., 4] += 0.02
    CA_star = A * ca_share[:, None]
    cash = _r2(CA_star * w[..., 0])
    ar = _r2(CA_star * w[..., 1])
    inv = _r2(CA_star * w[..., 2])
    prep = _r2(CA_star * w[..., 3])
    CA = _r2(cash + ar + inv + prep + CA_star * w[..., 4])
    restricted = _r2(cash * restricted_share[:, None])
    del w, w_ca, CA_star

    # ---------------------------------------------------------------- income statement
    busy = is_planted | listed | (np.bincount(b_firm, minlength=n) > 0)
    dormant = _top_k(rng, np.where(busy, -np.inf, 0.0), max(1, n // 5000))
    R[dormant, 2] = 0.0
    R = _r2(R)
    cost = _r2(R * (1 - gm))
    op = _r2(R * margin)
    op[dormant, 2] = _r2(-0.01 * A[dormant, 2])
    interest = _r2(int_rate[:, None] * (std + ltd + cpltd + bonds_payable))
    dep = _r2((A - CA) * dep_rate[:, None])
    subsidies = _r2(R * sub_rate[:, None] * sub_noise)
    pretax = op + R * nonop
    net = _r2(pretax - 0.25 * np.maximum(pretax, 0) * eff_tax[:, None])
    ebit = _r2(op + interest)
    taxes = _r2(R * vat[:, None] + 0.25 * np.maximum(pretax, 0) * eff_tax[:, None])
    rd = _r2(R * rd_rate[:, None])
    va = np.where(is_manu[:, None], _r2(R * np.clip(gm + va_add[:, None], 0.03, 0.9)), np.nan)
    ocf = _r2(net + dep + R * ocf_noise)
    retained = _r2(Eq - paid_in[:, None] * np.maximum(Eq[:, :1], 0))
    del pretax, gm, margin, nonop, ocf_noise, sub_noise

    # ---------------------------------------------------------------- firms table
    firm_ids = _firm_ids(rng, n, region_codes)
    fid = firm_ids.astype(object)
    trade = np.array([a + b for a in _TRADE_CHARS for b in _TRADE_CHARS if a != b])
    county_short = cty["name_zh"].str.replace("畲族自治县", "", regex=False).str[:2].to_numpy(dtype=str)
    city_short = cty["city_zh"].str[:2].to_numpy(dtype=str)
    place = np.where(rng.random(n) < 0.5, county_short[county], city_short[county])
    names = np.char.add(np.char.add(place, trade[rng.integers(0, trade.size, n)]), ind_words[industry])
    names = np.char.add(names, np.where(listed, "股份有限公司", "有限公司"))

    ownership = rng.choice(5, size=n, p=[0.885, 0.03, 0.05, 0.02, 0.015])
    ownership = np.where((size_class == 0) & (rng.random(n) < 0.15), 1, ownership)
    ownership[pl] = 0

    price0 = np.clip(rng.lognormal(np.log(12.0), 0.6, n_stocks), 3.0, 150.0)
    cap = np.maximum(Eq[listed_idx, 2], 1e8) * rng.uniform(1.5, 4.0, n_stocks)
    shares = np.clip(np.round(cap / price0 / 1e4) * 1e4, 5e7, 2e10)
    total_shares = np.full(n, np.nan)
    total_shares[listed_idx] = shares

    land = np.full(n, np.nan)
    energy = np.full(n, np.nan)
    emis = np.full(n, np.nan)
    has_land = is_manu & ((rng.random(n) < 0.7) | is_planted)
    heavy = np.isin(division, ["22", "26", "28", "30", "32"])
    r_base = np.maximum(R18, 1e5)
    land_v = np.clip(r_base / rng.lognormal(np.log(3.5e6), 0.6, n), 0.3, 5000)
    energy_v = r_base / 1e4 * np.where(heavy, rng.lognormal(np.log(0.25), 0.5, n), rng.lognormal(np.log(0.04), 0.5, n))
    emis_v = energy_v * rng.lognormal(np.log(0.01), 0.6, n)
    land[has_land] = _r2(land_v[has_land])
    energy[has_land] = _r2(energy_v[has_land])
    emis[has_land] = np.round(emis_v[has_land], 3)

    free = ~is_planted
    eligible_bc = is_manu & np.isin(division, ["17", "22", "26", "28", "30", "32", "33"]) & free
    p_bc = min(1.0, 0.005 * n / max(eligible_bc.sum(), 1))
    backward = eligible_bc & (rng.random(n) < p_bc)
    dishonest = free & (rng.random(n) < 0.01)
    violation = free & (rng.random(n) < 0.005)
    demand = np.full(n, np.nan)
    wants = free & (size_class > 0) & (rng.random(n) < 0.15)
    demand[wants] = np.maximum(np.round(R18[wants] * rng.uniform(0.05, 0.3, wants.sum()) / 1e4) * 1e4, 1e4)
    demand[pl[_PK["healthy_sme"]]] = 5.0e6
    # 专精特新: about 1 % of manufacturing SMEs (Zhejiang recognised ~1 % of its firms by
    # 2023). A generator of its own, so the main stream (and every other table) is unchanged.
    specialised = is_manu & (size_class > 0) & free & (np.random.default_rng([seed, 1]).random(n) < 0.01)

    firms = _frame("firms", {
        "firm_id": _strs(fid),
        "name": _strs(names),
        "region_code": _strs(region_codes),
        "industry_code": _strs(ind_codes[industry]),
        "employees": emp.astype(np.float64),
        "ownership": _strs(_OWNERSHIP[ownership]),
        "listed": listed,
        "stock_code": _strs(stock_code),
        "total_shares": total_shares,
        "land_mu": land,
        "energy_tce": energy,
        "emissions_t": emis,
        "backward_capacity": backward,
        "dishonest_debtor": dishonest,
        "major_violation": violation,
        "financing_demand": demand,
        "specialised": specialised,
    })
    del names, place

    # ---------------------------------------------------------------- financials table
    # One float block (rows × 30, Fortran order) so the frame takes it without a copy.
    period = np.array([f"{y}-12-31" for y in FISCAL_YEARS], dtype="datetime64[D]")
    money = [
        R, A, L, cost, op, net, ebit, interest, dep, subsidies, taxes, rd, va, CA, cash,
        restricted, ar, inv, prep, CL, std, notes, ap, adv, cpltd, ltd, bonds_payable, Eq,
        retained, ocf,
    ]
    block = np.empty((3 * n, len(money)), order="F")
    for j, arr in enumerate(money):  # thirty columns
        block[:, j] = arr.reshape(-1)
    block += 0.0  # -0.0 -> 0.0
    del money
    financials = pd.DataFrame(block, columns=TABLE_COLUMNS["financials"][2:], copy=False)
    financials.insert(0, "period_end", _dates(np.tile(period, n)))
    financials.insert(0, "firm_id", _strs(np.repeat(fid, 3)))
    del block

    # ---------------------------------------------------------------- bonds table
    nb = b_firm.size
    iy = b_issue.astype("datetime64[Y]").astype(int) % 100
    seq = np.arange(nb) + (0 if _block is None else _block.number * _BLOCK_ID_SPAN)  # unique across blocks
    ib = rng.random(nb) < 0.6
    sh = rng.random(nb) < 0.5
    bond_id = np.where(
        ib, np.char.add(np.char.add(np.char.add("10", _zfill(iy, 2)), _zfill(seq, 5)), ".IB"),
        np.where(sh, np.char.add(_zfill(143000 + seq, 6), ".SH"), np.char.add(_zfill(112000 + seq, 6), ".SZ")),
    )
    bonds = _frame("bonds", {
        "bond_id": _strs(bond_id),
        "issuer_id": _strs(fid[b_firm]),
        "amount_outstanding": b_amount.astype(np.float64),
        "maturity_date": _dates(b_mat),
        "put_date": _dates(bond["put"]),
        "issue_date": _dates(b_issue),
        "coupon_rate": bond["coupon"].astype(np.float64),
        "rating": _strs(_RATINGS[bond["rating"]]),
        "rating_prev": _strs(_RATINGS[bond["rating_prev"]]),
        "status": _strs(np.array(["performing", "extended", "defaulted"], dtype=object)[bond["status"]]),
    })

    # ---------------------------------------------------------------- loans table
    loan_firms = np.flatnonzero(has_loan)
    k_loans = rng.choice([1, 2, 3], size=loan_firms.size, p=[0.55, 0.30, 0.15])
    l_firm = np.repeat(loan_firms, k_loans)
    nl = l_firm.size
    bank_debt = std[:, 2] + ltd[:, 2] + np.maximum(cpltd[:, 2] - bond_cur[:, 2], 0)
    share = rng.gamma(2.0, size=nl)
    share = share / np.bincount(l_firm, weights=share, minlength=n)[l_firm]
    l_amount = np.maximum(np.round(bank_debt[l_firm] * share * rng.uniform(0.7, 1.0, nl) / 1e3) * 1e3, 1e4)
    # Classification per firm, more likely bad for loss-making firms.
    mult = np.where(net[:, 2] < 0, 2.5, 0.75)
    u = rng.random(n) / mult
    cls = np.select([u < 0.002, u < 0.007, u < 0.015, u < 0.045], [4, 3, 2, 1], 0)
    cls[pl] = 0
    l_cls = cls[l_firm]
    od_lo = np.array([0, 1, 91, 181, 366])[l_cls]
    od_hi = np.array([0, 90, 180, 365, 720])[l_cls]
    overdue = np.floor(rng.uniform(od_lo, od_hi + 1)).astype(np.int64)
    overdue = np.minimum(overdue, od_hi)
    overdue = np.where((l_cls == 1) & (rng.random(nl) < 0.5), 0, overdue)
    mat = np.datetime64("2019-04-01") + (rng.random(nl) * 1006).astype(np.int64) * _D
    mat = np.where(is_planted[l_firm], np.maximum(mat, np.datetime64("2019-06-30")), mat)
    mat = np.where(overdue > 0, _ASOF - overdue * _D, mat)
    lender = rng.choice(_LENDERS.size, size=nl, p=_LENDER_WEIGHTS / _LENDER_WEIGHTS.sum())
    loans = _frame("loans", {
        "firm_id": _strs(fid[l_firm]),
        "amount": l_amount.astype(np.float64),
        "maturity_date": _dates(mat),
        "lender": _strs(_LENDERS[lender]),
        "classification": _strs(np.array(["normal", "special_mention", "substandard", "doubtful", "loss"], dtype=object)[l_cls]),
        "overdue_days": overdue.astype(np.float64),
    })
    del std, ltd, cpltd, notes, ap, adv, cash, ar, inv, prep, restricted, CL, CA

    # ---------------------------------------------------------------- guarantees table
    guarantees = _guarantees(rng, n, L[:, 2], A18, has_loan, is_planted, planted, fid)

    # ---------------------------------------------------------------- prices, pledges
    holding_pool = ~is_planted & ~listed & np.isin(ind_codes[industry], ["L7211", "L7212"])
    if holding_pool.sum() < 0.5 * n_stocks:
        holding_pool = ~is_planted & ~listed
    holding_logw = np.where(holding_pool, np.log(A18), -np.inf)
    prices, pledges = _market(rng, listed_idx, stock_codes, price0, shares, holding_logw, fid,
                              0 if _block is None else _block.number * _BLOCK_ID_SPAN)

    tables = {
        "firms": firms,
        "financials": financials,
        "bonds": bonds,
        "pledges": pledges,
        "prices": prices,
        "guarantees": guarantees,
        "loans": loans,
    }

    # ---------------------------------------------------------------- planted table
    pid = {key: fid[planted[i]] for key, i in _PK.items()}
    rec = []
    # Each case's outcome, then where SPEC §4 puts it and the reason that says why
    # ("reason_codes": one code that must be among the firm's codes).
    for key in ("circle_a", "circle_b", "circle_c", "circle_d"):  # planted cases only
        rec.append((pid[key], "guarantee_circle_defaulter", "guarantee_circle_size", "4"))
        rec.append((pid[key], "guarantee_circle_defaulter", "guarantee_risk", "high"))
        rec.append((pid[key], "guarantee_circle_defaulter", "list", "relief"))
        rec.append((pid[key], "guarantee_circle_defaulter", "reason_codes", "G2"))
    rec.append((pid["circle_a"], "guarantee_circle_defaulter", "bond_risk", "high"))
    rec.append((pid["circle_a"], "guarantee_circle_defaulter", "reason_codes", "B1"))
    for key in ("pair_e", "pair_f"):
        rec.append((pid[key], "mutual_pair", "mutual_guarantee", "True"))
        # A mutual pair alone is structural exposure: reported (G5) and ranked, no relief case (K3).
        rec.append((pid[key], "mutual_pair", "list", "none"))
        rec.append((pid[key], "mutual_pair", "reason_codes", "G5"))
        rec.append((pid[key], "mutual_pair", "reason_codes", "K3"))
    rec.append((pid["pledge_g"], "pledge_liquidation", "pledge_risk", "high"))
    rec.append((pid["zombie"], "zombie", "zombie", "True"))
    rec.append((pid["zombie"], "zombie", "viable", "False"))
    rec.append((pid["not_zombie"], "not_zombie_subsidy", "zombie", "False"))
    rec.append((pid["bond_wall"], "bond_wall", "bond_risk", "high"))
    rec.append((pid["bond_wall"], "bond_wall", "bond_due_12m", str(float(_WALL_DUE_12M))))
    rec.append((pid["size_medium"], "size_medium_floor", "size_class", "medium"))
    rec.append((pid["size_small"], "size_small_below", "size_class", "small"))
    rec.append((pid["healthy_sme"], "healthy_sme_need", "size_class", "small"))
    rec.append((pid["suspended"], "suspended_stock", "listed", "True"))
    rec.append((pid["pledge_g"], "pledge_liquidation", "list", "relief"))
    rec.append((pid["pledge_g"], "pledge_liquidation", "reason_codes", "P1"))
    rec.append((pid["bond_wall"], "bond_wall", "list", "relief"))
    rec.append((pid["bond_wall"], "bond_wall", "reason_codes", "B2"))
    rec.append((pid["zombie"], "zombie", "list", "none"))  # not viable, but no high risk: no list
    rec.append((pid["zombie"], "zombie", "reason_codes", "V1"))
    rec.append((pid["healthy_sme"], "healthy_sme_need", "list", "sme_funding"))
    rec.append((pid["healthy_sme"], "healthy_sme_need", "reason_codes", "W1"))
    planted_df = pd.DataFrame(
        {c: pd.Series([r[k] for r in rec], dtype=object)
         for k, c in enumerate(["firm_id", "case", "column", "expected"])}
    )
    return tables, planted_df


# --------------------------------------------------------------------------------------
# Guarantee network
# --------------------------------------------------------------------------------------


def _guarantee_blocks(rng, members: np.ndarray, weight: np.ndarray):
    """The firms of large neighbourhoods (a town's firms that guarantee each other), with
    heavy-tailed sizes capped at ``_MAX_BLOCK``, and the rest in a weighted random order,
    from which standalone structures take fresh firms. Structures drawn inside a
    neighbourhood overlap and make its group; the others stay groups of their own, so the
    weakly connected groups keep the sizes real networks show (a real bank network of
    19,700 firms: 7,406 groups, the largest 539 firms) whatever the province's size.

    Returns the neighbourhoods' firms in block order with block starts, sizes and
    cumulative weights, and the standalone pool."""
    # Weighted random order (Efraimidis–Spirakis keys): firms with loans come first more often.
    order = members[np.argsort(np.log(rng.random(members.size)) / weight[members])[::-1]]
    in_large = int(_LARGE_SHARE * order.size)
    sizes = np.minimum(np.round(_LARGE_BLOCK_SCALE * (1 + rng.pareto(1.0, max(in_large, 1)))), _MAX_BLOCK).astype(np.int64)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), in_large)) + 1]
    sizes[-1] -= int(sizes.sum()) - in_large
    sizes = sizes[sizes > 0]
    block_firms, pool = order[:in_large], order[in_large:]
    starts = np.cumsum(sizes) - sizes
    cum = np.r_[0.0, np.cumsum(weight[block_firms])]
    return block_firms, starts, sizes, cum, pool


def _within_depth(gi: np.ndarray, bi: np.ndarray, keep: np.ndarray, n: int, depth: int) -> np.ndarray:
    """Which acyclic guarantees to keep so that no chain is longer than ``depth`` (a real
    network's longest is 5): after ``depth`` rounds of relaxation, a firm at the end of a
    ``depth``-long chain has level ``depth``, and the guarantees it gives are dropped; any
    longer chain would pass through one of them."""
    level = np.zeros(n, dtype=np.int64)
    g, b = gi[keep], bi[keep]
    for _ in range(depth):
        np.maximum.at(level, b, level[g] + 1)
    return keep & (level[gi] < depth)


def _guarantees(rng, n, liabilities, assets, has_loan, is_planted, planted, fid) -> pd.DataFrame:
    # Shares measured on a real bank network (vendor_layouts.md §3): 0.78 guarantees per
    # firm, 0.3 % of firms in circles (mostly of three), 0.2 % in mutual pairs, chains of
    # at most 5. About one drawn guarantee in eight is dropped to keep chains that short.
    E = int(round(0.88 * n))
    chain_p = np.array([0.45, 0.25, 0.15, 0.10, 0.05])
    n_chain = int(round(0.62 * E / (chain_p @ np.arange(1, 6))))
    star_sizes = np.arange(3, 11)
    n_star = int(round(0.16 * E / star_sizes.mean()))
    n_pair = int(round(0.001 * n))
    shapes = [(2, 2), (2, 3), (3, 2)]
    shape_p = np.array([0.5, 0.25, 0.25])
    n_bip = int(round(0.21 * E / (shape_p @ np.array([4, 6, 6]))))
    circle_sizes = rng.choice([3, 4, 5], size=int(round(0.003 * n / 3.4)), p=[0.7, 0.2, 0.1])
    n_circle = circle_sizes.size

    # Reciprocal pairs and circles get exclusive firms (no other guarantee role).
    free = np.flatnonzero(~is_planted)
    n_excl = 2 * n_pair + int(circle_sizes.sum())
    excl = rng.choice(free, size=min(n_excl, free.size // 2), replace=False)
    n_pair = min(n_pair, excl.size // 2)
    pair_firms = excl[: 2 * n_pair].reshape(n_pair, 2)
    circ_firms = excl[2 * n_pair:]
    weight = (1.0 + 2.0 * has_loan) * ~is_planted
    weight[excl] = 0.0
    prob = weight / weight.sum()
    # Global order: larger firms come first, so every structure is acyclic.
    order_key = -0.6 * np.log(np.maximum(assets, 1.0)) + rng.normal(0.0, 1.5, n)

    g_parts, b_parts, kind_parts, active_parts = [], [], [], []

    def add(gs, bs, joint, active=False):
        g_parts.append(gs.astype(np.int64))
        b_parts.append(bs.astype(np.int64))
        kind_parts.append(np.broadcast_to(joint, gs.shape).astype(bool).copy())
        active_parts.append(np.full(gs.shape, active))

    members = np.flatnonzero(weight > 0)
    block_firms, block_start, block_size, cum, pool = _guarantee_blocks(rng, members, weight)
    block_weight = cum[block_start + block_size] - cum[block_start]
    taken = 0  # firms of the standalone pool used so far

    def pick(count, width):
        nonlocal taken
        # A share of the structures in a large neighbourhood (chosen by weight among those
        # with room), their members by weight with replacement; the rest on fresh firms.
        in_block = rng.random(count) < _IN_LARGE_SHARE
        fresh = np.flatnonzero(~in_block)[: max(0, (pool.size - taken) // width)]
        in_block[:] = True
        in_block[fresh] = False
        f = np.empty((count, width), dtype=np.int64)
        f[fresh] = pool[taken: taken + fresh.size * width].reshape(fresh.size, width)
        taken += fresh.size * width
        rows = np.flatnonzero(in_block)
        roomy = block_weight * (block_size >= width)
        if rows.size and roomy.sum() > 0:
            block = rng.choice(block_size.size, size=rows.size, p=roomy / roomy.sum())
            low, high = cum[block_start[block]], cum[block_start[block] + block_size[block]]
            u = low[:, None] + rng.random((rows.size, width)) * (high - low)[:, None]
            at = np.clip(np.searchsorted(cum, u, side="right") - 1, block_start[block][:, None],
                         (block_start + block_size - 1)[block][:, None])
            f[rows] = block_firms[at]
        elif rows.size:
            f[rows] = rng.choice(members, size=(rows.size, width))
        idx = np.argsort(order_key[f], axis=1)
        return np.take_along_axis(f, idx, axis=1)

    # Plain chains, by length (five lengths).
    lengths = rng.choice(np.arange(1, 6), size=n_chain, p=chain_p)
    for length in range(1, 6):
        f = pick(int((lengths == length).sum()), length + 1)
        add(f[:, :-1].ravel(), f[:, 1:].ravel(), False)
    # Focal stars: one guarantor, many borrowers (eight sizes).
    sizes = rng.choice(star_sizes, size=n_star)
    for k in star_sizes:
        f = pick(int((sizes == k).sum()), k + 1)
        add(np.repeat(f[:, 0], k), f[:, 1:].ravel(), False)
    # Cross structures: complete bipartite guarantor groups; 20 % joint (联保).
    kinds = rng.choice(3, size=n_bip, p=shape_p)
    for s, (m, k) in enumerate(shapes):
        f = pick(int((kinds == s).sum()), m + k)
        joint = rng.random(f.shape[0]) < 0.2
        gs = np.repeat(f[:, :m], k, axis=1).ravel()
        bs = np.tile(f[:, m:], (1, m)).ravel()
        add(gs, bs, np.repeat(joint, m * k))
    # Reciprocal (mutual) pairs: both contracts signed together (same dates).
    joint = rng.random(n_pair) < 0.2
    pair_at = sum(p.size for p in g_parts)
    add(pair_firms.ravel(), pair_firms[:, ::-1].ravel(), np.repeat(joint, 2))
    # Circles of 3-6 firms, active at the as-of date.
    if n_circle:
        ends = np.cumsum(circle_sizes)
        starts = ends - circle_sizes
        nxt = np.arange(circ_firms.size) + 1
        nxt[ends - 1] = starts
        add(circ_firms, circ_firms[nxt], False, True)
    # Planted: the 4-circle A -> B -> C -> D -> A and the mutual pair E <-> F.
    a, b, c, d, e, f_ = (planted[_PK[k]] for k in ("circle_a", "circle_b", "circle_c", "circle_d", "pair_e", "pair_f"))
    n_random = sum(p.size for p in g_parts)
    add(np.array([a, b, c, d, e, f_]), np.array([b, c, d, a, f_, e]), False, True)

    gi = np.concatenate(g_parts)
    bi = np.concatenate(b_parts)
    joint = np.concatenate(kind_parts)
    active = np.concatenate(active_parts)
    keep = gi != bi
    keep[:pair_at] &= _within_depth(gi[:pair_at], bi[:pair_at], keep[:pair_at], n, _MAX_CHAIN)
    keep[n_random:] = True
    gi, bi, joint, active = gi[keep], bi[keep], joint[keep], active[keep]
    ne = gi.size
    n_planted = 6

    amount = np.exp(rng.normal(np.log(0.25 * np.maximum(liabilities[bi], 0) + 2e5), 0.9))
    amount = np.clip(np.round(amount / 1e4) * 1e4, 1e5, 1e9)
    amount[-n_planted:] = [3.0e7, 2.0e7, 2.0e7, 5.0e7, 1.0e7, 1.0e7]
    start = np.datetime64("2016-01-01") + (rng.random(ne) * 1186).astype(np.int64) * _D
    length = (365 + rng.random(ne) * 731).astype(np.int64) * _D
    act_start = np.datetime64("2017-06-01") + (rng.random(ne) * 640).astype(np.int64) * _D
    start = np.where(active, act_start, start)
    end = start + length
    pair_first = pair_at - int((~keep[:pair_at]).sum()) + 2 * np.arange(n_pair)
    start[pair_first + 1] = start[pair_first]
    end[pair_first + 1] = end[pair_first]
    end = np.where(active, np.maximum(end, np.datetime64("2019-09-30")), end)
    start[-n_planted:] = np.datetime64("2018-06-15")
    end[-n_planted:] = np.datetime64("2020-06-14")
    return _frame("guarantees", {
        "guarantor_id": _strs(fid[gi]),
        "borrower_id": _strs(fid[bi]),
        "amount": amount.astype(np.float64),
        "start_date": _dates(start),
        "end_date": _dates(end),
        "kind": _strs(np.where(joint, "joint", "general").astype(object)),
    })


# --------------------------------------------------------------------------------------
# Prices and share pledges
# --------------------------------------------------------------------------------------


def _market(rng, listed_idx, stock_codes, price0, shares, holding_logw, fid, first_pledge=0):
    """Daily closes (GBM around a market factor) and share-pledge contracts.

    The last two listed firms are the planted ``pledge_liquidation`` and ``suspended_stock``
    firms. Pledger holding companies are drawn by ``holding_logw`` (larger ones first).
    """
    k = listed_idx.size
    days = pd.bdate_range(str(_SIM_FIRST), str(_PRICE_LAST)).to_numpy().astype("datetime64[D]")
    T = days.size
    year = days.astype("datetime64[Y]").astype(int) + 1970
    mu_m = np.select([year == 2017, year == 2018], [0.08, -0.32], 0.90)
    sigma_m = 0.18
    market = mu_m / 252 + sigma_m / np.sqrt(252) * rng.normal(0, 1, T)
    beta = rng.uniform(0.7, 1.3, k)
    sigma = rng.uniform(0.25, 0.60, k)
    idio = np.sqrt(np.maximum(sigma**2 - (beta * sigma_m) ** 2, 0.01))
    alpha = rng.normal(0.0, 0.10, k) / 252 - 0.5 * idio**2 / 252
    r = alpha[:, None] + beta[:, None] * market[None, :] + (idio / np.sqrt(252))[:, None] * rng.normal(0, 1, (k, T))
    r[:, 0] = 0.0
    logp = np.log(price0)[:, None] + np.cumsum(r, axis=1)
    del r
    g_row, s_row = k - 2, k - 1  # planted listed firms are the last two
    g0 = int(np.searchsorted(days, np.datetime64("2018-03-01")))
    s0 = int(np.searchsorted(days, np.datetime64("2018-10-15")))
    # pledge_liquidation: the price ends at 35 % of its level on the pledge date.
    x = logp[g_row]
    ramp = np.zeros(T)
    ramp[g0:] = np.arange(T - g0) / (T - 1 - g0)
    logp[g_row] = x + ramp * (np.log(0.35) - (x[-1] - x[g0]))
    # suspended_stock: no trading over the last 60 sessions.
    logp[s_row, -60:] = logp[s_row, -61]
    close = np.maximum(np.round(np.exp(logp), 2), 0.01)
    del logp

    out = days >= _PRICE_FIRST
    n_out = int(out.sum())
    prices = _frame("prices", {
        "stock_code": _strs(np.repeat(stock_codes, n_out)),
        "date": _dates(np.tile(days[out], k)),
        "close": close[:, out].reshape(-1).astype(np.float64),
    })

    # Pledges: about half of the listed firms (planted ones apart) pledge, 1-4 contracts
    # of the controlling shareholder each.
    pledging = np.flatnonzero(rng.random(k - 2) < 0.5)
    n_c = rng.choice([1, 2, 3, 4], size=pledging.size, p=[0.4, 0.3, 0.2, 0.1])
    holding = np.round(shares[pledging] * rng.uniform(0.2, 0.6, pledging.size) / 100) * 100
    frac = rng.uniform(0.15, 0.9, pledging.size)
    # Pledger: a holding company of the dataset (35 %) or a natural person.
    is_firm = rng.random(pledging.size) < 0.35
    holders = _top_k(rng, holding_logw, int(is_firm.sum()))
    holders = holders[rng.permutation(holders.size)]
    is_firm[np.flatnonzero(is_firm)[holders.size:]] = False
    person = np.char.add("P", rng.integers(10**16, 10**17, pledging.size).astype(str)).astype(object)
    pledger = person.copy()
    pledger[is_firm] = fid[holders]

    c_company = np.repeat(pledging, n_c)
    nc = c_company.size
    pos = np.repeat(np.arange(pledging.size), n_c)
    share = rng.gamma(2.0, size=nc)
    share = share / np.bincount(pos, weights=share)[pos]
    pledged = np.maximum(np.floor(holding[pos] * frac[pos] * share / 100) * 100, 100)
    start_i = rng.integers(1, int(np.searchsorted(days, np.datetime64("2018-12-29"))), nc)
    rate = rng.uniform(0.3, 0.5, nc)
    ir = np.round(rng.uniform(0.05, 0.08, nc), 4)
    dur = (365 + rng.random(nc) * 731).astype(np.int64) * _D
    status = np.where(
        (days[start_i] + dur <= _ASOF) & (rng.random(nc) < 0.85), 1, np.where(rng.random(nc) < 0.05, 1, 0)
    )
    # Planted contracts.
    c_company = np.concatenate([c_company, [g_row, s_row]])
    pos_h = np.concatenate([holding[pos], np.round(shares[[g_row, s_row]] * [0.40, 0.35] / 100) * 100])
    pledged = np.concatenate([pledged, np.floor(pos_h[-2:] * [0.5, 0.3] / 100) * 100])
    start_i = np.concatenate([start_i, [g0, s0]])
    rate = np.concatenate([rate, [0.45, 0.30]])
    ir = np.concatenate([ir, [0.06, 0.06]])
    dur = np.concatenate([dur, [731 * _D, 731 * _D]])
    status = np.concatenate([status, [0, 0]])
    p_pledger = np.concatenate([pledger[pos], np.char.add("P", rng.integers(10**16, 10**17, 2).astype(str)).astype(object)])
    nc = c_company.size
    start = days[start_i]
    loan = _r2(pledged * close[c_company, start_i] * rate)
    pledge_id = np.char.add("PLG", _zfill(np.arange(first_pledge + 1, first_pledge + nc + 1), 8))
    pledges = _frame("pledges", {
        "pledge_id": _strs(pledge_id),
        "company_id": _strs(fid[listed_idx[c_company]]),
        "pledger_id": _strs(p_pledger),
        "pledged_shares": pledged.astype(np.float64),
        "loan_amount": loan.astype(np.float64),
        "start_date": _dates(start),
        "end_date": _dates(start + dur),
        "interest_rate": ir.astype(np.float64),
        "warning_ratio": np.full(nc, 1.6),
        "liquidation_ratio": np.full(nc, 1.4),
        "pledger_is_controlling": np.ones(nc, dtype=bool),
        "pledger_holding_shares": pos_h.astype(np.float64),
        "status": _strs(np.array(["active", "released"], dtype=object)[status]),
    })
    return prices, pledges
