"""Guarantee-chain risk (SPEC §3.6): zjfin.risks.network, tested independently.

Expected values come from networkx (strong and weak components, reciprocity, the
condensation), from the plain-loop references in this module (active guarantees, the
summed edges, DebtRank, systemic impact, the G1–G6 rules), or from numbers worked by hand
with the arithmetic in a comment next to them.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from typing import NamedTuple

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zjfin._policy import Policy
from zjfin.risks.network import chain_depth, debtrank, guarantee_graph, guarantee_network

AS_OF = pd.Timestamp("2019-03-31")
DAY = pd.Timedelta(days=1)
POLICY = Policy.default()
RULES = ("G1", "G2", "G3", "G4", "G5", "G6")
COLUMNS = ("guarantor_id", "borrower_id", "amount", "start_date", "end_date", "kind")
NAN = float("nan")


# --------------------------------------------------------------------------- builders


def G(guarantor, borrower, amount, start=None, end=None, kind="general") -> dict:
    """One guarantee row."""
    return dict(guarantor_id=guarantor, borrower_id=borrower, amount=float(amount),
                start_date=start, end_date=end, kind=kind)


def table(rows) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(COLUMNS))
    df["amount"] = df["amount"].astype(float)
    df["start_date"] = pd.to_datetime(df["start_date"]).astype("datetime64[ns]")
    df["end_date"] = pd.to_datetime(df["end_date"]).astype("datetime64[ns]")
    return df


def firm_frame(firms, equity=None, assets=None) -> pd.DataFrame:
    """Firms in the given order; equity and total assets default to 100. The index is not
    0…n−1, to check that the output follows the frame's index."""
    equity, assets = equity or {}, assets or {}
    return pd.DataFrame({
        "firm_id": list(firms),
        "equity": [float(equity.get(f, 100.0)) for f in firms],
        "total_assets": [float(assets.get(f, 100.0)) for f in firms],
    }, index=pd.RangeIndex(500, 500 + len(firms)))


class Run(NamedTuple):
    graph: object
    cols: pd.DataFrame  # per-firm columns indexed by firm id
    fired: pd.DataFrame  # G1..G6 indexed by firm id
    circles: pd.DataFrame


def run_frame(df, frame, seeds=(), policy=POLICY) -> Run:
    firms = list(frame["firm_id"])
    seed_mask = np.array([f in set(seeds) for f in firms], dtype=bool)
    graph = guarantee_graph(df, frame["firm_id"], AS_OF)
    out, circles = guarantee_network(graph, frame, seed_mask, policy)
    assert out.columns.index.equals(frame.index)
    assert out.fired.index.equals(frame.index)
    return Run(graph, out.columns.set_axis(firms), out.fired.set_axis(firms), circles)


def run(rows, firms, equity=None, assets=None, seeds=(), policy=POLICY) -> Run:
    return run_frame(table(rows), firm_frame(firms, equity, assets), seeds, policy)


def opt(value):
    """A missing value as None, an integer-valued number as int, else the value."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


def column(r: Run, name: str) -> dict:
    return {firm: opt(v) for firm, v in r.cols[name].items()}


def fired_set(r: Run, firm: str) -> set:
    return {rule for rule in RULES if bool(r.fired.loc[firm, rule])}


def network_policy(**changes) -> Policy:
    return Policy.default().update({"network": changes})


# --------------------------------------------------------------------------- references


def is_active(start, end, as_of=AS_OF) -> bool:
    """start ≤ as-of < end; a missing date does not limit."""
    return (pd.isna(start) or start <= as_of) and (pd.isna(end) or end > as_of)


def ref_edges(df: pd.DataFrame) -> dict:
    """{(guarantor, borrower): [summed amount, contracts, any joint]} over active rows,
    self-guarantees left out."""
    edges = {}
    for g, b, amount, start, end, kind in zip(*(df[c] for c in COLUMNS)):
        if not is_active(start, end) or g == b:
            continue
        entry = edges.setdefault((g, b), [0.0, 0, False])
        entry[0] += float(amount)
        entry[1] += 1
        entry[2] = entry[2] or kind == "joint"
    return edges


def ref_nodes(df: pd.DataFrame, firms: list) -> list:
    """Screened firms, then outside firms by first appearance over the active rows,
    guarantor column first."""
    nodes, known = list(firms), set(firms)
    active = [is_active(s, e) for s, e in zip(df["start_date"], df["end_date"])]
    for side in ("guarantor_id", "borrower_id"):
        for name, keep in zip(df[side], active):
            if keep and name not in known:
                nodes.append(name)
                known.add(name)
    return nodes


def ref_weight(amount: float, equity) -> float:
    """W_ij for guarantor i with ``equity`` (None: a firm outside the screened list)."""
    if amount == 0:
        return 0.0
    if equity is None or not math.isfinite(equity) or equity <= 0:
        return 1.0
    return min(1.0, amount / equity)


def ref_debtrank(amounts: dict, equity_of: dict, seeds, max_steps=None) -> dict:
    """DebtRank with plain loops. amounts: {(guarantor, borrower): amount}; equity_of: id →
    equity of the screened firms. Returns {node: h} for every node with h > 0."""
    guarantors = defaultdict(list)
    for (g, b), amount in amounts.items():
        guarantors[b].append((g, ref_weight(amount, equity_of.get(g))))
    h = {s: 1.0 for s in seeds}
    frontier = list(dict.fromkeys(seeds))
    step = 0
    while frontier and (max_steps is None or step < max_steps):
        gained = defaultdict(float)
        for j in frontier:  # h[j] is read before any update of this step
            for i, w in guarantors[j]:
                if w * h[j] > 0:
                    gained[i] += w * h[j]
        frontier = []
        for i, extra in gained.items():
            if i in h:  # already distressed: h grows but it does not propagate again
                h[i] = min(1.0, h[i] + extra)
            else:
                h[i] = min(1.0, extra)
                frontier.append(i)
        step += 1
    return h


class Case(NamedTuple):
    """One screened network plus everything the references say about it."""

    df: pd.DataFrame
    firms: list
    frame: pd.DataFrame
    seeds: set
    policy: Policy
    r: Run
    edges: dict  # ref_edges
    amounts: dict  # (g, b) → amount
    nodes: list  # ref_nodes
    pos: dict  # id → node number
    G: nx.DiGraph
    equity_of: dict
    value: dict  # id → DebtRank value weight


def make_case(df, frame, seeds, policy=POLICY) -> Case:
    firms = list(frame["firm_id"])
    r = run_frame(df, frame, seeds, policy)
    edges = ref_edges(df)
    amounts = {k: v[0] for k, v in edges.items()}
    nodes = ref_nodes(df, firms)
    graph_g = nx.DiGraph()
    graph_g.add_nodes_from(nodes)
    graph_g.add_edges_from(amounts)
    equity_of = dict(zip(firms, frame["equity"].astype(float)))
    assets = dict(zip(firms, frame["total_assets"].astype(float)))
    positive = {f: a for f, a in assets.items() if math.isfinite(a) and a > 0}
    total = sum(positive.values())
    value = {n: (positive.get(n, 0.0) / total if total > 0 else 0.0) for n in nodes}
    return Case(df, firms, frame, set(seeds), policy, r, edges, amounts, nodes,
                {n: k for k, n in enumerate(nodes)}, graph_g, equity_of, value)


def random_case(seed: int, n_firms: int, n_outside: int, per_node: float) -> Case:
    """A random province: edges mostly between nearby ids (many short circles) plus some
    long-range ones, duplicates, self-guarantees, amount-0 guarantees, inactive guarantees,
    firms outside the screened list, equity ≤ 0 or missing, and a few seeds."""
    rng = np.random.default_rng(seed)
    firms = [f"F{k:04d}" for k in rng.permutation(n_firms)]  # screened order is not sorted
    outside = [f"X{k:03d}" for k in range(n_outside)]
    everyone = sorted(firms) + outside
    n_all, n_edges = len(everyone), int(per_node * (n_firms + n_outside))
    rows = []
    for _ in range(n_edges):
        g = int(rng.integers(n_all))
        b = (g + int(rng.integers(-3, 4))) % n_all if rng.random() < 0.7 else int(rng.integers(n_all))
        if g == b and everyone[g] in outside:
            continue  # self-guarantees only among screened firms (see the hand case for outside)
        amount = 0.0 if rng.random() < 0.1 else round(float(rng.lognormal(3.0, 1.0)), 2)
        start = rng.choice([None, AS_OF - 400 * DAY, AS_OF, AS_OF + DAY], p=[0.5, 0.3, 0.1, 0.1])
        end = rng.choice([None, AS_OF - DAY, AS_OF, AS_OF + DAY, AS_OF + 300 * DAY], p=[0.4, 0.05, 0.05, 0.1, 0.4])
        rows.append(G(everyone[g], everyone[b], amount, start, end, "joint" if rng.random() < 0.2 else "general"))
    for k in rng.choice(len(rows), size=len(rows) // 10, replace=False):  # duplicate pairs
        rows.append({**rows[k], "amount": round(float(rng.lognormal(2.0, 1.0)), 2)})
    for k in rng.choice(n_firms, size=max(1, n_firms // 20), replace=False):  # self-guarantees
        rows.append(G(firms[k], firms[k], 99.0))
    rows = [rows[k] for k in rng.permutation(len(rows))]
    equity = rng.lognormal(4.0, 1.0, n_firms)
    u = rng.random(n_firms)
    equity[u < 0.04] = 0.0
    equity[(u >= 0.04) & (u < 0.08)] = -rng.lognormal(3.0, 1.0, int(((u >= 0.04) & (u < 0.08)).sum()))
    equity[(u >= 0.08) & (u < 0.12)] = np.nan
    assets = rng.lognormal(6.0, 1.0, n_firms)
    v = rng.random(n_firms)
    assets[v < 0.05] = np.nan
    assets[(v >= 0.05) & (v < 0.08)] = 0.0
    assets[(v >= 0.08) & (v < 0.1)] = -10.0
    frame = pd.DataFrame({"firm_id": firms, "equity": equity, "total_assets": assets},
                         index=pd.RangeIndex(7, 7 + n_firms))
    seeds = {f for f in firms if rng.random() < 0.05}
    return make_case(table(rows), frame, seeds)


RANDOM = {
    "n60": (11, 60, 5, 1.8),
    "n120": (12, 120, 10, 1.5),
    "n200": (13, 200, 15, 1.3),
    "n300": (14, 300, 20, 2.2),
    "n90-sparse": (15, 90, 8, 1.0),
}


@functools.lru_cache(maxsize=None)
def random_cases(name: str) -> Case:
    return random_case(*RANDOM[name])


random_param = pytest.mark.parametrize("name", list(RANDOM))


# --------------------------------------------------------------------------- checks
# Each check compares one aspect of a case with the references; the random tests and the
# hypothesis test share them.


def check_graph(c: Case) -> None:
    graph = c.r.graph
    assert graph.node_ids.to_pylist() == c.nodes
    assert graph.n_firms == len(c.firms)
    assert graph.matrix.shape == (len(c.nodes), len(c.nodes))
    g, b, amount = graph.edges()
    got = {}
    for k, (i, j) in enumerate(zip(g.tolist(), b.tolist())):
        key = (c.nodes[i], c.nodes[j])
        assert key not in got, f"pair {key} stored twice"
        got[key] = (float(amount[k]), int(graph.contracts[k]), bool(graph.joint[k]))
    assert set(got) == set(c.edges)
    for key, (amt, n, joint) in c.edges.items():
        assert got[key][0] == pytest.approx(amt, rel=1e-12, abs=1e-12), key
        assert got[key][1:] == (n, joint), key
    assert graph.guarantees_used == sum(n for _, n, _ in c.edges.values())
    dense = graph.matrix.toarray()
    assert np.all(np.diag(dense) == 0)


def check_exposure(c: Case) -> None:
    out, inn, to_d = defaultdict(float), defaultdict(float), defaultdict(float)
    for (g, b), amount in c.amounts.items():
        out[g] += amount
        inn[b] += amount
        if b in c.seeds:
            to_d[g] += amount
    eq = c.equity_of
    ratio = lambda x, f: x / eq[f] if math.isfinite(eq[f]) and eq[f] > 0 else NAN  # noqa: E731
    cols = c.r.cols
    np.testing.assert_allclose(cols["guarantee_out"].to_numpy(float), [out[f] for f in c.firms], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cols["guarantee_in"].to_numpy(float), [inn[f] for f in c.firms], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cols["guarantee_out_ratio"].to_numpy(float), [ratio(out[f], f) for f in c.firms], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cols["guarantee_to_distressed"].to_numpy(float), [to_d[f] for f in c.firms], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cols["guarantee_to_distressed_ratio"].to_numpy(float), [ratio(to_d[f], f) for f in c.firms], rtol=1e-12, atol=1e-12)


def ref_circles(c: Case) -> list:
    """Strong components of ≥ 2 nodes, in circle-id order: size desc, internal amount desc,
    smallest member node."""
    found = [comp for comp in nx.strongly_connected_components(c.G) if len(comp) >= 2]

    def internal(comp):
        return sum(a for (g, b), a in c.amounts.items() if g in comp and b in comp)

    return sorted(found, key=lambda comp: (-len(comp), -internal(comp), min(c.pos[n] for n in comp)))


def expected_ids(components, prefix: str, width: int) -> tuple[dict, dict]:
    """Node → component name (prefix + number from 1, in the given order) and size."""
    names, sizes = {}, {}
    for k, comp in enumerate(components, start=1):
        for n in comp:
            names[n], sizes[n] = f"{prefix}{k:0{width}d}", len(comp)
    return names, sizes


def check_circles(c: Case) -> None:
    circles = ref_circles(c)
    expected_id, expected_size = expected_ids(circles, "GC", 6)
    assert column(c.r, "guarantee_circle_id") == {f: expected_id.get(f) for f in c.firms}
    assert column(c.r, "guarantee_circle_size") == {f: expected_size.get(f) for f in c.firms}
    distressed = {f: sum(1 for n in comp if n in c.seeds) for comp in circles for f in comp}
    assert column(c.r, "circle_distressed_count") == {f: distressed.get(f, 0) for f in c.firms}
    assert str(c.r.cols["guarantee_circle_size"].dtype) == "Int64"


def check_circles_table(c: Case) -> None:
    circles = ref_circles(c)
    h = ref_debtrank(c.amounts, c.equity_of, sorted(c.seeds))
    t = c.r.circles
    assert len(t) == len(circles)
    for k, comp in enumerate(circles):
        row = t.iloc[k]
        members = sorted(comp, key=c.pos.get)
        internal = [(g, b) for (g, b) in c.amounts if g in comp and b in comp]
        assert row["circle_id"] == f"GC{k + 1:06d}"
        assert row["size"] == len(comp)
        assert list(row["members"]) == members
        assert row["outside_members"] == sum(1 for n in comp if c.pos[n] >= len(c.firms))
        assert row["total_amount"] == pytest.approx(sum(c.amounts[e] for e in internal), rel=1e-12, abs=1e-9)
        assert row["internal_guarantees"] == len(internal)
        assert list(row["distressed_members"]) == [n for n in members if n in c.seeds]
        assert row["distressed_count"] == sum(1 for n in comp if n in c.seeds)
        assert row["max_contagion_loss"] == pytest.approx(max(h.get(n, 0.0) for n in comp), rel=1e-12, abs=1e-12)


def check_groups(c: Case) -> None:
    groups = [comp for comp in nx.weakly_connected_components(c.G) if len(comp) >= 2]
    groups.sort(key=lambda comp: (-len(comp), min(c.pos[n] for n in comp)))
    expected_id, expected_size = expected_ids(groups, "GG", 7)
    assert column(c.r, "guarantee_group_id") == {f: expected_id.get(f) for f in c.firms}
    assert column(c.r, "guarantee_group_size") == {f: expected_size.get(f) for f in c.firms}


def check_mutual(c: Case) -> None:
    partners = {f: len(set(c.G.successors(f)) & set(c.G.predecessors(f))) for f in c.firms}
    assert column(c.r, "mutual_partners") == partners
    assert column(c.r, "mutual_guarantee") == {f: n > 0 for f, n in partners.items()}


def ref_depth(graph_g: nx.DiGraph) -> dict:
    """Longest path (in condensation edges) into each node's strong component: a DP over a
    topological order of nx.condensation."""
    cond = nx.condensation(graph_g)
    depth = {}
    for comp in nx.topological_sort(cond):
        depth[comp] = max((depth[p] + 1 for p in cond.predecessors(comp)), default=0)
    mapping = cond.graph["mapping"]
    return {n: depth[mapping[n]] for n in graph_g.nodes}


def check_depth(c: Case) -> None:
    depth = ref_depth(c.G)
    assert column(c.r, "chain_depth") == {f: depth[f] for f in c.firms}


def check_contagion(c: Case) -> None:
    h = ref_debtrank(c.amounts, c.equity_of, sorted(c.seeds))
    np.testing.assert_allclose(c.r.cols["contagion_loss"].to_numpy(float), [h.get(f, 0.0) for f in c.firms],
                               rtol=1e-12, atol=1e-12)


def systemic_candidates(c: Case) -> tuple[set, set]:
    """(must be computed, may be computed). With systemic_top_guarantors at least the number
    of guarantors every guarantor is among the largest; a firm whose guarantees out all have
    amount 0 is a guarantor of nothing by amount, so either answer is accepted for it."""
    p = c.policy.network
    in_circle = {n for comp in ref_circles(c) for n in comp} if p.systemic_circle_members else set()
    out = defaultdict(float)
    gives = set()
    for (g, _), amount in c.amounts.items():
        out[g] += amount
        gives.add(g)
    screened_givers = [f for f in c.firms if f in gives]
    assert p.systemic_top_guarantors >= len(screened_givers), "the random cases use the default top-K"
    must = {f for f in c.firms if f in in_circle or out[f] > 0}
    may = must | set(screened_givers)
    return must, may


def ref_systemic(c: Case, firm: str) -> float:
    h = ref_debtrank(c.amounts, c.equity_of, [firm])
    return sum(c.value[n] * x for n, x in h.items()) - c.value[firm]


def check_systemic(c: Case) -> None:
    must, may = systemic_candidates(c)
    got = c.r.cols["systemic_impact"]
    for f in c.firms:
        if f in must or (f in may and not pd.isna(got[f])):
            assert got[f] == pytest.approx(ref_systemic(c, f), rel=1e-9, abs=1e-12), f
        elif f not in may:
            assert pd.isna(got[f]), f


def check_rules(c: Case) -> None:
    p = c.policy.network
    h = ref_debtrank(c.amounts, c.equity_of, sorted(c.seeds))
    circles = ref_circles(c)
    circle_of = {n: comp for comp in circles for n in comp}
    out, to_d, gives, receives = defaultdict(float), defaultdict(float), set(), set()
    for (g, b), amount in c.amounts.items():
        out[g] += amount
        gives.add(g)
        receives.add(b)
        if b in c.seeds:
            to_d[g] += amount
    for f in c.firms:
        e = c.equity_of[f]
        bad = not (math.isfinite(e) and e > 0)
        comp = circle_of.get(f)
        seeded_circle = comp is not None and any(n in c.seeds for n in comp)
        expected = {
            "G1": to_d[f] > 0 and (bad or to_d[f] / e > p.high_distressed_exposure_ratio),
            "G2": seeded_circle,
            "G3": f not in c.seeds and h.get(f, 0.0) >= p.high_contagion_loss,
            "G4": comp is not None and not seeded_circle,
            "G5": bool(set(c.G.successors(f)) & set(c.G.predecessors(f))),
            "G6": f in gives and (bad or out[f] / e > p.medium_out_ratio),
        }
        assert {k for k, v in expected.items() if v} == fired_set(c.r, f), f
        if expected["G1"] or expected["G2"] or expected["G3"]:
            level = "high"
        elif expected["G4"] or expected["G5"] or expected["G6"]:
            level = "medium"
        elif f in gives or f in receives:
            level = "low"
        else:
            level = "none"
        assert c.r.cols.loc[f, "guarantee_risk"] == level, f


ALL_CHECKS = (check_graph, check_exposure, check_circles, check_circles_table, check_groups, check_mutual,
              check_depth, check_contagion, check_systemic, check_rules)


# --------------------------------------------------------------------------- random graphs vs networkx


def test_random_cases_are_interesting():
    """The generator does produce what the random tests are meant to exercise."""
    outside_in_circle = 0
    for name in RANDOM:
        c = random_cases(name)
        circles = ref_circles(c)
        assert len(circles) >= 2, name
        assert any(len(comp) >= 3 for comp in circles), name
        outside_in_circle += sum(1 for comp in circles for n in comp if c.pos[n] >= len(c.firms))
        assert any(a == 0 for a in c.amounts.values()), name
        assert any(n >= 2 for _, n, _ in c.edges.values()), name
        assert c.seeds, name
        assert max(ref_depth(c.G).values()) >= 2, name
    assert outside_in_circle >= 2
    assert len(random_cases("n300").firms) == 300


@random_param
def test_random_graph_edges_match_plain_reference(name):
    check_graph(random_cases(name))


@random_param
def test_random_exposure_sums_match_reference(name):
    check_exposure(random_cases(name))


@random_param
def test_random_circles_are_nx_strong_components(name):
    check_circles(random_cases(name))


@random_param
def test_random_circles_table_matches_reference(name):
    check_circles_table(random_cases(name))


@random_param
def test_random_groups_are_nx_weak_components(name):
    check_groups(random_cases(name))


@random_param
def test_random_mutual_guarantee_matches_nx_reciprocity(name):
    check_mutual(random_cases(name))


@random_param
def test_random_chain_depth_matches_condensation_longest_path(name):
    check_depth(random_cases(name))


@random_param
def test_random_contagion_matches_reference_debtrank(name):
    check_contagion(random_cases(name))


@random_param
def test_random_systemic_impact_matches_reference(name):
    check_systemic(random_cases(name))


@random_param
def test_random_rules_and_levels_match_reference(name):
    check_rules(random_cases(name))


@random_param
def test_random_public_debtrank_several_scenarios_match_reference(name):
    """debtrank() itself, fed a W built here, several scenarios at once and each alone (one
    scenario runs on a dense state, several on sorted keys: both against the reference)."""
    c = random_cases(name)
    n = len(c.nodes)
    rows, cols, data = [], [], []
    for (g, b), amount in c.amounts.items():
        rows.append(c.pos[b])
        cols.append(c.pos[g])
        data.append(ref_weight(amount, c.equity_of.get(g)))
    wt = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
    rng = np.random.default_rng(len(c.firms))
    scenarios = [sorted(set(rng.choice(c.nodes, size=int(rng.integers(1, 4))).tolist())) for _ in range(6)]
    seed_scenario = np.array([s for s, seeds in enumerate(scenarios) for _ in seeds])
    seed_node = np.array([c.pos[x] for seeds in scenarios for x in seeds])
    for max_steps in (None, 1, 2):
        scenario, node, h = debtrank(wt, seed_scenario, seed_node, n_scenarios=len(scenarios), max_steps=max_steps)
        expected = []
        for s, seeds in enumerate(scenarios):
            ref = ref_debtrank(c.amounts, c.equity_of, seeds, max_steps=max_steps)
            expected += sorted((s, c.pos[x], v) for x, v in ref.items())
        assert list(zip(scenario.tolist(), node.tolist())) == [(s, k) for s, k, _ in expected]
        np.testing.assert_allclose(h, [v for _, _, v in expected], rtol=1e-12, atol=1e-12)
        for s, seeds in enumerate(scenarios):
            alone = debtrank(wt, np.full(len(seeds), s), np.array([c.pos[x] for x in seeds]), max_steps=max_steps)
            mine = scenario == s
            np.testing.assert_array_equal(alone[0], scenario[mine])
            np.testing.assert_array_equal(alone[1], node[mine])
            np.testing.assert_allclose(alone[2], h[mine], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- hypothesis: small graphs


@st.composite
def small_networks(draw):
    n_firms = draw(st.integers(1, 7))
    n_outside = draw(st.integers(0, 3))
    firms = [f"F{k}" for k in range(n_firms)]
    everyone = firms + [f"X{k}" for k in range(n_outside)]
    index = st.integers(0, len(everyone) - 1)
    raw = draw(st.lists(st.tuples(index, index, st.sampled_from([0.0, 1.0, 20.0, 50.0, 80.0, 150.0]),
                                  st.sampled_from(["active", "active", "active", "ended", "future"])), max_size=22))
    rows = []
    for g, b, amount, state in raw:
        if g == b and g >= n_firms:
            continue
        start, end = {"active": (None, None), "ended": (None, AS_OF), "future": (AS_OF + DAY, None)}[state]
        rows.append(G(everyone[g], everyone[b], amount, start, end))
    order = draw(st.permutations(firms))  # screened order differs from the names' order
    equity = draw(st.lists(st.sampled_from([100.0, 40.0, 200.0, 0.0, -10.0, NAN]), min_size=n_firms, max_size=n_firms))
    assets = draw(st.lists(st.sampled_from([100.0, 300.0, 0.0, NAN]), min_size=n_firms, max_size=n_firms))
    seeds = {f for f, s in zip(order, draw(st.lists(st.booleans(), min_size=n_firms, max_size=n_firms))) if s}
    frame = pd.DataFrame({"firm_id": order, "equity": equity, "total_assets": assets})
    return table(rows), frame, seeds


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_hypothesis_small_networks_match_networkx_and_references(network):
    df, frame, seeds = network
    c = make_case(df, frame, seeds)
    for check in ALL_CHECKS:
        check(c)


# --------------------------------------------------------------------------- hand-made structures


def test_three_cycle_is_one_circle():
    r = run([G("A", "B", 10), G("B", "C", 20), G("C", "A", 30)], ["A", "B", "C"])
    assert column(r, "guarantee_circle_id") == {"A": "GC000001", "B": "GC000001", "C": "GC000001"}
    assert column(r, "guarantee_circle_size") == {"A": 3, "B": 3, "C": 3}
    assert column(r, "guarantee_group_id") == {"A": "GG0000001", "B": "GG0000001", "C": "GG0000001"}
    assert column(r, "guarantee_group_size") == {"A": 3, "B": 3, "C": 3}
    assert column(r, "mutual_guarantee") == {"A": False, "B": False, "C": False}
    assert column(r, "chain_depth") == {"A": 0, "B": 0, "C": 0}
    assert column(r, "guarantee_out") == {"A": 10.0, "B": 20.0, "C": 30.0}
    assert column(r, "guarantee_in") == {"A": 30.0, "B": 10.0, "C": 20.0}
    assert column(r, "guarantee_out_ratio") == pytest.approx({"A": 0.1, "B": 0.2, "C": 0.3})  # 10/100, 20/100, 30/100
    for f in "ABC":
        assert fired_set(r, f) == {"G4"}  # a circle without a seed, nothing else
    assert column(r, "guarantee_risk") == {"A": "medium", "B": "medium", "C": "medium"}


def test_mutual_pairs_and_partner_counts():
    # A ↔ B and A ↔ D are mutual pairs; C only guarantees A.
    r = run([G("A", "B", 10), G("B", "A", 10), G("A", "D", 5), G("D", "A", 5), G("C", "A", 1)], ["A", "B", "C", "D"])
    assert column(r, "mutual_guarantee") == {"A": True, "B": True, "C": False, "D": True}
    assert column(r, "mutual_partners") == {"A": 2, "B": 1, "C": 0, "D": 1}
    # the mutual pairs make one circle {A, B, D}; C feeds it.
    assert column(r, "guarantee_circle_size") == {"A": 3, "B": 3, "C": None, "D": 3}
    assert column(r, "chain_depth") == {"A": 1, "B": 1, "C": 0, "D": 1}
    assert {f for f in "ABCD" if "G5" in fired_set(r, f)} == {"A", "B", "D"}


def test_lone_mutual_pair_is_a_two_circle():
    r = run([G("A", "B", 10), G("B", "A", 20)], ["A", "B"])
    assert column(r, "guarantee_circle_size") == {"A": 2, "B": 2}
    assert column(r, "guarantee_circle_id") == {"A": "GC000001", "B": "GC000001"}
    assert fired_set(r, "A") == fired_set(r, "B") == {"G4", "G5"}
    assert r.circles["internal_guarantees"].tolist() == [2]
    assert r.circles["total_amount"].tolist() == [30.0]  # 10 + 20


def test_star_one_guarantor_many_borrowers():
    r = run([G("A", b, amt) for b, amt in zip("BCDE", (10, 20, 30, 40))], list("ABCDE"), equity={"A": 400.0})
    assert column(r, "guarantee_out") == {"A": 100.0, "B": 0.0, "C": 0.0, "D": 0.0, "E": 0.0}  # 10+20+30+40
    assert column(r, "guarantee_in") == {"A": 0.0, "B": 10.0, "C": 20.0, "D": 30.0, "E": 40.0}
    assert column(r, "guarantee_out_ratio")["A"] == 0.25  # 100 / 400
    assert column(r, "guarantee_group_size") == dict.fromkeys("ABCDE", 5)
    assert column(r, "guarantee_circle_id") == dict.fromkeys("ABCDE")
    assert column(r, "chain_depth") == {"A": 0, "B": 1, "C": 1, "D": 1, "E": 1}
    assert column(r, "mutual_partners") == dict.fromkeys("ABCDE", 0)
    assert column(r, "guarantee_risk") == dict.fromkeys("ABCDE", "low")
    assert len(r.circles) == 0


def test_chain_feeding_a_circle_depths():
    # D → E → {A → B → C → A} → F → G, plus a shortcut D → A; H is alone.
    rows = [G("D", "E", 1), G("E", "A", 1), G("D", "A", 1), G("A", "B", 1), G("B", "C", 1), G("C", "A", 1),
            G("C", "F", 1), G("F", "G", 1)]
    r = run(rows, list("ABCDEFGH"))
    # the longest path decides: D(0) → E(1) → circle(2), not D → circle (1); F 3, G 4.
    assert column(r, "chain_depth") == {"A": 2, "B": 2, "C": 2, "D": 0, "E": 1, "F": 3, "G": 4, "H": 0}
    assert column(r, "guarantee_group_size") == {**dict.fromkeys("ABCDEFG", 7), "H": None}
    assert column(r, "guarantee_group_id") == {**dict.fromkeys("ABCDEFG", "GG0000001"), "H": None}
    assert column(r, "guarantee_circle_size") == {**dict.fromkeys("ABC", 3), **dict.fromkeys("DEFGH")}
    assert column(r, "guarantee_risk")["H"] == "none"


def test_chain_depth_public_function_with_given_labels():
    # nodes 0→1, 1→2, 2→1, 2→3, 0→3; components labelled {1,2}: 0, {3}: 1, {0}: 2.
    m = sp.csr_matrix((np.ones(5), ([0, 1, 2, 2, 0], [1, 2, 1, 3, 3])), shape=(4, 4))
    labels = np.array([2, 0, 0, 1])
    # {0} has no predecessor (0); {1,2} after {0} (1); {3}: 0 → {1,2} → 3 is 2 long.
    assert chain_depth(m, labels, 3).tolist() == [1, 2, 0]


def test_self_guarantees_are_ignored():
    rows = [G("A", "A", 500), G("A", "B", 10), G("C", "C", 70), G("X", "X", 30), G("B", "B", 5)]
    r = run(rows, ["A", "B", "C"], equity={"C": 10.0})
    assert column(r, "guarantee_out") == {"A": 10.0, "B": 0.0, "C": 0.0}
    assert column(r, "guarantee_in") == {"A": 0.0, "B": 10.0, "C": 0.0}
    assert column(r, "guarantee_circle_id") == dict.fromkeys("ABC")
    assert column(r, "mutual_guarantee") == dict.fromkeys("ABC", False)
    assert column(r, "guarantee_group_size") == {"A": 2, "B": 2, "C": None}
    # C's self-guarantee of 70 against equity 10 would fire G6 if it counted.
    assert column(r, "guarantee_risk") == {"A": "low", "B": "low", "C": "none"}
    assert r.graph.guarantees_used == 1
    assert r.graph.matrix.nnz == 1 and r.graph.matrix.diagonal().sum() == 0
    assert len(r.circles) == 0


def test_zero_amount_guarantee_is_structure_without_contagion():
    # A → B amount 0 and B → A 50: still a mutual pair and a 2-circle. C → B amount 0 joins
    # the group. B is distressed: A and C guarantee it with W = 0, D with W = 30/100.
    rows = [G("A", "B", 0), G("B", "A", 50), G("C", "B", 0), G("D", "B", 30)]
    r = run(rows, list("ABCD"), seeds={"B"})
    assert r.graph.matrix.nnz == 4
    assert column(r, "mutual_guarantee") == {"A": True, "B": True, "C": False, "D": False}
    assert column(r, "guarantee_circle_size") == {"A": 2, "B": 2, "C": None, "D": None}
    assert column(r, "guarantee_group_size") == dict.fromkeys("ABCD", 4)
    assert column(r, "chain_depth") == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert column(r, "contagion_loss") == {"A": 0.0, "B": 1.0, "C": 0.0, "D": 0.3}  # D: 30/100 · 1
    assert column(r, "guarantee_to_distressed") == {"A": 0.0, "B": 0.0, "C": 0.0, "D": 30.0}
    assert fired_set(r, "A") == {"G2", "G5"}
    assert fired_set(r, "C") == set()
    assert column(r, "guarantee_risk") == {"A": "high", "B": "high", "C": "low", "D": "low"}
    assert r.circles["total_amount"].tolist() == [50.0]  # 0 + 50
    assert r.circles["internal_guarantees"].tolist() == [2]


def test_zero_amount_guarantor_with_bad_equity_is_not_exposed_to_distress():
    # C guarantees seed S with amount 0 and has equity 0: no amount at stake, so no G1.
    r = run([G("C", "S", 0)], ["C", "S"], equity={"C": 0.0}, seeds={"S"})
    assert column(r, "guarantee_to_distressed")["C"] == 0.0
    assert "G1" not in fired_set(r, "C")
    assert column(r, "contagion_loss")["C"] == 0.0


def test_duplicate_guarantees_are_one_summed_edge():
    rows = [G("A", "B", 30), G("A", "B", 20, kind="joint"), G("B", "A", 10),
            G("B", "A", 5, end=AS_OF - DAY)]  # the last one has ended
    r = run(rows, ["A", "B"])
    graph = r.graph
    assert graph.matrix.toarray().tolist() == [[0.0, 50.0], [10.0, 0.0]]  # 30 + 20
    g, b, amount = graph.edges()
    assert list(zip(g.tolist(), b.tolist(), amount.tolist())) == [(0, 1, 50.0), (1, 0, 10.0)]
    assert graph.contracts.tolist() == [2, 1]
    assert graph.joint.tolist() == [True, False]
    assert graph.guarantees_used == 3
    assert column(r, "guarantee_out") == {"A": 50.0, "B": 10.0}
    assert column(r, "mutual_partners") == {"A": 1, "B": 1}
    assert r.circles["total_amount"].tolist() == [60.0]  # 50 + 10
    assert r.circles["internal_guarantees"].tolist() == [2]


def test_inactive_guarantees_are_left_out():
    rows = [
        G("A", "B", 1, end=AS_OF),  # ends on the as-of date: inactive
        G("A", "C", 2, start=AS_OF + DAY),  # not started yet
        G("A", "D", 4, start=AS_OF),  # starts on the as-of date: active
        G("A", "E", 8, end=AS_OF + DAY),  # ends the day after: active
        G("A", "F", 16),  # no dates: active
        G("A", "G", 32, start=AS_OF - 365 * DAY, end=AS_OF - DAY),  # over
        G("B", "A", 64, end=AS_OF - DAY),  # an ended reverse guarantee is no mutual pair
        G("Y", "A", 128, start=AS_OF + DAY),  # an outside firm named only by an inactive guarantee
    ]
    r = run(rows, list("ABCDEFG"))
    assert column(r, "guarantee_out")["A"] == 28.0  # 4 + 8 + 16
    assert column(r, "guarantee_in") == {"A": 0.0, "B": 0.0, "C": 0.0, "D": 4.0, "E": 8.0, "F": 16.0, "G": 0.0}
    assert column(r, "mutual_guarantee")["A"] is False
    assert column(r, "guarantee_risk") == {"A": "low", "B": "none", "C": "none", "D": "low", "E": "low",
                                           "F": "low", "G": "none"}
    assert r.graph.node_ids.to_pylist() == list("ABCDEFG")
    assert r.graph.guarantees_used == 3


def test_dates_in_seconds_and_optional_columns():
    # second-resolution dates obey the same start ≤ as-of < end rule
    df = table([G("A", "B", 1, start=AS_OF), G("A", "C", 2, end=AS_OF), G("A", "D", 4, start=AS_OF + DAY)])
    df["start_date"] = df["start_date"].astype("datetime64[s]")
    df["end_date"] = df["end_date"].astype("datetime64[s]")
    graph = guarantee_graph(df, pd.Series(list("ABCD")), AS_OF)
    assert graph.matrix.toarray()[0].tolist() == [0.0, 1.0, 0.0, 0.0]
    # without start_date, end_date and kind every guarantee is active and none is joint
    bare = df[["guarantor_id", "borrower_id", "amount"]]
    graph = guarantee_graph(bare, pd.Series(list("ABCD")), AS_OF)
    assert graph.matrix.toarray()[0].tolist() == [0.0, 1.0, 2.0, 4.0]
    assert graph.joint.tolist() == [False, False, False]


def test_outside_firm_is_a_node_that_carries_contagion_and_closes_a_circle():
    # B (distressed) → A → X → B with X not screened: X guarantees B for only 0.01, but an
    # outside guarantor has W = 1. C is unrelated.
    rows = [G("X", "B", 0.01), G("A", "X", 30), G("B", "A", 40)]
    r = run(rows, ["A", "B", "C"], seeds={"B"})
    assert r.graph.node_ids.to_pylist() == ["A", "B", "C", "X"]
    assert r.graph.n_firms == 3 and r.graph.matrix.shape == (4, 4)
    # step 1: h_X = min(1, 1 · 1) = 1; step 2: h_A = 30/100 · 1 = 0.3; step 3: B stays 1.
    assert column(r, "contagion_loss") == {"A": 0.3, "B": 1.0, "C": 0.0}
    assert column(r, "guarantee_circle_size") == {"A": 3, "B": 3, "C": None}
    assert column(r, "guarantee_group_size") == {"A": 3, "B": 3, "C": None}
    assert column(r, "circle_distressed_count") == {"A": 1, "B": 1, "C": 0}
    assert fired_set(r, "A") == {"G2"}
    assert column(r, "guarantee_risk") == {"A": "high", "B": "high", "C": "none"}
    row = r.circles.iloc[0]
    assert list(row["members"]) == ["A", "B", "X"] and row["outside_members"] == 1


def test_outside_firms_numbered_by_first_appearance_guarantor_column_first():
    rows = [G("A", "Z", 1), G("Y", "A", 1), G("X", "Y", 1), G("A", "W", 1), G("V", "B", 1, end=AS_OF)]
    r = run(rows, ["B", "A"])
    # guarantor column: Y, X; then borrower column: Z, (Y), W; V's guarantee is inactive.
    assert r.graph.node_ids.to_pylist() == ["B", "A", "Y", "X", "Z", "W"]
    assert r.graph.matrix.toarray()[1].tolist() == [0, 0, 0, 0, 1, 1]  # A → Z, A → W


def test_no_active_guarantees():
    r = run([G("A", "B", 10, end=AS_OF)], ["A", "B"], seeds={"A"})
    assert column(r, "guarantee_risk") == {"A": "none", "B": "none"}
    assert column(r, "guarantee_circle_id") == {"A": None, "B": None}
    assert column(r, "guarantee_group_id") == {"A": None, "B": None}
    assert column(r, "contagion_loss") == {"A": 1.0, "B": 0.0}
    assert len(r.circles) == 0
    assert {"circle_id", "size", "members", "outside_members", "total_amount", "internal_guarantees",
            "distressed_members", "distressed_count", "max_contagion_loss"} <= set(r.circles.columns)


# --------------------------------------------------------------------------- DebtRank by hand

# S1 and S2 are distressed. Guarantees (guarantor → borrower: amount / guarantor equity = W):
#   A → S1 30/100 = 0.3   A → S2 40/100 = 0.4   B → S1 80/100 = 0.8   B → S2 60/100 = 0.6
#   D → S1 20/100 = 0.2   C → A  50/100 = 0.5   D → C  50/100 = 0.5   E → D 100/200 = 0.5
#   F → B  40/50  = 0.8
HAND_FIRMS = ["S1", "S2", "A", "B", "C", "D", "E", "F"]
HAND_ROWS = [G("A", "S1", 30), G("A", "S2", 40), G("B", "S1", 80), G("B", "S2", 60), G("D", "S1", 20),
             G("C", "A", 50), G("D", "C", 50), G("E", "D", 100), G("F", "B", 40)]
HAND_EQUITY = {"E": 200.0, "F": 50.0}
# Total assets: positive ones sum to 100+100+200+100+100+200+100 = 900; E has 0 (weight 0).
HAND_ASSETS = {"S1": 100.0, "S2": 100.0, "A": 200.0, "B": 100.0, "C": 100.0, "D": 200.0, "E": 0.0, "F": 100.0}
# step 1 (S1, S2 propagate): A = 0.3 + 0.4 = 0.7 (two borrowers in one step), B = min(1, 0.8 + 0.6) = 1,
#                            D = 0.2
# step 2 (A, B, D):          C = 0.5 · 0.7 = 0.35, F = 0.8 · 1 = 0.8, E = 0.5 · 0.2 = 0.1
# step 3 (C, F, E):          D = 0.2 + 0.5 · 0.35 = 0.375 — D has propagated already, so E stays 0.1
HAND_H = {"S1": 1.0, "S2": 1.0, "A": 0.7, "B": 1.0, "C": 0.35, "D": 0.375, "E": 0.1, "F": 0.8}


def hand_run(policy=POLICY) -> Run:
    return run(HAND_ROWS, HAND_FIRMS, HAND_EQUITY, HAND_ASSETS, seeds={"S1", "S2"}, policy=policy)


def test_debtrank_by_hand():
    r = hand_run()
    got = column(r, "contagion_loss")
    assert got == pytest.approx(HAND_H, rel=1e-12, abs=1e-12)
    # G3 (not a seed and h ≥ 0.5): A 0.7, B 1, F 0.8; not C, D, E, nor the seeds.
    assert {f for f in HAND_FIRMS if r.fired.loc[f, "G3"]} == {"A", "B", "F"}


def hand_weights_transposed() -> sp.csr_matrix:
    node = {f: k for k, f in enumerate(HAND_FIRMS)}
    w = {("A", "S1"): 0.3, ("A", "S2"): 0.4, ("B", "S1"): 0.8, ("B", "S2"): 0.6, ("D", "S1"): 0.2,
         ("C", "A"): 0.5, ("D", "C"): 0.5, ("E", "D"): 0.5, ("F", "B"): 0.8}
    rows = [node[b] for (_, b) in w]
    cols = [node[g] for (g, _) in w]
    return sp.csr_matrix((list(w.values()), (rows, cols)), shape=(8, 8))


def test_public_debtrank_by_hand_several_scenarios():
    # nodes: S1 0, S2 1, A 2, B 3, C 4, D 5, E 6, F 7. Scenario 0: S1 and S2; 1: A alone; 2: B alone.
    scenario, node, h = debtrank(hand_weights_transposed(), np.array([0, 0, 1, 2]), np.array([0, 1, 2, 3]))
    assert list(zip(scenario.tolist(), node.tolist())) == [
        (0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7),
        (1, 2), (1, 4), (1, 5), (1, 6),
        (2, 3), (2, 7)]
    # scenario 1: A = 1 → C = 0.5 → D = 0.5 · 0.5 = 0.25 → E = 0.5 · 0.25 = 0.125
    # scenario 2: B = 1 → F = 0.8
    np.testing.assert_allclose(h, [1, 1, 0.7, 1, 0.35, 0.375, 0.1, 0.8,
                                   1, 0.5, 0.25, 0.125,
                                   1, 0.8], rtol=1e-12)


def test_public_debtrank_max_steps():
    wt = hand_weights_transposed()
    _, node, h = debtrank(wt, np.array([0, 0]), np.array([0, 1]), max_steps=1)
    assert node.tolist() == [0, 1, 2, 3, 5]
    np.testing.assert_allclose(h, [1, 1, 0.7, 1, 0.2], rtol=1e-12)
    _, node, h = debtrank(wt, np.array([0, 0]), np.array([0, 1]), max_steps=2)
    assert node.tolist() == list(range(8))
    np.testing.assert_allclose(h, [1, 1, 0.7, 1, 0.35, 0.2, 0.1, 0.8], rtol=1e-12)  # D not yet hit again


def test_equity_not_positive_or_missing_gives_full_weight():
    # A guarantees S for 1 with equity 0, B for 1 with equity NaN, C for 1 with equity −5,
    # D for 1 with equity 100 (W = 0.01), E for 500 with equity 100 (W capped at 1).
    rows = [G(g, "S", amt) for g, amt in zip("ABCDE", (1, 1, 1, 1, 500))]
    r = run(rows, ["S", *"ABCDE"], equity={"A": 0.0, "B": NAN, "C": -5.0}, seeds={"S"})
    assert column(r, "contagion_loss") == pytest.approx({"S": 1.0, "A": 1.0, "B": 1.0, "C": 1.0, "D": 0.01, "E": 1.0})


def test_systemic_impact_by_hand():
    r = hand_run()
    got = r.cols["systemic_impact"]
    # A alone: C 0.5, D 0.25, E 0.125 → (100·0.5 + 200·0.25 + 0·0.125) / 900 = 100/900
    assert got["A"] == pytest.approx(100 / 900, rel=1e-12)
    # B alone: F 0.8 → 100 · 0.8 / 900
    assert got["B"] == pytest.approx(80 / 900, rel=1e-12)
    # C alone: D 0.5, E 0.25 → 200 · 0.5 / 900
    assert got["C"] == pytest.approx(100 / 900, rel=1e-12)
    # D alone: E 0.5 with weight 0; E and F have no guarantors.
    assert got["D"] == 0.0 and got["E"] == 0.0 and got["F"] == 0.0
    # S1, S2 guarantee nobody and are in no circle.
    assert np.isnan(got["S1"]) and np.isnan(got["S2"])


def test_systemic_impact_only_for_top_guarantors_and_circle_members():
    # guarantee_out: A 70, B 140, C 50, D 70, E 100, F 40 → the two largest are B and E.
    r = hand_run(network_policy(systemic_top_guarantors=2, systemic_circle_members=False))
    got = r.cols["systemic_impact"]
    assert {f for f in HAND_FIRMS if not np.isnan(got[f])} == {"B", "E"}
    assert got["B"] == pytest.approx(80 / 900, rel=1e-12)
    r = hand_run(network_policy(systemic_top_guarantors=0))
    assert r.cols["systemic_impact"].isna().all()  # no circles here
    # circle members only: the 3-cycle A → B → C → A (10 each, equity 100) plus D → A 10
    r = run([G("A", "B", 10), G("B", "C", 10), G("C", "A", 10), G("D", "A", 10)], list("ABCD"),
            policy=network_policy(systemic_top_guarantors=0))
    got = r.cols["systemic_impact"]
    assert np.isnan(got["D"])
    # A alone: C 0.1 → B 0.01 → A (done); D 0.1 → (100·0.1 + 100·0.01 + 100·0.1) / 400
    assert got["A"] == pytest.approx(21 / 400, rel=1e-12)


# --------------------------------------------------------------------------- rules G1–G6


@pytest.mark.parametrize("amount, equity, fires", [
    (50.0, 100.0, False),  # 50/100 = 0.5 is not above 0.5
    (50.01, 100.0, True),  # 0.5001
    (1.0, 0.0, True),
    (1.0, NAN, True),
    (1.0, -5.0, True),
])
def test_g1_exposure_to_distressed(amount, equity, fires):
    r = run([G("A", "S", amount), G("A", "T", 80)], ["A", "S", "T"], equity={"A": equity}, seeds={"S"})
    assert bool(r.fired.loc["A", "G1"]) is fires
    assert column(r, "guarantee_to_distressed")["A"] == amount  # T is not distressed
    if equity > 0:
        assert column(r, "guarantee_to_distressed_ratio")["A"] == pytest.approx(amount / equity)
    else:
        assert np.isnan(r.cols.loc["A", "guarantee_to_distressed_ratio"])


def test_g1_threshold_from_policy():
    r = run([G("A", "S", 45)], ["A", "S"], seeds={"S"}, policy=network_policy(high_distressed_exposure_ratio=0.4))
    assert r.fired.loc["A", "G1"]  # 45/100 > 0.4


def test_g2_and_g4_circle_with_and_without_seed():
    # A ↔ B with B distressed; C ↔ D not; E guarantees B from outside the circle.
    rows = [G("A", "B", 1), G("B", "A", 1), G("C", "D", 1), G("D", "C", 1), G("E", "B", 1)]
    r = run(rows, list("ABCDE"), seeds={"B"})
    assert {f for f in "ABCDE" if r.fired.loc[f, "G2"]} == {"A", "B"}
    assert {f for f in "ABCDE" if r.fired.loc[f, "G4"]} == {"C", "D"}
    assert column(r, "guarantee_risk") == {"A": "high", "B": "high", "C": "medium", "D": "medium", "E": "low"}


@pytest.mark.parametrize("amount, threshold, fires", [
    (50.0, None, True),  # h = 50/100 = 0.5 ≥ 0.5
    (49.99, None, False),  # h = 0.4999
    (49.99, 0.4, True),
])
def test_g3_contagion_threshold(amount, threshold, fires):
    policy = POLICY if threshold is None else network_policy(high_contagion_loss=threshold)
    r = run([G("A", "S", amount)], ["A", "S"], seeds={"S"}, policy=policy)
    assert column(r, "contagion_loss")["A"] == pytest.approx(amount / 100)
    assert bool(r.fired.loc["A", "G3"]) is fires
    assert not r.fired.loc["S", "G3"]  # the seed itself (h = 1)


def test_g3_weight_is_amount_divided_by_equity():
    """W = amount / equity, divided: 24.5 / 49 is 0.5 exactly and meets the 0.5 threshold
    (24.5 × (1 / 49) would be 0.49999999999999994 and would not)."""
    r = run([G("A", "S", 24.5)], ["A", "S"], equity={"A": 49.0}, seeds={"S"})
    assert column(r, "contagion_loss")["A"] == 0.5
    assert bool(r.fired.loc["A", "G3"])
    assert column(r, "guarantee_risk")["A"] == "high"


def test_g5_needs_a_reciprocal_active_pair():
    rows = [G("A", "B", 1), G("B", "A", 1),  # mutual
            G("C", "D", 1), G("D", "E", 1), G("E", "C", 1),  # a 3-cycle is not mutual
            G("F", "H", 1), G("H", "F", 1, end=AS_OF)]  # the way back has ended
    r = run(rows, list("ABCDEFH"))
    assert {f for f in "ABCDEFH" if r.fired.loc[f, "G5"]} == {"A", "B"}
    assert {f for f in "ABCDEFH" if r.fired.loc[f, "G4"]} == {"A", "B", "C", "D", "E"}


@pytest.mark.parametrize("amount, equity, fires", [
    (50.0, 100.0, False),  # 50/100 = 0.5 is not above 0.5
    (50.01, 100.0, True),  # 0.5001
    (1.0, 0.0, True),
    (1.0, NAN, True),
    (1.0, -1.0, True),
    (0.0, 0.0, True),  # an amount-0 guarantee is still a guarantee out
])
def test_g6_out_ratio(amount, equity, fires):
    r = run([G("A", "B", amount)], ["A", "B"], equity={"A": equity, "B": 0.0})
    assert bool(r.fired.loc["A", "G6"]) is fires
    assert not r.fired.loc["B", "G6"]  # equity 0 but no guarantee out
    assert column(r, "guarantee_risk") == {"A": "medium" if fires else "low", "B": "low"}


def test_g6_threshold_from_policy():
    r = run([G("A", "B", 45)], ["A", "B"], policy=network_policy(medium_out_ratio=0.4))
    assert r.fired.loc["A", "G6"]  # 45/100 > 0.4
    r = run([G("A", "B", 45)], ["A", "B"])
    assert not r.fired.loc["A", "G6"]


def test_level_precedence():
    # A → S 60 (S distressed), A ↔ B 10: A fires G1 (60/100 > 0.5), G3 (h = 0.6), G4 and G5
    # (circle {A, B} without a seed) and G6 (70/100 > 0.5) → high. B: G4, G5; h_B = 0.1 · 0.6.
    # C → D 60: C fires G6 only → medium; D only receives → low; N → none; S is a seed that
    # only receives guarantees → low.
    rows = [G("A", "S", 60), G("A", "B", 10), G("B", "A", 10), G("C", "D", 60)]
    r = run(rows, ["S", "A", "B", "C", "D", "N"], seeds={"S"})
    assert fired_set(r, "A") == {"G1", "G3", "G4", "G5", "G6"}
    assert fired_set(r, "B") == {"G4", "G5"}
    assert fired_set(r, "C") == {"G6"}
    assert fired_set(r, "D") == fired_set(r, "N") == fired_set(r, "S") == set()
    assert column(r, "contagion_loss")["B"] == pytest.approx(0.06)
    assert column(r, "guarantee_risk") == {"S": "low", "A": "high", "B": "medium", "C": "medium", "D": "low", "N": "none"}


# --------------------------------------------------------------------------- ids and the circles table


def test_circle_and_group_id_ordering():
    rows = [
        G("R0", "R1", 50), G("R1", "R0", 50),  # size 2, total 100, nodes 5, 6 (rows first on purpose)
        G("P0", "P1", 60), G("P1", "P0", 40),  # size 2, total 100, nodes 0, 1
        G("Q0", "Q1", 10), G("Q1", "Q2", 10), G("Q2", "Q0", 10),  # size 3, total 30
        G("T0", "T1", 75), G("T1", "T0", 75),  # size 2, total 150
        G("U0", "U1", 1), G("U0", "U2", 1), G("U0", "U3", 1),  # a star group of 4, no circle
    ]
    firms = ["P0", "P1", "Q0", "Q1", "Q2", "R0", "R1", "T0", "T1", "U0", "U1", "U2", "U3", "V"]
    r = run(rows, firms)
    circle = column(r, "guarantee_circle_id")
    # size first (Q), then total amount (T 150), then the smallest node among equal totals (P before R)
    assert circle == {"P0": "GC000003", "P1": "GC000003", "Q0": "GC000001", "Q1": "GC000001", "Q2": "GC000001",
                      "R0": "GC000004", "R1": "GC000004", "T0": "GC000002", "T1": "GC000002",
                      "U0": None, "U1": None, "U2": None, "U3": None, "V": None}
    group = column(r, "guarantee_group_id")
    # size first (U 4, Q 3), then the smallest node (P 0, R 5, T 7); V alone has none.
    assert group == {"P0": "GG0000003", "P1": "GG0000003", "Q0": "GG0000002", "Q1": "GG0000002", "Q2": "GG0000002",
                     "R0": "GG0000004", "R1": "GG0000004", "T0": "GG0000005", "T1": "GG0000005",
                     "U0": "GG0000001", "U1": "GG0000001", "U2": "GG0000001", "U3": "GG0000001", "V": None}
    assert r.circles["circle_id"].tolist() == ["GC000001", "GC000002", "GC000003", "GC000004"]
    assert r.circles["total_amount"].tolist() == [30.0, 150.0, 100.0, 100.0]


def test_circles_table_by_hand():
    # Circle 1: B → A 40, A → X 30, X → B 0.01 (X outside), B distressed.
    # Circle 2: C → D 25 + 5 (two contracts), D → C 25. E → C is outside both circles.
    rows = [G("B", "A", 40), G("A", "X", 30), G("X", "B", 0.01),
            G("C", "D", 25), G("D", "C", 25), G("C", "D", 5), G("E", "C", 10)]
    r = run(rows, list("ABCDE"), seeds={"B"})
    t = r.circles
    assert t["circle_id"].tolist() == ["GC000001", "GC000002"]
    assert t["size"].tolist() == [3, 2]
    assert [list(m) for m in t["members"]] == [["A", "B", "X"], ["C", "D"]]  # node order: A 0, B 1, X 5
    assert t["outside_members"].tolist() == [1, 0]
    assert t["total_amount"].tolist() == pytest.approx([70.01, 55.0])  # 40 + 30 + 0.01; 25 + 5 + 25
    assert t["internal_guarantees"].tolist() == [3, 2]
    assert [list(m) for m in t["distressed_members"]] == [["B"], []]
    assert t["distressed_count"].tolist() == [1, 0]
    # h: B 1, X 1 (outside, W = 1), A 0.3 (30/100); C, D 0.
    assert t["max_contagion_loss"].tolist() == [1.0, 0.0]
    assert column(r, "contagion_loss") == pytest.approx({"A": 0.3, "B": 1.0, "C": 0.0, "D": 0.0, "E": 0.0})
    assert column(r, "guarantee_circle_id") == {"A": "GC000001", "B": "GC000001", "C": "GC000002",
                                                "D": "GC000002", "E": None}
    assert column(r, "circle_distressed_count") == {"A": 1, "B": 1, "C": 0, "D": 0, "E": 0}
    assert column(r, "chain_depth") == {"A": 0, "B": 0, "C": 1, "D": 1, "E": 0}


# --------------------------------------------------------------------------- the working order and its helpers


@random_param
def test_random_results_do_not_depend_on_threads(name):
    """Chain depth beside DebtRank in a second thread (n_jobs=2) gives the very same
    columns and circles as one thread."""
    c = random_cases(name)
    graph = guarantee_graph(c.df, c.frame["firm_id"], AS_OF)
    seeds = c.frame["firm_id"].isin(c.seeds).to_numpy()
    one, circles_one = guarantee_network(graph, c.frame, seeds, POLICY, n_jobs=1)
    two, circles_two = guarantee_network(graph, c.frame, seeds, POLICY, n_jobs=2)
    pd.testing.assert_frame_equal(one.columns, two.columns)
    pd.testing.assert_frame_equal(one.fired, two.fired)
    pd.testing.assert_frame_equal(circles_one, circles_two)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 70_000), max_size=60))
def test_grouped_order_is_a_stable_sort_by_label(labels):
    """Two 16-bit radix passes reach labels above 65,535 and keep positions in order."""
    from zjfin.risks.network.kernels import grouped_order as _grouped_order

    labels = np.array(labels, dtype=np.int32)
    n_labels = int(labels.max(initial=-1)) + 1
    assert _grouped_order(labels, n_labels).tolist() == np.argsort(labels, kind="stable").tolist()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 9)), max_size=30),
    st.permutations(range(n)))))
def test_renumbered_graph_is_the_same_graph(case):
    """Node order[k] becomes k: every entry moves with both its ends (checked densely)."""
    from zjfin.risks.network.kernels import renumbered as _renumbered

    n, entries, order = case
    g, b, a = (np.array([e[k] for e in entries], dtype=np.int64) for k in range(3))
    matrix = sp.csr_matrix((a.astype(float), (g, b)), shape=(n, n))
    order = np.array(order, dtype=np.int64)
    position = np.empty(n, dtype=np.int32)
    position[order] = np.arange(n, dtype=np.int32)
    local = _renumbered(matrix, order, position)
    dense = matrix.toarray()
    np.testing.assert_array_equal(local.toarray(), dense[np.ix_(order, order)])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(*[st.one_of(st.none(), st.integers(-3, 3), st.integers(-10**6, 10**6))] * 2), max_size=30),
       st.sampled_from(["ns", "s"]))
def test_active_is_start_on_or_before_and_end_after_the_as_of_date(offsets, unit):
    """Dates a few seconds or days around the as-of date, missing or not, in ns or s."""
    from zjfin.risks.network.graph import _active

    def date(seconds):
        return pd.NaT if seconds is None else AS_OF + pd.Timedelta(seconds=seconds)

    starts, ends = [date(s) for s, _ in offsets], [date(e) for _, e in offsets]
    df = pd.DataFrame({"start_date": pd.Series(starts, dtype="datetime64[ns]").astype(f"datetime64[{unit}]"),
                       "end_date": pd.Series(ends, dtype="datetime64[ns]").astype(f"datetime64[{unit}]")})
    assert _active(df, AS_OF).tolist() == [is_active(s, e) for s, e in zip(starts, ends)]


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))))
def test_mutual_partners_count_reverse_pairs(case):
    """Sorted unordered keys give, per node, the partners it guarantees and is guaranteed
    by (checked against sets of pairs), on distinct pairs without self-guarantees."""
    from zjfin.risks.network.kernels import mutual_partners as _mutual_partners

    n, pairs = case
    pairs = sorted({(g, b) for g, b in pairs if g != b})
    g = np.array([p[0] for p in pairs], dtype=np.int32)
    b = np.array([p[1] for p in pairs], dtype=np.int32)
    expected = [sum((j, i) in pairs for (k, j) in pairs if k == i) for i in range(n)]
    assert _mutual_partners(g, b, n).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1_234_567), max_size=40), st.sampled_from([("GC", 6), ("GG", 7), ("X", 2)]))
def test_ids_are_prefix_and_zero_padded_number(numbers, form):
    """The numpy byte layout gives the same text as Python's formatting; 0 is missing."""
    from zjfin.risks.network.kernels import component_ids as _ids

    prefix, width = form  # numbers past the width (X at 100, GC at 1,000,000) get more digits
    numbers = np.array(numbers, dtype=np.int64)
    expected = [f"{prefix}{x:0{width}d}" if x > 0 else None for x in numbers.tolist()]
    assert _ids(numbers, prefix, width).to_pylist() == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5).flatmap(lambda sizes: st.tuples(
    st.just(sizes),
    st.lists(st.tuples(st.integers(0, sum(sizes) - 1), st.integers(0, 10 ** 6), st.integers(0, 8)), max_size=40),
    st.lists(st.integers(0, sum(sizes) - 1), min_size=1, max_size=8),
    st.integers(0, 40))))
def test_systemic_reach_matches_debtrank_whatever_the_budget(case):
    """Scenarios in blocks of dense cells (each inside its group's node range), whatever the
    cell budget, reach what debtrank() reaches for the same seeds; a work budget cuts the
    later scenarios only, never changes the earlier ones."""
    from zjfin.risks.network.debtrank import systemic_reach

    sizes, raw, seeds, budget = case
    start = np.cumsum(sizes) - sizes
    group_of = np.repeat(np.arange(len(sizes)), sizes)
    rows, cols, weights = [], [], []
    for node, draw, weight in raw:  # borrower `node`, a guarantor inside its own group
        g = group_of[node]
        guarantor = start[g] + draw % sizes[g]
        if guarantor != node:
            rows.append(node), cols.append(guarantor), weights.append(weight / 8)
    n = int(sum(sizes))
    wt = sp.csr_matrix((weights, (rows, cols)), shape=(n, n))
    wt.sum_duplicates()
    wt.data = np.minimum(wt.data, 1.0)
    seeds = np.array(seeds, dtype=np.int64)
    value = np.arange(1, n + 1) / n
    reach, computed = systemic_reach(wt, seeds, start[group_of[seeds]], np.array(sizes)[group_of[seeds]], value,
                                     cell_budget=budget, work_budget=1e12)
    scenario, node, h = debtrank(wt, np.arange(seeds.size), seeds)
    want = np.bincount(scenario, weights=value[node] * h, minlength=seeds.size)
    assert computed.all()
    np.testing.assert_allclose(reach, want, rtol=1e-12)
    cut, done = systemic_reach(wt, seeds, start[group_of[seeds]], np.array(sizes)[group_of[seeds]], value,
                               cell_budget=budget, work_budget=1_500)
    assert not done[np.argmin(done):].any() if not done.all() else True  # a prefix is computed
    np.testing.assert_array_equal(cut[done], reach[done])


def test_chain_depth_public_function_with_unused_component_numbers():
    """Component numbers that no node carries get depth 0 and do not disturb the others."""
    m = sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 2))  # 0 → 1
    assert chain_depth(m, np.array([1, 0]), 3).tolist() == [1, 0, 0]
    assert chain_depth(m, np.array([0, 2]), 3).tolist() == [0, 0, 1]


def test_error_in_the_second_thread_reaches_the_caller(monkeypatch):
    """A failure in the DebtRank lane is raised by guarantee_network, and its thread ends."""
    import threading

    import zjfin.risks.network.stage as stage

    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(stage, "one_scenario", broken)  # the contagion step, on the second lane
    c = random_cases("n60")
    graph = guarantee_graph(c.df, c.frame["firm_id"], AS_OF)
    seeds = c.frame["firm_id"].isin(c.seeds).to_numpy()
    for n_jobs in (1, 2):
        with pytest.raises(RuntimeError, match="broken on purpose"):
            guarantee_network(graph, c.frame, seeds, POLICY, n_jobs=n_jobs)
    assert not [t for t in threading.enumerate() if t.name.startswith("zjfin-lane")]


def test_timings_name_every_step_once():
    """With one thread the second lane's steps run inline and are not counted twice."""
    c = random_cases("n120")
    graph = guarantee_graph(c.df, c.frame["firm_id"], AS_OF)
    seeds = c.frame["firm_id"].isin(c.seeds).to_numpy()
    for n_jobs in (1, 2):
        steps: dict = {}
        guarantee_network(graph, c.frame, seeds, POLICY, timings=steps, n_jobs=n_jobs)
        assert set(steps) - {"waiting for lane 2"} == {"groups", "circles", "depth", "circles_table", "assemble",
                                                       "lane 2: impact", "lane 2: contagion", "lane 2: exposure",
                                                       "lane 2: systemic"}


# --------------------------------------------------------------------------- unfriendly shapes (issue 15 §1)


def _random_network(n: int, per_firm: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    m = int(n * per_firm)
    g, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = g != b
    firms = np.array([f"F{i:07d}" for i in range(n)], dtype=object)
    frame = pd.DataFrame({"firm_id": firms, "equity": rng.lognormal(16, 1, n), "total_assets": rng.lognormal(17, 1, n)})
    guarantees = pd.DataFrame({"guarantor_id": firms[g[keep]], "borrower_id": firms[b[keep]],
                               "amount": rng.lognormal(15, 1, int(keep.sum()))})
    return frame, guarantees, rng.random(n) < 0.01


def test_the_work_budget_serves_the_most_important_firms_first_and_exactly():
    frame, guarantees, seeds = _random_network(3000, 1.5)
    graph = guarantee_graph(guarantees, frame["firm_id"], "2019-03-31")
    full, _ = guarantee_network(graph, frame, seeds, POLICY)
    tight = POLICY.update({"network": {"systemic_max_edge_visits": 2_000_000}})
    part, _ = guarantee_network(graph, frame, seeds, tight)
    status, impact = part.columns["systemic_status"], part.columns["systemic_impact"]
    done = (status == "computed").to_numpy()
    left = status.str.startswith("not computed").to_numpy(dtype=bool, na_value=False)
    assert done.sum() > 0 and left.sum() > 0 and (full.columns["systemic_status"] == "computed").sum() == done.sum() + left.sum()
    # What is computed is exact: the same value as without a budget; the rest is empty.
    np.testing.assert_array_equal(impact[done], full.columns["systemic_impact"][done])
    assert impact[left].isna().all()
    # Served in order of importance: no firm left out gives more guarantees than one computed
    # among the top guarantors (all of them give guarantees here).
    out = part.columns["guarantee_out"]
    assert out[left].max() <= out[done].max()


def test_a_random_graph_stays_within_its_memory(tmp_path):
    """30k firms, 45k guarantees, uniformly random: 10.6 GB and 303 s before. Now the
    child process's peak (interpreter and libraries included) stays under 1 GB."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from test_network import _random_network, POLICY
        from zjfin.risks.network import guarantee_graph, guarantee_network
        frame, guarantees, seeds = _random_network(30000, 1.5)
        policy = POLICY.update({{"network": {{"systemic_max_edge_visits": 20_000_000}}}})
        out, _ = guarantee_network(guarantee_graph(guarantees, frame["firm_id"], "2019-03-31"), frame, seeds, policy)
        # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's peak (pytest's).
        peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(int((out.columns["systemic_status"] == "computed").sum()), peak)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    computed, peak_kb = map(int, done.stdout.strip().splitlines()[-1].split())
    assert computed > 0 and peak_kb < 1 << 20


def test_chain_depth_of_a_long_chain_is_exact():
    # (Its speed is in benchmarks/bench_network_shapes.py: a loop per layer took 48 s at 1M.)
    n = 200_000
    chain = sp.csr_matrix((np.ones(n - 1), (np.arange(n - 1), np.arange(1, n))), shape=(n, n))
    assert np.array_equal(chain_depth(chain, np.arange(n), n), np.arange(n))


def test_both_chain_depth_algorithms_agree(monkeypatch):
    """Layer peeling (short paths) and merge points with pointer jumping (long chains)."""
    from scipy.sparse.csgraph import connected_components

    import zjfin.risks.network.kernels as kernels

    rng = np.random.default_rng(4)
    for trial in range(150):
        n = int(rng.integers(2, 200))
        m = int(rng.integers(0, 3 * n))
        g, b = rng.integers(0, n, m), rng.integers(0, n, m)
        if trial % 2:
            g, b = np.minimum(g, b), np.maximum(g, b)  # acyclic: longer paths
        matrix = sp.csr_matrix((np.ones(m), (g, b)), shape=(n, n))
        matrix.sum_duplicates()
        count, labels = connected_components(matrix, directed=True, connection="strong")
        monkeypatch.setattr(kernels, "_MAX_PEELED_LAYERS", 10**9)
        peeled = kernels.chain_depth(matrix, labels, count)
        monkeypatch.setattr(kernels, "_MAX_PEELED_LAYERS", 0)
        merged = kernels.chain_depth(matrix, labels, count)
        np.testing.assert_array_equal(peeled, merged)
