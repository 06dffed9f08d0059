"""Guarantee-circle and neighbourhood drawings, checked against networkx on the synthetic
province and by inspecting the artists of the returned Axes."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
nx = pytest.importorskip("networkx")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

import zjfin  # noqa: E402
from builders import uscc  # noqa: E402
from zjfin._errors import ParameterError, ZjfinError  # noqa: E402
from zjfin._plots import (  # noqa: E402
    MAX_WIDTH,
    MIN_WIDTH,
    RISK_COLOURS,
    plot_guarantee_circle,
    plot_guarantee_neighbourhood,
)

# No CJK font on a bare test machine: Chinese labels render as boxes, which is fine here.
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")

AS_OF = "2019-03-31"
OUTSIDE = uscc("310101", "87654321")  # a firm named only by guarantees (Shanghai)


@pytest.fixture(scope="module")
def dataset():
    return zjfin.datasets.synthetic_province(2000, seed=5)


@pytest.fixture(scope="module")
def result(dataset):
    return zjfin.screen(dataset, as_of=AS_OF)


@pytest.fixture(scope="module")
def digraph(result):
    """The same active graph as networkx, keyed by firm id, amount on each edge."""
    graph = result.tables["graph"]
    ids = np.array(graph.node_ids.to_pylist(), dtype=object)
    g, b, a = graph.edges()
    out = nx.DiGraph()
    out.add_nodes_from(ids)
    out.add_weighted_edges_from(zip(ids[g], ids[b], a.tolist()), weight="amount")
    return out


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def arrows(ax) -> dict[tuple[str, str], FancyArrowPatch]:
    return {tuple(p.get_gid().split("->")): p for p in ax.patches if isinstance(p, FancyArrowPatch)}


def nodes(ax) -> pd.DataFrame:
    """One row per node marker: id (from the label of the same position), x, y, colours."""
    (markers,) = [c for c in ax.collections if c.get_gid() == "guarantee-nodes"]
    labels = [t for t in ax.texts if t.get_gid() not in (None, "column-caption")]
    offsets = markers.get_offsets()
    assert len(labels) == len(offsets)
    face = [to_hex(c) for c in markers.get_facecolors()]
    edge = [to_hex(c) for c in markers.get_edgecolors()]
    return pd.DataFrame({"id": [t.get_gid() for t in labels], "label": [t.get_text() for t in labels],
                         "x": offsets[:, 0], "y": offsets[:, 1], "face": face, "edge": edge})


def risk_colour(result, firm_ids) -> list[str]:
    level = result.screening.set_index("firm_id")["guarantee_risk"].astype(object)
    return [RISK_COLOURS[level[f]] if f in level.index and level[f] in RISK_COLOURS else RISK_COLOURS["unknown"]
            for f in firm_ids]


def planted_circle(result, dataset) -> pd.Series:
    circles = result.tables["circles"]
    hit = circles[(circles["size"] == 4) & (circles["distressed_count"] > 0)]
    assert len(hit) == 1
    row = hit.iloc[0]
    planted = set(dataset.planted.loc[dataset.planted["case"] == "guarantee_circle_defaulter", "firm_id"])
    assert set(row["members"]) == planted
    return row


def test_planted_circle_is_drawn(result, dataset, digraph):
    row = planted_circle(result, dataset)
    ax = plot_guarantee_circle(result, row["circle_id"])
    members = list(row["members"])
    expected = set(digraph.subgraph(members).edges())
    assert set(arrows(ax)) == expected
    assert len(arrows(ax)) == row["internal_guarantees"] == 4
    drawn = nodes(ax)
    assert len(drawn) == 4 and set(drawn["id"]) == set(members)
    # On a ring of radius 1, in cycle order: every arrow joins neighbours on the ring.
    assert np.allclose(np.hypot(drawn["x"], drawn["y"]), 1.0)
    at = dict(zip(drawn["id"], zip(drawn["x"], drawn["y"])))
    assert all(np.isclose(np.hypot(*np.subtract(at[g], at[b])), np.sqrt(2)) for g, b in expected)
    assert drawn["face"].tolist() == risk_colour(result, drawn["id"]) == [RISK_COLOURS["high"]] * 4
    title = ax.get_title()
    assert row["circle_id"] in title and "4 firms" in title
    assert f"{row['total_amount'] / 1e4:,.0f} 万元" in title
    names = result.screening.set_index("firm_id")["name"]
    assert all(names[f].startswith(label.rstrip("…")) for f, label in zip(drawn["id"], drawn["label"]))
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"none", "low", "medium", "high"}
    ax.figure.canvas.draw()  # renders without error


def test_every_circle_matches_networkx(result, digraph):
    circles = result.tables["circles"]
    sccs = {frozenset(c) for c in nx.strongly_connected_components(digraph) if len(c) > 1}
    assert {frozenset(m) for m in circles["members"]} == sccs
    fig, ax = plt.subplots()
    for circle_id, members in zip(circles["circle_id"][:12], circles["members"][:12]):
        ax.clear()
        assert plot_guarantee_circle(result, circle_id, ax=ax) is ax
        assert set(arrows(ax)) == set(digraph.subgraph(members).edges())
        drawn = nodes(ax)
        assert sorted(drawn["id"]) == sorted(members)
        assert drawn["face"].tolist() == risk_colour(result, drawn["id"])


def test_arrow_width_is_sqrt_of_amount(result, digraph):
    circles = result.tables["circles"]
    row = circles[circles["size"] == 4].iloc[0]
    ax = plot_guarantee_circle(result, row["circle_id"])
    drawn = arrows(ax)
    amount = np.array([digraph.edges[e]["amount"] for e in drawn])
    width = np.array([p.get_linewidth() for p in drawn.values()])
    assert width.max() == pytest.approx(MAX_WIDTH)
    assert width == pytest.approx(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * np.sqrt(amount / amount.max()))


def test_outside_member_is_white_with_short_id(dataset):
    member = sorted(dataset.planted.loc[dataset.planted["case"] == "guarantee_circle_defaulter", "firm_id"])[0]
    guarantees = dataset.tables["guarantees"]
    extra = pd.DataFrame({
        "guarantor_id": [OUTSIDE, member], "borrower_id": [member, OUTSIDE], "amount": [3e6, 1e6],
        "start_date": pd.to_datetime(["2018-01-01"] * 2), "end_date": pd.to_datetime(["2020-01-01"] * 2),
        "kind": ["general"] * 2,
    })
    tables = dict(dataset.tables)
    tables["guarantees"] = pd.concat([guarantees, extra], ignore_index=True).assign(_row=lambda f: np.arange(len(f)) + 2)
    res = zjfin.screen(zjfin._read.Dataset(tables), as_of=AS_OF)
    circles = res.tables["circles"]
    row = circles[circles["outside_members"] == 1].iloc[0]
    assert row["size"] == 5 and OUTSIDE in list(row["members"])
    ax = plot_guarantee_circle(res, row["circle_id"])
    drawn = nodes(ax).set_index("id")
    assert drawn.loc[OUTSIDE, "face"] == RISK_COLOURS["unknown"] == "#ffffff"
    assert drawn.loc[OUTSIDE, "edge"] == "#000000"
    assert drawn.loc[OUTSIDE, "label"] == OUTSIDE[-6:]
    # The reciprocal pair is two arrows, bent to opposite sides.
    assert {(OUTSIDE, member), (member, OUTSIDE)} <= set(arrows(ax))
    assert len(arrows(ax)) == row["internal_guarantees"] == 6
    # An outside firm can be the centre of a neighbourhood too.
    ax = plot_guarantee_neighbourhood(res, OUTSIDE)
    assert set(nodes(ax)["id"]) == {OUTSIDE, member}
    ax.figure.canvas.draw()


def pick_firm(digraph, result) -> str:
    """A screened firm with pure guarantors and pure borrowers (no mutual partner)."""
    screened = set(result.screening["firm_id"])
    best = None
    for firm in screened:
        up, down = set(digraph.predecessors(firm)), set(digraph.successors(firm))
        if up and down and not up & down:
            score = len(up) + len(down)
            if best is None or score > best[0]:
                best = (score, firm)
    assert best is not None
    return best[1]


def signed_distance(digraph, firm, depth) -> dict[str, int]:
    """networkx's view of the layout columns."""
    down = nx.single_source_shortest_path_length(digraph, firm, cutoff=depth)
    up = nx.single_source_shortest_path_length(digraph.reverse(copy=False), firm, cutoff=depth)
    column = {}
    for node in set(up) | set(down):
        d, u = down.get(node), up.get(node)
        if d is not None and (u is None or d < u):
            column[node] = d
        elif u is not None and (d is None or u < d):
            column[node] = -u
        else:
            column[node] = 0
    return column


def test_neighbourhood_guarantors_left_borrowers_right(result, digraph):
    firm = pick_firm(digraph, result)
    ax = plot_guarantee_neighbourhood(result, firm)
    drawn = nodes(ax).set_index("id")
    guarantors, borrowers = set(digraph.predecessors(firm)), set(digraph.successors(firm))
    assert set(drawn.index) == guarantors | borrowers | {firm}
    assert drawn.index[0] == firm and (drawn.loc[firm, "x"], drawn.loc[firm, "y"]) == (0, 0)
    assert (drawn.loc[list(guarantors), "x"] < 0).all()
    assert (drawn.loc[list(borrowers), "x"] > 0).all()
    expected = set(digraph.subgraph(drawn.index).edges())
    assert set(arrows(ax)) == expected
    assert drawn["face"].tolist() == risk_colour(result, drawn.index)
    assert firm in ax.get_title() and "1 guarantee step:" in ax.get_title()
    ax.figure.canvas.draw()


@pytest.mark.parametrize("depth", [2, 3])
def test_neighbourhood_columns_are_signed_distances(result, digraph, depth):
    firm = pick_firm(digraph, result)
    column = signed_distance(digraph, firm, depth)
    ax = plot_guarantee_neighbourhood(result, firm, depth=depth, max_nodes=1000)
    drawn = nodes(ax).set_index("id")
    assert set(drawn.index) == set(column)
    gap = drawn["x"].abs()[drawn["x"] != 0].min()  # the firm has guarantors: column −1 exists
    assert (drawn["x"] / gap).round().astype(int).to_dict() == column
    assert set(arrows(ax)) == set(digraph.subgraph(drawn.index).edges())
    assert "left out" not in ax.get_title()


def test_neighbourhood_colours_cover_levels(result, digraph):
    """Across a few neighbourhoods the colours follow every risk level met."""
    seen = set()
    for firm in sorted(result.screening["firm_id"][result.screening["guarantee_in"] > 0])[:40]:
        ax = plot_guarantee_neighbourhood(result, firm, depth=2)
        drawn = nodes(ax)
        assert drawn["face"].tolist() == risk_colour(result, drawn["id"])
        seen |= set(drawn["face"])
        plt.close(ax.figure)
    assert len(seen) >= 3


def test_max_nodes_keeps_heaviest_neighbours(result, digraph):
    firm = pick_firm(digraph, result)
    full = signed_distance(digraph, firm, 3)
    assert len(full) > 6
    ax = plot_guarantee_neighbourhood(result, firm, depth=3, max_nodes=6)
    drawn = nodes(ax)
    assert len(drawn) == 6 and drawn["id"].iloc[0] == firm
    assert f"{len(full) - 6} more firms left out" in ax.get_title()
    sub = digraph.subgraph(full)
    weight = {n: sum(a for *_, a in sub.in_edges(n, data="amount")) + sum(a for *_, a in sub.out_edges(n, data="amount"))
              for n in full if n != firm}
    kept = set(drawn["id"]) - {firm}
    assert min(weight[n] for n in kept) >= max(weight[n] for n in set(weight) - kept)
    assert set(arrows(ax)) == set(digraph.subgraph(drawn["id"]).edges())


def test_unknown_ids_and_bad_arguments(result):
    with pytest.raises(ParameterError, match="circle_id must be") as error:
        plot_guarantee_circle(result, "GC999999")
    assert error.value.name == "circle_id" and error.value.value == "GC999999"
    with pytest.raises(ParameterError, match="circle_id"):
        plot_guarantee_circle(result, 1)
    with pytest.raises(ParameterError, match="firm_id must be") as error:
        plot_guarantee_neighbourhood(result, "not-a-firm")
    assert error.value.name == "firm_id"
    firm = result.screening["firm_id"].iloc[0]
    for kwargs, name in (({"depth": 0}, "depth"), ({"depth": True}, "depth"), ({"depth": 1.5}, "depth"),
                         ({"max_nodes": 0}, "max_nodes")):
        with pytest.raises(ParameterError) as error:
            plot_guarantee_neighbourhood(result, firm, **kwargs)
        assert error.value.name == name
    with pytest.raises(ParameterError, match="ScreeningResult"):
        plot_guarantee_circle(result.screening, "GC000001")


def test_network_not_computed():
    ds = zjfin.datasets.synthetic_province(300, seed=1)
    tables = {name: frame for name, frame in ds.tables.items() if name != "guarantees"}
    res = zjfin.screen(zjfin._read.Dataset(tables), as_of=AS_OF)
    assert "graph" not in res.tables
    for call in (lambda: plot_guarantee_circle(res, "GC000001"),
                 lambda: plot_guarantee_neighbourhood(res, res.screening["firm_id"].iloc[0])):
        with pytest.raises(ZjfinError, match="guarantee network was not computed"):
            call()


def test_missing_matplotlib(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_guarantee_circle(result, "GC000001")
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_guarantee_neighbourhood(result, result.screening["firm_id"].iloc[0])


# --------------------------------------------------------------------------- maturity wall,
# pledge distances and list counts: the drawn numbers are read back from ax.containers and
# recomputed here with pandas / numpy from the same tables.

from importlib import resources  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from zjfin._plots import (  # noqa: E402
    plot_list_counts,
    plot_maturity_wall,
    plot_pledge_distance,
)

# The legend's names of the four lists, in precedence order (data_schemas/reference/lists.csv).
LIST_NAMES_ZH = {"watch": "关注", "relief": "纾困", "quality": "优质", "sme_funding": "融资需求"}


def layers(ax) -> dict[str, np.ndarray]:
    """Bar lengths per stacked layer (heights of vertical bars, widths of horizontal ones)."""
    out = {}
    for container in ax.containers:
        horizontal = container.orientation == "horizontal"
        out[container.get_label()] = np.array([p.get_width() if horizontal else p.get_height() for p in container])
    return out


def effective_maturity(bonds: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    put_first = (bonds["put_date"].notna() & (bonds["put_date"] > as_of)
                 & (bonds["maturity_date"].isna() | (bonds["put_date"] < bonds["maturity_date"])))
    return bonds["put_date"].where(put_first, bonds["maturity_date"])


def wall_by_pandas(bonds: pd.DataFrame, screening: pd.DataFrame, as_of: pd.Timestamp, months: int) -> pd.DataFrame:
    """亿元 per bond_risk level (rows) and month 1 … months (columns)."""
    edges = [as_of + pd.DateOffset(months=k) for k in range(months + 1)]
    month = pd.cut(effective_maturity(bonds, as_of), bins=edges, right=True, labels=list(range(1, months + 1)))
    level = bonds["issuer_id"].map(screening.set_index("firm_id")["bond_risk"].astype(object)).fillna("unknown")
    frame = pd.DataFrame({"level": level, "month": month, "amount": bonds["amount_outstanding"].fillna(0.0)})
    table = frame.dropna(subset=["month"]).groupby(["level", "month"], observed=False)["amount"].sum().unstack()
    return table.reindex(columns=list(range(1, months + 1)), fill_value=0.0).fillna(0.0) / 1e8


def test_maturity_wall_matches_pandas(result):
    bonds = result.validation.dataset["bonds"]
    as_of = result.as_of
    expected = wall_by_pandas(bonds, result.screening, as_of, 24)
    expected = expected[expected.sum(axis=1) > 0]
    # The synthetic province has put dates inside the window, so the put rule is exercised.
    put_used = effective_maturity(bonds, as_of).ne(bonds["maturity_date"])
    assert put_used.any() and {"high", "medium", "low"} <= set(expected.index)
    ax = plot_maturity_wall(result)
    drawn = layers(ax)
    assert list(drawn) == [k for k in ("high", "medium", "low", "none", "unknown") if k in expected.index]
    bottom = np.zeros(24)
    for container in ax.containers:  # stacked: each layer starts where the ones below end
        level = container.get_label()
        np.testing.assert_allclose(drawn[level], expected.loc[level].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose([p.get_y() for p in container], bottom, atol=1e-12)
        bottom += drawn[level]
    total_12m = expected.loc[:, 1:12].to_numpy().sum()
    assert total_12m == pytest.approx(result.screening["bond_due_12m"].sum() / 1e8)
    n_12m = int(effective_maturity(bonds, as_of).between(as_of, as_of + pd.DateOffset(months=12), inclusive="right").sum())
    assert ax.get_title() == f"Bonds falling due after 2019-03-31: {total_12m:,.1f} 亿元 within 12 months ({n_12m} bonds)"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ticks) == 24 and ticks[0] == "2019-04" and ticks[-1] == "2021-03"
    # The cash line: available cash of the screened issuers with a bond due in the 24 months.
    edges = (as_of, as_of + pd.DateOffset(months=24))
    due = effective_maturity(bonds, as_of).between(*edges, inclusive="right")
    issuers = result.screening["firm_id"].isin(bonds.loc[due, "issuer_id"])
    (cash,) = [line for line in ax.lines if line.get_gid() == "available-cash"]
    assert cash.get_ydata()[0] == pytest.approx(result.screening.loc[issuers, "available_cash"].sum() / 1e8)
    assert f"the {int(issuers.sum())} issuers" in cash.get_label()
    ax.figure.canvas.draw()


def test_maturity_wall_months_ax_and_unscreened_issuer(result):
    bonds = result.validation.dataset["bonds"]
    as_of = result.as_of
    # Month 2; at the end of month 1 exactly (in it); on the as-of date (not drawn).
    maturity = [as_of + pd.Timedelta(days=45), pd.Timestamp("2019-04-30"), as_of]
    per_bond = result.tables["bonds"]  # the bond engine's table, with the maturity it used
    extra = per_bond.iloc[[0, 0, 0]].assign(issuer_id=OUTSIDE, amount_outstanding=[7e8, 2e8, 5e8], put_date=pd.NaT,
                                            maturity_date=maturity, effective_maturity=maturity)
    fake = SimpleNamespace(screening=result.screening, as_of=as_of,
                           tables={**result.tables, "bonds": pd.concat([per_bond, extra], ignore_index=True)})
    fig, ax = plt.subplots()
    assert plot_maturity_wall(fake, months=6, ax=ax) is ax
    drawn = layers(ax)
    assert all(len(heights) == 6 for heights in drawn.values())
    assert drawn["unknown"].tolist() == [2.0, 7.0, 0.0, 0.0, 0.0, 0.0]
    expected = wall_by_pandas(bonds, result.screening, as_of, 6)
    for level in set(drawn) - {"unknown"}:
        np.testing.assert_allclose(drawn[level], expected.loc[level].to_numpy(), rtol=1e-12)
    assert "issuer not screened" in [t.get_text() for t in ax.get_legend().get_texts()]
    # The 12-month total still covers 12 months, now with the unscreened issuer's bonds.
    total_12m = result.screening["bond_due_12m"].sum() / 1e8 + 9.0
    assert f": {total_12m:,.1f} 亿元 within 12 months" in ax.get_title()


def test_pledge_distance_matches_numpy_histogram(result):
    contracts = result.tables["pledges"]
    assert contracts["state"].isin(["released"]).any()  # left out of the drawing
    live = contracts[contracts["state"].isin(["normal", "warning", "liquidation"])]
    distance = live["distance"].to_numpy(dtype=float)
    counts, edges = np.histogram(distance, bins=25)
    ax = plot_pledge_distance(result, bins=25)
    drawn = layers(ax)
    assert set(drawn) <= {"normal", "warning", "liquidation"}
    np.testing.assert_array_equal(sum(drawn.values()), counts)
    for container in ax.containers:
        state = container.get_label()
        np.testing.assert_array_equal(drawn[state], np.histogram(distance[live["state"].eq(state).to_numpy()], edges)[0])
        np.testing.assert_allclose([p.get_x() for p in container], edges[:-1])
        np.testing.assert_allclose([p.get_width() for p in container], np.diff(edges))
    lines = {line.get_gid(): line.get_xdata()[0] for line in ax.lines}
    warning_at = 1 - live["liquidation_ratio"] / live["warning_ratio"]
    assert warning_at.nunique() == 1
    assert lines == {"liquidation-line": 0.0, "warning-line": pytest.approx(warning_at.iloc[0])}
    below_liquidation = int((distance < 0).sum())
    below_warning = int((distance < warning_at.to_numpy()).sum())
    assert 0 < below_liquidation < below_warning < len(distance)
    assert ax.get_title() == (f"Distance to the liquidation line: {len(distance)} contracts in force\n"
                              f"{below_liquidation} below the liquidation line (平仓线), "
                              f"{below_warning} below the warning line (预警线)")
    ax.figure.canvas.draw()
    # Default bins.
    ax = plot_pledge_distance(result)
    np.testing.assert_array_equal(sum(layers(ax).values()), np.histogram(distance, bins=40)[0])


def test_pledge_distance_counts_contracts_without_price(result):
    contracts = result.tables["pledges"].copy()
    first = contracts.index[contracts["state"].eq("normal")][0]
    contracts.loc[first, ["state", "distance"]] = [np.nan, np.nan]  # a company without a share price
    fake = SimpleNamespace(screening=result.screening, tables={"pledges": contracts}, policy=result.policy)
    ax = plot_pledge_distance(fake)
    live = contracts["state"].isin(["normal", "warning", "liquidation"])
    assert sum(layers(ax).values()).sum() == live.sum()
    assert ax.get_title().endswith("; 1 without a share price left out")


def region_names() -> pd.DataFrame:
    path = resources.files("zjfin.datasets") / "zhejiang_counties.csv"
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str)


@pytest.mark.parametrize("by", ["city", "county"])
def test_list_counts_match_crosstab(result, by):
    regions = region_names()
    s = result.screening
    if by == "city":
        names = regions.drop_duplicates("city_code").set_index("city_code")["city_zh"]
        key = s["region_code"].str[:4] + "00"
    else:
        names = regions.set_index("code")["name_zh"]
        key = s["region_code"]
    place = key.astype(object).map(names)
    assert place.notna().all()
    on_list = s["list"].ne("none")
    table = pd.crosstab(place[on_list], s.loc[on_list, "list"]).reindex(columns=list(LIST_NAMES_ZH), fill_value=0)
    ax = plot_list_counts(result, by=by)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(table.index)
    drawn = layers(ax)
    assert list(drawn) == ["关注", "纾困", "优质", "融资需求"]
    # Tick labels run top down; the bars of a container bottom up (y = n − 1 … 0 in that order).
    order = [int(round(p.get_y() + p.get_height() / 2)) for p in ax.containers[0]]
    assert order == list(range(len(labels) - 1, -1, -1))
    for key_, name in LIST_NAMES_ZH.items():
        np.testing.assert_array_equal(drawn[name], table.loc[labels, key_].to_numpy())
    totals = table.loc[labels].sum(axis=1).to_numpy()
    assert (np.diff(totals) <= 0).all()  # sorted by total, the largest at the top
    assert [t.get_text() for t in ax.texts] == [f"{t:,}" for t in totals]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"关注", "纾困", "优质", "融资需求"}
    assert f"{int(on_list.sum()):,} of {len(s):,} screened firms" in ax.get_title()
    ax.figure.canvas.draw()


def test_list_counts_unknown_codes(result):
    s = result.screening.head(6).copy()
    s["region_code"] = s["region_code"].astype(object)
    s["list"] = ["watch", "relief", "relief", "none", "quality", "sme_funding"]
    s.loc[s.index[:3], "region_code"] = ["310101", "310104", None]  # Shanghai twice, missing
    ax = plot_list_counts(SimpleNamespace(screening=s, tables={}))
    drawn = pd.DataFrame(layers(ax), index=[t.get_text() for t in ax.get_yticklabels()])
    assert drawn.loc["310100"].tolist() == [1, 1, 0, 0]
    assert drawn.loc["unknown"].tolist() == [0, 1, 0, 0]
    assert drawn.index[0] == "310100" and drawn.to_numpy().sum() == 5


def test_bar_plot_arguments(result):
    for kwargs in ({"months": 0}, {"months": -3}, {"months": 1.5}, {"months": True}, {"months": "12"}):
        with pytest.raises(ParameterError, match="months must be a whole number ≥ 1") as error:
            plot_maturity_wall(result, **kwargs)
        assert error.value.name == "months"
    for bins in (0, -1, 2.5, None):
        with pytest.raises(ParameterError, match="bins must be a whole number ≥ 1"):
            plot_pledge_distance(result, bins=bins)
    for by in ("province", "City", None):
        with pytest.raises(ParameterError, match="by must be 'city' or 'county'") as error:
            plot_list_counts(result, by=by)
        assert error.value.value == by
    for call in (plot_maturity_wall, plot_pledge_distance, plot_list_counts):
        with pytest.raises(ParameterError, match="ScreeningResult"):
            call(result.screening)
    with pytest.raises(ParameterError, match="list and region_code"):
        plot_list_counts(SimpleNamespace(screening=result.screening.drop(columns="list"), tables={}))


def test_bonds_or_pledges_switched_off():
    ds = zjfin.datasets.synthetic_province(300, seed=1)
    tables = {name: frame for name, frame in ds.tables.items() if name not in ("bonds", "pledges")}
    res = zjfin.screen(zjfin._read.Dataset(tables), as_of=AS_OF)
    with pytest.raises(ParameterError, match="screened with a bonds table.*bond risk was switched off"):
        plot_maturity_wall(res)
    with pytest.raises(ParameterError, match="screened with pledges and prices tables.*pledge risk was switched off"):
        plot_pledge_distance(res)
    assert len(plot_list_counts(res).containers) == 4  # needs neither table


def test_bar_plots_missing_matplotlib(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for call in (plot_maturity_wall, plot_pledge_distance, plot_list_counts):
        with pytest.raises(ImportError, match="pip install matplotlib"):
            call(result)
