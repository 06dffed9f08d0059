"""The guarantee-network stage (SPEC §3.6) as named steps on two lanes.

``guarantee_network`` hands the steps to the shared lane runner (:class:`zjfin._lanes.Lanes`)
in this order, each taking the results it names:

=============  ====  ===============================================================
step           lane  what
=============  ====  ===============================================================
exposure       2     per-firm sums and mutual pairs, on the graph as built
groups         1     weak components; the graph renumbered group by group
impact         2     DebtRank's W, transposed (borrower → guarantors)
contagion      2     DebtRank over the province from the distressed firms
circles        1     strong components, circle sizes, amounts and numbers
systemic       2     one DebtRank scenario per chosen firm; circle and group ids
depth          1     chain depth over the condensation
circles_table  1     one row per circle
=============  ====  ===============================================================

then the rules (G1–G6) and the columns. Lane 2 is a second thread with ``n_jobs`` ≥ 2; with
one thread the steps run one after the other, with the same results.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from zjfin._arrow import as_text
from zjfin._lanes import Lanes
from zjfin._policy import Policy
from zjfin.risks import EngineOutput
from zjfin.risks.network.debtrank import impact_matrix, one_scenario, systemic_reach
from zjfin.risks.network.graph import GuaranteeGraph, guarantee_graph  # noqa: F401 - the example's
from zjfin.risks.network.kernels import (
    chain_depth,
    component_ids,
    csr_edges,
    first_node,
    grouped_order,
    mutual_partners,
    numbered,
    renumbered,
)
from zjfin.risks.network.rules import guarantee_reasons, systemic_candidates

#: Dense DebtRank cells per node for the systemic-impact scenarios (16 bytes each): the
#: stage's memory stays linear in firms whatever the graph's shape.
SYSTEMIC_CELLS_PER_NODE = 4
#: ``systemic_status`` of a chosen firm the work budget left out.
NOT_COMPUTED = "not computed: work budget ([network] systemic_max_edge_visits) spent on larger firms"

__all__ = ["guarantee_network", "circles_table"]


class Groups(NamedTuple):
    """The weak components and the graph renumbered group by group (its "local" numbering)."""

    weak: np.ndarray  # component of each node
    size: np.ndarray  # nodes per component
    order: np.ndarray  # local node → node
    at: np.ndarray  # each firm's local node
    start: np.ndarray  # where each group begins in the local numbering
    number: np.ndarray  # group number of each component (0: a lone node)
    local: sp.csr_matrix  # the graph in the local numbering
    guarantor: np.ndarray  # the local graph's entries, row-major
    borrower: np.ndarray
    amount: np.ndarray
    seed: np.ndarray  # distressed at the start, local numbering


class Circles(NamedTuple):
    """The strong components of the local graph and the circles among them."""

    strong: np.ndarray  # component of each local node
    size: np.ndarray
    of_guarantor: np.ndarray  # component of each entry's two ends
    of_borrower: np.ndarray
    amount: np.ndarray  # amount inside each component
    edges: np.ndarray  # guarantees inside each component
    circle: np.ndarray  # the components that are circles (two or more firms)
    number: np.ndarray  # circle number of each component (0: none)
    of_firm: np.ndarray  # each firm's component
    in_circle: np.ndarray  # per firm


def exposure_and_reciprocity(matrix: sp.csr_matrix, seeds: np.ndarray, equity: np.ndarray,
                             equity_ok: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Row sums, column sums, one product with the seed vector and reciprocal pairs, on the
    graph as built (firm order): they need nothing from the groups. Each firm's entries are
    added in the same order as in the renumbered graph, so the sums are the same to the bit."""
    n_nodes = matrix.shape[0]
    guarantor, borrower, amount = csr_edges(matrix)
    out_amount = np.bincount(guarantor, weights=amount, minlength=n_nodes)[:n]
    seed_vector = np.zeros(n_nodes)
    seed_vector[:n] = seeds
    to_distressed = (matrix @ seed_vector)[:n]
    return {
        "guarantee_out": out_amount,
        "guarantee_in": np.bincount(borrower, weights=amount, minlength=n_nodes)[:n],
        "guarantee_out_ratio": np.divide(out_amount, equity, out=np.full(n, np.nan), where=equity_ok),
        "guarantee_to_distressed": to_distressed,
        "guarantee_to_distressed_ratio": np.divide(to_distressed, equity, out=np.full(n, np.nan), where=equity_ok),
        "mutual_partners": mutual_partners(guarantor, borrower, n_nodes)[:n],
        "gives": (np.diff(matrix.indptr) > 0)[:n],
        "receives": (np.bincount(borrower, minlength=n_nodes) > 0)[:n],
    }


def groups(matrix: sp.csr_matrix, seeds: np.ndarray, n: int) -> Groups:
    """Groups: weakly connected components. Everything after works on the graph renumbered
    group by group: firm positions scatter a group over the whole province, side by side its
    firms share cache lines (strong components alone run about 7× faster at 3M firms).
    Inside a group, nodes keep their order, so "first member" means the same in both
    numberings."""
    n_nodes = matrix.shape[0]
    n_weak, weak = connected_components(matrix, directed=True, connection="weak")
    size = np.bincount(weak, minlength=n_weak)
    order = grouped_order(weak, n_weak)  # local node → node
    position = np.empty(n_nodes, dtype=matrix.indices.dtype)  # node → local node
    position[order] = np.arange(n_nodes, dtype=position.dtype)
    at = position[:n]
    start = np.cumsum(size) - size
    first = order[start]
    is_group = size >= 2
    number = numbered(n_weak, np.flatnonzero(is_group), [first[is_group], -size[is_group]])
    local = renumbered(matrix, order, position)
    guarantor, borrower, amount = csr_edges(local)
    seed = np.zeros(n_nodes, dtype=bool)
    seed[at] = seeds
    return Groups(weak, size, order, at, start, number, local, guarantor, borrower, amount.astype(float, copy=False), seed)


def impact(groups: Groups, equity: np.ndarray) -> sp.csr_matrix:
    """DebtRank's W, transposed (row j: borrower j's guarantors), in the local numbering."""
    node_equity = np.full(groups.local.shape[0], np.nan)
    node_equity[groups.at] = equity
    return impact_matrix(groups.local, node_equity, groups.guarantor)


def contagion(groups: Groups, impact: sp.csr_matrix, seeds: np.ndarray) -> np.ndarray:
    """DebtRank over the whole province (h per local node). Seeds in firm order: shares add
    up in the order the firm-numbered graph gives them."""
    node, h = one_scenario(impact, groups.at[np.flatnonzero(seeds)])
    out = np.zeros(groups.local.shape[0])
    out[node] = h
    return out


def circles(groups: Groups) -> Circles:
    """Circles: strongly connected components of two or more firms; numbered largest first,
    then by amount, then by the first member's position."""
    n_strong, strong = connected_components(groups.local, directed=True, connection="strong")
    size = np.bincount(strong, minlength=n_strong)
    of_guarantor, of_borrower = strong[groups.guarantor], strong[groups.borrower]
    internal = of_guarantor == of_borrower
    amount = np.bincount(of_guarantor[internal], weights=groups.amount[internal], minlength=n_strong)
    edges = np.bincount(of_guarantor[internal], minlength=n_strong)
    circle = np.flatnonzero(size >= 2)
    circle_first = groups.order[first_node(strong, n_strong)[circle]]
    number = numbered(n_strong, circle, [circle_first, -amount[circle], -size[circle]])
    of_firm = strong[groups.at]
    return Circles(strong, size, of_guarantor, of_borrower, amount, edges, circle, number, of_firm,
                   (size >= 2)[of_firm])


def systemic_impact_and_ids(groups: Groups, circles: Circles, exposure: dict[str, np.ndarray], impact: sp.csr_matrix,
                            assets: np.ndarray, policy: Policy, n: int) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """One DebtRank scenario per chosen firm for systemic impact (R = Σ v_i h_i(T) − the
    seed's own value, v = share of the province's assets), then the circle and group ids."""
    n_nodes = groups.local.shape[0]
    node_value = np.zeros(n_nodes)  # in firm order: the total is the same sum as ever
    node_value[:n] = np.where(np.isfinite(assets) & (assets > 0), assets, 0.0)
    total_value = node_value.sum()
    value = np.zeros(n_nodes)
    value[groups.at] = node_value[:n] / total_value if total_value > 0 else node_value[:n]
    chosen = systemic_candidates(circles.in_circle, exposure["gives"], exposure["guarantee_out"], exposure["guarantee_in"],
                                 policy.network, ranked_order=True)
    systemic = np.full(n, np.nan)
    status = np.full(n, None, dtype=object)
    if chosen.size:
        # Distress never leaves a guarantee group, and groups are ranges of nodes here. Dense
        # cells, at most SYSTEMIC_CELLS_PER_NODE per node: memory linear whatever the shape.
        group = groups.weak[chosen]
        reached, computed = systemic_reach(impact, groups.at[chosen], groups.start[group], groups.size[group], value,
                                           cell_budget=max(SYSTEMIC_CELLS_PER_NODE * n_nodes, 1 << 16),
                                           work_budget=float(policy.network.systemic_max_edge_visits))
        systemic[chosen] = np.where(computed, np.maximum(reached - value[groups.at[chosen]], 0.0), np.nan)
        status[chosen] = np.where(computed, "computed", NOT_COMPUTED)
    circle_ids = component_ids(circles.number[circles.of_firm], "GC", 6)
    group_ids = component_ids(groups.number[groups.weak[:n]], "GG", 7)
    return (systemic, status), circle_ids, group_ids


def depth(groups: Groups, circles: Circles) -> np.ndarray:
    """Chain depth of each firm: the longest guarantee path into its circle (or itself)."""
    components = chain_depth(groups.local, circles.strong, len(circles.size),
                             src_label=circles.of_guarantor, dst_label=circles.of_borrower)
    return components[circles.of_firm]


def guarantee_network(graph: GuaranteeGraph, frame: pd.DataFrame, seeds: np.ndarray, policy: Policy,
                      timings: dict[str, float] | None = None, n_jobs: int | None = None) -> tuple[EngineOutput, pd.DataFrame]:
    """Every per-firm guarantee-network measure and ``guarantee_risk`` (SPEC §3.6).

    Parameters
    ----------
    graph : GuaranteeGraph
        From :func:`guarantee_graph`; its first ``len(frame)`` nodes are the frame's rows.
    frame : DataFrame
        The firm frame: ``equity`` (net assets) and ``total_assets`` (the DebtRank value
        weights) are used.
    seeds : bool array
        Firms distressed at the start (:func:`zjfin.risks.network.distressed_firms`).
    policy : Policy
        Section ``[network]``.
    timings : dict, optional
        Filled with seconds per step (the steps of the module docstring, those of lane 2
        prefixed ``lane 2: ``, then ``waiting for lane 2`` and ``assemble``).
    n_jobs : int, optional
        Threads. ``None`` (default): as many as the machine has cores, at most two. Results
        do not depend on it.

    Returns
    -------
    EngineOutput, circles
        Per-firm columns and reasons (G1–G6); one row per guarantee circle.

    Examples
    --------
    A 3-circle A → B → C → A where C defaulted, and D guaranteeing A:

    >>> g = pd.DataFrame({"guarantor_id": ["A", "B", "C", "D"], "borrower_id": ["B", "C", "A", "A"],
    ...                   "amount": [50.0, 50.0, 50.0, 10.0]})
    >>> frame = pd.DataFrame({"firm_id": list("ABCD"), "equity": [100.0] * 4, "total_assets": [200.0] * 4})
    >>> graph = guarantee_graph(g, frame["firm_id"], "2019-03-31")
    >>> out, table = guarantee_network(graph, frame, np.array([False, False, True, False]), Policy.default())
    >>> out.columns[["guarantee_circle_size", "chain_depth", "contagion_loss", "guarantee_risk"]].values.tolist()
    [[3, 1, 0.25, 'high'], [3, 1, 0.5, 'high'], [3, 1, 1.0, 'high'], [<NA>, 0, 0.025, 'low']]
    >>> table[["circle_id", "size", "total_amount", "distressed_count"]].values.tolist()
    [['GC000001', 3, 150.0, 1]]
    """
    n, index = graph.n_firms, frame.index
    if len(frame) != n or len(seeds) != n:
        raise ValueError("the frame, the seeds and the graph's firms must have the same length")
    equity = frame["equity"].to_numpy(dtype=float) if "equity" in frame.columns else np.full(n, np.nan)
    assets = frame["total_assets"].to_numpy(dtype=float) if "total_assets" in frame.columns else np.full(n, np.nan)
    equity_ok = np.isfinite(equity) & (equity > 0)
    with Lanes(n_jobs, timings=timings, second_lane_label="lane 2: ") as lanes:
        lanes.task("exposure", exposure_and_reciprocity, lane=1, matrix=graph.matrix, seeds=seeds, equity=equity,
                   equity_ok=equity_ok, n=n)
        lanes.task("groups", groups, matrix=graph.matrix, seeds=seeds, n=n)
        lanes.task("impact", impact, inputs=("groups",), lane=1, equity=equity)
        lanes.task("contagion", contagion, inputs=("groups", "impact"), lane=1, seeds=seeds)
        lanes.task("circles", circles, inputs=("groups",))
        lanes.task("systemic", systemic_impact_and_ids, inputs=("groups", "circles", "exposure", "impact"), lane=1,
                   assets=assets, policy=policy, n=n)
        lanes.task("depth", depth, inputs=("groups", "circles"))
        lanes.task("circles_table", circles_table, inputs=("groups", "circles", "contagion"), graph=graph)
        exposure, found, spread = lanes["exposure"], lanes["circles"], lanes["contagion"]
        (systemic, systemic_status), circle_ids, group_ids = lanes["systemic"]
        grouped, firm_depth, table = lanes["groups"], lanes["depth"], lanes["circles_table"]
    with lanes.timed("assemble"):
        firm_contagion = spread[grouped.at]
        distressed = np.bincount(found.strong[grouped.seed], minlength=len(found.size))
        circle_distressed = np.where(found.in_circle, distressed[found.of_firm], 0)
        fired, level = guarantee_reasons(exposure, seeds, firm_contagion, found.in_circle, circle_distressed,
                                         equity_ok, policy, index)
        group_size = grouped.size[grouped.weak[:n]]
        columns = pd.DataFrame({
            **{name: exposure[name] for name in ("guarantee_out", "guarantee_in", "guarantee_out_ratio",
                                                 "guarantee_to_distressed", "guarantee_to_distressed_ratio")},
            "mutual_guarantee": exposure["mutual_partners"] > 0,
            "mutual_partners": exposure["mutual_partners"],
            "guarantee_circle_id": as_text(circle_ids, index=index),
            "guarantee_circle_size": pd.arrays.IntegerArray(found.size[found.of_firm], ~found.in_circle),
            "circle_distressed_count": circle_distressed,
            "guarantee_group_id": as_text(group_ids, index=index),
            "guarantee_group_size": pd.arrays.IntegerArray(group_size, group_size < 2),
            "chain_depth": firm_depth,
            "contagion_loss": firm_contagion,
            "systemic_impact": systemic,
            "systemic_status": as_text(systemic_status, index=index),
            "guarantee_risk": level,
        }, index=index, copy=False)
    return EngineOutput(columns, fired), table


def circles_table(groups: Groups, circles: Circles, contagion: np.ndarray, graph: GuaranteeGraph) -> pd.DataFrame:
    """One row per circle: members and distressed members as lists of ids (node order),
    outside members, total amount, internal guarantees, worst contagion loss.

    ``contagion`` is in the local numbering (``groups.order`` maps a local node to its node)."""
    order, strong, circle, circle_number = groups.order, circles.strong, circles.circle, circles.number
    size, total, edges, seed = circles.size, circles.amount, circles.edges, groups.seed
    k = len(circle)
    is_circle = np.zeros(len(size), dtype=bool)
    is_circle[circle] = True
    local_members = np.flatnonzero(is_circle[strong])
    number = circle_number[strong[local_members]]
    # By circle; inside one, local order is node order (a group keeps its nodes' order).
    by_circle = grouped_order(number - 1, k)
    local_members, number = local_members[by_circle], number[by_circle]
    member_nodes = order[local_members]
    components = np.empty(k, dtype=np.int64)
    components[circle_number[circle] - 1] = circle
    counts = np.bincount(number - 1, minlength=k)
    offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int32))
    members = pa.ListArray.from_arrays(offsets, graph.node_ids.take(pa.array(member_nodes)))
    distressed_member = seed[local_members]
    distressed_number = number[distressed_member]
    distressed_count = np.bincount(distressed_number - 1, minlength=k)
    d_offsets = pa.array(np.r_[0, np.cumsum(distressed_count)].astype(np.int32))
    distressed = pa.ListArray.from_arrays(d_offsets, graph.node_ids.take(pa.array(member_nodes[distressed_member])))
    outside = np.bincount(number - 1, weights=member_nodes >= graph.n_firms, minlength=k)
    worst = np.zeros(k)
    if len(local_members):
        np.maximum.at(worst, number - 1, contagion[local_members])
    return pd.DataFrame({
        "circle_id": as_text(component_ids(np.arange(1, k + 1), "GC", 6)),
        "size": size[components].astype(np.int64),
        "members": pd.arrays.ArrowExtensionArray(members),
        "outside_members": outside.astype(np.int64),
        "total_amount": total[components],
        "internal_guarantees": edges[components].astype(np.int64),
        "distressed_members": pd.arrays.ArrowExtensionArray(distressed),
        "distressed_count": distressed_count.astype(np.int64),
        "max_contagion_loss": worst,
    }, copy=False)
