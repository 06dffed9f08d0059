"""One-call drawings of a screening: the guarantee network (担保圈, 担保链), the bond
maturity wall (到期墙), the share pledges' distance to the liquidation line (平仓线) and the
firms on the lists (三张名单) per city or county.

Two views of ``result.tables["graph"]`` (:class:`zjfin.risks.network.GuaranteeGraph`):
one guarantee circle on a ring, and the guarantee neighbourhood of one firm in columns
by signed distance. Arrows point guarantor → borrower, their width grows with the square
root of the amount, nodes are coloured by the firm's ``guarantee_risk``.

matplotlib is an optional dependency (``pip install zjfin[plot]``): it is imported inside
the functions. Every artist carries a ``gid`` so a drawing can be inspected (and so an
SVG export keeps the ids): node labels carry the node's firm id, arrows
``"<guarantor id>-><borrower id>"``, the node markers are one scatter with gid
``"guarantee-nodes"`` whose points are in the order of the labels.

:func:`plot_maturity_wall`, :func:`plot_pledge_distance` and :func:`plot_list_counts`
draw bars: one ``BarContainer`` per stacked layer in ``ax.containers``, labelled as in
the legend, so the drawn numbers can be read back from the returned Axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from zjfin._arrow import as_text, index_in
from zjfin._errors import ParameterError
from zjfin._lists import LIST_FILES
from zjfin._schema import list_table
from zjfin.risks.pledges import CONTRACT_STATES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from zjfin.risks.network import GuaranteeGraph

__all__ = [
    "plot_guarantee_circle",
    "plot_guarantee_neighbourhood",
    "plot_maturity_wall",
    "plot_pledge_distance",
    "plot_list_counts",
    "RISK_COLOURS",
    "STATE_COLOURS",
    "LIST_COLOURS",
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
#: Bar fill per pledge contract state (the colours of the risk levels they lead to).
STATE_COLOURS: dict[str, str] = {
    "normal": RISK_COLOURS["low"],
    "warning": RISK_COLOURS["medium"],
    "liquidation": RISK_COLOURS["high"],
}
# The lists drawn by :func:`plot_list_counts`, in precedence order, with their short
# Chinese names (``data_schemas/reference/lists.csv``).
_LIST_LABELS: dict[str, str] = dict(list_table().loc[list(LIST_FILES), "short_zh"])
#: Bar fill per list.
LIST_COLOURS: dict[str, str] = {"watch": "#d62728", "relief": "#ff7f0e", "quality": "#2ca02c",
                                "sme_funding": "#1f77b4"}
# Layers of the maturity wall from the bottom up; unknown: the issuer was not screened.
_WALL_LEVELS = ("high", "medium", "low", "none", "unknown")
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
    depth, max_nodes = _whole_number("depth", depth), _whole_number("max_nodes", max_nodes)
    found = np.flatnonzero(pc.equal(graph.node_ids, pa.scalar(firm_id, pa.string())).fill_null(False)
                           .to_numpy(zero_copy_only=False)) if isinstance(firm_id, str) else np.empty(0)
    if not found.size:
        raise ParameterError("firm_id", "a screened firm or a firm named by the guarantees", firm_id)
    centre = int(found[0])
    down = _steps(graph.matrix, centre, depth)
    up = _steps(graph.matrix.transpose().tocsr(), centre, depth)
    nodes = np.flatnonzero((down >= 0) | (up >= 0))
    d, u = down[nodes], up[nodes]
    # The shorter way decides the side; as many steps both ways stays in the firm's column.
    column = np.where((d > 0) & ((u < 0) | (d < u)), d, np.where((u > 0) & ((d < 0) | (u < d)), -u, 0))
    src, dst, amount = _edges_among(graph, nodes)
    weight = (np.bincount(src, weights=amount, minlength=len(nodes))
              + np.bincount(dst, weights=amount, minlength=len(nodes)))
    is_centre = nodes == centre
    left_out = max(len(nodes) - max_nodes, 0)
    if left_out:
        # The firm first, then the heaviest neighbours; nearer, then lower node number break ties.
        keep = np.lexsort((nodes, np.abs(column), -weight, ~is_centre))[: max_nodes]
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
    steps = f"{depth} guarantee step{'s' if depth != 1 else ''}"
    title = f"{label} ({firm_id}) within {steps}: {len(nodes)} firms, {_wan(amount.sum())} 万元"
    if left_out:
        title += f"\n{left_out} more firms left out (max_nodes={max_nodes}, largest amounts kept)"
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


def plot_maturity_wall(result: Any, months: int = 24, ax: Axes | None = None) -> Axes:
    """Draw the bond maturity wall (到期墙): amounts falling due per month after the as-of
    date, stacked by the issuer's ``bond_risk``.

    Parameters
    ----------
    result : ScreeningResult
        From :func:`zjfin.screen` with a bonds table (its bond engine's table, ``result.tables["bonds"]``).
    months : int
        Months drawn after the as-of date.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
        One bar per month k = 1 … ``months``: the bonds whose effective maturity falls in
        (as_of + k − 1 months, as_of + k months], in 亿元 (10⁸ yuan). The effective
        maturity is the one of the bond engine (:func:`zjfin.risks.bonds.bond_maturities`):
        the put date (回售日) when it lies after the as-of date and before maturity, else
        the maturity date; a missing amount counts as 0. One stacked layer
        (``BarContainer``, labelled with the level) per ``bond_risk`` level met, ``high``
        at the bottom, in the colours of :data:`RISK_COLOURS`; a bond whose issuer was not
        screened is the hatched ``unknown`` layer. Tick labels are the months' end dates.
        A dashed line (gid ``"available-cash"``) marks the summed ``available_cash`` of the
        screened issuers with a bond due in the months drawn, when the screening has that
        column and such an issuer. The title gives the total due within 12 months, which
        for screened issuers is the sum of the screening's ``bond_due_12m``.

    Raises
    ------
    ParameterError
        ``months`` is not a whole number ≥ 1, or the bond risk was switched off (the
        screening had no bonds table).
    ImportError
        matplotlib is not installed.

    Notes
    -----
    The status of a bond does not move it: a defaulted or extended bond falls due on its
    (put or) maturity date like any other, as in the bond engine. A bond whose effective
    maturity lies on or before the as-of date is not drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> ax = plot_maturity_wall(res, months=12)
    >>> ax.get_title()
    'Bonds falling due after 2019-03-31: ... 亿元 within 12 months (... bonds)'
    >>> [c.get_label() for c in ax.containers][0], len(ax.containers[0])
    ('high', 12)
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    _require_matplotlib()
    screening = _screening(result)
    months = _whole_number("months", months)
    bonds = _bonds(result)
    as_of = pd.Timestamp(result.as_of)
    horizon = max(months, 12)  # the title's 12-month total is computed even for a shorter wall
    ends = _month_ends(as_of, horizon)
    month, row, amount = _bond_months(bonds, screening, ends)
    level = _issuer_levels(screening, row)
    slots = horizon + 2  # month 0 (on or before the as-of date), 1 … horizon, beyond
    table = np.bincount(level * slots + month, weights=amount,
                        minlength=len(_WALL_LEVELS) * slots).reshape(len(_WALL_LEVELS), slots)[:, 1:horizon + 1]
    drawn = table[:, :months] / 1e8
    total_12m = float(table[:, :12].sum())
    count_12m = int(((month >= 1) & (month <= 12)).sum())

    font = _font()
    ax = _axes(ax, (max(6.0, 0.32 * months + 2.5), 4.5))
    x = np.arange(1, months + 1)
    bottom = np.zeros(months)
    for k, key in enumerate(_WALL_LEVELS):  # one layer per risk level (five at most)
        if not drawn[k].any():
            continue
        unknown = key == "unknown"
        ax.bar(x, drawn[k], bottom=bottom, width=0.8, color=RISK_COLOURS[key],
               edgecolor="black" if unknown else RISK_COLOURS[key], hatch="//" if unknown else None,
               linewidth=0.6, label=key, gid=f"maturity-{key}")
        bottom = bottom + drawn[k]
    due_now = (month >= 1) & (month <= months) & (row >= 0)
    issuers = np.unique(row[due_now])
    if "available_cash" in screening.columns and issuers.size:
        cash = screening["available_cash"].to_numpy(dtype=float, na_value=np.nan)[issuers]
        if np.isfinite(cash).any():
            ax.axhline(np.nansum(cash) / 1e8, color="#1f77b4", linestyle="--", linewidth=1.2,
                       gid="available-cash",
                       label=f"available cash of the {issuers.size} issuers: {_yi(np.nansum(cash))} 亿元")
    step = int(np.ceil(months / 24))
    label_format = "%Y-%m" if as_of.is_month_end else "%Y-%m-%d"
    ticks = x[::step]
    ax.set_xticks(ticks, ends[ticks].strftime(label_format).tolist(), rotation=90, fontsize=8)
    ax.set_xlim(0.4, months + 0.6)
    ax.set_xlabel(f"month falling due after {as_of:%Y-%m-%d} (put date when earlier than maturity)")
    ax.set_ylabel("amount falling due (亿元)", **font)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        labels = [{"unknown": "issuer not screened"}.get(text, text) for text in labels]
        ax.legend(handles, labels, title="bond_risk", loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False, title_fontsize=9, prop=_legend_font(font, 8))
    ax.set_title(f"Bonds falling due after {as_of:%Y-%m-%d}: {_yi(total_12m)} 亿元 within 12 months "
                 f"({count_12m} bonds)", fontsize=10, **font)
    return ax


def plot_pledge_distance(result: Any, ax: Axes | None = None, bins: int = 40) -> Axes:
    """Draw a histogram of the share-pledge contracts' distance to the liquidation line
    (平仓线), coloured by the contract's state.

    The distance is the one of :func:`zjfin.risks.pledges.pledge_contracts`:
    1 − liquidation price / price, the fall of the share price that would bring the
    contract to its liquidation line (negative: already below it). A contract is below
    its warning line (预警线) when its distance is below 1 − liquidation ratio / warning
    ratio (1 − 1.4 / 1.6 = 12.5 % with the usual lines).

    Only contracts in force with a price are drawn: released contracts, contracts that
    start after the as-of date (``not_started``) and contracts whose company has no
    share price (state missing) are left out; the title counts the last ones.

    Parameters
    ----------
    result : ScreeningResult
        From :func:`zjfin.screen` with pledges and prices tables (``result.tables["pledges"]``).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    bins : int
        Number of equal-width bins between the smallest and the largest distance.

    Returns
    -------
    matplotlib Axes
        One stacked layer (``BarContainer`` labelled ``normal``, ``warning`` or
        ``liquidation``) per state met; the bins' counts summed over the layers are
        ``numpy.histogram(distance, bins)``. A solid vertical line at 0 (gid
        ``"liquidation-line"``) and a dashed one at the warning line's distance (gid
        ``"warning-line"``; when contracts have different ratios, the value most of them
        share). The title gives the contracts drawn and how many are below the
        liquidation line (state ``liquidation``) and below the warning line (state
        ``warning`` or ``liquidation``: those below both lines are counted in both).

    Raises
    ------
    ParameterError
        ``bins`` is not a whole number ≥ 1, or the pledge risk was switched off (no
        pledges or no prices table).
    ImportError
        matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> ax = plot_pledge_distance(res, bins=20)
    >>> print(ax.get_title())
    Distance to the liquidation line: ... contracts in force
    ... below the liquidation line (平仓线), ... below the warning line (预警线)
    >>> [line.get_gid() for line in ax.lines]
    ['liquidation-line', 'warning-line']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    _require_matplotlib()
    _screening(result)
    bins = _whole_number("bins", bins)
    contracts = result.tables.get("pledges")
    if not isinstance(contracts, pd.DataFrame):
        raise ParameterError("result", "screened with pledges and prices tables",
                             "a result whose pledge risk was switched off")
    distance = pd.to_numeric(contracts["distance"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    code = index_in(contracts["state"], pd.Series(CONTRACT_STATES))
    drawn = (code >= 0) & np.isfinite(distance)
    out_of_force = contracts["state"].isin(["released", "not_started"]).to_numpy(dtype=bool)
    no_price = int((~out_of_force & ~drawn).sum())
    values, code = distance[drawn], code[drawn]
    edges = np.histogram_bin_edges(values, bins=bins)
    warning_at = _warning_distance(result, contracts, drawn)

    font = _font()
    ax = _axes(ax, (7.5, 4.5))
    bottom = np.zeros(bins)
    for k, key in enumerate(CONTRACT_STATES):  # one layer per contract state (three)
        counts, _ = np.histogram(values[code == k], bins=edges)
        if not counts.any():
            continue
        ax.bar(edges[:-1], counts, width=np.diff(edges), bottom=bottom, align="edge",
               color=STATE_COLOURS[key], edgecolor="white", linewidth=0.5, label=key,
               gid=f"pledges-{key}")
        bottom = bottom + counts
    ax.axvline(0.0, color=STATE_COLOURS["liquidation"], linewidth=1.4, gid="liquidation-line",
               label="liquidation line (平仓线)")
    if np.isfinite(warning_at):
        ax.axvline(warning_at, color=STATE_COLOURS["warning"], linestyle="--", linewidth=1.4,
                   gid="warning-line", label=f"warning line (预警线): {warning_at:.1%}")
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("distance to the liquidation line = 1 − liquidation price / price")
    ax.set_ylabel("contracts")
    ax.legend(title="state", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              title_fontsize=9, prop=_legend_font(font, 8))
    below_liquidation = int((code == CONTRACT_STATES.index("liquidation")).sum())
    below_warning = below_liquidation + int((code == CONTRACT_STATES.index("warning")).sum())
    title = (f"Distance to the liquidation line: {values.size} contracts in force\n"
             f"{below_liquidation} below the liquidation line (平仓线), "
             f"{below_warning} below the warning line (预警线)")
    if no_price:
        title += f"; {no_price} without a share price left out"
    ax.set_title(title, fontsize=10, **font)
    return ax


def plot_list_counts(result: Any, by: str = "city", ax: Axes | None = None) -> Axes:
    """Draw the firms on each list (三张名单) per city or county as horizontal stacked bars.

    Parameters
    ----------
    result : ScreeningResult
        From :func:`zjfin.screen` (its ``screening`` needs ``list`` and ``region_code``).
    by : {"city", "county"}
        ``"city"``: the prefecture-level city, the first four digits of ``region_code``
        followed by ``"00"``; ``"county"``: the ``region_code`` itself. Names come from
        the GB/T 2260 table of Zhejiang (``zjfin/datasets/zhejiang_counties.csv``); a code
        outside it is shown as the code, a missing one as ``unknown``.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
        One row per city (county) with at least one firm on a list, the largest total at
        the top (ties by code); one stacked layer (``BarContainer``, label its Chinese
        name) per list in the order 关注 (watch), 纾困 (relief), 优质 (quality), 融资需求
        (sme_funding); firms on no list (``none``) are left out. The total is written at
        the end of each bar; the y tick labels are the names, from the top row down.

    Raises
    ------
    ParameterError
        ``by`` is neither ``"city"`` nor ``"county"``, or the screening lacks the
        ``list`` or ``region_code`` column.
    ImportError
        matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import zjfin
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=4), as_of="2019-03-31")
    >>> ax = plot_list_counts(res)
    >>> [c.get_label() for c in ax.containers]
    ['关注', '纾困', '优质', '融资需求']
    >>> [t.get_text() for t in ax.get_yticklabels()][:2]   # top down: the most firms on a list first
    ['台州市', '宁波市']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    _require_matplotlib()
    screening = _screening(result)
    if not isinstance(by, str) or by not in ("city", "county"):
        raise ParameterError("by", "'city' or 'county'", by)
    missing = [c for c in ("list", "region_code") if c not in screening.columns]
    if missing:
        raise ParameterError("result", "a screening with the list and region_code columns",
                             f"a screening without {' and '.join(missing)}")
    keys, labels = _region_keys(screening["region_code"], by)
    group, names = pd.factorize(keys, sort=True)
    on_list = index_in(screening["list"], pd.Series(list(_LIST_LABELS)))
    use = on_list >= 0
    counts = np.bincount(group[use] * len(_LIST_LABELS) + on_list[use],
                         minlength=len(names) * len(_LIST_LABELS)).reshape(len(names), len(_LIST_LABELS))
    total = counts.sum(axis=1)
    order = np.lexsort((np.asarray(names, dtype=object).astype(str), -total))
    order = order[total[order] > 0]
    counts, total = counts[order], total[order]
    raw = pd.Series(np.asarray(names, dtype=object)[order], dtype=object)
    shown = raw.map(labels).fillna(raw).to_numpy(dtype=object)

    font = _font()
    ax = _axes(ax, (7.5, max(3.0, 0.3 * len(order) + 1.5)))
    y = np.arange(len(order))[::-1]  # the largest total at the top
    left = np.zeros(len(order))
    container = None
    for k, (key, name) in enumerate(_LIST_LABELS.items()):  # one layer per list (four)
        container = ax.barh(y, counts[:, k], left=left, height=0.7, color=LIST_COLOURS[key],
                            label=name, gid=f"list-{key}")
        left = left + counts[:, k]
    if container is not None and len(order):
        ax.bar_label(container, labels=[f"{t:,}" for t in total.tolist()], padding=3, fontsize=8)
    ax.set_yticks(y, shown.tolist(), fontsize=8, **font)
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.margins(x=0.08)
    ax.set_xlabel("firms")
    ax.legend(title="list", loc="lower right", frameon=False, title_fontsize=9, prop=_legend_font(font, 9))
    ax.set_title(f"Firms on the lists by {by}: {int(total.sum()):,} of {len(screening):,} screened firms",
                 fontsize=10, **font)
    return ax


def _require_matplotlib() -> None:
    """Fail early, with the fix, when the optional dependency is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError("zjfin plots need matplotlib: pip install matplotlib") from error


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """The given Axes, or a new figure's (constrained layout keeps the outside legend in)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _screening(result: Any) -> pd.DataFrame:
    """The screening rows of a result, or a ParameterError when it is not a result."""
    tables = getattr(result, "tables", None)
    screening = getattr(result, "screening", None)
    if not isinstance(tables, dict) or not isinstance(screening, pd.DataFrame):
        raise ParameterError("result", "a ScreeningResult from zjfin.screen", type(result).__name__)
    return screening


def _whole_number(name: str, value: Any) -> int:
    """``value`` as an int, or a ParameterError unless it is a whole number ≥ 1."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ParameterError(name, "a whole number ≥ 1", value)
    return int(value)


def _network(result: Any) -> tuple[GuaranteeGraph, pd.DataFrame, pd.DataFrame]:
    """The graph, the screening rows and the circles of a result, or a ParameterError."""
    screening = _screening(result)
    tables = result.tables
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


def _bonds(result: Any) -> pd.DataFrame:
    """The bond engine's table of the result (one row per bond, with the maturity it
    used), or a ParameterError when the bond risk was switched off."""
    tables = getattr(result, "tables", None)
    if not isinstance(tables, dict) or not isinstance(tables.get("bonds"), pd.DataFrame):
        raise ParameterError("result", "screened with a bonds table", "a result whose bond risk was switched off")
    return tables["bonds"]


def _month_ends(as_of: pd.Timestamp, months: int) -> pd.DatetimeIndex:
    """as_of + k months for k = 0 … ``months`` (a month end stays a month end).

    Examples
    --------
    >>> _month_ends(pd.Timestamp("2019-03-31"), 3).strftime("%Y-%m-%d").tolist()
    ['2019-03-31', '2019-04-30', '2019-05-31', '2019-06-30']
    """
    return pd.DatetimeIndex([as_of + pd.DateOffset(months=k) for k in range(months + 1)])


def _bond_months(bonds: pd.DataFrame, screening: pd.DataFrame,
                 ends: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bond of the bond engine's table: the month k it falls due in (its
    ``effective_maturity`` in (ends[k − 1], ends[k]]; 0 on or before the as-of date,
    len(ends) beyond the last or unknown), the issuer's screening row (−1: not screened)
    and the amount outstanding (missing: 0).

    Examples
    --------
    >>> bonds = pd.DataFrame({"issuer_id": ["A", "B", "A"], "amount_outstanding": [1e8, 2e8, None],
    ...     "effective_maturity": pd.to_datetime(["2019-04-30", "2019-05-01", "2019-01-01"])})
    >>> ends = _month_ends(pd.Timestamp("2019-03-31"), 3)
    >>> [a.tolist() for a in _bond_months(bonds, pd.DataFrame({"firm_id": ["A"]}), ends)]
    [[1, 2, 0], [0, -1, 0], [100000000.0, 200000000.0, 0.0]]
    """
    effective = bonds["effective_maturity"].to_numpy(dtype="datetime64[ns]")
    month = np.searchsorted(ends.to_numpy(dtype="datetime64[ns]"), effective, side="left")
    month = np.where(np.isnat(effective), len(ends), month)
    row = index_in(bonds["issuer_id"], screening["firm_id"])
    amount = np.nan_to_num(pd.to_numeric(bonds["amount_outstanding"], errors="coerce")
                           .to_numpy(dtype=float, na_value=np.nan))
    return month.astype(np.int64), row, amount


def _issuer_levels(screening: pd.DataFrame, row: np.ndarray) -> np.ndarray:
    """Position in :data:`_WALL_LEVELS` of each issuer's ``bond_risk`` (row −1, a missing
    level or no such column: ``unknown``)."""
    unknown = _WALL_LEVELS.index("unknown")
    if "bond_risk" in screening.columns:
        level = index_in(screening["bond_risk"], pd.Series(_WALL_LEVELS[:unknown]))
        level = np.where(level >= 0, level, unknown)
    else:
        level = np.full(len(screening), unknown)
    # The sentinel slot at the end is the level of an issuer that was not screened.
    return np.r_[level, unknown][np.where(row >= 0, row, len(screening))].astype(np.int64)


def _warning_distance(result: Any, contracts: pd.DataFrame, drawn: np.ndarray) -> float:
    """The distance of the warning line, 1 − liquidation ratio / warning ratio: the value
    most drawn contracts share (the smaller on a tie), else the policy's default ratios,
    else NaN.

    Examples
    --------
    >>> c = pd.DataFrame({"warning_ratio": [1.6, 1.6, 1.5], "liquidation_ratio": [1.4, 1.4, 1.3]})
    >>> round(_warning_distance(None, c, np.array([True, True, True])), 4)
    0.125
    """
    def ratio(column: str) -> np.ndarray:
        if column not in contracts.columns:
            return np.full(int(drawn.sum()), np.nan)
        return pd.to_numeric(contracts[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[drawn]

    with np.errstate(divide="ignore", invalid="ignore"):
        line = 1.0 - ratio("liquidation_ratio") / ratio("warning_ratio")
    line = line[np.isfinite(line)]
    if line.size:
        values, counts = np.unique(np.round(line, 12), return_counts=True)
        return float(values[np.argmax(counts)])
    pledges = getattr(getattr(result, "policy", None), "pledges", None)
    try:
        return 1.0 - float(pledges.default_liquidation_ratio) / float(pledges.default_warning_ratio)
    except (AttributeError, TypeError, ValueError, ZeroDivisionError):
        return float("nan")


def _regions() -> pd.DataFrame:
    """The county-level divisions of Zhejiang (GB/T 2260): code, name_zh, city_code, city_zh."""
    from importlib import resources

    path = resources.files("zjfin.datasets") / "zhejiang_counties.csv"
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str)


def _region_keys(codes: pd.Series, by: str) -> tuple[np.ndarray, pd.Series]:
    """Per firm the city (first four digits + ``"00"``) or county code (missing:
    ``"unknown"``), and the names of the known codes (a Series indexed by code).

    Examples
    --------
    >>> keys, names = _region_keys(pd.Series(["330102", "330212", None, "310101"]), "city")
    >>> keys.tolist(), names[["330100", "330200"]].tolist()
    (['330100', '330200', 'unknown', '310100'], ['杭州市', '宁波市'])
    """
    text = as_text(codes)
    key = text.str.slice(0, 4) + "00" if by == "city" else text
    regions = _regions()
    code, name = ("city_code", "city_zh") if by == "city" else ("code", "name_zh")
    names = pd.Series(regions[name].to_numpy(dtype=object), index=regions[code].to_numpy(dtype=object))
    names = names[~names.index.duplicated()]
    return key.astype(object).where(key.notna(), "unknown").to_numpy(dtype=object), names


def _yi(amount: float) -> str:
    """Yuan as 亿元 text with one decimal.

    Examples
    --------
    >>> _yi(1.7e9), _yi(0.0)
    ('17.0', '0.0')
    """
    return f"{float(amount) / 1e8:,.1f}"


def _legend_font(font: dict[str, Any], size: float) -> dict[str, Any]:
    """Legend ``prop`` of the given size, with the CJK fallback of :func:`_font` if any."""
    return {"size": size, **({"family": font["fontfamily"]} if font else {})}


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
