"""The active guarantee graph: guarantor → borrower over the guarantees in force on the
as-of date, a scipy CSR matrix over dense node numbers (the screened firms are nodes
0 … n − 1, their ``firm_idx``; firms named only by guarantees follow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from zjfin._arrow import arrow_text
from zjfin.risks.network.kernels import csr_edges

__all__ = ["GuaranteeGraph", "guarantee_graph"]


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
        return csr_edges(self.matrix)


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
