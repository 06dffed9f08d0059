"""Array kernels on CSR graphs: the building blocks of the guarantee-network stage.

Generic and vectorised (loops run over graph layers, never over nodes or edges): the
entries of a CSR matrix, ranges and row slices gathered at once, a radix grouping of nodes,
renumbering a graph, numbering components, their ids as text, reciprocal pairs, and chain
depth by topological layers of a condensation.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

__all__ = ["csr_edges", "ranges", "row_entries", "grouped_order", "renumbered", "first_node", "numbered", "top_k",
           "component_ids", "mutual_partners", "chain_depth"]


def csr_edges(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of every stored entry of a CSR matrix, row-major."""
    row = np.repeat(np.arange(matrix.shape[0], dtype=matrix.indices.dtype), np.diff(matrix.indptr))
    return row, matrix.indices, matrix.data


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(start, start + length) for each pair, vectorised.

    Examples
    --------
    >>> ranges(np.array([5, 0, 2]), np.array([2, 0, 1])).tolist()
    [5, 6, 2]
    """
    ends = np.cumsum(lengths)
    if not ends.size or ends[-1] == 0:
        return np.empty(0, dtype=np.int64)
    # Item k of a range is k plus (its stop − where that range ends in the output).
    out = np.repeat((starts + lengths - ends).astype(np.int64, copy=False), lengths)
    out += np.arange(out.size, dtype=np.int64)
    return out


def row_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the stored entries of the given CSR rows, row after row, and each
    row's number of entries.

    Examples
    --------
    >>> [a.tolist() for a in row_entries(np.array([0, 2, 2, 5]), np.array([2, 0]))]
    [[2, 3, 4, 0, 1], [3, 2]]
    """
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    return ranges(starts, counts), counts


def grouped_order(labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Positions grouped by label (labels 0 … n_labels − 1 < 2³², in increasing order,
    positions increasing within each): a stable radix sort, 16 bits at a time (numpy sorts 16-bit keys by radix; a
    stable argsort of wider integers would be a merge sort, about twice as slow).

    Examples
    --------
    >>> grouped_order(np.array([1, 0, 1, 0]), 2).tolist()
    [1, 3, 0, 2]
    """
    order = np.argsort((labels & 0xFFFF).astype(np.uint16), kind="stable")
    if n_labels > 0xFFFF:
        order = order[np.argsort((labels[order] >> 16).astype(np.uint16), kind="stable")]
    return order


def renumbered(matrix: sp.csr_matrix, order: np.ndarray, position: np.ndarray) -> sp.csr_matrix:
    """The same graph with node ``order[k]`` renumbered k (``position`` is the inverse):
    each row moves whole and its column numbers are looked up (left unsorted within the
    row: nothing downstream needs them sorted).

    Examples
    --------
    >>> m = sp.csr_matrix(([1.0, 2.0], ([0, 2], [2, 1])), shape=(3, 3))
    >>> order = np.array([2, 0, 1]); position = np.array([1, 2, 0])
    >>> renumbered(m, order, position).toarray().tolist()
    [[0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    at, lengths = row_entries(matrix.indptr, order)  # each moved row's entries, in the new row order
    indptr_new = np.zeros(len(order) + 1, dtype=matrix.indptr.dtype)
    np.cumsum(lengths, out=indptr_new[1:])
    indices = position.astype(matrix.indices.dtype, copy=False)[matrix.indices[at]]
    return sp.csr_matrix((matrix.data[at], indices, indptr_new), shape=matrix.shape)


def first_node(labels: np.ndarray, n_components: int) -> np.ndarray:
    """Each component's smallest node (written from the last node back: the first wins);
    −1 for a component number no node carries."""
    first = np.full(n_components, -1, dtype=np.int64)
    first[labels[::-1]] = np.arange(len(labels) - 1, -1, -1)
    return first


def numbered(n_components: int, found: np.ndarray, sort_keys: list[np.ndarray]) -> np.ndarray:
    """Number the components ``found`` 1 … k in the order of ``sort_keys`` (one entry per
    found component; np.lexsort: last key first); 0 for every other component."""
    number = np.zeros(n_components, dtype=np.int64)
    number[found[np.lexsort(sort_keys)]] = np.arange(1, len(found) + 1)
    return number


def top_k(candidates: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
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


def component_ids(number: np.ndarray, prefix: str, width: int) -> pa.Array:
    """``prefix`` + the number zero-padded to ``width`` digits (more digits when it has
    more), null where the number is 0.

    When every id has the one width, they are laid out as bytes by numpy: each distinct
    id is written once (per circle or group), then copied row by row for every firm.

    Examples
    --------
    >>> component_ids(np.array([2, 0, 1, 2]), "GC", 3).to_pylist()
    ['GC002', None, 'GC001', 'GC002']
    >>> component_ids(np.array([1000, 7]), "GC", 3).to_pylist()
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


def mutual_partners(guarantor: np.ndarray, borrower: np.ndarray, n_nodes: int) -> np.ndarray:
    """Per node, how many firms it both guarantees and is guaranteed by, from the distinct
    (guarantor, borrower) pairs of a graph without self-guarantees: a pair and its reverse
    share one unordered key, so a key found twice is a mutual guarantee (sorting the keys,
    SPEC §10, instead of intersecting the graph with its transpose).

    Examples
    --------
    >>> mutual_partners(np.array([0, 1, 0, 2]), np.array([1, 0, 2, 1]), 3).tolist()
    [1, 1, 0]
    """
    key = np.minimum(guarantor, borrower).astype(np.int64) * n_nodes + np.maximum(guarantor, borrower)
    key.sort()
    twice = key[1:][key[1:] == key[:-1]]
    return np.bincount(twice // n_nodes, minlength=n_nodes) + np.bincount(twice % n_nodes, minlength=n_nodes)


# Layers peeled one NumPy round each before chain depth switches to pointer jumping.
_MAX_PEELED_LAYERS = 256


def _depth_by_layers(matrix: sp.csr_matrix, labels: np.ndarray, n_components: int, src_label: np.ndarray,
                     dst_label: np.ndarray, max_layers: int) -> np.ndarray | None:
    """Chain depth peeled layer by layer (Kahn's algorithm, one layer per step over the
    whole frontier): fastest when paths are short, as in real networks; None after
    ``max_layers`` layers."""
    n, indptr = matrix.shape[0], matrix.indptr
    dst_label = labels[matrix.indices] if dst_label is None else dst_label
    src_label = np.repeat(labels, np.diff(indptr)) if src_label is None else src_label
    # Each component goes by its first node (a one-node component by itself), so the
    # frontier is a list of nodes; the other members of the few larger components are
    # looked up in a short list. A guarantee inside a component points at a sink (n).
    first = first_node(labels, n_components)
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
        if layer >= max_layers:
            return None  # a long chain: the merge-point algorithm does it in log steps
        node_depth[frontier] = layer
        frontier = frontier[passes_on[frontier]]
        larger = frontier[other_count[frontier] > 0]  # components of several firms: few
        nodes = np.concatenate([frontier, others[ranges(other_start[larger], other_count[larger])]])
        targets = successor[row_entries(indptr, nodes)[0]]
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


def chain_depth(matrix: sp.csr_matrix, labels: np.ndarray, n_components: int,
                src_label: np.ndarray | None = None, dst_label: np.ndarray | None = None) -> np.ndarray:
    """Longest path, in guarantees, into each component of the condensation: 0 without
    predecessors, else one more than its deepest predecessor.

    Layers are peeled all at once (Kahn's algorithm), which is fastest for the short paths
    of real networks; but a chain of a million firms has a million layers, so past
    ``_MAX_PEELED_LAYERS`` the condensation is cut where paths merge instead: a component with exactly one
    predecessor is one deeper than it, which makes in-trees whose depths pointer jumping
    finds in log₂(length) rounds; only the components where paths merge (two or more
    predecessors) are peeled layer by layer (Kahn's algorithm), on the contracted graph
    of tree roots, with the trees' lengths as weights.

    ``src_label`` and ``dst_label`` (the components of each stored guarantee's two ends,
    row-major) are computed when not given.

    Examples
    --------
    >>> m = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 1])), shape=(3, 3))
    >>> chain_depth(m, np.array([0, 1, 1]), 2).tolist()   # 0 -> {1, 2}
    [0, 1]
    >>> chain = sp.csr_matrix((np.ones(4), (np.arange(4), np.arange(1, 5))), shape=(5, 5))
    >>> chain_depth(chain, np.arange(5), 5).tolist()
    [0, 1, 2, 3, 4]
    """
    dst_label = labels[matrix.indices] if dst_label is None else dst_label
    src_label = np.repeat(labels, np.diff(matrix.indptr)) if src_label is None else src_label
    # Short paths (real networks: 5 at most): peel layers; a long chain switches over.
    depth = _depth_by_layers(matrix, labels, n_components, src_label, dst_label, max_layers=_MAX_PEELED_LAYERS)
    return depth if depth is not None else _depth_by_merge_points(n_components, src_label, dst_label)


def _depth_by_merge_points(n_components: int, src_label: np.ndarray, dst_label: np.ndarray) -> np.ndarray:
    """Chain depth for long paths: in-trees by pointer jumping, Kahn's layers only on the
    contracted graph of the components where paths merge (see :func:`chain_depth`)."""
    between = src_label != dst_label
    pair = np.sort(src_label[between].astype(np.int64) * n_components + dst_label[between])
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if pair.size else pair  # distinct, by sorting (a hash is slower)
    src, dst = np.divmod(pair, n_components)  # distinct edges of the condensation
    indegree = np.bincount(dst, minlength=n_components)
    # In-trees: a component with one predecessor hangs from it; the others are roots.
    parent = np.arange(n_components, dtype=np.int64)
    single = indegree[dst] == 1
    parent[dst[single]] = src[single]
    offset = (parent != np.arange(n_components)).astype(np.int64)
    while True:  # pointer jumping: log2 of the longest in-tree path rounds
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        offset += offset[parent]
        parent = grand
    root = parent
    # The roots where paths merge: depth = max over predecessors p of depth(root(p)) + offset(p) + 1.
    merge = ~single
    c_src, c_dst = root[src[merge]], dst[merge]
    weight = offset[src[merge]] + 1
    order = np.argsort(c_src, kind="stable")
    c_src, c_dst, weight = c_src[order], c_dst[order], weight[order]
    out_start = np.searchsorted(c_src, np.arange(n_components + 1))
    remaining = np.bincount(c_dst, minlength=n_components)
    root_depth = np.zeros(n_components, dtype=np.int64)
    frontier = np.flatnonzero((indegree == 0))  # the sources: depth 0
    while frontier.size:  # once per merging layer, not per component
        at = ranges(out_start[frontier], out_start[frontier + 1] - out_start[frontier])
        if not at.size:
            break
        targets = c_dst[at]
        np.maximum.at(root_depth, targets, root_depth[c_src[at]] + weight[at])
        np.subtract.at(remaining, targets, 1)
        ready = np.unique(targets[remaining[targets] == 0])
        frontier = ready
    return root_depth[root] + offset
