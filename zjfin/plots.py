"""Drawings of the guarantee network (担保圈, 担保链) behind one screening.

Two views of ``result.tables["graph"]`` (:class:`zjfin.risks.network.GuaranteeGraph`):
one guarantee circle on a ring, and the guarantee neighbourhood of one firm in columns
by signed distance. Arrows point guarantor → borrower, their width grows with the square
root of the amount, nodes are coloured by the firm's ``guarantee_risk``.

matplotlib is an optional dependency (``pip install zjfin[plot]``): it is imported inside
the functions. Every artist carries a ``gid`` so a drawing can be inspected (and so an
SVG export keeps the ids): node labels carry the node's firm id, arrows
``"<guarantor id>-><borrower id>"``, the node markers are one scatter with gid
``"guarantee-nodes"`` whose points are in the order of the labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from zjfin.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from zjfin.risks.network import GuaranteeGraph

__all__ = [
    "plot_guarantee_circle",
    "plot_guarantee_neighbourhood",
    "RISK_COLOURS",
    "MIN_WIDTH",
    "MAX_WIDTH",
]

#: Node fill per ``guarantee_risk``; ``unknown`` is a null level or a firm outside the dataset.
RISK_COLOURS: dict[str, str] = {
    "none": "#9e9e9e",
    "low": "#2ca02c",
    "medium": "#ff7f0e",
    "high": "#d62728",
    "unknown": "#ffffff",
}
_LEGEND_LABELS = {
    "none": "none",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "unknown": "unknown / outside the dataset",
}
#: Arrow line widths in points: an amount of 0 and the largest amount of the drawing.
MIN_WIDTH = 0.8
MAX_WIDTH = 6.0
_NODE_SIZE = 380.0  # scatter marker area in points²
_NODE_RADIUS = float(np.sqrt(_NODE_SIZE) / 2)
_EDGE_COLOUR = "#4d4d4d"
_NAME_WIDTH = 8  # characters of a short firm name
_COLUMN_GAP = 2.2  # data units between columns, room for a label under each node
_LEGAL_FORMS = r"(?:股份有限公司|有限责任公司|有限公司|股份公司|集团公司|公司)$"
# Families tried as a fallback for Chinese glyphs, most common installs first.
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei",
              "PingFang SC", "Heiti SC", "Arial Unicode MS")


def plot_guarantee_circle(result: Any, circle_id: str, ax: Axes | None = None) -> Axes:
    """Draw one guarantee circle (担保圈): its members on a ring and every guarantee
    between them.

    Parameters
    ----------
    result : ScreeningResult
        From :func:`zjfin.screen` with a guarantees table (``tables["graph"]`` and
        ``tables["circles"]``).
    circle_id : str
        A ``circle_id`` of ``result.tables["circles"]`` such as ``"GC000001"``.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
        One arrow (``FancyArrowPatch``) per guarantor → borrower pair inside the circle,
        width on a square-root scale of the amount from :data:`MIN_WIDTH` to
        :data:`MAX_WIDTH`; one node marker per member coloured by :data:`RISK_COLOURS`;
        labels are short firm names (the id's last 6 characters for a firm outside the
        dataset); the title gives the circle id, its size and its total amount in 万元.

    Raises
    ------
    ParameterError
        The circle id is unknown, or the guarantee network was not computed.
    ImportError
        matplotlib is not installed.

    Notes
    -----
    Members are placed in the order of a walk along their guarantees, so a simple
    cycle A → B → C → A is drawn as a ring without crossing arrows. Chinese names need a
    CJK font; an installed one (Noto Sans CJK, WenQuanYi, SimHei, …) is used as a fallback
    automatically, otherwise matplotlib warns about missing glyphs when drawing.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> ax = plot_guarantee_circle(res, "GC000001")
    >>> ax.get_title()
    'GC000001: 4 firms, ... 万元'
    >>> len(ax.patches), len(ax.collections[0].get_offsets())
    (4, 4)
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    _require_matplotlib()
    graph, screening, circles = _network(result)
    if not isinstance(circle_id, str) or not (circles["circle_id"] == circle_id).any():
        example = f" such as {circles['circle_id'].iloc[0]!r}" if len(circles) else " (this screening has none)"
        raise ParameterError("circle_id", f"a circle_id of result.tables['circles']{example}", circle_id)
    row = circles.loc[circles["circle_id"] == circle_id].iloc[0]
    members = pa.array(np.asarray(row["members"], dtype=object), type=pa.string())
    nodes = pc.index_in(members, value_set=graph.node_ids).to_numpy(zero_copy_only=False).astype(np.int64)
    src, dst, amount = _edges_among(graph, nodes)
    order = _ring_order(src, dst, amount, len(nodes))
    # Renumber the edges to the ring order so positions and edges share one numbering.
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[order] = np.arange(len(nodes))
    nodes, src, dst = nodes[order], rank[src], rank[dst]
    angle = np.pi / 2 - 2 * np.pi * np.arange(len(nodes)) / len(nodes)
    xy = np.column_stack([np.cos(angle), np.sin(angle)])
    ax = _axes(ax, (7.0, 6.0))
    title = f"{circle_id}: {len(nodes)} firms, {_wan(amount.sum())} 万元"
    _draw(ax, graph, screening, nodes, xy, src, dst, amount, title)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.5, 1.35)
    return ax


def plot_guarantee_neighbourhood(result: Any, firm_id: str, depth: int = 1, ax: Axes | None = None,
                                 max_nodes: int = 60) -> Axes:
    """Draw one firm and every firm within ``depth`` guarantee steps of it, either way.

    Parameters
    ----------
    result : ScreeningResult
        From :func:`zjfin.screen` with a guarantees table.
    firm_id : str
        A screened firm, or a firm named only by guarantees.
    depth : int
        Guarantee steps followed upstream (its guarantors, theirs, …) and downstream (the
        borrowers it guarantees, theirs, …).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    max_nodes : int
        Most firms drawn, the firm included. Beyond it the neighbours with the largest
        amount of guarantees with the rest of the neighbourhood (both directions) are
        kept and the title says how many were left out.

    Returns
    -------
    matplotlib Axes
        Columns by signed distance, one per guarantee step: guarantors to the left,
        borrowers to the right, the firm at (0, 0). A firm reached as many steps
        upstream as downstream (a mutual guarantee partner, a member of the same circle)
        is drawn in the firm's column; otherwise the shorter way decides. Every guarantee
        between drawn firms is an arrow; colours, widths and labels as in
        :func:`plot_guarantee_circle`.

    Raises
    ------
    ParameterError
        Unknown firm id, ``depth`` or ``max_nodes`` not a whole number ≥ 1, or the
        guarantee network was not computed.
    ImportError
        matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> member = res.tables["circles"]["members"].iloc[0][0]
    >>> ax = plot_guarantee_neighbourhood(res, member, depth=2)
    >>> ax.get_title()
    '... within 2 guarantee steps: ... firms, ... 万元'
    >>> int(ax.collections[0].get_offsets()[0, 0])   # the firm comes first, at x = 0
    0
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    _require_matplotlib()
    graph, screening, _ = _network(result)
    for name, value in (("depth", depth), ("max_nodes", max_nodes)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ParameterError(name, "a whole number ≥ 1", value)
    found = np.flatnonzero(pc.equal(graph.node_ids, pa.scalar(firm_id, pa.string())).fill_null(False)
                           .to_numpy(zero_copy_only=False)) if isinstance(firm_id, str) else np.empty(0)
    if not found.size:
        raise ParameterError("firm_id", "a screened firm or a firm named by the guarantees", firm_id)
    centre = int(found[0])
    down = _steps(graph.matrix, centre, int(depth))
    up = _steps(graph.matrix.transpose().tocsr(), centre, int(depth))
    nodes = np.flatnonzero((down >= 0) | (up >= 0))
    d, u = down[nodes], up[nodes]
    # The shorter way decides the side; as many steps both ways stays in the firm's column.
    column = np.where((d > 0) & ((u < 0) | (d < u)), d, np.where((u > 0) & ((d < 0) | (u < d)), -u, 0))
    src, dst, amount = _edges_among(graph, nodes)
    weight = (np.bincount(src, weights=amount, minlength=len(nodes))
              + np.bincount(dst, weights=amount, minlength=len(nodes)))
    is_centre = nodes == centre
    left_out = max(len(nodes) - int(max_nodes), 0)
    if left_out:
        # The firm first, then the heaviest neighbours; nearer, then lower node number break ties.
        keep = np.lexsort((nodes, np.abs(column), -weight, ~is_centre))[: int(max_nodes)]
        keep.sort()
        nodes, column, weight, is_centre = nodes[keep], column[keep], weight[keep], is_centre[keep]
        src, dst, amount = _edges_among(graph, nodes)
    xy = _column_layout(column, weight, is_centre, src, dst)
    # The firm is drawn first so it is found at position 0 of the scatter and the labels.
    first = np.r_[np.flatnonzero(is_centre), np.flatnonzero(~is_centre)]
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[first] = np.arange(len(nodes))
    nodes, xy, column, src, dst = nodes[first], xy[first], column[first], rank[src], rank[dst]
    columns, heights = np.unique(column, return_counts=True)
    ax = _axes(ax, (max(6.0, 2.4 * len(columns) + 2.5), max(4.0, 0.6 * heights.max() + 1.5)))
    label = _node_table(graph, screening, nodes[:1])["label"].iloc[0]
    steps = f"{int(depth)} guarantee step{'s' if depth != 1 else ''}"
    title = f"{label} ({firm_id}) within {steps}: {len(nodes)} firms, {_wan(amount.sum())} 万元"
    if left_out:
        title += f"\n{left_out} more firms left out (max_nodes={int(max_nodes)}, largest amounts kept)"
    sizes = np.where(np.arange(len(nodes)) == 0, _NODE_SIZE * 1.6, _NODE_SIZE)
    _draw(ax, graph, screening, nodes, xy, src, dst, amount, title, sizes=sizes)
    top = xy[:, 1].max()
    for c in columns:  # one caption per column of this drawing
        side = "firm" if c == 0 else ("guarantors" if c < 0 else "borrowers")
        caption = side if abs(c) <= 1 else f"{side}, {abs(c)} steps"
        ax.text(c * _COLUMN_GAP, top + 0.9, caption, ha="center", va="bottom", fontsize=9,
                color="#555555", gid="column-caption")
    ax.set_xlim(columns.min() * _COLUMN_GAP - 1.2, columns.max() * _COLUMN_GAP + 1.2)
    ax.set_ylim(xy[:, 1].min() - 0.9, top + 1.5)
    return ax



def _require_matplotlib() -> None:
    """Fail early, with the fix, when the optional dependency is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError("zjfin.plots needs matplotlib: pip install matplotlib") from error


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """The given Axes, or a new figure's (constrained layout keeps the outside legend in)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _network(result: Any) -> tuple[GuaranteeGraph, pd.DataFrame, pd.DataFrame]:
    """The graph, the screening rows and the circles of a result, or a ParameterError."""
    tables = getattr(result, "tables", None)
    screening = getattr(result, "screening", None)
    if not isinstance(tables, dict) or not isinstance(screening, pd.DataFrame):
        raise ParameterError("result", "a ScreeningResult from zjfin.screen", type(result).__name__)
    if "graph" not in tables:
        raise ParameterError("result", "screened with a guarantees table",
                             "a result whose guarantee network was not computed")
    circles = tables.get("circles")
    if circles is None:
        circles = pd.DataFrame({"circle_id": pd.Series([], dtype=object), "members": []})
    return tables["graph"], screening, circles


def _edges_among(graph: GuaranteeGraph, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(guarantor, borrower, amount) of every stored pair between the given nodes, as
    positions in ``nodes``; only the rows of these nodes are read."""
    position = np.full(graph.n_nodes, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    rows = graph.matrix[nodes]
    src = np.repeat(np.arange(len(nodes), dtype=np.int64), np.diff(rows.indptr))
    dst = position[rows.indices]
    inside = dst >= 0
    return src[inside], dst[inside], np.asarray(rows.data, dtype=float)[inside]


def _steps(adjacency: sp.csr_matrix, start: int, depth: int) -> np.ndarray:
    """Guarantee steps from ``start`` along the rows of ``adjacency`` (−1: not within
    ``depth``). Each loop turn expands the whole frontier at once.

    Examples
    --------
    >>> m = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 3])), shape=(5, 5))
    >>> _steps(m, 0, 2).tolist(), _steps(m.transpose().tocsr(), 2, 5).tolist()
    ([0, 1, 2, -1, -1], [2, 1, 0, -1, -1])
    """
    steps = np.full(adjacency.shape[0], -1, dtype=np.int64)
    steps[start] = 0
    frontier = np.array([start], dtype=np.int64)
    for step in range(1, depth + 1):
        reached = np.unique(adjacency[frontier].indices)
        reached = reached[steps[reached] < 0]
        if not reached.size:
            break
        steps[reached] = step
        frontier = reached
    return steps


def _ring_order(src: np.ndarray, dst: np.ndarray, amount: np.ndarray, n: int) -> np.ndarray:
    """Ring positions: a walk from node 0 to its heaviest unvisited borrower, restarting at
    the lowest unvisited node when stuck, so a cycle's arrows run around the ring.

    Examples
    --------
    >>> _ring_order(np.array([0, 2, 3, 1]), np.array([2, 3, 1, 0]), np.ones(4), 4).tolist()
    [0, 2, 3, 1]
    """
    order = np.empty(n, dtype=np.int64)
    visited = np.zeros(n, dtype=bool)
    current = 0
    for k in range(n):  # one turn per member of this circle
        order[k] = current
        visited[current] = True
        if k == n - 1:
            break
        step = (src == current) & ~visited[dst]
        if step.any():
            current = int(dst[step][np.argmax(amount[step])])
        else:
            current = int(np.argmin(visited))
    return order


def _column_layout(column: np.ndarray, weight: np.ndarray, is_centre: np.ndarray,
                   src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """x = column · gap; y stacks each column top to bottom, centred on y = 0.

    Columns are placed from the firm outwards; within a column firms follow the mean
    height of their neighbours already placed (fewer crossing arrows), then weight. The
    firm sits at y = 0, the others of its column alternate above and below it.

    Examples
    --------
    Firm 5 is drawn below 6 though it weighs more: its guarantor 3 is below 4.

    >>> xy = _column_layout(np.array([0, -1, 0, 1, 1, 2, 2]), np.array([0.0, 1, 1, 2, 3, 5, 1]),
    ...                     np.array([True] + [False] * 6),
    ...                     np.array([1, 0, 0, 0, 3, 4]), np.array([0, 2, 3, 4, 5, 6]))
    >>> (xy[:, 0] / _COLUMN_GAP).tolist(), xy[:, 1].tolist()
    ([0.0, -1.0, 0.0, 1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 1.0, -0.5, 0.5, -0.5, 0.5])
    """
    xy = np.zeros((len(column), 2))
    xy[:, 0] = column * _COLUMN_GAP
    placed = np.zeros(len(column), dtype=bool)
    ends = np.r_[src, dst]
    other = np.r_[dst, src]
    for c in sorted(np.unique(column).tolist(), key=abs):  # one turn per column of this drawing
        at = np.flatnonzero(column == c)
        if c == 0:
            others = at[~is_centre[at]]
            others = others[np.lexsort((others, -weight[others]))]
            k = np.arange(len(others))
            xy[others, 1] = np.where(k % 2 == 0, 1.0, -1.0) * (k // 2 + 1)
        else:
            # Mean height of the placed neighbours, from the undirected list of drawn edges.
            seen = placed[other]
            total = np.bincount(ends[seen], weights=xy[other[seen], 1], minlength=len(column))
            count = np.bincount(ends[seen], minlength=len(column))
            level = np.where(count > 0, total / np.maximum(count, 1), -np.inf)[at]
            at = at[np.lexsort((at, -weight[at], -level))]
            xy[at, 1] = (len(at) - 1) / 2 - np.arange(len(at))
        placed[column == c] = True
    return xy


def _node_table(graph: GuaranteeGraph, screening: pd.DataFrame, nodes: np.ndarray) -> pd.DataFrame:
    """id, label and risk key of the given nodes (node k < n_firms is screening row k)."""
    ids = pd.Series(graph.node_ids.take(pa.array(nodes, type=pa.int64())).to_pylist(), dtype=object)
    inside = nodes < graph.n_firms
    rows = screening.iloc[nodes[inside]]
    risk = pd.Series("unknown", index=ids.index, dtype=object)
    if "guarantee_risk" in rows.columns:
        level = rows["guarantee_risk"].astype(object).to_numpy()
        risk[inside] = np.where(pd.Series(level).isin(list(RISK_COLOURS)).to_numpy(), level, "unknown")
    label = ids.str[-6:]
    if "name" in rows.columns:
        names = _short_names(rows["name"].astype(object).reset_index(drop=True)).to_numpy()
        label[inside] = np.where(pd.isna(names), label[inside].to_numpy(), names)
    return pd.DataFrame({"id": ids, "label": label, "risk": risk})


def _short_names(names: pd.Series, width: int = _NAME_WIDTH) -> pd.Series:
    """Firm names without the legal form, cut to ``width`` characters; nulls stay null.

    Examples
    --------
    >>> _short_names(pd.Series(["杭州益远五金贸易有限公司", "浙江恒逸石化科技集团股份有限公司", None])).tolist()
    ['杭州益远五金贸易', '浙江恒逸石化科…', None]
    """
    text = names.astype(object).where(names.notna()).str.strip().str.replace(_LEGAL_FORMS, "", regex=True)
    long = (text.str.len() > width).to_numpy()
    text = text.where(~long, text.str[: width - 1] + "…")
    return text.astype(object).where(text.notna(), None)


def _arrow_widths(amount: np.ndarray) -> np.ndarray:
    """Line widths on a square-root scale: 0 → MIN_WIDTH, the largest amount → MAX_WIDTH.

    Examples
    --------
    >>> _arrow_widths(np.array([0.0, 25.0, 100.0])).round(2).tolist()
    [0.8, 3.4, 6.0]
    """
    amount = np.clip(np.nan_to_num(np.asarray(amount, dtype=float)), 0.0, None)
    top = amount.max(initial=0.0)
    scale = np.sqrt(amount / top) if top > 0 else np.zeros_like(amount)
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * scale


def _wan(amount: float) -> str:
    """Yuan as 万元 text: whole 万 from 100 万 up, one decimal below.

    Examples
    --------
    >>> _wan(1.2e8), _wan(5.5e4)
    ('12,000', '5.5')
    """
    wan = float(amount) / 1e4
    return f"{wan:,.0f}" if wan >= 100 else f"{wan:,.1f}"


def _font() -> dict[str, Any]:
    """Text keyword for Chinese labels: the default family first, an installed CJK font
    as glyph fallback (matplotlib ≥ 3.6); nothing when no CJK font is installed."""
    import matplotlib
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    cjk = [name for name in _CJK_FONTS if name in installed]
    return {"fontfamily": list(matplotlib.rcParams["font.family"]) + cjk} if cjk else {}


def _draw(ax: Axes, graph: GuaranteeGraph, screening: pd.DataFrame, nodes: np.ndarray, xy: np.ndarray,
          src: np.ndarray, dst: np.ndarray, amount: np.ndarray, title: str,
          sizes: np.ndarray | None = None) -> None:
    """Arrows, node markers, labels, legend and title of one drawing."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import ArrowStyle, FancyArrowPatch

    table = _node_table(graph, screening, nodes)
    font = _font()
    widths = _arrow_widths(amount)
    face = table["risk"].map(RISK_COLOURS).to_list()
    # White nodes need an outline to be seen; coloured ones are outlined in their own colour.
    edge = np.where(table["risk"] == "unknown", "black", table["risk"].map(RISK_COLOURS)).tolist()
    sizes = np.full(len(nodes), _NODE_SIZE) if sizes is None else sizes
    radius = np.sqrt(sizes) / 2
    for s, d, w in zip(src.tolist(), dst.tolist(), widths.tolist()):  # the few arrows of this drawing
        ax.add_patch(FancyArrowPatch(
            tuple(xy[s]), tuple(xy[d]),
            # Bent arcs keep a reciprocal pair A → B, B → A apart.
            connectionstyle="arc3,rad=0.12",
            arrowstyle=ArrowStyle("-|>", head_length=0.5 + 0.06 * w, head_width=0.25 + 0.05 * w),
            mutation_scale=12.0, linewidth=w, color=_EDGE_COLOUR, alpha=0.85,
            shrinkA=float(radius[s]) + 1.0, shrinkB=float(radius[d]) + 1.0, zorder=1,
            gid=f"{table['id'].iat[s]}->{table['id'].iat[d]}",
        ))
    ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=face, edgecolors=edge, linewidths=1.2, zorder=2,
               gid="guarantee-nodes")
    for k in range(len(nodes)):  # one label per node of this drawing
        ax.annotate(table["label"].iat[k], xy=tuple(xy[k]), xytext=(0, -float(radius[k]) - 2.0),
                    textcoords="offset points", ha="center", va="top", fontsize=8, zorder=3,
                    gid=table["id"].iat[k], **font)
    handles = [Line2D([], [], linestyle="", marker="o", markersize=9, markerfacecolor=colour,
                      markeredgecolor="black" if key == "unknown" else colour, label=_LEGEND_LABELS[key])
               for key, colour in RISK_COLOURS.items()]
    ax.legend(handles=handles, title="guarantee_risk", loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False, fontsize=8, title_fontsize=9)
    ax.set_title(title, fontsize=10, **font)
    ax.set_aspect("equal")
    ax.set_axis_off()
