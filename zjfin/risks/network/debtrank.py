"""DebtRank (Battiston et al. 2012) on the guarantee graph: distress passed from borrowers
to their guarantors, W_ij = min(1, amount_ij / equity_i), each firm propagating once.

One scenario keeps a dense state over the nodes; several keep theirs on dense cells inside
their guarantee groups, in blocks under a memory budget (``systemic_reach``), or as sorted
(scenario, node) keys (``debtrank``, the reference the others are tested against).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from zjfin.risks.network.kernels import row_entries

__all__ = ["debtrank", "debtrank_cells", "one_scenario", "systemic_reach", "impact_matrix",
           "STEP_WORK", "WorkBudgetExceeded"]


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
        node, h = one_scenario(impact_by_borrower, np.unique(seed_node), max_steps)
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
        at, counts = row_entries(indptr, borrower)
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


#: The work of one propagation step apart from the guarantees it visits (a round of NumPy
#: calls), in guarantee visits: what a long thin chain costs per step.
STEP_WORK = 1_000


class WorkBudgetExceeded(Exception):
    """A DebtRank run stopped because its work budget ran out."""


def debtrank_cells(impact_by_borrower: sp.csr_matrix, cell_start: np.ndarray, node_start: np.ndarray,
                    seed_scenario: np.ndarray, seed_node: np.ndarray, max_steps: int | None,
                    sorted_frontier: bool, work: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """DebtRank for scenarios whose states share one dense array of cells: scenario s owns
    cells ``cell_start[s]`` … ``cell_start[s + 1] − 1``, one per node from ``node_start[s]``
    on. For one scenario that is a cell per node. For several, each owns the nodes its
    distress cannot leave (its guarantee group, laid out side by side), so the cell a
    guarantor's share lands in is found by an addition, with no search.

    Returns (cell, h) where h > 0, by cell. The frontier (seeds first) is taken in cell
    order when ``sorted_frontier``, else in the order its cells were given or first
    reached: that order is the order in which a guarantor's shares are added up.

    ``work``, a one-item list of the guarantee visits still allowed, is charged each step
    (visits plus :data:`STEP_WORK`); when it runs out the run stops with
    :class:`WorkBudgetExceeded`.
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
        at, counts = row_entries(indptr, cell - offset)
        if work is not None:
            work[0] -= at.size + STEP_WORK
            if work[0] < 0:
                raise WorkBudgetExceeded
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


def one_scenario(impact_by_borrower: sp.csr_matrix, seed_node: np.ndarray,
                  max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One DebtRank scenario on a cell per node, the seeds taken in the order given:
    (node, h) where h > 0, by node."""
    n = impact_by_borrower.shape[0]
    return debtrank_cells(impact_by_borrower, np.array([0, n], dtype=np.int64), np.zeros(1, dtype=np.int64),
                           np.zeros(len(seed_node), dtype=np.int64), seed_node, max_steps, sorted_frontier=False)


def systemic_reach(impact_by_borrower: sp.csr_matrix, seed_node: np.ndarray, group_start: np.ndarray,
                   group_size: np.ndarray, value: np.ndarray, cell_budget: int,
                   work_budget: float) -> tuple[np.ndarray, np.ndarray]:
    """Σ value·h reached by one DebtRank scenario per seed (in the numbering where every
    guarantee group is a range of nodes), the seeds taken in the order given (most
    important first).

    Memory is bounded whatever the graph's shape: consecutive scenarios share one block of
    at most ``cell_budget`` dense cells (a cell per node of each scenario's group; a
    scenario whose group alone is larger gets a block of its own), and only the sum per
    scenario is kept, never the (scenario, firm) pairs. Time is bounded by
    ``work_budget`` guarantee visits (each step also costs :data:`STEP_WORK`): when it runs
    out, the block under way and every later scenario are not computed.

    Returns
    -------
    reach : float array
        Per seed, NaN where not computed.
    computed : bool array

    Examples
    --------
    Borrower 0 is guaranteed by 1 (W = 0.5), which is guaranteed by 2 (W = 0.4); one group:

    >>> wt = sp.csr_matrix(([0.5, 0.4], ([0, 1], [1, 2])), shape=(3, 3))
    >>> reach, ok = systemic_reach(wt, np.array([0, 1]), np.array([0, 0]), np.array([3, 3]), np.ones(3), 6, 1e9)
    >>> reach.tolist(), ok.tolist()
    ([1.7, 1.4], [True, True])
    >>> systemic_reach(wt, np.array([0, 1]), np.array([0, 0]), np.array([3, 3]), np.ones(3), 6, 10)[1].tolist()
    [False, False]
    """
    k = len(seed_node)
    reach = np.full(k, np.nan)
    computed = np.zeros(k, dtype=bool)
    ends = np.cumsum(group_size)
    work = [float(work_budget)]
    start = 0
    while start < k:  # one pass per block of scenarios, not per scenario
        fit = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + cell_budget, side="right"))
        stop = max(fit, start + 1)
        block = np.arange(start, stop)
        cell_start = np.zeros(block.size + 1, dtype=np.int64)
        np.cumsum(group_size[block], out=cell_start[1:])
        try:
            cell, h = debtrank_cells(impact_by_borrower, cell_start, group_start[block], np.arange(block.size),
                                     seed_node[block], None, sorted_frontier=True, work=work)
        except WorkBudgetExceeded:
            break
        scenario = np.searchsorted(cell_start, cell, side="right") - 1
        node = cell - cell_start[scenario] + group_start[block][scenario]
        reach[block] = np.bincount(scenario, weights=value[node] * h, minlength=block.size)
        computed[block] = True
        start = stop
    return reach, computed


def impact_matrix(matrix: sp.csr_matrix, node_equity: np.ndarray, guarantor: np.ndarray) -> sp.csr_matrix:
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
