import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Circle

from rnnbook import plots


@pytest.fixture(autouse=True)
def _book_style_undone():
    """use_book_style changes the global rcParams (savefig.dpi among them): the test modules that
    run after this one, in the same process, keep matplotlib's defaults."""
    with plt.rc_context():
        yield
    plt.close("all")


def test_bad_arguments_are_refused_by_name():
    x = np.zeros((4, 2, 2))
    x[[0, 2], :, 1] = 1.0
    z, V, w_ov = np.full((4, 2, 3), 0.5), np.zeros((5, 2, 3)), np.ones(3)
    for kwargs, name in [({"sequence": 2}, "sequence"), ({"n_units": 4}, "n_units"),
                         ({"axes": [None] * 3}, "axes"), ({"x": x[:, :, :1]}, "x"),
                         ({"x": np.zeros((4, 2, 2))}, "x"), ({"V": V[:4]}, "V")]:
        with pytest.raises(ValueError, match=rf"^{name}:"):
            plots.plot_gru_gates(**{"x": x, "z": z, "V": V, "w_ov": w_ov, **kwargs})
    with pytest.raises(ValueError, match="^T:"):
        plots.draw_unrolled(T=0)
    with pytest.raises(TypeError, match="^axes:"):
        plots.draw_resnet_analogy(axes="two")


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


def test_gru_gates_plot_marks_the_sequence_and_sorts_units():
    import numpy as np
    x = np.zeros((20, 2, 2))
    x[:, :, 0] = np.linspace(0, 1, 40).reshape(20, 2)
    x[[3, 14], 1, 1] = 1.0          # the markers of sequence 1, at t = 4 and t = 15
    z = np.random.default_rng(0).uniform(size=(20, 2, 5))
    V = np.zeros((21, 2, 5))
    w_ov = np.array([0.1, -0.9, 0.3, 0.0, 0.5])
    ax_x, ax_z, ax_v = plots.plot_gru_gates(x, z, V, w_ov, sequence=1, n_units=3)
    assert [t.get_text() for t in ax_z.get_yticklabels()] == ["1", "4", "2"]
    np.testing.assert_array_equal(ax_z.images[0].get_array(), z[:, 1, [1, 4, 2]].T)
    marks = np.flatnonzero(x[:, 1, 1]) + 1
    assert [line.get_xdata()[0] for line in ax_v.lines[3:]] == list(marks)
    assert ax_x.get_title().endswith(f"= {x[marks - 1, 1, 0].sum():.2f}")
    plt.close("all")


def stored_width(fig):
    """The width in pixels of ``fig`` as a notebook stores it: cropped to its contents."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=fig.dpi)
    plt.close(fig)
    return int.from_bytes(buf.getvalue()[16:20], "big")


def test_drawings_fit_the_text_column():
    plots.use_book_style()
    for T in (1, 3, 5, 8):
        assert stored_width(plots.draw_unrolled(T=T).figure) <= plots.MAX_FIGURE_PX
    assert stored_width(plots.draw_resnet_analogy()[0].figure) <= plots.MAX_FIGURE_PX
    rng = np.random.default_rng(0)
    x = np.zeros((100, 1, 2))
    x[:, 0, 0] = rng.uniform(size=100)
    x[[18, 59], 0, 1] = 1.0
    axes = plots.plot_gru_gates(x, rng.uniform(size=(100, 1, 32)), rng.standard_normal((101, 1, 32)),
                                rng.standard_normal(32))
    assert stored_width(axes[0].figure) <= plots.MAX_FIGURE_PX
