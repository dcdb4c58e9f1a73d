"""matplotlib figures: the right axes, titles, labels and number of paths — not just "no exception"."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install 'mlplab[viz]')")

from mlplab import compare, plots  # noqa: E402


def lines_with_label(ax, label):
    return [ln for ln in ax.get_lines() if ln.get_label() == label]


def test_surface_3d_draws_the_toy_surface_with_three_paths(toy):
    fig = plots.surface_3d(toy)
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.get_title() == "Loss surface E(w) with the optimizer paths"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("w11", "w12", "E(w)")
    for run in toy.runs:
        (line,) = lines_with_label(ax, run.name)
        xs, ys, zs = line.get_data_3d()
        np.testing.assert_allclose(np.column_stack([xs, ys]), run.trajectory, atol=1e-12)
        np.testing.assert_allclose(zs, run.history.loss, rtol=1e-12)
    assert len(ax.collections) >= 1  # the surface


def test_contour_has_the_three_paths_and_a_colorbar(toy):
    fig = plots.contour(toy)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Contours of E(w)") and ax.get_xlabel() == "w11" and ax.get_ylabel() == "w12"
    assert [len(lines_with_label(ax, r.name)) for r in toy.runs] == [1, 1, 1]
    assert len(lines_with_label(ax, "w^0")) == 1
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "E(w)"  # colorbar
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == [r.name for r in toy.runs]


@pytest.mark.parametrize("x,xlabel", [("cost", compare.COST_LABEL), ("k", "iteration k")])
def test_convergence_has_log_log_and_semi_log_panels(toy, x, xlabel):
    fig = plots.convergence(toy, x)
    loglog, semilog = fig.axes
    assert (loglog.get_xscale(), loglog.get_yscale()) == ("log", "log")
    assert (semilog.get_xscale(), semilog.get_yscale()) == ("linear", "log")
    for ax in (loglog, semilog):
        assert ax.get_xlabel() == xlabel and ax.get_ylabel() == "E(w^k) − E*"
        data = [ln for ln in ax.get_lines() if ln.get_gid() == "data"]
        fits = [ln for ln in ax.get_lines() if ln.get_gid() == "fit"]
        n_fits = sum(r.rate is not None for r in toy.runs)
        assert len(data) == 3 and len(fits) == (n_fits if x == "k" else 0)  # fitted rates on the k axis
        assert len({(ln.get_linestyle(), ln.get_marker()) for ln in data}) == 3  # runs told apart without colour
        xs = data[1].get_xdata()
        run = toy.runs[1]
        np.testing.assert_array_equal(xs, run.history.cost if x == "cost" else run.history.k)
    assert "against cost" in loglog.get_title() if x == "cost" else "against k" in loglog.get_title()
    if x == "k":
        assert any("k^(−" in t.get_text() or "^k" in t.get_text() for t in loglog.get_legend().get_texts())
    with pytest.raises(ValueError, match="cost"):
        plots.convergence(toy, "time")


def test_gradient_norm_and_step_size_figures(toy):
    ax = plots.grad_norms(toy).axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "‖∇E(w^k)‖₂" and len(ax.get_lines()) == 3
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), toy.runs[0].history.grad_norm)
    ax = plots.step_sizes(toy).axes[0]
    assert ax.get_ylabel() == "α^k / γ_k" and len(ax.get_lines()) == 3
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata()[:-1], 1.0 / (np.arange(len(toy.runs[1].history) - 1) + 1))


def test_layer_figures_have_one_line_or_row_per_layer(deep):
    ax = plots.layer_grad_norms(deep).axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["layer 1", "layer 2", "layer 3"]
    assert ax.get_ylabel() == "‖∇_{W^ℓ} E‖_F"
    fig = plots.layer_heatmap(deep)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    assert mesh.get_array().shape == (3, len(deep.runs[1].history)) and ax.get_ylabel() == "layer ℓ"  # longest run
    assert "log10" in fig.axes[1].get_ylabel()


def test_bound_factors_figure(deep):
    fig = plots.bound_factors(deep)
    ax, ax2 = fig.axes
    labels = [h.get_label() for h in ax.containers]
    assert labels == ["‖Diag(φ′)‖₂", "‖V^{ℓ+1}…V^L δ^L‖₂", "‖a^{ℓ−1}‖₂", "bound (product)", "‖∇_{W^ℓ} e‖₂"]
    assert all(len(c) == 3 for c in ax.containers) and "holds on every sample: True" in ax.get_title()
    assert ax2.get_title().startswith("Saturated units") and len(ax2.containers[0]) == 3
    assert deep.gradient_flow.diagnosis.message == fig._suptitle.get_text()


def test_where_it_stopped_and_decision_boundary(toy, deep):
    ax = plots.infimum(toy).axes[0]
    assert ax.get_xlabel() == "r = ‖w‖" and "‖w‖ → ∞" in ax.get_title()
    assert plots.infimum(deep) is None
    assert plots.slice_1d(toy) is None
    ax = plots.slice_1d(deep).axes[0]
    assert ax.get_title() == "1-D slice of E through the final w" and len(ax.get_lines()[0].get_xdata()) == 201
    fig = plots.decision_boundary(deep)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Decision boundary") and (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    pts = [c for c in ax.collections if c.get_label() in ("y = 1", "y = 0")]
    assert sum(len(c.get_offsets()) for c in pts) == 30


def test_pca_surface_for_a_bigger_net(deep):
    ax = plots.contour(deep).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC1", "PC2")
    assert [len(lines_with_label(ax, r.name)) for r in deep.runs] == [1, 1]


def test_save_pngs_and_python_m_mlplab_compare_write_every_figure(tmp_path, capsys):
    assert compare.main(["--budget", "300", "--plots", str(tmp_path / "figs"), "--out", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "figures:" in out and "report:" in out and (tmp_path / "r.html").stat().st_size > 3_000_000
    paths = sorted((tmp_path / "figs").iterdir())
    assert {p.stem for p in paths} == {"surface_3d", "contour", "infimum", "convergence_cost", "convergence_k",
                                       "grad_norm", "step_sizes", "layer_grad_norms", "layer_heatmap",
                                       "gradient_flow", "decision_boundary"}
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def test_save_pngs_returns_the_paths_it_wrote(deep, tmp_path):
    paths = plots.save_pngs(tmp_path / "a" / "b", deep, dpi=40)
    assert [p.parent for p in paths] == [tmp_path / "a" / "b"] * len(paths) and all(p.exists() for p in paths)
    assert {p.stem for p in paths} >= {"slice_1d", "surface_3d", "decision_boundary"}


def test_plots_use_no_pyplot():
    code = ("import sys, mlplab.plots; assert 'matplotlib.pyplot' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
