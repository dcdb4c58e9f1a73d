"""matplotlib figures: the right axes, titles, labels and number of paths — not just "no exception"."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install 'mlplab[viz]')")

from mlplab import compare, figures, plots  # noqa: E402


def lines_with_label(ax, label):
    return [ln for ln in ax.get_lines() if ln.get_label() == label]


def caption_of(fig):
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
    return " ".join(texts)


def test_surface_3d_draws_the_toy_surface_with_three_paths(toy):
    fig = plots.surface_3d(toy)
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.get_title() == "Loss surface E(w) with the optimizer paths"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("w11", "w12", "E")
    for run in toy.runs:
        (line,) = lines_with_label(ax, figures.pretty(run.name))
        xs, ys, zs = line.get_data_3d()
        np.testing.assert_allclose(np.column_stack([xs, ys]), run.trajectory, atol=1e-12)  # short runs: every record
        np.testing.assert_allclose(zs, run.history.loss, rtol=1e-12)  # d = 2: the height is E itself
    assert len(ax.collections) >= 1  # the surface


def test_contour_is_zoomed_to_the_paths_with_equal_axes_and_log_levels(toy):
    fig = plots.contour(toy)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Contours of E(w)") and ax.get_xlabel() == "w11" and ax.get_ylabel() == "w12"
    assert [len(lines_with_label(ax, figures.pretty(r.name))) for r in toy.runs] == [1, 1, 1]
    assert len(lines_with_label(ax, "w⁰")) == 1
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "E"  # colorbar
    # zoomed: every path inside, and the box not much larger than the paths (not [−6, 6]²)
    allw = np.vstack([r.trajectory for r in toy.runs])
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 <= allw[:, 0].min() and allw[:, 0].max() <= x1 and y0 <= allw[:, 1].min() and allw[:, 1].max() <= y1
    assert x1 - x0 < 0.5 * 12 and ax.get_aspect() == 1.0  # equal scaling: GD's right angles show
    levels = ax.collections[0].levels if hasattr(ax.collections[0], "levels") else fig.axes[0].collections[0].levels
    ratios = np.asarray(levels[1:]) / np.asarray(levels[:-1])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # log-spaced: a constant ratio
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(stars) == 3  # an end marker per run
    assert "log-spaced" in caption_of(fig)


def test_projected_plane_paths_are_coloured_by_the_true_loss(deep):
    fig = plots.contour(deep)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC1", "PC2")
    view = figures.comparison_surface(deep)
    sgd = deep.runs[1]
    p = view.paths[1]
    np.testing.assert_allclose(p.E, np.asarray(sgd.history.loss)[p.idx])  # the run's own E, not the plane's
    assert not np.allclose(p.E, p.z)  # the plane's height differs: that is why the caption says so
    scatters = [c for c in ax.collections if c.get_array() is not None and len(c.get_offsets()) == len(p.a)]
    assert scatters, "the path's points are not coloured by a value"
    assert "projection" in caption_of(fig)


@pytest.mark.parametrize("x,xlabel", [("cost", "1 + " + compare.COST_LABEL), ("k", "1 + iteration k")])
def test_convergence_has_log_log_and_semi_log_panels(toy, x, xlabel):
    fig = plots.convergence(toy, x)
    loglog, semilog = fig.axes
    assert (loglog.get_xscale(), loglog.get_yscale()) == ("log", "log")
    assert (semilog.get_xscale(), semilog.get_yscale()) == ("linear", "log")
    assert loglog.get_xlabel() == xlabel and semilog.get_xlabel() == xlabel[4:]
    for ax in (loglog, semilog):
        assert ax.get_ylabel() == "E(wᵏ) − E*"
        data = [ln for ln in ax.get_lines() if ln.get_gid() == "data"]
        fits = [ln for ln in ax.get_lines() if ln.get_gid() == "fit"]
        n_fits = sum(r.rate is not None for r in toy.runs)
        assert len(data) == 3 and len(fits) == (n_fits if x == "k" else 0)  # fitted rates on the k axis
        assert len({(ln.get_linestyle(), ln.get_marker()) for ln in data}) == 3  # runs told apart without colour
        run = toy.runs[1]
        shift = 1 if ax is loglog else 0  # the start (cost 0) shows on the log axis as 1 + cost
        expect = np.asarray(run.history.grad_equivalents if x == "cost" else run.history.k, dtype=float) + shift
        np.testing.assert_array_equal(data[1].get_xdata(), expect)
        budget = [ln for ln in ax.get_lines() if ln.get_gid() == "budget"]
        if x == "cost":
            assert len(budget) == 1 and budget[0].get_xdata()[0] == toy.budget + shift  # the budget line
        else:
            assert not budget
    if x == "k":
        assert any("k^(−" in t.get_text() or "^k" in t.get_text() for t in loglog.get_legend().get_texts())
    with pytest.raises(ValueError, match="cost"):
        plots.convergence(toy, "time")


def test_gradient_norm_and_step_size_figures(toy):
    ax = plots.grad_norms(toy).axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "‖∇E(wᵏ)‖₂" and len(ax.get_lines()) == 3
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), toy.runs[0].history.grad_norm)
    ax = plots.step_sizes(toy).axes[0]
    assert ax.get_ylabel() == "step size" and "αᵏ" in ax.get_title() and "γₖ" in ax.get_title()
    assert len(ax.get_lines()) == 3
    assert len({ln.get_linestyle() for ln in ax.get_lines()}) == 3  # distinct dash styles
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata()[:-1], 1.0 / (np.arange(len(toy.runs[1].history) - 1) + 1))


def test_layer_figures_are_of_the_gradient_flow_run(deep):
    run = deep.runs[deep.flow_run]
    ax = plots.layer_grad_norms(deep).axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["layer 1", "layer 2", "layer 3"]
    assert figures.pretty(run.name) in ax.get_title()
    fig = plots.layer_heatmap(deep)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    assert mesh.get_array().shape == (3, len(run.history)) and ax.get_ylabel() == "layer ℓ"
    assert "log" in fig.axes[1].get_ylabel()


def test_gradient_flow_is_lines_against_depth(deep):
    fig = plots.bound_factors(deep)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) >= 4 and ax.get_yscale() == "log"
    fl = figures.flow_lines(deep)
    np.testing.assert_allclose(lines[0].get_ydata(), fl.delta)  # per-sample medians of ‖δ^ℓ‖
    np.testing.assert_allclose(lines[1].get_ydata(), [f.median_grad for f in deep.gradient_flow.layers])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    assert "saturated units" in caption_of(fig) and "layer 1:" in caption_of(fig)
    assert "True" not in ax.get_title() and "no vanishing or exploding" in ax.get_title()


def test_where_it_stopped_and_decision_boundary(toy, deep):
    ax = plots.infimum(toy).axes[0]
    assert ax.get_xlabel() == "r = ‖w‖" and "‖w‖ → ∞" in ax.get_title()
    assert plots.infimum(deep) is None
    assert plots.slice_1d(toy) is None
    ax = plots.slice_1d(deep).axes[0]
    assert ax.get_title() == "1-D slice of E through the final w" and len(ax.get_lines()[0].get_xdata()) == 101
    fig = plots.decision_boundary(deep)
    ax = fig.axes[0]
    dd = figures.decision_data(deep)
    assert ax.get_title().startswith("Decision boundary") and (ax.get_xlabel(), ax.get_ylabel()) == ("x₁", "x₂")
    assert f"training accuracy {dd.acc:.1%}" in ax.get_title()
    pts = [c for c in ax.collections if c.get_label().startswith("class y = ")]
    assert sum(len(c.get_offsets()) for c in pts) == 30 and len(pts) == 2
    assert len({tuple(c.get_facecolor()[0]) for c in pts}) == 2  # classes in two colours
    assert ax.get_aspect() == 1.0


def test_save_pngs_writes_every_figure(toy, tmp_path):
    paths = plots.save_pngs(tmp_path / "figs", toy, dpi=50)
    assert {p.stem for p in paths} == {"surface_3d", "contour", "infimum", "convergence_cost", "convergence_k",
                                       "grad_norm", "step_sizes", "layer_grad_norms", "layer_heatmap",
                                       "gradient_flow", "decision_boundary"}
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5_000


def test_save_pngs_returns_the_paths_it_wrote(deep, tmp_path):
    paths = plots.save_pngs(tmp_path / "a" / "b", deep, dpi=40)
    assert [p.parent for p in paths] == [tmp_path / "a" / "b"] * len(paths) and all(p.exists() for p in paths)
    assert {p.stem for p in paths} >= {"slice_1d", "surface_3d", "decision_boundary", "hidden_units"}


def test_save_pngs_leaves_no_folder_when_drawing_fails(toy, tmp_path, monkeypatch):
    def broken(comp, *args):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots, "grad_norms", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        plots.save_pngs(tmp_path / "new", toy, dpi=30)
    assert not (tmp_path / "new").exists()


def test_plots_use_no_pyplot_and_no_plotly():
    code = ("import sys, mlplab.plots; assert 'matplotlib.pyplot' not in sys.modules; "
            "assert 'plotly' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_data_flows_one_way():
    """compare (data) imports no figure module (Comparison.plot takes a viz builder when called); the figure
    data (mlplab.figures, the viz data modules) imports neither plotting library; report and plots are
    assembly, neither imports the other."""
    code = ("import sys, mlplab.compare, mlplab.figures, mlplab.viz; "
            "bad = [m for m in ('mlplab.plots', 'mlplab.report', 'matplotlib', 'plotly') if m in sys.modules]; "
            "bad += [m for m in sys.modules if m.startswith(('mlplab.viz.plotly', 'mlplab.viz.mpl'))]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
    import ast
    import pathlib

    from mlplab import report

    def imports(path, top_only=True):
        tree = ast.parse(pathlib.Path(path).read_text())
        nodes = tree.body if top_only else list(ast.walk(tree))
        return {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module} | \
               {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}

    figure_modules = {"mlplab.plots", "mlplab.report", "mlplab.figures", "plotly", "matplotlib"}
    for path in pathlib.Path(compare.__file__).parent.glob("*.py"):
        assert not {m for m in imports(path) if m.split(".")[0] in ("plotly", "matplotlib") or m in figure_modules
                    or m.startswith(("mlplab.viz.plotly", "mlplab.viz.mpl"))}, path
    viz = pathlib.Path(figures.__file__).parent / "viz"
    for name in ("notation", "style", "words", "iterates", "surface", "plane", "flow", "plan"):
        assert not {m for m in imports(viz / f"{name}.py", top_only=False)
                    if m.split(".")[0] in ("plotly", "matplotlib") or m.startswith("mlplab.compare")}, name
    assert not {"plotly", "matplotlib"} & {m.split(".")[0] for m in imports(figures.__file__)}
    assert "mlplab.plots" not in imports(report.__file__) and "mlplab.report" not in imports(plots.__file__)
