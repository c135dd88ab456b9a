import matplotlib.pyplot as plt
from matplotlib.patches import Circle

from lib import plots


def test_unrolled_diagram_has_one_state_per_time_step():
    ax = plots.draw_unrolled(T=4)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    # folded x, V, O; unrolled V(0..4), x(1..4), O(1..4)
    assert len(circles) == 3 + 5 + 4 + 4
    texts = {t.get_text() for t in ax.texts}
    assert {"$V(0)$", "$V(4)$", "$x(4)$", "$O(4)$", "$w^{(vv)}$"} <= texts
    plt.close("all")


def test_book_style_is_applied():
    plots.use_book_style()
    assert plt.rcParams["axes.spines.top"] is False
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"][0] == plots.COLORS[0]


def test_resnet_analogy_labels_both_shortcuts():
    axes = plots.draw_resnet_analogy()
    for ax in axes:
        texts = [t.get_text() for t in ax.texts]
        assert texts.count("identity") == 1 and "$+$" in texts
    assert "9.30d" in axes[1].get_title()
    plt.close("all")
