"""Tests for course_utils.design.diagrams: the right texts and shapes, no leaked figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from course_utils.design.capacity import LatencyBudget
from course_utils.design.diagrams import plot_architecture, plot_funnel, plot_latency_budget

FUNNEL = [("catalogue", 50_000), ("candidates", 500), ("shown", 20)]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _rect_widths(ax):
    return np.array([p.get_width() for p in ax.patches if isinstance(p, Rectangle)])


# --------------------------------------------------------------------------- funnel
def test_funnel_returns_axes_with_stage_and_ratio_texts():
    ax = plot_funnel(FUNNEL, title="two-stage funnel")
    assert isinstance(ax, Axes)
    assert _texts(ax) == ["catalogue\n50,000", "candidates\n500", "shown\n20", "÷100", "÷25"]
    assert ax.get_title() == "two-stage funnel"


def test_funnel_log_widths():
    widths = _rect_widths(plot_funnel(FUNNEL))
    expected = (1 + np.log10([50_000, 500, 20])) / (1 + np.log10(50_000))
    np.testing.assert_allclose(widths, expected)


def test_funnel_linear_widths_are_proportional_to_counts():
    widths = _rect_widths(plot_funnel([("a", 100), ("b", 40), ("c", 40)], log_scale=False))
    np.testing.assert_allclose(widths, [1.0, 0.4, 0.4])


def test_funnel_draws_on_a_given_axes_without_new_figures():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_funnel(FUNNEL, ax=right) is right
    assert plt.get_fignums() == [fig.number]
    assert len(left.texts) == 0


def test_funnel_single_stage_and_small_ratio():
    assert _texts(plot_funnel([("all", 7)])) == ["all\n7"]
    assert _texts(plot_funnel([("a", 10), ("b", 4)]))[-1] == "÷2.5"


@pytest.mark.parametrize(
    ("stages", "error", "message"),
    [
        ([], ValueError, "non-empty list"),
        ([("a", 10), ("b", 20)], ValueError, r"non-increasing; got 'b' \(20\) after 'a' \(10\)"),
        ([("a", 0)], ValueError, "integers >= 1; got 0 for 'a'"),
        ([("a", 2.5)], ValueError, "integers >= 1"),
        ([("a", 10, 3)], ValueError, r"\(label, count\) pair"),
        ([(3, 10)], TypeError, "labels must be strings"),
    ],
)
def test_funnel_rejects_bad_stages(stages, error, message):
    with pytest.raises(error, match=message):
        plot_funnel(stages)


def test_funnel_rejects_non_axes():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None; got str"):
        plot_funnel(FUNNEL, ax="left")


# --------------------------------------------------------------------------- architecture
def _arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def _boxes(ax):
    return [p for p in ax.patches if isinstance(p, FancyBboxPatch)]


def test_architecture_default_edges_connect_adjacent_columns():
    ax = plot_architecture(["client", ["retrieval", "features"], "ranking"], title="serving")
    assert isinstance(ax, Axes)
    assert sorted(_texts(ax)) == ["client", "features", "ranking", "retrieval"]
    assert len(_boxes(ax)) == 4
    assert len(_arrows(ax)) == 4  # client -> 2 boxes, 2 boxes -> ranking
    assert ax.get_title() == "serving"


def test_architecture_layout_columns_and_rows():
    ax = plot_architecture(["a", ["b", "c"], "d"])
    centres = {t.get_text(): t.get_position() for t in ax.texts}
    assert centres["a"][0] < centres["b"][0] == centres["c"][0] < centres["d"][0]
    assert centres["b"][1] > centres["c"][1]  # stacked top to bottom
    assert (
        centres["a"][1] == centres["d"][1] == pytest.approx((centres["b"][1] + centres["c"][1]) / 2)
    )


def test_architecture_explicit_edges_labels_dashes_and_colours():
    ax = plot_architecture(
        ["app", "retrieval", "ranking", "training"],
        edges=[
            ("app", "retrieval"),
            ("retrieval", "ranking", "500 candidates"),
            ("ranking", "app"),
        ],
        dashed_edges=[("training", "retrieval", "nightly index")],
        colors={"training": "#fde2c8"},
    )
    assert "500 candidates" in _texts(ax) and "nightly index" in _texts(ax)
    arrows = _arrows(ax)
    assert len(arrows) == 4
    assert [a.get_linestyle() for a in arrows].count("--") == 1
    faces = {t.get_text(): b.get_facecolor() for t, b in zip(ax.texts, _boxes(ax), strict=False)}
    assert faces["training"] == pytest.approx(matplotlib.colors.to_rgba("#fde2c8"))
    assert faces["app"] != faces["training"]


def test_architecture_routes_long_edges_around_the_boxes():
    ax = plot_architecture(
        ["a", "b", "c"], edges=[("a", "b"), ("b", "c"), ("c", "a", "back"), ("a", "c", "skip")]
    )
    arrows = _arrows(ax)
    rads = [float(a.get_connectionstyle().rad) for a in arrows]
    assert rads[:2] == [0.0, 0.0]  # neighbours: straight
    assert rads[2] > 0 and rads[3] > 0  # skipping a column: curved
    labels = {t.get_text(): t.get_position()[1] for t in ax.texts}
    box_top = max(b.get_y() + b.get_height() for b in _boxes(ax))
    box_bottom = min(b.get_y() for b in _boxes(ax))
    assert labels["back"] > box_top  # the response arcs above the boxes
    assert labels["skip"] < box_bottom  # a forward skip arcs below them
    low, high = ax.get_ylim()
    assert low < labels["skip"] and high > labels["back"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"components": []}, ValueError, "at least one column"),
        ({"components": "app"}, TypeError, "list of columns"),
        ({"components": ["a", ["b", "a"]]}, ValueError, "unique; got 'a' twice"),
        ({"components": ["a", []]}, ValueError, "column 1 must be a label"),
        ({"components": ["a", "b"], "edges": [("a", "x")]}, ValueError, "unknown component 'x'"),
        ({"components": ["a", "b"], "edges": [("a",)]}, ValueError, r"\(source, target\)"),
        (
            {"components": ["a", "b"], "dashed_edges": [("x", "b")]},
            ValueError,
            "unknown component 'x' in dashed edge",
        ),
        ({"components": ["a"], "colors": {"z": "red"}}, ValueError, "unknown components"),
    ],
)
def test_architecture_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_architecture(**kwargs)


def test_architecture_on_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_architecture(["a", "b"], ax=ax) is ax
    assert plt.get_fignums() == [fig.number]


# --------------------------------------------------------------------------- latency budget
def test_latency_budget_plot_texts_and_segments():
    budget = LatencyBudget({"network": 40, "feature fetch": 20, "ranking": 100}, p99_ms=200)
    ax = plot_latency_budget(budget)
    assert isinstance(ax, Axes)
    assert _texts(ax) == [
        "network\n40 ms",
        "feature\nfetch\n20 ms",  # narrow segment: name wrapped
        "ranking\n100 ms",
        "slack\n40 ms",
        "p99 = 200 ms",
    ]
    widths = [p.get_width() for p in ax.patches if isinstance(p, Rectangle)]
    assert widths == [40.0, 20.0, 100.0, 40.0]
    assert ax.lines[0].get_xdata()[0] == 200.0


def test_latency_budget_plot_without_slack():
    ax = plot_latency_budget(LatencyBudget({"a": 120, "b": 80}, p99_ms=200))
    assert not any(t.startswith("slack") for t in _texts(ax))


def test_latency_budget_plot_rejects_other_objects():
    with pytest.raises(TypeError, match="budget must be a LatencyBudget; got dict"):
        plot_latency_budget({"a": 1})


def test_no_figures_left_open_by_closing():
    plot_funnel(FUNNEL)
    plot_architecture(["a", "b"])
    assert len(plt.get_fignums()) == 2
    plt.close("all")
    assert plt.get_fignums() == []
