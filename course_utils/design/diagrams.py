"""Reusable design diagrams: the candidate funnel, an architecture sketch, a latency budget.

Each function draws on a matplotlib Axes (a new figure when ``ax`` is None) and returns
the Axes, so notebooks can add titles or place several diagrams side by side:

* :func:`plot_funnel` - how many items survive each stage (50K -> 500 -> 20);
* :func:`plot_architecture` - boxes and arrows laid out in columns from a list of
  components (the serving architecture of step 6);
* :func:`plot_latency_budget` - a :class:`~course_utils.design.capacity.LatencyBudget` as one
  stacked bar against the p99 target.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

from course_utils.design.capacity import LatencyBudget

__all__ = ["plot_architecture", "plot_funnel", "plot_latency_budget"]

_BOX_COLOR = "#dbe9f6"
_EDGE_COLOR = "#34495e"


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    return ax


# --------------------------------------------------------------------------- funnel
def _validate_funnel(stages: Sequence[tuple[str, int]]) -> tuple[list[str], np.ndarray]:
    if isinstance(stages, (str, bytes)) or not isinstance(stages, Sequence) or len(stages) == 0:
        raise ValueError(f"stages must be a non-empty list of (label, count) pairs; got {stages!r}")
    labels, counts = [], []
    for stage in stages:
        if not isinstance(stage, Sequence) or isinstance(stage, str) or len(stage) != 2:
            raise ValueError(f"each stage must be a (label, count) pair; got {stage!r}")
        label, count = stage
        if not isinstance(label, str):
            raise TypeError(f"stage labels must be strings; got {type(label).__name__} {label!r}")
        if not isinstance(count, numbers.Integral) or isinstance(count, bool) or count < 1:
            raise ValueError(f"stage counts must be integers >= 1; got {count!r} for {label!r}")
        labels.append(label)
        counts.append(int(count))
    counts_arr = np.asarray(counts, dtype=np.int64)
    growing = np.flatnonzero(np.diff(counts_arr) > 0)
    if growing.size:
        i = int(growing[0])
        raise ValueError(
            "funnel counts must be non-increasing; got "
            f"{labels[i + 1]!r} ({counts[i + 1]:,}) after {labels[i]!r} ({counts[i]:,})"
        )
    return labels, counts_arr


def _ratio_text(ratio: float) -> str:
    return f"÷{ratio:,.0f}" if ratio >= 10 else f"÷{ratio:.2g}"


def plot_funnel(
    stages: Sequence[tuple[str, int]],
    ax: Axes | None = None,
    *,
    log_scale: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw a multi-stage funnel: one centred bar per stage, widest at the top.

    Parameters
    ----------
    stages : list of (str, int)
        ``(label, count)`` per stage, first stage first; counts must not increase.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when omitted.
    log_scale : bool, default True
        Bar width proportional to ``1 + log10(count)`` (so 20 stays visible next to
        50,000); ``False`` makes it proportional to ``count``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes
        With one text per stage (``"label\\ncount"``) and the reduction factor between
        consecutive stages (``"÷100"``).

    Examples
    --------
    >>> ax = plot_funnel([("catalogue", 50_000), ("candidates", 500), ("shown", 20)])
    >>> [t.get_text() for t in ax.texts][:2]
    ['catalogue\\n50,000', 'candidates\\n500']
    >>> plt.close(ax.figure)
    """
    labels, counts = _validate_funnel(stages)
    n = len(labels)
    ax = _new_axes(ax, figsize=(6.0, 0.9 + 0.9 * n))
    if log_scale:
        widths = (1.0 + np.log10(counts)) / (1.0 + np.log10(counts[0]))
    else:
        widths = counts / counts[0]
    colors = plt.get_cmap("Blues")(np.linspace(0.55, 0.3, n))
    height, step = 0.6, 1.0
    ys = -step * np.arange(n)
    for i in range(n):
        half = widths[i] / 2
        ax.add_patch(
            Rectangle(
                (-half, ys[i] - height / 2),
                widths[i],
                height,
                facecolor=colors[i],
                edgecolor=_EDGE_COLOR,
                linewidth=1.0,
            )
        )
        ax.text(0.0, ys[i], f"{labels[i]}\n{counts[i]:,}", ha="center", va="center", fontsize=10)
    for i in range(n - 1):
        top, bottom = ys[i] - height / 2, ys[i + 1] + height / 2
        w_top, w_bottom = widths[i] / 2, widths[i + 1] / 2
        corners = [(-w_top, top), (w_top, top), (w_bottom, bottom), (-w_bottom, bottom)]
        ax.add_patch(Polygon(corners, closed=True, facecolor="0.9", edgecolor="none"))
        ax.text(
            0.55,
            (top + bottom) / 2,
            _ratio_text(counts[i] / counts[i + 1]),
            ha="left",
            va="center",
            fontsize=9,
            color="0.3",
        )
    ax.set_xlim(-0.6, 0.8)
    ax.set_ylim(ys[-1] - step / 2 - 0.1, step / 2)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- architecture
Edge = tuple[str, str] | tuple[str, str, str]


def _layout(
    components: Sequence[str | Sequence[str]], dx: float, dy: float
) -> dict[str, tuple[float, float, int]]:
    """Centre ``(x, y)`` and column of every box; columns left to right, rows centred."""
    if isinstance(components, (str, bytes)) or not isinstance(components, Sequence):
        raise TypeError(
            f"components must be a list of columns (a label or a list of labels); got {components!r}"
        )
    if len(components) == 0:
        raise ValueError("components must contain at least one column; got none")
    positions: dict[str, tuple[float, float, int]] = {}
    for col, column in enumerate(components):
        labels = [column] if isinstance(column, str) else list(column)
        if not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(
                f"column {col} must be a label or a non-empty list of labels; got {column!r}"
            )
        for row, label in enumerate(labels):
            if label in positions:
                raise ValueError(f"component labels must be unique; got {label!r} twice")
            positions[label] = (col * dx, ((len(labels) - 1) / 2 - row) * dy, col)
    return positions


def _validate_edges(edges: Sequence[Edge], known: Mapping[str, object], what: str) -> list[Edge]:
    checked = []
    for edge in edges:
        if isinstance(edge, str) or not isinstance(edge, Sequence) or len(edge) not in (2, 3):
            raise ValueError(
                f"{what} must be (source, target) or (source, target, label); got {edge!r}"
            )
        for end in edge[:2]:
            if end not in known:
                raise ValueError(
                    f"unknown component {end!r} in {what} {tuple(edge)!r}; known: {sorted(known)}"
                )
        checked.append(tuple(edge))
    return checked


def _route(
    xa: float, ya: float, xb: float, yb: float, *, skips: bool, top: float, bottom: float
) -> tuple[float, float]:
    """Curvature (matplotlib ``arc3`` rad) and apex height of an arrow from a to b.

    Arrows between neighbouring columns are straight. An arrow that skips columns bends
    below all boxes when it points right and above them when it points left (a response
    going back), so it never crosses a box. For ``arc3`` the control point sits
    ``rad x distance`` from the midpoint, so the curve's apex is ``rad x |dx| / 2`` away.
    """
    mid = (ya + yb) / 2
    if not skips or xa == xb:
        return 0.0, mid
    clearance = (mid - bottom) if xb > xa else (top - mid)
    rad = 2 * clearance / abs(xb - xa)
    return rad, (mid - clearance if xb > xa else mid + clearance)


def plot_architecture(
    components: Sequence[str | Sequence[str]],
    edges: Sequence[Edge] | None = None,
    *,
    dashed_edges: Sequence[Edge] = (),
    colors: Mapping[str, str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw a boxes-and-arrows architecture diagram laid out in columns.

    Parameters
    ----------
    components : list of str or list of list of str
        Columns from left to right; a column is one label or a list of labels stacked
        top to bottom. Labels must be unique and may contain ``"\\n"``.
    edges : list of (source, target) or (source, target, label), optional
        Solid arrows (request path). By default every box of a column points to every
        box of the next column.
    dashed_edges : list of (source, target) or (source, target, label), default ()
        Dashed arrows, e.g. offline or asynchronous flows (training -> index).
    colors : mapping of str to colour, optional
        Face colour per label, e.g. to set offline components apart.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when omitted.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib Axes
        With one text per component and one per edge label.

    Examples
    --------
    >>> ax = plot_architecture(["app", ["retrieval", "features"], "ranking"],
    ...                        edges=[("app", "retrieval"), ("retrieval", "ranking", "500"),
    ...                               ("features", "ranking")])
    >>> sorted(t.get_text() for t in ax.texts)
    ['500', 'app', 'features', 'ranking', 'retrieval']
    >>> plt.close(ax.figure)
    """
    box_w, box_h, dx, dy = 1.7, 0.75, 2.4, 1.15
    positions = _layout(components, dx, dy)
    if edges is None:
        columns: dict[int, list[str]] = {}
        for label, (_, _, col) in positions.items():
            columns.setdefault(col, []).append(label)
        edges = [
            (src, dst)
            for col in range(len(columns) - 1)
            for src in columns[col]
            for dst in columns[col + 1]
        ]
    solid = _validate_edges(edges, positions, "edge")
    dashed = _validate_edges(dashed_edges, positions, "dashed edge")
    colors = dict(colors or {})
    unknown = sorted(set(colors) - set(positions))
    if unknown:
        raise ValueError(f"colors names unknown components {unknown}; known: {sorted(positions)}")

    n_cols = max(col for _, _, col in positions.values()) + 1
    ys = np.array([y for _, y, _ in positions.values()])
    ax = _new_axes(ax, figsize=(max(5.0, 2.2 * n_cols), max(2.2, 1.1 * (np.ptp(ys) / dy + 1.6))))

    boxes = {}
    for label, (x, y, _) in positions.items():
        box = FancyBboxPatch(
            (x - box_w / 2, y - box_h / 2),
            box_w,
            box_h,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=colors.get(label, _BOX_COLOR),
            edgecolor=_EDGE_COLOR,
            linewidth=1.2,
            zorder=2,
        )
        ax.add_patch(box)
        boxes[label] = box
        ax.text(x, y, label, ha="center", va="center", fontsize=9, zorder=3)

    top, bottom = ys.max() + box_h / 2 + 0.25, ys.min() - box_h / 2 - 0.25
    y_low, y_high = bottom, top
    for edge_list, style in ((solid, "-"), (dashed, "--")):
        for edge in edge_list:
            src, dst = edge[0], edge[1]
            (xa, ya, ca), (xb, yb, cb) = positions[src], positions[dst]
            rad, apex = _route(xa, ya, xb, yb, skips=cb < ca or cb - ca > 1, top=top, bottom=bottom)
            y_low, y_high = min(y_low, apex - 0.1), max(y_high, apex + 0.35)
            arrow = FancyArrowPatch(
                (xa, ya),
                (xb, yb),
                arrowstyle="-|>",
                mutation_scale=12,
                patchA=boxes[src],
                patchB=boxes[dst],
                shrinkA=2,
                shrinkB=2,
                linestyle=style,
                color=_EDGE_COLOR,
                linewidth=1.1,
                connectionstyle=f"arc3,rad={rad:.4f}",
                zorder=1,
            )
            ax.add_patch(arrow)
            if len(edge) == 3:
                ax.text(
                    (xa + xb) / 2,
                    apex + 0.08,
                    edge[2],
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="0.25",
                    zorder=4,
                    bbox={
                        "boxstyle": "round,pad=0.15",
                        "facecolor": "white",
                        "edgecolor": "none",
                        "alpha": 0.9,
                    },
                )

    ax.set_xlim(-box_w / 2 - 0.2, (n_cols - 1) * dx + box_w / 2 + 0.2)
    ax.set_ylim(y_low - 0.1, y_high)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- latency
def plot_latency_budget(budget: LatencyBudget, ax: Axes | None = None) -> Axes:
    """Draw a latency budget as one stacked horizontal bar with the p99 target marked.

    Parameters
    ----------
    budget : LatencyBudget
        Stage budgets and the p99 target.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when omitted.

    Returns
    -------
    matplotlib Axes
        With one text per stage (``"name\\nN ms"``), one for the slack and one for p99.

    Examples
    --------
    >>> from course_utils.design.capacity import LatencyBudget
    >>> ax = plot_latency_budget(LatencyBudget({"network": 40, "ranking": 100}, p99_ms=200))
    >>> [t.get_text() for t in ax.texts]
    ['network\\n40 ms', 'ranking\\n100 ms', 'slack\\n60 ms', 'p99 = 200 ms']
    >>> plt.close(ax.figure)
    """
    if not isinstance(budget, LatencyBudget):
        raise TypeError(f"budget must be a LatencyBudget; got {type(budget).__name__}")
    ax = _new_axes(ax, figsize=(8.0, 2.0))
    names = [name for name, _ in budget.stages]
    ms = np.array([value for _, value in budget.stages])
    starts = np.concatenate([[0.0], np.cumsum(ms)[:-1]])
    colors = plt.get_cmap("tab10")(np.arange(len(ms)) % 10)
    ax.barh(
        [0] * len(ms), ms, left=starts, height=0.6, color=colors, alpha=0.55, edgecolor=_EDGE_COLOR
    )
    for name, start, width in zip(names, starts, ms, strict=True):
        narrow = width < 0.12 * budget.p99_ms
        shown = name.replace(" ", "\n").replace("-", "-\n") if narrow else name
        ax.text(
            start + width / 2, 0, f"{shown}\n{width:g} ms", ha="center", va="center", fontsize=8
        )
    slack = budget.slack_ms
    if slack > 0:
        ax.barh(
            [0],
            [slack],
            left=budget.total_ms,
            height=0.6,
            color="white",
            edgecolor="0.6",
            hatch="//",
        )
        ax.text(
            budget.total_ms + slack / 2,
            0,
            f"slack\n{slack:g} ms",
            ha="center",
            va="center",
            fontsize=8,
            color="0.3",
        )
    ax.axvline(budget.p99_ms, color="crimson", linestyle="--", linewidth=1.5)
    ax.text(
        budget.p99_ms,
        0.42,
        f"p99 = {budget.p99_ms:g} ms",
        ha="right",
        va="bottom",
        fontsize=9,
        color="crimson",
    )
    ax.set_xlim(0, budget.p99_ms * 1.05)
    ax.set_ylim(-0.5, 0.75)
    ax.set_yticks([])
    ax.set_xlabel("milliseconds (server side)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax
