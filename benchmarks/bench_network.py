"""Guarantee-network benchmark: zjfin's network stage against the SPEC §10 floor and networkx.

Builds one synthetic guarantee network shaped like a bank's (default 3,000,000 firms and
6,000,000 guarantees: 56 % plain chains, 30 % cross structures (18 % complete bipartite
guarantor groups, 12 % mutual pairs), 14 % focal stars, 0.1 % circles of 3–6 firms,
lognormal amounts; every structure inside one community of firms, mean 200), then times
in one process, on that same graph:

- the floor: scipy's strongly connected components on the graph's CSR plus 20 sparse
  matrix–vector products;
- zjfin: ``guarantee_graph`` and ``guarantee_network`` (default policy, ~1 % seed firms),
  with its default two threads and again with one;
- networkx: building the ``DiGraph`` and its strongly connected components (once);

and prints zjfin's total as a ratio to the floor and networkx as a ratio to zjfin. Before
that, the zjfin stage runs in fresh child processes at 1/4, 1/2 and the full size, which
report their peak RSS, so linear growth of memory can be read off.

Usage: python benchmarks/bench_network.py [--nodes N] [--edges E] [--repeat R] [--json PATH]
                                          [--networkx-edges K] [--fractions 0.25,0.5,1]
                                          [--community-size M] [--outside-share S] [--profile]
                                          [--allocator kept|default]

The process first calls ``zjfin.keep_freed_memory()``, as the ``zjfin`` command does
(``--allocator default`` leaves glibc's settings).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

AS_OF = "2019-03-31"
#: Share of guarantees per structure (SPEC): chains take whatever the others leave.
STAR_SHARE, BIPARTITE_SHARE, PAIR_SHARE, CIRCLE_SHARE = 0.14, 0.18, 0.12, 0.001
#: Cross (bipartite) structures: (guarantors, borrowers) and their probabilities.
BIPARTITE_SHAPES = ((2, 2), (2, 3), (3, 2), (3, 3))
BIPARTITE_P = (0.4, 0.25, 0.25, 0.1)
#: Plain chains: probability of a chain of 1, 2, … guarantees.
CHAIN_P = (0.35, 0.25, 0.17, 0.11, 0.07, 0.05)
#: A few Zhejiang county codes (GB/T 2260) for the firm codes; outside firms get Jiangsu's.
REGIONS = ("330102", "330106", "330110", "330203", "330212", "330302", "330402", "330502",
           "330602", "330702", "330782", "330802", "330902", "331002", "331102")
OUTSIDE_REGION = "320102"


# ------------------------------------------------------------------------------ helpers


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _release_free_memory() -> None:
    """Hand freed heap back to the system, so the current RSS is what is alive."""
    import pyarrow as pa

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        pa.default_memory_pool().release_unused()
    except AttributeError:
        pass


def _reset_peak_rss() -> bool:
    """Reset the peak RSS to the current RSS (Linux ≥ 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _sizes_to_total(sizes, total: int):
    """Leading sizes whose sum stays within ``total``, plus one size for the remainder."""
    import numpy as np

    kept = sizes[np.cumsum(sizes) <= total]
    rest = total - int(kept.sum())
    return np.r_[kept, rest] if rest > 0 else kept


def _ranges(starts, lengths):
    """Concatenation of arange(start, start + length) for each pair."""
    import numpy as np

    total = int(lengths.sum())
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + offsets


def _firm_codes(first: int, count: int, region_pick, outside: bool):
    """``count`` distinct, valid 18-character unified social credit codes as an Arrow
    string array: firm k gets the organisation body (k · 7919 + 1,000,003) mod 10^8,
    which is a bijection on 0 … 10^8 − 1 (7919 is prime to 10^8), so codes never repeat."""
    import numpy as np
    import pyarrow as pa

    from zjfin._codes import ORG_WEIGHTS, USCC_CHARSET, USCC_WEIGHTS

    k = np.arange(first, first + count, dtype=np.int64)
    body = (k * 7919 + 1_000_003) % 10**8
    matrix = np.empty((count, 18), dtype=np.uint8)
    matrix[:, 0:2] = np.frombuffer(b"91", dtype=np.uint8)
    regions = np.frombuffer("".join((OUTSIDE_REGION,) if outside else REGIONS).encode(), dtype=np.uint8).reshape(-1, 6)
    matrix[:, 2:8] = regions[region_pick % len(regions)]
    digits = body[:, None] // 10 ** np.arange(7, -1, -1, dtype=np.int64) % 10
    matrix[:, 8:16] = digits + ord("0")
    org_check = 11 - (digits @ ORG_WEIGHTS) % 11  # 10 is written X, 11 is written 0
    matrix[:, 16] = np.frombuffer(b"0123456789X0", dtype=np.uint8)[org_check]
    value = np.full(256, 0, dtype=np.int64)
    value[np.frombuffer(USCC_CHARSET.encode(), dtype=np.uint8)] = np.arange(len(USCC_CHARSET))
    check = (31 - (value[matrix[:, :17]] @ USCC_WEIGHTS) % 31) % 31
    matrix[:, 17] = np.frombuffer(USCC_CHARSET.encode(), dtype=np.uint8)[check]
    offsets = np.arange(0, 18 * (count + 1), 18, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(matrix.reshape(-1)))


# ------------------------------------------------------------------------------ the graph


def build_network(nodes: int, edges: int, seed: int, outside_share: float, community_size: float) -> dict:
    """A synthetic guarantee network, vectorised numpy from one seeded generator.

    Firms fall into communities (think county × industry; lognormal sizes of mean
    ``community_size``, or one community of every firm when it is 0) and every structure
    stays inside one community, so guarantee groups stay bounded as in bank data. Every
    structure follows a global order of firms (larger firms earlier): a chain runs down the
    order, a star's guarantor precedes its borrowers, a cross structure's guarantors
    precede its borrowers. Mutual pairs and circles take firms next to each other in their
    community's order, in disjoint blocks, so their back edges close cycles only inside the
    block: the strongly connected components of two or more firms are exactly the pairs
    and circles whose contracts are all active. A share of the guarantee ends are firms
    outside the firm table.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from zjfin._arrow import TEXT

    rng = np.random.default_rng(seed)
    n_outside = int(round(outside_share * nodes))
    n_all = nodes + n_outside
    assets = np.round(np.exp(rng.normal(np.log(2e7), 1.6, n_all)), -3) + 1e5
    rank = np.empty(n_all, dtype=np.int64)
    rank[np.argsort(-0.6 * np.log(assets) + rng.normal(0.0, 1.5, n_all), kind="stable")] = np.arange(n_all)
    weight = rng.lognormal(0.0, 1.0, n_all)
    weight[nodes:] *= 0.5
    p = weight / weight.sum()

    # Communities: nodes listed by (community, rank); each community is a slice of the list.
    if community_size > 0:
        sizes = np.maximum(np.round(rng.lognormal(np.log(community_size) - 0.5, 1.0, int(1.5 * n_all / community_size) + 10)), 8)
        sizes = _sizes_to_total(sizes.astype(np.int64), n_all)
    else:
        sizes = np.array([n_all])
    community = np.repeat(np.arange(len(sizes)), sizes)[rng.permutation(n_all)]
    listed = np.lexsort((rank, community))
    position = np.empty(n_all, dtype=np.int64)
    position[listed] = np.arange(n_all)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    last = first + sizes  # one past
    cdf = np.cumsum(p[listed])
    community_weight = np.bincount(community, weights=p, minlength=len(sizes))
    below = cdf[first] - p[listed][first]
    parts: dict[str, tuple] = {}

    def draw_within(member_community):
        """One node per entry, by weight, inside the given community."""
        u = below[member_community] + rng.random(member_community.size) * community_weight[member_community]
        at = np.clip(np.searchsorted(cdf, u, side="right"), first[member_community], last[member_community] - 1)
        return listed[at]

    def sorted_groups(group_sizes):
        """Groups of the given sizes, each inside one community (chosen by weight), in rank order."""
        group = np.repeat(np.arange(len(group_sizes), dtype=np.int64), group_sizes)
        chosen = rng.choice(len(sizes), size=len(group_sizes), p=community_weight / community_weight.sum())
        members = draw_within(np.repeat(chosen, group_sizes))
        order = np.argsort(group * n_all + position[members], kind="stable")
        return members[order], group

    # Mutual pairs and circles: disjoint blocks of six consecutive places of the list, each
    # inside one community (circles need all six places, pairs the first two).
    n_blocks = n_all // 6
    head = listed[: 6 * n_blocks].reshape(n_blocks, 6)
    inside = np.cumprod(community[head] == community[head[:, :1]], axis=1).sum(axis=1)
    candidates = rng.permutation(np.flatnonzero(inside == 6))
    n_circle = min(int(round(CIRCLE_SHARE * edges / 4.5)), candidates.size)
    circle_blocks = candidates[:n_circle] * 6
    pair_candidates = rng.permutation(np.setdiff1d(np.flatnonzero(inside >= 2), candidates[:n_circle]))
    n_pair = min(int(round(PAIR_SHARE * edges / 2)), pair_candidates.size)
    pair_low, pair_high = listed[pair_candidates[:n_pair] * 6], listed[pair_candidates[:n_pair] * 6 + 1]
    parts["mutual pairs"] = (np.r_[pair_low, pair_high], np.r_[pair_high, pair_low], rng.random(2 * n_pair) < 0.2)
    circle_size = rng.integers(3, 7, n_circle)
    circle_places = _ranges(circle_blocks, circle_size)
    ends = np.cumsum(circle_size)
    following = np.arange(circle_places.size) + 1
    following[ends - 1] = ends - circle_size
    parts["circles"] = (listed[circle_places], listed[circle_places[following]], np.zeros(circle_places.size, bool))

    # Focal stars: a guarantor drawn by size (one large firm heads several stars), borrowers
    # anywhere after it in its community; star sizes heavy-tailed, 2 … 300.
    star_sizes = np.clip(np.round(2 + rng.lognormal(1.0, 0.8, int(STAR_SHARE * edges / 4) + 10)), 2, 300).astype(np.int64)
    star_sizes = _sizes_to_total(star_sizes, int(round(STAR_SHARE * edges)))
    hub = np.repeat(rng.choice(n_all, size=len(star_sizes), p=assets / assets.sum()), star_sizes)
    at, stop = position[hub], last[community[hub]]
    later = at + 1 + (rng.random(hub.size) * (stop - at - 1)).astype(np.int64)
    parts["focal stars"] = (hub, listed[np.minimum(later, stop - 1)], np.zeros(hub.size, bool))

    # Cross structures: complete bipartite guarantor groups; 20 % joint guarantees (联保).
    shape_edges = np.array([m * k for m, k in BIPARTITE_SHAPES])
    n_bip = int(round(BIPARTITE_SHARE * edges / (np.array(BIPARTITE_P) @ shape_edges)))
    shape = rng.choice(len(BIPARTITE_SHAPES), size=n_bip, p=BIPARTITE_P)
    cross_g, cross_b, cross_joint = [], [], []
    for s, (m, k) in enumerate(BIPARTITE_SHAPES):
        count = int((shape == s).sum())
        members, _ = sorted_groups(np.full(count, m + k))
        members = members.reshape(count, m + k)
        cross_g.append(np.repeat(members[:, :m], k, axis=1).ravel())
        cross_b.append(np.tile(members[:, m:], (1, m)).ravel())
        cross_joint.append(np.repeat(rng.random(count) < 0.2, m * k))
    parts["cross structures"] = (np.concatenate(cross_g), np.concatenate(cross_b), np.concatenate(cross_joint))

    # Plain chains take the rest: 1 … 6 guarantees each, down the order.
    rest = max(edges - sum(part[0].size for part in parts.values()), 0)
    mean_length = np.array(CHAIN_P) @ np.arange(1, len(CHAIN_P) + 1)
    lengths = rng.choice(np.arange(1, len(CHAIN_P) + 1), size=int(1.05 * rest / mean_length) + 10, p=CHAIN_P)
    lengths = _sizes_to_total(lengths, rest)
    members, group = sorted_groups(lengths + 1)
    same = group[1:] == group[:-1]
    parts["plain chains"] = (members[:-1][same], members[1:][same], np.zeros(int(same.sum()), bool))

    structure = np.concatenate([np.full(part[0].size, i, dtype=np.int8) for i, part in enumerate(parts.values())])
    g = np.concatenate([part[0] for part in parts.values()])
    b = np.concatenate([part[1] for part in parts.values()])
    joint = np.concatenate([part[2] for part in parts.values()])
    keep = g != b  # a firm drawn twice into one chain
    shuffle = rng.permutation(np.flatnonzero(keep))  # rows in no structural order
    g, b, joint, structure = g[shuffle], b[shuffle], joint[shuffle], structure[shuffle]
    ne = g.size

    # Amounts: lognormal, rounded to 10,000 yuan; a few zero.
    amount = np.maximum(np.round(rng.lognormal(np.log(3e6), 1.3, ne), -4), 1e4)
    amount[rng.random(ne) < 0.0005] = 0.0
    # Dates: mostly missing or active at the as-of date; ~6 % ended or not yet started.
    as_of = np.datetime64(AS_OF, "D")
    state = rng.random(ne)
    day = np.timedelta64(1, "D")
    start = (as_of - (1 + rng.integers(0, 1200, ne)) * day).astype("datetime64[ns]")
    end = (as_of + (1 + rng.integers(0, 1100, ne)) * day).astype("datetime64[ns]")
    start[state < 0.55] = np.datetime64("NaT")
    end[(state < 0.55) | ((state >= 0.90) & (state < 0.94))] = np.datetime64("NaT")
    ended = (state >= 0.94) & (state < 0.97)
    end[ended] = (as_of - rng.integers(0, 400, int(ended.sum())) * day).astype("datetime64[ns]")
    start[ended] = end[ended] - (30 + rng.integers(0, 700, int(ended.sum()))) * day
    later_start = state >= 0.97
    start[later_start] = (as_of + (1 + rng.integers(0, 200, int(later_start.sum()))) * day).astype("datetime64[ns]")
    active = (np.isnat(start) | (start <= as_of)) & (np.isnat(end) | (end > as_of))

    ids = pa.concat_arrays([_firm_codes(0, nodes, rng.integers(0, len(REGIONS), nodes), False),
                            _firm_codes(nodes, n_outside, np.zeros(n_outside, np.int64), True)])
    kind = pa.DictionaryArray.from_arrays(pa.array(joint.astype(np.int8)), pa.array(["general", "joint"])).cast(pa.string())
    guarantees = pd.DataFrame({
        "guarantor_id": pd.array(ids.take(pa.array(g)), dtype=TEXT),
        "borrower_id": pd.array(ids.take(pa.array(b)), dtype=TEXT),
        "amount": amount,
        "start_date": start,
        "end_date": end,
        "kind": pd.array(kind, dtype=TEXT),
        "guarantor_idx": np.where(g < nodes, g, -1),
        "borrower_idx": np.where(b < nodes, b, -1),
    })
    equity = np.round(assets[:nodes] * rng.uniform(0.05, 0.6, nodes), -3)
    bad = rng.random(nodes) < 0.02  # equity ≤ 0: a quarter exactly 0
    equity[bad] = -np.round(assets[:nodes][bad] * rng.uniform(0.0, 0.3, int(bad.sum())), -3) * (rng.random(int(bad.sum())) < 0.75)
    frame = pd.DataFrame({"firm_id": pd.array(ids.slice(0, nodes), dtype=TEXT), "equity": equity, "total_assets": assets[:nodes]})
    seeds = rng.random(nodes) < 0.01
    return {
        "guarantees": guarantees, "frame": frame, "seeds": seeds, "g": g, "b": b, "amount": amount, "active": active,
        "n_all": n_all,
        "stats": {
            "firms": nodes, "outside_firms": n_outside, "communities": len(sizes), "largest_community": int(sizes.max()),
            "guarantees": ne, "active_guarantees": int(active.sum()),
            "by_structure": {name: int((structure == i).sum()) for i, name in enumerate(parts)},
            "joint_guarantees": int(joint.sum()), "mutual_pairs": n_pair, "circles": n_circle, "seed_firms": int(seeds.sum()),
            "equity_not_positive": int((equity <= 0).sum()),
        },
    }


# ------------------------------------------------------------------------------ stages


def zjfin_stage(net: dict, policy, n_jobs: int | None = None) -> tuple[float, float, object, object]:
    """guarantee_graph then guarantee_network; returns their times and results."""
    from zjfin.risks.network import guarantee_graph, guarantee_network

    start = time.perf_counter()
    graph = guarantee_graph(net["guarantees"], net["frame"]["firm_id"], AS_OF)
    built = time.perf_counter()
    steps: dict = {}
    out = guarantee_network(graph, net["frame"], net["seeds"], policy, timings=steps, n_jobs=n_jobs)
    zjfin_stage.steps = steps  # seconds per step of the last run
    return built - start, time.perf_counter() - built, graph, out


def time_zjfin(net: dict, repeat: int, n_jobs: int | None = None) -> dict:
    from zjfin._policy import Policy

    policy = Policy.default()
    graph_s, network_s, total_s, steps = [], [], [], []
    result = None
    for _ in range(repeat):
        result = graph = out = None  # the previous run's results are not alive during this one
        gc.collect()
        t_graph, t_network, graph, out = zjfin_stage(net, policy, n_jobs)
        graph_s.append(t_graph)
        network_s.append(t_network)
        total_s.append(t_graph + t_network)
        steps.append(zjfin_stage.steps)
        result = (graph, out)
    graph, (engine, circles) = result
    return {
        "guarantee_graph_s": statistics.median(graph_s), "guarantee_network_s": statistics.median(network_s),
        "total_s": statistics.median(total_s), "total_runs_s": total_s,
        # A step may be missing from a run ("waiting for lane 2" when lane 2 was done in time).
        "steps_s": {k: statistics.median(run.get(k, 0.0) for run in steps) for k in dict.fromkeys(k for run in steps for k in run)},
        "graph_nodes": int(graph.n_nodes), "graph_pairs": int(graph.matrix.nnz), "guarantees_used": int(graph.guarantees_used),
        "circles": int(len(circles)), "high_risk_firms": int((engine.columns["guarantee_risk"] == "high").sum()),
        "max_chain_depth": int(engine.columns["chain_depth"].max()),
        "largest_group": int(engine.columns["guarantee_group_size"].max()),
        "systemic_scenarios": int(engine.columns["systemic_impact"].notna().sum()),
    }


def time_floor(net: dict, repeat: int) -> dict:
    """scipy SCC on the CSR of the active graph, plus 20 products csr @ x."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    active = net["active"]
    start = time.perf_counter()
    csr = sp.csr_matrix((net["amount"][active], (net["g"][active], net["b"][active])), shape=(net["n_all"],) * 2)
    csr_build = time.perf_counter() - start
    x = np.random.default_rng(1).random(net["n_all"])
    scc_s, matvec_s, total_s = [], [], []
    n_strong = labels = None
    for _ in range(repeat):
        start = time.perf_counter()
        n_strong, labels = connected_components(csr, directed=True, connection="strong")
        middle = time.perf_counter()
        for _ in range(20):
            csr @ x
        stop = time.perf_counter()
        scc_s.append(middle - start)
        matvec_s.append(stop - middle)
        total_s.append(stop - start)
    sizes = np.bincount(labels, minlength=n_strong)
    return {
        "scc_s": statistics.median(scc_s), "matvec_20_s": statistics.median(matvec_s), "total_s": statistics.median(total_s),
        "csr_build_s": csr_build, "nodes": int(csr.shape[0]), "stored_pairs": int(csr.nnz),
        "scc_two_or_more": int((sizes >= 2).sum()), "largest_scc": int(sizes.max()),
    }


def time_networkx(net: dict, prefix: int | None) -> dict:
    """DiGraph + add_edges_from, then strongly_connected_components, once."""
    import networkx as nx
    import numpy as np

    rows = np.flatnonzero(net["active"])
    full = prefix is None or prefix >= rows.size
    rows = rows if full else rows[:prefix]
    guarantors, borrowers = net["g"][rows].tolist(), net["b"][rows].tolist()
    start = time.perf_counter()
    graph = nx.DiGraph()
    if full:
        graph.add_nodes_from(range(net["n_all"]))
    graph.add_edges_from(zip(guarantors, borrowers))
    built = time.perf_counter()
    n_components, two_or_more = 0, 0
    for component in nx.strongly_connected_components(graph):
        n_components += 1
        two_or_more += len(component) >= 2
    done = time.perf_counter()
    figures = {"edges_used": int(rows.size), "full_graph": full, "nodes": graph.number_of_nodes(),
               "build_s": built - start, "scc_s": done - built, "total_s": done - start,
               "components": n_components, "scc_two_or_more": two_or_more}
    # A prefix: its time scaled linearly to the whole graph (an estimate).
    figures["full_size_s"] = figures["total_s"] if full else figures["total_s"] * int(net["active"].sum()) / max(rows.size, 1)
    del graph
    gc.collect()
    return figures


def profile_zjfin(net: dict, top: int = 25) -> dict:
    """cProfile one zjfin stage; the top cumulative entries in zjfin/risks/network/ and overall."""
    import cProfile
    import pstats

    from zjfin._policy import Policy

    policy = Policy.default()
    profiler = cProfile.Profile()
    profiler.enable()
    zjfin_stage(net, policy)
    profiler.disable()
    stats = pstats.Stats(profiler)

    def rows(keep):
        entries = []
        for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
            if keep(file):
                entries.append({"function": f"{Path(file).name}:{line}({name})", "calls": calls,
                                "own_s": round(own, 4), "cumulative_s": round(cumulative, 4)})
        return sorted(entries, key=lambda e: -e["cumulative_s"])[:top]

    inside = os.path.join("zjfin", "risks", "network") + os.sep
    # What the functions of the network package spend their time in (numpy, scipy, pyarrow calls).
    callees = []
    for (file, line, name), (*_, callers) in stats.stats.items():
        for (caller_file, _, caller_name), (_, calls, own, cumulative) in callers.items():
            if caller_file.endswith(inside) and not file.endswith(inside):
                callees.append({"function": f"{Path(file).name}:{line}({name})", "called_from": caller_name, "calls": calls,
                                "own_s": round(own, 4), "cumulative_s": round(cumulative, 4)})
    callees = sorted(callees, key=lambda e: -e["cumulative_s"])[:top]
    return {"network_py": rows(lambda f: inside in f), "callees": callees, "overall": rows(lambda f: True)}


# ------------------------------------------------------------------------------ memory


def child(nodes: int, edges: int, seed: int, outside_share: float, community_size: float, repeat: int) -> dict:
    """One zjfin stage in this (fresh) process: its times and the RSS around it."""
    import numpy as np  # noqa: F401  (imports before the baseline)
    import pandas as pd  # noqa: F401
    import scipy.sparse  # noqa: F401

    import zjfin.risks.network  # noqa: F401
    from zjfin._policy import Policy

    policy = Policy.default()
    _release_free_memory()
    baseline = _rss_now_mb()
    net = build_network(nodes, edges, seed, outside_share, community_size)
    for key in ("g", "b", "amount", "active"):  # the floor's arrays: not the stage's input
        del net[key]
    _release_free_memory()
    with_input = _rss_now_mb()
    peak_with_build = _peak_rss_mb()
    reset = _reset_peak_rss()
    graph_s, network_s, total_s = [], [], []
    for _ in range(repeat):
        t_graph, t_network, graph, out = zjfin_stage(net, policy)
        del graph, out
        gc.collect()
        graph_s.append(t_graph)
        network_s.append(t_network)
        total_s.append(t_graph + t_network)
    return {
        "nodes": nodes, "edges": edges, "guarantee_graph_s": statistics.median(graph_s),
        "guarantee_network_s": statistics.median(network_s), "total_s": statistics.median(total_s),
        "baseline_rss_mb": baseline, "input_rss_mb": with_input, "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_with_build_mb": peak_with_build, "peak_reset": reset,
    }


def memory_series(args) -> list[dict]:
    rows = []
    for fraction in args.fractions:
        nodes, edges = int(round(args.nodes * fraction)), int(round(args.edges * fraction))
        done = subprocess.run([sys.executable, __file__, "--child", "--nodes", str(nodes), "--edges", str(edges),
                               "--seed", str(args.seed), "--outside-share", str(args.outside_share),
                               "--community-size", str(args.community_size), "--repeat", str(args.repeat),
                               "--allocator", args.allocator],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  child at {fraction:g} × failed:\n{done.stderr}", file=sys.stderr)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["fraction"] = fraction
        # Stage peak above the RSS before the input was built: input + stage working memory.
        row["peak_over_baseline_mb"] = row["peak_rss_mb"] - row["baseline_rss_mb"]
        row["bytes_per_node"] = row["peak_over_baseline_mb"] * 2**20 / nodes
        # Stage peak above the RSS with the input in memory: zjfin's own working memory.
        row["stage_mb"] = row["peak_rss_mb"] - row["input_rss_mb"]
        row["stage_bytes_per_node"] = row["stage_mb"] * 2**20 / nodes
        rows.append(row)
        print(f"  memory child {fraction:g} × ({nodes:,} firms, {edges:,} guarantees): zjfin {row['total_s']:.2f} s, "
              f"peak RSS {row['peak_rss_mb']:,.0f} MB", flush=True)
    return rows


# ------------------------------------------------------------------------------ main


def _fractions(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=3_000_000, help="firms in the firm table")
    parser.add_argument("--edges", type=int, default=6_000_000, help="guarantees")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--outside-share", type=float, default=0.01,
                        help="firms named only by guarantees, as a share of --nodes (default 0.01)")
    parser.add_argument("--community-size", type=float, default=200.0,
                        help="mean firms per community; structures stay inside one (default 200; 0: one community of all firms)")
    parser.add_argument("--networkx-edges", type=int, default=None,
                        help="run networkx on the first K active guarantees only (default: the whole graph; 0 skips it)")
    parser.add_argument("--fractions", type=_fractions, default=_fractions("0.25,0.5,1"),
                        help="sizes of the memory children, as fractions of the full size (default 0.25,0.5,1; '' skips)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one zjfin stage")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--allocator", choices=("kept", "default"), default="kept",
                        help="'kept' (default): zjfin.keep_freed_memory() first, as the zjfin command does; "
                             "'default': glibc's own settings")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    allocator_kept = False
    if args.allocator == "kept":  # before anything is measured, for the floor and zjfin alike
        from zjfin import keep_freed_memory

        allocator_kept = keep_freed_memory()
    if args.child:
        print(json.dumps(child(args.nodes, args.edges, args.seed, args.outside_share, args.community_size, args.repeat)))
        return

    print(f"zjfin guarantee-network benchmark — {args.nodes:,} firms, {args.edges:,} guarantees, median of {args.repeat}", flush=True)
    print(f"  allocator: {'freed memory kept for reuse (zjfin.keep_freed_memory)' if allocator_kept else 'glibc defaults'}"
          " — the same for the floor, zjfin and networkx", flush=True)
    figures: dict = {"nodes": args.nodes, "edges": args.edges, "seed": args.seed, "repeat": args.repeat,
                     "outside_share": args.outside_share, "community_size": args.community_size,
                     "allocator_kept": allocator_kept}
    figures["memory"] = memory_series(args)

    start = time.perf_counter()
    net = build_network(args.nodes, args.edges, args.seed, args.outside_share, args.community_size)
    figures["build_s"] = time.perf_counter() - start
    figures["network"] = net["stats"]
    figures["floor"] = floor = time_floor(net, args.repeat)
    figures["zjfin"] = zj = time_zjfin(net, args.repeat)
    figures["zjfin_one_thread"] = zj1 = time_zjfin(net, args.repeat, n_jobs=1)
    figures["profile"] = profile_zjfin(net) if args.profile else None
    if args.networkx_edges == 0:
        figures["networkx"] = nxf = None
    else:
        print("  networkx running …", flush=True)
        figures["networkx"] = nxf = time_networkx(net, args.networkx_edges)
    figures["ratios"] = {
        "zjfin total / floor": zj["total_s"] / floor["total_s"],
        "zjfin one thread / floor": zj1["total_s"] / floor["total_s"],
        "guarantee_graph / floor": zj["guarantee_graph_s"] / floor["total_s"],
        "guarantee_network / floor": zj["guarantee_network_s"] / floor["total_s"],
    }
    if nxf:
        key = "networkx / zjfin total" if nxf["full_graph"] else "networkx (scaled, est.) / zjfin total"
        figures["ratios"][key] = nxf["full_size_s"] / zj["total_s"]
        # Like for like: the graph and its strongly connected components, on both sides.
        figures["ratios"]["networkx / zjfin graph + circles"] = (
            nxf["full_size_s"] / (zj["guarantee_graph_s"] + zj["steps_s"].get("circles", 0.0)))
    figures["peak_rss_mb"] = _peak_rss_mb()

    stats = figures["network"]
    print(f"  synthetic network: built in {figures['build_s']:.1f} s; {stats['guarantees']:,} guarantees "
          f"({stats['active_guarantees']:,} active, {stats['joint_guarantees']:,} joint), "
          f"{stats['outside_firms']:,} outside firms, {stats['seed_firms']:,} seed firms; "
          f"{stats['communities']:,} communities (largest {stats['largest_community']:,} firms)")
    print("    by structure: " + ", ".join(f"{k} {v:,} ({v / stats['guarantees']:.1%})" for k, v in stats["by_structure"].items()))
    print(f"    designed: {stats['mutual_pairs']:,} mutual pairs, {stats['circles']:,} circles; "
          f"scipy finds {floor['scc_two_or_more']:,} SCCs of ≥ 2 nodes (largest {floor['largest_scc']}), "
          f"zjfin {zj['circles']:,} circles (a pair or circle with an inactive contract is none)")
    print(f"    zjfin: largest guarantee group {zj['largest_group']:,} firms, deepest chain {zj['max_chain_depth']}, "
          f"{zj['systemic_scenarios']:,} systemic-impact scenarios, {zj['high_risk_firms']:,} firms at high risk")
    print(f"    graph: {floor['nodes']:,} nodes, {floor['stored_pairs']:,} distinct pairs (zjfin: {zj['graph_nodes']:,} nodes, "
          f"{zj['graph_pairs']:,} pairs)")
    print("  floor (same run, same graph):")
    print(f"    {'scipy strong components':<34} {floor['scc_s']:8.3f} s")
    print(f"    {'20 × csr @ x':<34} {floor['matvec_20_s']:8.3f} s")
    print(f"    {'floor total':<34} {floor['total_s']:8.3f} s")
    print(f"    {'(CSR construction, not in floor)':<34} {floor['csr_build_s']:8.3f} s")
    print("  zjfin:")
    print(f"    {'guarantee_graph':<34} {zj['guarantee_graph_s']:8.3f} s")
    print(f"    {'guarantee_network':<34} {zj['guarantee_network_s']:8.3f} s")
    for step, seconds in zj["steps_s"].items():  # the second thread's steps indented
        label = f"  {step}" if step.startswith("lane 2") else step
        print(f"      {label:<32} {seconds:8.3f} s")
    print(f"    {'total':<34} {zj['total_s']:8.3f} s   (runs: {', '.join(f'{t:.2f}' for t in zj['total_runs_s'])})")
    print(f"    {'total, one thread (n_jobs=1)':<34} {zj1['total_s']:8.3f} s   "
          f"(runs: {', '.join(f'{t:.2f}' for t in zj1['total_runs_s'])})")
    if nxf:
        label = "networkx" if nxf["full_graph"] else f"networkx (first {nxf['edges_used']:,} active guarantees)"
        print(f"  {label}:")
        print(f"    {'DiGraph + add_edges_from':<34} {nxf['build_s']:8.3f} s")
        print(f"    {'strongly_connected_components':<34} {nxf['scc_s']:8.3f} s")
        print(f"    {'total':<34} {nxf['total_s']:8.3f} s")
        if not nxf["full_graph"]:
            print(f"    {'scaled to the whole graph (est.)':<34} {nxf['full_size_s']:8.3f} s")
    print("  ratios:")
    for k, v in figures["ratios"].items():
        target = {"zjfin total / floor": "   (target ≤ 2×)", "zjfin one thread / floor": "   (the floor runs on one thread)",
                  "networkx / zjfin total": "   (target ≥ 50×)",
                  "networkx (scaled, est.) / zjfin total": "   (target ≥ 50×)",
                  "networkx / zjfin graph + circles": "   (the same work: graph build + strong components)"}.get(k, "")
        print(f"    {k:<34} {v:8.2f}×{target}")
    if figures["memory"]:
        print("  memory (zjfin stage in a fresh process per size; RSS in MB):")
        print(f"    {'size':>5} {'firms':>11} {'guarantees':>11} {'zjfin s':>8} {'baseline':>9} {'w/ input':>9} "
              f"{'peak':>8} {'peak−base':>10} {'B/firm':>7} {'stage':>8} {'stage B/firm':>13}")
        for row in figures["memory"]:
            print(f"    {row['fraction']:>5g} {row['nodes']:>11,} {row['edges']:>11,} {row['total_s']:>8.2f} "
                  f"{row['baseline_rss_mb']:>9,.0f} {row['input_rss_mb']:>9,.0f} {row['peak_rss_mb']:>8,.0f} "
                  f"{row['peak_over_baseline_mb']:>10,.0f} {row['bytes_per_node']:>7,.0f} {row['stage_mb']:>8,.0f} "
                  f"{row['stage_bytes_per_node']:>13,.0f}")
        if not all(row["peak_reset"] for row in figures["memory"]):
            print("    (the peak could not be reset after building the input: 'peak' includes building it)")
    if figures["profile"]:
        print("  cProfile of one zjfin stage, top cumulative in zjfin/risks/network/:")
        for entry in figures["profile"]["network_py"]:
            print(f"    {entry['cumulative_s']:8.3f} s cum {entry['own_s']:8.3f} s own {entry['calls']:>6}×  {entry['function']}")
        print("  … and the calls they spend it in:")
        for entry in figures["profile"]["callees"][:15]:
            print(f"    {entry['cumulative_s']:8.3f} s cum {entry['own_s']:8.3f} s own {entry['calls']:>6}×  "
                  f"{entry['function']} from {entry['called_from']}")
    print(f"  peak RSS of the measuring process: {figures['peak_rss_mb']:,.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
