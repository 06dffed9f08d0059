"""Guarantee-chain risk (担保链, SPEC §3.6): the one global stage of screening.

One directed graph guarantor → borrower over the guarantees active at the as-of date,
held as a scipy CSR matrix over dense node numbers: the screened firms are nodes
0 … n − 1 (their ``firm_idx``), firms named only by guarantees follow. Everything here is
array work on that matrix — strongly and weakly connected components from
``scipy.sparse.csgraph``, reciprocal pairs by sorting pair keys, chain depth by
topological layers of the condensation, DebtRank by frontier propagation — never a Python
loop over firms or guarantees (loops run over propagation steps or graph layers).

- :mod:`~zjfin.risks.network.graph`: the graph from the guarantees table;
- :mod:`~zjfin.risks.network.kernels`: generic CSR and array kernels;
- :mod:`~zjfin.risks.network.debtrank`: DebtRank, for one scenario or many;
- :mod:`~zjfin.risks.network.rules`: seeds, systemic-impact candidates, reasons G1–G6;
- :mod:`~zjfin.risks.network.stage`: ``guarantee_network``, the stage as named steps.

Two things make it fast at provincial scale. After the weak components, the stage works
on the graph renumbered group by group, so each traversal reads neighbouring memory
instead of the whole province (a group's firms are scattered through the firm table);
results come back to firm order at the end. And with two threads, the per-firm sums
run beside the weak components, and W and DebtRank beside the strong components and
chain depth.
"""

from zjfin.risks.network.debtrank import debtrank
from zjfin.risks.network.graph import GuaranteeGraph, guarantee_graph
from zjfin.risks.network.kernels import chain_depth
from zjfin.risks.network.rules import distressed_firms
from zjfin.risks.network.stage import guarantee_network

__all__ = ["GuaranteeGraph", "guarantee_graph", "guarantee_network", "debtrank", "chain_depth", "distressed_firms"]
