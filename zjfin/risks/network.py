"""Guarantee-chain risk (担保链, SPEC §3.6): the one global stage of screening.

One directed graph guarantor → borrower over the guarantees active at the as-of date,
held as a scipy CSR matrix over dense node numbers: the screened firms are nodes
0 … n − 1 (their ``firm_idx``), firms named only by guarantees follow. Everything here is
array work on that matrix — strongly and weakly connected components from
``scipy.sparse.csgraph``, reciprocal pairs from the product of the graph's pattern with
its transpose's, chain depth by topological layers of the condensation, DebtRank by
frontier propagation — never a Python loop over firms or guarantees (loops run over
propagation steps or graph layers).

Two things make it fast at provincial scale. After the weak components, the stage works
on the graph renumbered group by group, so each traversal reads neighbouring memory
instead of the whole province (a group's firms are scattered through the firm table);
results come back to firm order at the end. And with two threads, the per-firm sums
run beside the weak components, and W and DebtRank beside the strong components and
chain depth.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from zjfin._arrow import arrow_text, as_text
from zjfin._errors import PolicyError
from zjfin._policy import Policy
from zjfin.risks import RISK_LEVELS, EngineOutput, level_from_masks, threads

__all__ = [
    "GuaranteeGraph",
    "guarantee_graph",
    "guarantee_network",
    "debtrank",
    "chain_depth",
    "NETWORK_COLUMNS",
]

#: Screening columns of this stage and their kinds (for a switched-off network).
NETWORK_COLUMNS = {
    "guarantee_out": "float",
    "guarantee_in": "float",
    "guarantee_out_ratio": "float",
    "mutual_guarantee": "bool",
    "guarantee_circle_id": "text",
    "guarantee_circle_size": "int",
    "guarantee_group_id": "text",
    "guarantee_group_size": "int",
    "chain_depth": "int",
    "contagion_loss": "float",
    "systemic_impact": "float",
    "guarantee_risk": "text",
}


class GuaranteeGraph:
    """The active guarantee graph.

    ``matrix`` is n_nodes × n_nodes CSR, row = guarantor, column = borrower, one stored
    entry per distinct (guarantor, borrower) pair holding the summed amount (an entry of
    amount 0 is kept: the relation exists). Node k < ``n_firms`` is screened firm k;
    ``node_ids`` names every node.
    """

    def __init__(self, matrix: sp.csr_matrix, n_firms: int, node_ids: pa.Array, guarantor: np.ndarray,
                 borrower: np.ndarray, kind: tuple[pa.ChunkedArray, np.ndarray] | None = None) -> None:
        self.matrix = matrix
        self.n_firms = n_firms
        self.node_ids = node_ids
        #: Active guarantee rows that entered the graph.
        self.guarantees_used = int(len(guarantor))
        # One entry per guarantee, for the per-pair extras (worked out when asked for).
        self._rows = (guarantor, borrower)
        self._kind = kind

    def __repr__(self) -> str:
        return (f"<GuaranteeGraph: {self.n_nodes:,} nodes ({self.n_firms:,} screened firms), "
                f"{self.matrix.nnz:,} guarantor → borrower pairs from {self.guarantees_used:,} guarantees>")

    @property
    def n_nodes(self) -> int:
        return self.matrix.shape[0]

    def _per_pair(self, values: np.ndarray) -> np.ndarray:
        # Same coordinates as the matrix, so the same layout (explicit zeros are kept).
        g, b = self._rows
        return sp.csr_matrix((values, (g, b)), shape=self.matrix.shape).data

    @property
    def contracts(self) -> np.ndarray:
        """Active contracts behind each stored entry (same order as ``matrix.data``)."""
        return self._per_pair(np.ones(self.guarantees_used)).astype(np.int64)

    @property
    def joint(self) -> np.ndarray:
        """Whether any contract behind each stored entry is a joint guarantee (联保)."""
        if self._kind is None:
            return np.zeros(self.matrix.nnz, dtype=bool)
        column, rows = self._kind  # the kind of each guarantee in the graph, taken when asked for
        joint = pc.fill_null(pc.equal(column.take(pa.array(rows)), "joint"), False).to_numpy(zero_copy_only=False)
        return self._per_pair(np.asarray(joint, dtype=float)) > 0

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(guarantor, borrower, amount) of every stored pair, row-major."""
        return _edges(self.matrix)


def _edges(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of every stored entry of a CSR matrix, row-major."""
    row = np.repeat(np.arange(matrix.shape[0], dtype=matrix.indices.dtype), np.diff(matrix.indptr))
    return row, matrix.indices, matrix.data


def _active(guarantees: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """start ≤ as-of < end; a missing date does not limit."""
    active = np.ones(len(guarantees), dtype=bool)
    as_of_ns = np.datetime64(pd.Timestamp(as_of).normalize().to_datetime64(), "ns").astype(np.int64)
    # Compared as int64 nanoseconds, where NaT is the smallest number: "start ≤ as-of"
    # already holds for a missing start; a missing end is let through by name.
    nat = np.iinfo(np.int64).min
    for column, keep in (("start_date", lambda d: d <= as_of_ns), ("end_date", lambda d: (d > as_of_ns) | (d == nat))):
        if column in guarantees.columns:
            active &= keep(pd.to_datetime(guarantees[column]).to_numpy(dtype="datetime64[ns]").view(np.int64))
    return active


def guarantee_graph(guarantees: pd.DataFrame, firm_ids: pd.Series | pa.Array, as_of: str | pd.Timestamp) -> GuaranteeGraph:
    """Build the active guarantee graph.

    Parameters
    ----------
    guarantees : DataFrame
        Validated guarantees: ``guarantor_id``, ``borrower_id``, ``amount``, optional
        ``start_date``, ``end_date``, ``kind``, and the dense positions ``guarantor_idx`` /
        ``borrower_idx`` that :func:`zjfin.validate` assigns (−1 for a firm that is not
        screened; without them positions are looked up from ``firm_ids``).
    firm_ids : Series or Arrow array
        Ids of the screened firms, in ``firm_idx`` order.
    as_of : date

    Returns
    -------
    GuaranteeGraph
        Self-guarantees are left out; several guarantees between the same two firms are one
        edge carrying their summed amount.

    Examples
    --------
    >>> g = pd.DataFrame({"guarantor_id": ["A", "B", "A", "X"], "borrower_id": ["B", "A", "B", "A"],
    ...                   "amount": [1.0, 2.0, 3.0, 4.0]})
    >>> graph = guarantee_graph(g, pd.Series(["A", "B"]), "2019-03-31")
    >>> graph.matrix.toarray().tolist(), graph.node_ids.to_pylist()
    ([[0.0, 4.0, 0.0], [2.0, 0.0, 0.0], [4.0, 0.0, 0.0]], ['A', 'B', 'X'])
    """
    firm_text = arrow_text(firm_ids)
    n_firms = len(firm_text)
    active = _active(guarantees, pd.Timestamp(as_of))
    # A self-guarantee is no relation (validation rejects it); it must not make a node either.
    # Screened firms compare by position; only ends outside the firms compare as text.
    if {"guarantor_idx", "borrower_idx"} <= set(guarantees.columns):
        g_idx, b_idx = (guarantees[f"{side}_idx"].to_numpy(dtype=np.int64) for side in ("guarantor", "borrower"))
        same = (g_idx == b_idx) & (g_idx >= 0)
        both_outside = np.flatnonzero((g_idx < 0) & (b_idx < 0))
        if both_outside.size:
            at = pa.array(both_outside)
            text_same = pc.equal(arrow_text(guarantees["guarantor_id"]).take(at), arrow_text(guarantees["borrower_id"]).take(at))
            same[both_outside] = np.asarray(pc.fill_null(text_same, False).to_numpy(zero_copy_only=False), dtype=bool)
    else:
        same = pc.equal(arrow_text(guarantees["guarantor_id"]), arrow_text(guarantees["borrower_id"]))
        same = np.asarray(pc.fill_null(same, False).to_numpy(zero_copy_only=False), dtype=bool)
    active &= ~same
    rows = np.flatnonzero(active)
    take = pa.array(rows, type=pa.int64())
    position, outside_text = {}, []
    for side in ("guarantor", "borrower"):
        column = arrow_text(guarantees[f"{side}_id"])
        if f"{side}_idx" in guarantees.columns:
            position[side] = guarantees[f"{side}_idx"].to_numpy(dtype=np.int64)[rows]
        else:
            found = pc.index_in(column.take(take), value_set=firm_text).fill_null(-1)
            position[side] = found.to_numpy(zero_copy_only=False).astype(np.int64)
        # Text is needed only for the ends that are not screened firms.
        outside_text.append(column.take(pa.array(rows[position[side] < 0], type=pa.int64())))
    # Firms named only by guarantees become nodes n_firms, n_firms + 1, … in order of
    # first appearance (guarantor column first), so numbering is stable for the same input.
    encoded = pc.dictionary_encode(pa.chunked_array(outside_text, type=pa.string())).combine_chunks()
    outside_codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_outside = len(encoded.dictionary)
    taken = 0
    for side in ("guarantor", "borrower"):  # positions become node numbers in place (they are copies)
        outside = position[side] < 0
        position[side][outside] = n_firms + outside_codes[taken: taken + int(outside.sum())]
        taken += int(outside.sum())
    n_nodes = n_firms + n_outside
    g, b = position["guarantor"], position["borrower"]
    amount = guarantees["amount"].to_numpy(dtype=float)[rows]
    np.nan_to_num(amount, copy=False)
    loop = g == b  # a guard: the self-guarantees removed above leave none in practice
    if loop.any():
        g, b, amount, rows = g[~loop], b[~loop], amount[~loop], rows[~loop]
    if n_nodes < np.iinfo(np.int32).max:  # scipy's own index type: it need not check and convert
        g, b = g.astype(np.int32), b.astype(np.int32)
    shape = (n_nodes, n_nodes)
    # CSR construction sums the guarantees between the same two firms into one entry and
    # keeps an entry whose amount is 0 (the relation exists).
    matrix = sp.csr_matrix((amount, (g, b)), shape=shape)
    node_ids = pa.concat_arrays([firm_text.combine_chunks() if isinstance(firm_text, pa.ChunkedArray) else firm_text,
                                 encoded.dictionary.cast(pa.string())])
    kind = (arrow_text(guarantees["kind"]), rows) if "kind" in guarantees.columns else None
    return GuaranteeGraph(matrix, n_firms, node_ids, g, b, kind)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(start, start + length) for each pair, vectorised.

    Examples
    --------
    >>> _ranges(np.array([5, 0, 2]), np.array([2, 0, 1])).tolist()
    [5, 6, 2]
    """
    ends = np.cumsum(lengths)
    if not ends.size or ends[-1] == 0:
        return np.empty(0, dtype=np.int64)
    # Item k of a range is k plus (its stop − where that range ends in the output).
    out = np.repeat((starts + lengths - ends).astype(np.int64, copy=False), lengths)
    out += np.arange(out.size, dtype=np.int64)
    return out


def _row_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the stored entries of the given CSR rows, row after row, and each
    row's number of entries.

    Examples
    --------
    >>> [a.tolist() for a in _row_entries(np.array([0, 2, 2, 5]), np.array([2, 0]))]
    [[2, 3, 4, 0, 1], [3, 2]]
    """
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    return _ranges(starts, counts), counts


def _grouped_order(labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Positions grouped by label (labels 0 … n_labels − 1 < 2³², in increasing order,
    positions increasing within each): a stable radix sort, 16 bits at a time (numpy sorts 16-bit keys by radix; a
    stable argsort of wider integers would be a merge sort, about twice as slow).

    Examples
    --------
    >>> _grouped_order(np.array([1, 0, 1, 0]), 2).tolist()
    [1, 3, 0, 2]
    """
    order = np.argsort((labels & 0xFFFF).astype(np.uint16), kind="stable")
    if n_labels > 0xFFFF:
        order = order[np.argsort((labels[order] >> 16).astype(np.uint16), kind="stable")]
    return order


def chain_depth(matrix: sp.csr_matrix, labels: np.ndarray, n_components: int,
                src_label: np.ndarray | None = None, dst_label: np.ndarray | None = None) -> np.ndarray:
    """Longest path, in guarantees, into each component of the condensation.

    A component's depth is its topological layer: 0 without predecessors, else one more
    than its deepest predecessor. Layers are peeled all at once (Kahn's algorithm one
    layer per step), so the loop runs once per layer, not once per node.

    ``src_label`` and ``dst_label`` (the components of each stored guarantee's two ends,
    row-major) are computed when not given.

    Examples
    --------
    >>> m = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 1])), shape=(3, 3))
    >>> chain_depth(m, np.array([0, 1, 1]), 2).tolist()   # 0 -> {1, 2}
    [0, 1]
    """
    n, indptr = matrix.shape[0], matrix.indptr
    dst_label = labels[matrix.indices] if dst_label is None else dst_label
    src_label = np.repeat(labels, np.diff(indptr)) if src_label is None else src_label
    # Each component goes by its first node (a one-node component by itself), so the
    # frontier is a list of nodes; the other members of the few larger components are
    # looked up in a short list. A guarantee inside a component points at a sink (n).
    first = _first_node(labels, n_components)
    representative = first[labels]
    others = np.flatnonzero(representative != np.arange(n))  # members that do not represent
    others = others[np.argsort(representative[others], kind="stable")]
    other_count = np.bincount(representative[others], minlength=n)
    other_start = np.cumsum(other_count) - other_count
    between = src_label != dst_label
    successor = np.where(between, representative[matrix.indices], n)
    # Only components with a successor pass anything on (about half of them): the others
    # get their layer and are not expanded.
    passes_on = np.zeros(n_components, dtype=bool)
    passes_on[src_label[between]] = True
    passes_on = passes_on[labels]
    # Kahn's in-degrees: predecessors not yet in a layer.
    remaining = np.bincount(successor, minlength=n + 1)
    remaining[n] = len(successor) + 1  # the sink: never down to 0
    node_depth = np.zeros(n, dtype=np.int64)
    slot = np.empty(n, dtype=np.int64)  # scratch for de-duplicating without a sort
    first = first[first >= 0]  # a component number no node carries has no layer to find
    frontier = first[remaining[first] == 0]
    layer = 0
    while frontier.size:
        node_depth[frontier] = layer
        frontier = frontier[passes_on[frontier]]
        larger = frontier[other_count[frontier] > 0]  # components of several firms: few
        nodes = np.concatenate([frontier, others[_ranges(other_start[larger], other_count[larger])]])
        targets = successor[_row_entries(indptr, nodes)[0]]
        if not targets.size:
            break
        if targets.size > n // 4:  # a wide layer: one count over all nodes beats ufunc.at
            remaining -= np.bincount(targets, minlength=n + 1)
        else:
            np.subtract.at(remaining, targets, 1)
        ready = targets[remaining[targets] == 0]  # the sink never is
        # Keep one copy of each component: the position written last for it wins.
        slot[ready] = np.arange(ready.size)
        frontier = ready[slot[ready] == np.arange(ready.size)]
        layer += 1
    depth = np.zeros(n_components, dtype=np.int64)
    depth[labels[first]] = node_depth[first]
    return depth


def debtrank(impact_by_borrower: sp.csr_matrix, seed_scenario: np.ndarray, seed_node: np.ndarray,
             n_scenarios: int | None = None, max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DebtRank (Battiston et al. 2012) for several independent seed scenarios at once.

    In each scenario the seeds start at h = 1 and are distressed; at every step each firm j
    distressed in the previous step passes W_ij · h_j to each guarantor i, h_i is capped at 1,
    firms whose h became positive are distressed in the next step, and a firm that has
    passed its distress on becomes inactive (each firm propagates once).

    One scenario (the province-wide contagion) keeps its state in a dense array over the
    nodes: every step is direct indexing. Several scenarios keep theirs as sorted
    (scenario, node) keys, since a dense array per scenario would not fit. (Inside
    :func:`guarantee_network`, where every scenario's guarantee group is known and laid
    out as a range of nodes, they run on dense cells instead, with the same results.)

    Parameters
    ----------
    impact_by_borrower : csr_matrix
        Row j lists the guarantors i of borrower j with W_ij (the transpose of W).
    seed_scenario, seed_node : int arrays
        One entry per seed: its scenario number and node.
    n_scenarios : int, optional
    max_steps : int, optional
        Stop after this many steps (default: until no firm is distressed).

    Returns
    -------
    scenario, node, h : arrays
        Every (scenario, node) with h > 0 at the end, sorted by scenario then node.

    Examples
    --------
    Borrower 0 is guaranteed by 1 (W = 0.5), which is guaranteed by 2 (W = 0.4):

    >>> wt = sp.csr_matrix(([0.5, 0.4], ([0, 1], [1, 2])), shape=(3, 3))
    >>> debtrank(wt, np.array([0]), np.array([0]))[2].tolist()
    [1.0, 0.5, 0.2]
    """
    seed_scenario, seed_node = np.asarray(seed_scenario, dtype=np.int64), np.asarray(seed_node, dtype=np.int64)
    if seed_scenario.size and (seed_scenario == seed_scenario[0]).all():
        # One scenario: a dense state over the nodes.
        node, h = _one_scenario(impact_by_borrower, np.unique(seed_node), max_steps)
        return np.full(len(node), seed_scenario[0], dtype=np.int64), node, h
    n = impact_by_borrower.shape[0]
    keys = np.unique(seed_scenario * n + seed_node)
    h = np.ones(len(keys))
    frontier_keys, frontier_h = keys, h.copy()
    done_keys, done_h = [], []
    indptr, guarantor, weight = impact_by_borrower.indptr, impact_by_borrower.indices, impact_by_borrower.data
    step = 0
    while frontier_keys.size and (max_steps is None or step < max_steps):
        scenario, borrower = np.divmod(frontier_keys, n)
        at, counts = _row_entries(indptr, borrower)
        impact = weight[at] * np.repeat(frontier_h, counts)
        target = np.repeat(scenario, counts) * n + guarantor[at]
        positive = impact > 0  # a zero impact leaves the guarantor undistressed
        target, impact = target[positive], impact[positive]
        if not target.size:
            break
        # Sum what each (scenario, guarantor) receives this step: a hash, not a sort.
        code, target_keys = pd.factorize(target, sort=False)
        target_keys = np.asarray(target_keys, dtype=np.int64)
        added = np.bincount(code, weights=impact, minlength=len(target_keys))
        where = np.searchsorted(keys, target_keys)
        found = where < len(keys)
        found[found] = keys[where[found]] == target_keys[found]
        # Already distressed or inactive: h grows, but it has propagated (or will) already.
        h[where[found]] = np.minimum(1.0, h[where[found]] + added[found])
        order = np.argsort(target_keys[~found])
        new_keys, new_h = target_keys[~found][order], np.minimum(1.0, added[~found][order])
        place = np.searchsorted(keys, new_keys)
        keys, h = np.insert(keys, place, new_keys), np.insert(h, place, new_h)
        # Scenarios with nothing left to propagate are finished: set their firms aside so
        # later steps search and grow only the scenarios still spreading.
        spreading = np.zeros(int(keys[-1] // n) + 1 if keys.size else 0, dtype=bool)
        spreading[new_keys // n] = True
        still = spreading[keys // n]
        done_keys.append(keys[~still])
        done_h.append(h[~still])
        keys, h = keys[still], h[still]
        frontier_keys, frontier_h = new_keys, new_h
        step += 1
    keys = np.concatenate([*done_keys, keys])
    h = np.concatenate([*done_h, h])
    order = np.argsort(keys, kind="stable")
    scenario, node = np.divmod(keys[order], n)
    return scenario, node, h[order]


def _debtrank_cells(impact_by_borrower: sp.csr_matrix, cell_start: np.ndarray, node_start: np.ndarray,
                    seed_scenario: np.ndarray, seed_node: np.ndarray, max_steps: int | None,
                    sorted_frontier: bool) -> tuple[np.ndarray, np.ndarray]:
    """DebtRank for scenarios whose states share one dense array of cells: scenario s owns
    cells ``cell_start[s]`` … ``cell_start[s + 1] − 1``, one per node from ``node_start[s]``
    on. For one scenario that is a cell per node. For several, each owns the nodes its
    distress cannot leave (its guarantee group, laid out side by side), so the cell a
    guarantor's share lands in is found by an addition, with no search.

    Returns (cell, h) where h > 0, by cell. The frontier (seeds first) is taken in cell
    order when ``sorted_frontier``, else in the order its cells were given or first
    reached: that order is the order in which a guarantor's shares are added up.
    """
    indptr, guarantor, weight = impact_by_borrower.indptr, impact_by_borrower.indices, impact_by_borrower.data
    base = cell_start[:-1] - node_start  # cell = base[scenario] + node
    h = np.zeros(int(cell_start[-1]))
    received = np.zeros(len(h))

    def distinct(cells: np.ndarray) -> np.ndarray:  # a hash keeps first appearances; sort only those
        once = pd.unique(cells)
        return np.sort(once) if sorted_frontier else once

    cell = distinct(base[seed_scenario] + seed_node)
    h[cell] = 1.0
    # A cell becomes positive once, when it joins a frontier: the frontiers together are
    # the cells with h > 0, so no scan of all cells is needed at the end.
    frontiers = [cell]
    step = 0
    while cell.size and (max_steps is None or step < max_steps):
        offset = base[np.searchsorted(cell_start, cell, side="right") - 1]
        at, counts = _row_entries(indptr, cell - offset)
        impact = weight[at] * np.repeat(h[cell], counts)
        positive = impact > 0  # a zero impact leaves the guarantor undistressed
        target = (guarantor[at] + np.repeat(offset, counts))[positive]
        impact = impact[positive]
        if not target.size:
            break
        # What each guarantor receives this step, summed in the order of the guarantees.
        np.add.at(received, target, impact)
        before = h[target]
        # A cell named twice gets the same value twice: both read the state before the step.
        h[target] = np.minimum(1.0, before + received[target])
        received[target] = 0.0
        # Already distressed or inactive: h grows, no second propagation.
        cell = distinct(target[before == 0])
        frontiers.append(cell)
        step += 1
    cell = np.sort(np.concatenate(frontiers))
    return cell, h[cell]


def _one_scenario(impact_by_borrower: sp.csr_matrix, seed_node: np.ndarray,
                  max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One DebtRank scenario on a cell per node, the seeds taken in the order given:
    (node, h) where h > 0, by node."""
    n = impact_by_borrower.shape[0]
    return _debtrank_cells(impact_by_borrower, np.array([0, n], dtype=np.int64), np.zeros(1, dtype=np.int64),
                           np.zeros(len(seed_node), dtype=np.int64), seed_node, max_steps, sorted_frontier=False)


def _debtrank_in_groups(impact_by_borrower: sp.csr_matrix, seed_node: np.ndarray, group_start: np.ndarray,
                        group_size: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One DebtRank scenario per seed node (in the numbering where every guarantee group is
    a range of nodes: ``group_start`` and ``group_size`` of each seed's group). Scenarios
    whose groups fit in ``budget`` cells in all run together on dense cells; any others
    (groups too large for that) run on sorted keys. Returns (scenario, node, h) for h > 0,
    in no particular order."""
    k = len(seed_node)
    by_size = np.argsort(group_size, kind="stable")
    dense = np.zeros(k, dtype=bool)
    dense[by_size[np.cumsum(group_size[by_size]) <= budget]] = True
    parts = []
    together = np.flatnonzero(dense)
    if together.size:
        cell_start = np.zeros(together.size + 1, dtype=np.int64)
        np.cumsum(group_size[together], out=cell_start[1:])
        # Sorted frontiers: (scenario, node) order, as debtrank() sums on its sorted keys.
        cell, h = _debtrank_cells(impact_by_borrower, cell_start, group_start[together], np.arange(together.size),
                                  seed_node[together], None, sorted_frontier=True)
        scenario = np.searchsorted(cell_start, cell, side="right") - 1
        parts.append((together[scenario], cell - cell_start[scenario] + group_start[together][scenario], h))
    apart = np.flatnonzero(~dense)
    if apart.size:
        scenario, node, h = debtrank(impact_by_borrower, np.arange(apart.size), seed_node[apart])
        parts.append((apart[scenario], node, h))
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    return tuple(np.concatenate(column) for column in zip(*parts))


def _mutual_partners(guarantor: np.ndarray, borrower: np.ndarray, n_nodes: int) -> np.ndarray:
    """Per node, how many firms it both guarantees and is guaranteed by, from the distinct
    (guarantor, borrower) pairs of a graph without self-guarantees: a pair and its reverse
    share one unordered key, so a key found twice is a mutual guarantee (sorting the keys,
    SPEC §10, instead of intersecting the graph with its transpose).

    Examples
    --------
    >>> _mutual_partners(np.array([0, 1, 0, 2]), np.array([1, 0, 2, 1]), 3).tolist()
    [1, 1, 0]
    """
    key = np.minimum(guarantor, borrower).astype(np.int64) * n_nodes + np.maximum(guarantor, borrower)
    key.sort()
    twice = key[1:][key[1:] == key[:-1]]
    return np.bincount(twice // n_nodes, minlength=n_nodes) + np.bincount(twice % n_nodes, minlength=n_nodes)


def _impact_matrix(matrix: sp.csr_matrix, node_equity: np.ndarray, guarantor: np.ndarray) -> sp.csr_matrix:
    """W transposed: row j (borrower) lists guarantors i with W_ij = min(1, amount / equity_i);
    W = 1 when the guarantor's equity is ≤ 0 or unknown (a firm outside the dataset), and
    0 for an amount of 0 (kept as a stored entry, so the structure is the transpose's).
    ``guarantor`` is the row of each stored entry."""
    # Divided, not multiplied by 1 / equity: 24.5 / 49 is 0.5 exactly, 24.5 · (1/49) is not.
    equity = node_equity[guarantor]
    amount = matrix.data
    w = np.ones(len(amount))  # W = 1 where equity is ≤ 0 or unknown
    np.divide(amount, equity, out=w, where=np.isfinite(equity) & (equity > 0))
    np.minimum(w, 1.0, out=w)
    w[~(amount > 0)] = 0.0
    # CSR → CSC keeps every stored entry; read column-major it is the transpose in CSR.
    by_borrower = sp.csr_matrix((w, matrix.indices, matrix.indptr), shape=matrix.shape).tocsc()
    return sp.csr_matrix((by_borrower.data, by_borrower.indices, by_borrower.indptr), shape=matrix.shape)


def _renumbered(matrix: sp.csr_matrix, order: np.ndarray, position: np.ndarray) -> sp.csr_matrix:
    """The same graph with node ``order[k]`` renumbered k (``position`` is the inverse):
    each row moves whole and its column numbers are looked up (left unsorted within the
    row: nothing downstream needs them sorted).

    Examples
    --------
    >>> m = sp.csr_matrix(([1.0, 2.0], ([0, 2], [2, 1])), shape=(3, 3))
    >>> order = np.array([2, 0, 1]); position = np.array([1, 2, 0])
    >>> _renumbered(m, order, position).toarray().tolist()
    [[0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    at, lengths = _row_entries(matrix.indptr, order)  # each moved row's entries, in the new row order
    indptr_new = np.zeros(len(order) + 1, dtype=matrix.indptr.dtype)
    np.cumsum(lengths, out=indptr_new[1:])
    indices = position.astype(matrix.indices.dtype, copy=False)[matrix.indices[at]]
    return sp.csr_matrix((matrix.data[at], indices, indptr_new), shape=matrix.shape)


def _top(candidates: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """The k candidates (given in increasing order) with the largest score; ties go to the
    smaller number. Returned in rank order."""
    if k <= 0 or not candidates.size:
        return candidates[:0]
    x = score[candidates]
    if candidates.size > k:
        kth = np.partition(x, candidates.size - k)[candidates.size - k]  # the k-th largest score
        above, tied = candidates[x > kth], candidates[x == kth]
        candidates = np.r_[above, tied[: k - above.size]]
        x = score[candidates]
    return candidates[np.lexsort((candidates, -x))]


def _first_node(labels: np.ndarray, n_components: int) -> np.ndarray:
    """Each component's smallest node (written from the last node back: the first wins);
    −1 for a component number no node carries."""
    first = np.full(n_components, -1, dtype=np.int64)
    first[labels[::-1]] = np.arange(len(labels) - 1, -1, -1)
    return first


def _numbered(n_components: int, found: np.ndarray, sort_keys: list[np.ndarray]) -> np.ndarray:
    """Number the components ``found`` 1 … k in the order of ``sort_keys`` (one entry per
    found component; np.lexsort: last key first); 0 for every other component."""
    number = np.zeros(n_components, dtype=np.int64)
    number[found[np.lexsort(sort_keys)]] = np.arange(1, len(found) + 1)
    return number


def _ids(number: np.ndarray, prefix: str, width: int) -> pa.Array:
    """``prefix`` + the number zero-padded to ``width`` digits (more digits when it has
    more), null where the number is 0.

    When every id has the one width, they are laid out as bytes by numpy: each distinct
    id is written once (per circle or group), then copied row by row for every firm.

    Examples
    --------
    >>> _ids(np.array([2, 0, 1, 2]), "GC", 3).to_pylist()
    ['GC002', None, 'GC001', 'GC002']
    >>> _ids(np.array([1000, 7]), "GC", 3).to_pylist()
    ['GC1000', 'GC007']
    """
    k = int(number.max(initial=0))
    if k >= 10 ** width:  # a number wider than ``width``: ids of several lengths, made in Arrow
        names = pc.utf8_lpad(pa.array(np.arange(1, k + 1)).cast(pa.large_string()), width, "0")
        names = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), names, pa.scalar("", pa.large_string()))
        return names.take(pa.array(number - 1, mask=number <= 0))
    size = len(prefix) + width
    names = np.empty((k, size), dtype=np.uint8)
    names[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    value = np.arange(1, k + 1, dtype=np.int64)
    for place in range(size - 1, len(prefix) - 1, -1):  # one pass per digit place
        value, digit = np.divmod(value, 10)
        names[:, place] = digit + ord("0")
    present = number > 0
    text = np.take(names, number[present] - 1, axis=0)  # row copies (far faster than names[…])
    offsets = np.zeros(len(number) + 1, dtype=np.int64)
    np.cumsum(present, out=offsets[1:])
    offsets *= size
    valid = np.packbits(present, bitorder="little")
    return pa.LargeStringArray.from_buffers(len(number), pa.py_buffer(offsets), pa.py_buffer(text), pa.py_buffer(valid),
                                            null_count=len(number) - len(text))


def _systemic_candidates(in_circle: np.ndarray, has_out: np.ndarray, out_amount: np.ndarray,
                         in_amount: np.ndarray, p) -> np.ndarray:
    """The firms whose systemic impact is computed (SPEC: "top-K is enough at scale"):
    the ``systemic_top_guarantors`` largest guarantors by guarantee_out, then circle
    members by guarantee_out + guarantee_in, at most ``systemic_max_firms`` in all; ties
    by position. Returned in increasing order."""
    top = _top(np.flatnonzero(has_out), out_amount, p.systemic_top_guarantors)
    ranked = top
    if p.systemic_circle_members:
        members = np.flatnonzero(in_circle)
        members = members[~np.isin(members, top)]
        ranked = np.r_[top, _top(members, out_amount + in_amount, p.systemic_max_firms - min(top.size, p.systemic_max_firms))]
    return np.sort(ranked[: p.systemic_max_firms]).astype(np.int64)


def _settings(policy: Policy):
    p = policy.network
    for key in ("high_distressed_exposure_ratio", "medium_out_ratio", "high_contagion_loss"):
        if not getattr(p, key) >= 0:
            raise PolicyError(f"policy key 'network.{key}' must be a number ≥ 0, got {getattr(p, key)!r}")
    for key in ("systemic_top_guarantors", "systemic_max_firms"):
        if getattr(p, key) < 0:
            raise PolicyError(f"policy key 'network.{key}' must be a whole number ≥ 0, got {getattr(p, key)!r}")
    if p.seed_level not in ("low", "medium", "high"):
        raise PolicyError(f"policy key 'network.seed_level' must be one of low, medium, high, got {p.seed_level!r}")
    return p


def distressed_firms(columns: pd.DataFrame | dict, policy: Policy) -> np.ndarray:
    """The DebtRank seeds: firms whose risk named in ``network.seed_risks`` is at
    ``network.seed_level`` or above (default: bond or liquidity risk ``high``, which covers
    a defaulted or extended bond, a non-performing loan and 90+ days overdue)."""
    p = policy.network
    allowed = pa.array(RISK_LEVELS[RISK_LEVELS.index(p.seed_level):], type=pa.string())
    seeds = None
    for risk in p.seed_risks:
        if risk not in columns:
            continue
        hit = pc.fill_null(pc.is_in(arrow_text(columns[risk]), value_set=allowed), False)
        hit = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        seeds = hit if seeds is None else seeds | hit
    if seeds is None:
        n = len(next(iter(columns.values()))) if isinstance(columns, dict) else len(columns)
        seeds = np.zeros(n, dtype=bool)
    return seeds


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
        Firms distressed at the start (:func:`distressed_firms`).
    policy : Policy
        Section ``[network]``.
    timings : dict, optional
        Filled with seconds per step, for benchmarks: ``groups``, ``circles``, ``depth``,
        ``circles table``, ``waiting for lane 2`` and ``assemble`` in this thread, and
        ``lane 2: exposure and reciprocity``, ``lane 2: W``, ``lane 2: contagion``,
        ``lane 2: systemic impact`` and ``lane 2: circle and group ids`` in the other
        (with one thread they run in this one, and are not counted twice).
    n_jobs : int, optional
        Threads. ``None`` (default): as many as the machine has cores, at most two; with
        two, the per-firm sums run beside the groups, and W and DebtRank beside the circles
        and chain depth.
        Results do not depend on it.

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
    >>> out, circles = guarantee_network(graph, frame, np.array([False, False, True, False]), Policy.default())
    >>> out.columns[["guarantee_circle_size", "chain_depth", "contagion_loss", "guarantee_risk"]].values.tolist()
    [[3, 1, 0.25, 'high'], [3, 1, 0.5, 'high'], [3, 1, 1.0, 'high'], [<NA>, 0, 0.025, 'low']]
    >>> circles[["circle_id", "size", "total_amount", "distressed_count"]].values.tolist()
    [['GC000001', 3, 150.0, 1]]
    """
    p = _settings(policy)
    jobs = threads(n_jobs)
    clock = _Clock(timings)
    n, n_nodes = graph.n_firms, graph.n_nodes
    index = frame.index
    if len(frame) != n or len(seeds) != n:
        raise ValueError("the frame, the seeds and the graph's firms must have the same length")
    matrix = graph.matrix
    equity = frame["equity"].to_numpy(dtype=float) if "equity" in frame.columns else np.full(n, np.nan)
    assets = frame["total_assets"].to_numpy(dtype=float) if "total_assets" in frame.columns else np.full(n, np.nan)
    equity_ok = np.isfinite(equity) & (equity > 0)

    # A second lane (a thread when n_jobs ≥ 2) takes the per-firm sums, DebtRank and the id
    # text while this one finds the groups, circles and chain depths; its tasks run in the
    # order given.
    lane = _Lane(jobs, clock)
    try:
        def exposure_step() -> dict[str, np.ndarray]:
            # Row sums, column sums, one product with the seed vector and reciprocal pairs, on
            # the graph as built (firm order): they need nothing from the groups, so they run
            # while the groups are found. Each firm's entries are added in the same order as
            # in the renumbered graph, so the sums are the same to the last bit.
            lane_clock = _Clock(timings)
            firm_guarantor, firm_borrower, firm_amount = _edges(matrix)
            out_amount = np.bincount(firm_guarantor, weights=firm_amount, minlength=n_nodes)[:n]
            seed_vector = np.zeros(n_nodes)
            seed_vector[:n] = seeds
            to_distressed = (matrix @ seed_vector)[:n]
            firm = {
                "guarantee_out": out_amount,
                "guarantee_in": np.bincount(firm_borrower, weights=firm_amount, minlength=n_nodes)[:n],
                "guarantee_out_ratio": np.divide(out_amount, equity, out=np.full(n, np.nan), where=equity_ok),
                "guarantee_to_distressed": to_distressed,
                "guarantee_to_distressed_ratio": np.divide(to_distressed, equity, out=np.full(n, np.nan), where=equity_ok),
                "mutual_partners": _mutual_partners(firm_guarantor, firm_borrower, n_nodes)[:n],
                "gives": (np.diff(matrix.indptr) > 0)[:n],
                "receives": (np.bincount(firm_borrower, minlength=n_nodes) > 0)[:n],
            }
            lane_clock.lap("lane 2: exposure and reciprocity")
            return firm

        exposure_done = lane.submit(exposure_step)
        # Groups: weakly connected components with at least one guarantee.
        n_weak, weak = connected_components(matrix, directed=True, connection="weak")
        weak_size = np.bincount(weak, minlength=n_weak)
        # Everything after works on the graph renumbered group by group: firm positions scatter
        # a group over the whole province, side by side its firms share cache lines (strong
        # components alone run about 7× faster at 3M firms). Inside a group, nodes keep their
        # order, so "first member" means the same in both numberings.
        order = _grouped_order(weak, n_weak)  # local node → node
        position = np.empty(n_nodes, dtype=matrix.indices.dtype)  # node → local node
        position[order] = np.arange(n_nodes, dtype=position.dtype)
        at = position[:n]  # each firm's local node
        group_start = np.cumsum(weak_size) - weak_size  # where each group begins in the new numbering
        group_first = order[group_start]
        is_group = weak_size >= 2
        group_number = _numbered(n_weak, np.flatnonzero(is_group), [group_first[is_group], -weak_size[is_group]])
        local = _renumbered(matrix, order, position)
        guarantor, borrower, amount = _edges(local)
        amount = amount.astype(float, copy=False)
        seed = np.zeros(n_nodes, dtype=bool)  # in local numbering, as every node array below
        seed[at] = seeds
        clock.lap("groups")

        def impact_step() -> sp.csr_matrix:
            # The transpose (borrower → its guarantors) carries DebtRank's W.
            lane_clock = _Clock(timings)
            node_equity = np.full(n_nodes, np.nan)
            node_equity[at] = equity
            impact = _impact_matrix(local, node_equity, guarantor)
            lane_clock.lap("lane 2: W")
            return impact

        def contagion_step() -> np.ndarray:
            # DebtRank over the whole province: it needs only W. Seeds in firm order: shares
            # add up in the order the firm-numbered graph gives them.
            lane_clock = _Clock(timings)
            node, h = _one_scenario(impact_done.result(), at[np.flatnonzero(seeds)])
            contagion = np.zeros(n_nodes)
            contagion[node] = h
            lane_clock.lap("lane 2: contagion")
            return contagion

        impact_done = lane.submit(impact_step)
        contagion_done = lane.submit(contagion_step)  # after: with one thread it runs on the spot
        # Circles: strongly connected components of two or more firms.
        n_strong, strong = connected_components(local, directed=True, connection="strong")
        strong_size = np.bincount(strong, minlength=n_strong)
        strong_guarantor, strong_borrower = strong[guarantor], strong[borrower]
        internal = strong_guarantor == strong_borrower
        circle_amount = np.bincount(strong_guarantor[internal], weights=amount[internal], minlength=n_strong)
        circle_edges = np.bincount(strong_guarantor[internal], minlength=n_strong)
        is_circle = strong_size >= 2
        circle = np.flatnonzero(is_circle)
        # Largest circles first, then by amount, then by the first member's position.
        circle_first = order[_first_node(strong, n_strong)[circle]]
        circle_number = _numbered(n_strong, circle, [circle_first, -circle_amount[circle], -strong_size[circle]])
        circle_of_firm = strong[at]
        in_circle = is_circle[circle_of_firm]
        weak_of_firm = weak[:n]

        def systemic_and_ids_step() -> tuple[np.ndarray, pa.Array, pa.Array]:
            # One DebtRank scenario per chosen firm for systemic impact, then the id text.
            lane_clock = _Clock(timings)
            node_value = np.zeros(n_nodes)  # in firm order: the total is the same sum as ever
            node_value[:n] = np.where(np.isfinite(assets) & (assets > 0), assets, 0.0)
            total_value = node_value.sum()
            value = np.zeros(n_nodes)
            value[at] = node_value[:n] / total_value if total_value > 0 else node_value[:n]
            firm = exposure_done.result()  # done: the lane runs its tasks in order
            impact = impact_done.result()
            chosen = _systemic_candidates(in_circle, firm["gives"], firm["guarantee_out"], firm["guarantee_in"], p)
            systemic = np.full(n, np.nan)
            if chosen.size:
                # Distress never leaves a guarantee group, and groups are ranges of nodes here.
                # Dense cells for up to 4 per node (two float arrays, so memory stays linear).
                group = weak[chosen]
                scenario, node, h = _debtrank_in_groups(impact, at[chosen], group_start[group], weak_size[group],
                                                        budget=max(4 * n_nodes, 1 << 20))
                # R = Σ_i v_i h_i(T) − Σ_i v_i h_i(1): the seed's own value does not count.
                reached = np.bincount(scenario, weights=value[node] * h, minlength=chosen.size)
                systemic[chosen] = np.maximum(reached - value[at[chosen]], 0.0)
            lane_clock.lap("lane 2: systemic impact")
            ids = _ids(circle_number[circle_of_firm], "GC", 6), _ids(group_number[weak_of_firm], "GG", 7)
            lane_clock.lap("lane 2: circle and group ids")
            return systemic, *ids

        clock.lap("circles")
        systemic_done = lane.submit(systemic_and_ids_step)
        depth = chain_depth(local, strong, n_strong, src_label=strong_guarantor, dst_label=strong_borrower)
        firm_depth = depth[circle_of_firm]
        clock.lap("depth")
        contagion = contagion_done.result()
        circles = _circles_table(graph, order, strong, circle, circle_number, strong_size, circle_amount,
                                 circle_edges, seed, contagion)
        clock.lap("circles table")
        firm, (systemic, circle_ids, group_ids) = exposure_done.result(), systemic_done.result()
    finally:
        lane.close()

    clock.lap("waiting for lane 2")
    # Risk level and reasons.
    firm_contagion = contagion[at]
    circle_distressed = np.bincount(strong[seed], minlength=n_strong)
    firm_circle_distressed = np.where(in_circle, circle_distressed[circle_of_firm], 0)
    distressed_circle = firm_circle_distressed > 0
    equity_bad = ~equity_ok
    with np.errstate(invalid="ignore"):
        fired = pd.DataFrame({
            "G1": (firm["guarantee_to_distressed"] > 0)
                  & ((firm["guarantee_to_distressed_ratio"] > p.high_distressed_exposure_ratio) | equity_bad),
            "G2": distressed_circle,
            "G3": ~seeds & (firm_contagion >= p.high_contagion_loss) & (firm_contagion > 0),
            # A circle with a distressed member is said by G2 already.
            "G4": in_circle & ~distressed_circle,
            "G5": firm["mutual_partners"] > 0,
            "G6": firm["gives"] & ((firm["guarantee_out_ratio"] > p.medium_out_ratio) | equity_bad),
        }, index=index, copy=False)
    high_mask = fired["G1"].to_numpy() | fired["G2"].to_numpy() | fired["G3"].to_numpy()
    medium_mask = fired["G4"].to_numpy() | fired["G5"].to_numpy() | fired["G6"].to_numpy()
    low_mask = firm["gives"] | firm["receives"]

    firm_group_size = weak_size[weak_of_firm]
    columns = pd.DataFrame({
        **{name: firm[name] for name in ("guarantee_out", "guarantee_in", "guarantee_out_ratio",
                                         "guarantee_to_distressed", "guarantee_to_distressed_ratio")},
        "mutual_guarantee": firm["mutual_partners"] > 0,
        "mutual_partners": firm["mutual_partners"],
        "guarantee_circle_id": as_text(circle_ids, index=index),
        "guarantee_circle_size": pd.arrays.IntegerArray(strong_size[circle_of_firm], ~in_circle),
        "circle_distressed_count": firm_circle_distressed,
        "guarantee_group_id": as_text(group_ids, index=index),
        "guarantee_group_size": pd.arrays.IntegerArray(firm_group_size, firm_group_size < 2),
        "chain_depth": firm_depth,
        "contagion_loss": firm_contagion,
        "systemic_impact": systemic,
        "guarantee_risk": level_from_masks(index, high_mask, medium_mask, low_mask),
    }, index=index, copy=False)
    clock.lap("assemble")
    return EngineOutput(columns, fired), circles


class _Lane:
    """Work handed to a second thread (one worker, so tasks run in the order given), or
    done on the spot with one thread — then left out of the caller's ``clock``, which
    would otherwise count it a second time."""

    def __init__(self, n_jobs: int, clock: _Clock) -> None:
        self.clock = clock
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zjfin-network") if n_jobs > 1 else None

    def submit(self, task) -> Future:
        if self.pool is not None:
            return self.pool.submit(task)
        done: Future = Future()
        self.clock.pause()
        try:
            done.set_result(task())
        finally:
            self.clock.resume()
        return done

    def close(self) -> None:
        if self.pool is not None:  # on an error here, queued tasks are dropped, not waited for
            self.pool.shutdown(wait=True, cancel_futures=True)


class _Clock:
    """Seconds per step into a dict (nothing is kept when it is None)."""

    def __init__(self, out: dict[str, float] | None) -> None:
        self.out, self.last, self.held = out, time.perf_counter(), 0.0

    def lap(self, name: str) -> None:
        """The time since the last lap (and any held) goes to step ``name``."""
        now = time.perf_counter()
        if self.out is not None:
            self.out[name] = self.out.get(name, 0.0) + self.held + now - self.last
        self.last, self.held = now, 0.0

    def pause(self) -> None:
        """Hold the time so far for the next lap: what runs until ``resume`` is not counted."""
        now = time.perf_counter()
        self.held += now - self.last
        self.last = now

    def resume(self) -> None:
        self.last = time.perf_counter()


def _circles_table(graph: GuaranteeGraph, order: np.ndarray, strong: np.ndarray, circle: np.ndarray,
                   circle_number: np.ndarray, size: np.ndarray, total: np.ndarray, edges: np.ndarray,
                   seed: np.ndarray, contagion: np.ndarray) -> pd.DataFrame:
    """One row per circle: members and distressed members as lists of ids (node order).

    ``strong``, ``seed`` and ``contagion`` are in the local numbering (``order`` maps a
    local node to its node); ``circle`` lists the circles' component labels."""
    k = len(circle)
    is_circle = np.zeros(len(size), dtype=bool)
    is_circle[circle] = True
    local_members = np.flatnonzero(is_circle[strong])
    number = circle_number[strong[local_members]]
    # By circle; inside one, local order is node order (a group keeps its nodes' order).
    by_circle = _grouped_order(number - 1, k)
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
        "circle_id": as_text(_ids(np.arange(1, k + 1), "GC", 6)),
        "size": size[components].astype(np.int64),
        "members": pd.arrays.ArrowExtensionArray(members),
        "outside_members": outside.astype(np.int64),
        "total_amount": total[components],
        "internal_guarantees": edges[components].astype(np.int64),
        "distressed_members": pd.arrays.ArrowExtensionArray(distressed),
        "distressed_count": distressed_count.astype(np.int64),
        "max_contagion_loss": worst,
    }, copy=False)
