"""Numbers before pictures: mlplab.analysis against independent oracles."""

import inspect
import subprocess
import sys

import numpy as np
import pytest

import mlplab
from mlplab import analysis
from mlplab.optim import GD, SGD, MiniBatchSGD, constant, inverse


def toy(w=(0.5, 0.5)):
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array(w, dtype=float))
    return net, X, y, mlplab.Problem(net, X, y, "squared")


def E_closed_form(w, X, y):
    """The slides' formula E = Σ_i (y^i − 1/(1 + exp(−[w11 x1^i + w12 x2^i])))²."""
    return float(np.sum((y - 1.0 / (1.0 + np.exp(-(X @ w)))) ** 2))


# --- surfaces ---------------------------------------------------------------------


def test_toy_surface_equals_loss_and_grad_at_every_grid_point():
    net, X, y, problem = toy()
    s = analysis.param_surface(problem, 0, 1, (-5.0, 4.0), (-3.0, 6.0), n=13)
    assert s.E.shape == (13, 13) and s.labels == ("w11", "w12")
    for j, b in enumerate(s.b):
        for i, a in enumerate(s.a):
            E = mlplab.MLP([2, 1], bias=False, init=np.array([a, b])).loss_and_grad(X, y, "squared")[0]
            assert s.E[j, i] == pytest.approx(E, rel=1e-13, abs=1e-15)
            assert s.E[j, i] == pytest.approx(E_closed_form(np.array([a, b]), X, y), rel=1e-12)


def test_surface_is_vectorised_not_a_loop_over_grid_points():
    _, _, _, problem = toy()
    calls = []
    real = problem.net.activations[0].phi
    act = problem.net.activations[0]
    object.__setattr__(act, "phi", lambda z: (calls.append(z.shape), real(z))[1])
    try:
        analysis.param_surface(problem, n=50)
        n_50 = len(calls)
        analysis.param_surface(problem, n=20)
    finally:
        object.__setattr__(act, "phi", real)
    assert calls[0] == (2500, 4, 1)  # one batched forward pass for 2500 points
    assert all(np.prod(c) == 2500 * 4 for c in calls[:n_50])  # every φ call (the loss's too) takes all points
    assert len(calls) == 2 * n_50  # as many calls for 400 points as for 2500: no loop over the grid


@pytest.mark.parametrize("loss,out,l2,reduction,bias", [
    ("squared", "sigmoid", 0.0, "sum", True), ("binary_cross_entropy", "sigmoid", 0.3, "mean", True),
    ("cross_entropy", "softmax", 0.1, "sum", False), ("absolute", "identity", 0.0, "mean", True)])
def test_batched_loss_matches_the_objective_on_random_networks(loss, out, l2, reduction, bias):
    rng = np.random.default_rng(1)
    n_out = 3 if out == "softmax" else 1
    net = mlplab.MLP([3, 5, 4, n_out], activation="tanh", output_activation=out, bias=bias, seed=2)
    X = rng.standard_normal((7, 3))
    Y = rng.integers(0, n_out, 7) if out == "softmax" else (rng.random(7) > 0.5).astype(float)
    problem = mlplab.Problem(net, X, Y, loss, l2=l2, reduction=reduction, sample_weight=rng.random(7) + 0.5)
    Ws = net.params + 0.5 * rng.standard_normal((9, net.n_params))
    np.testing.assert_allclose(analysis.batched_loss(problem, Ws), [problem.value(w) for w in Ws], rtol=1e-12)


def test_direction_surface_and_slice_through_w():
    net = mlplab.MLP([2, 6, 1], activation="tanh", seed=0)
    X, y = mlplab.datasets.xor()
    problem = mlplab.Problem(net, X, y)
    u = analysis.random_direction(net, net.params, seed=0)
    v = analysis.random_direction(net, net.params, seed=1)
    s = analysis.direction_surface(problem, net.params, u, v, n=11)
    assert s.E[5, 5] == pytest.approx(problem.value(net.params))  # the centre is w
    assert s.E[2, 7] == pytest.approx(problem.value(net.params + s.a[7] * u + s.b[2] * v))
    a, E = analysis.direction_slice(problem, net.params, u, n=21)
    assert E[10] == pytest.approx(problem.value(net.params))
    np.testing.assert_allclose(s.project(net.params + 0.3 * u - 0.2 * v), [[0.3, -0.2]], atol=1e-12)


def test_random_direction_is_filter_normalised_and_skips_biases():
    net = mlplab.MLP([3, 4, 2], seed=0)
    d = analysis.random_direction(net, net.params, seed=5)
    for s in net.slices:
        W, D = net.params[s.W].reshape(s.shape), d[s.W].reshape(s.shape)
        np.testing.assert_allclose(np.linalg.norm(D, axis=1), np.linalg.norm(W, axis=1))
        np.testing.assert_array_equal(d[s.b], 0.0)
    d2 = analysis.random_direction(net, net.params, seed=5, normalize="layer")
    for s in net.slices:
        assert np.linalg.norm(d2[s.W]) == pytest.approx(np.linalg.norm(net.params[s.W]))
    with pytest.raises(ValueError, match="normalize"):
        analysis.random_direction(net, net.params, normalize="bogus")


def test_pca_directions_find_the_plane_of_a_planar_path():
    rng = np.random.default_rng(0)
    e1, e2 = np.linalg.qr(rng.standard_normal((10, 2)))[0].T
    t = np.linspace(0, 1, 30)
    path = np.outer(3 * t, e1) + np.outer(np.sin(3 * t), e2)
    u, v, expl = analysis.pca_directions(path)
    B = np.stack([e1, e2])
    assert np.linalg.norm(B @ u) == pytest.approx(1.0) and np.linalg.norm(B @ v) == pytest.approx(1.0)
    assert expl.sum() == pytest.approx(1.0)


def test_param_surface_rejects_bad_coordinates():
    _, _, _, problem = toy()
    with pytest.raises(ValueError, match="coordinate"):
        analysis.param_surface(problem, 0, 2)
    with pytest.raises(ValueError, match="differ"):
        analysis.param_surface(problem, 1, 1)


def test_toy_infimum_is_approached_only_at_infinity():
    _, X, y, problem = toy()
    r, Emin, where = analysis.radial_minimum(problem, np.geomspace(0.5, 20, 12))
    assert np.all(np.diff(Emin) < 0) and Emin[-1] < 1e-12 and np.all(Emin > 0)
    np.testing.assert_allclose(np.linalg.norm(where, axis=1), r)
    assert Emin[3] == pytest.approx(E_closed_form(where[3], X, y))


# --- convergence rates -----------------------------------------------------------------


@pytest.mark.parametrize("seq,kind,p,q", [
    (lambda k: 3.0 / k, "sublinear", 1.0, None),
    (lambda k: 0.5 / np.sqrt(k), "sublinear", 0.5, None),
    (lambda k: 2.0 * 0.5 ** k, "linear", None, 0.5)])
def test_fit_rate_recovers_known_rates(seq, kind, p, q):
    k = np.arange(0, 60)
    fit = analysis.fit_rate(k, seq(np.maximum(k, 1)))
    assert fit.kind == kind
    if p is not None:
        assert fit.p == pytest.approx(p, abs=1e-9)
    if q is not None:
        assert fit.q == pytest.approx(q, abs=1e-9) and fit.C == pytest.approx(2.0)


def test_fit_rate_window_and_errors():
    k = np.arange(1, 101, dtype=float)
    err = np.where(k < 50, 1.0 / k, 50.0 / k ** 2 / 1.0)  # 1/k, then 1/k²
    assert analysis.fit_rate(k, err, window=(1, 40)).p == pytest.approx(1.0)
    assert analysis.fit_rate(k, err, window=(60, 100)).p == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 5"):
        analysis.fit_rate([1, 2, 3, 4], [1.0, 0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match="at least 3"):  # min_points lowers the bar, down to 3
        analysis.fit_rate([1, 2], [1.0, 0.5], min_points=3)
    assert analysis.fit_rate([1, 2, 3], [1.0, 0.5, 1 / 3], window=(1, 3), min_points=3).p == pytest.approx(1.0)
    with pytest.raises(ValueError, match="min_points"):
        analysis.fit_rate(k, err, min_points=2)
    with pytest.raises(ValueError, match="same shape"):
        analysis.fit_rate([1, 2, 3], [1.0, 0.5])


def test_rate_describe_never_prints_a_base_of_1():
    k = np.arange(1, 41, dtype=float)
    flat = analysis.fit_rate(k, 1.6 * 0.9999 ** k)  # q within 1e-3 of 1: no measurable linear rate
    assert flat.kind == "linear" and flat.flat
    assert "no measurable linear rate" in flat.describe() and "^k" not in flat.describe()
    for q in (0.9985, 1.0015, 0.5):  # measurable: the base is printed with the digits it takes not to read 1
        fit = analysis.fit_rate(k, 1.6 * q ** k)
        base = fit.describe().split("·")[1].split("^k")[0]
        assert float(base) != 1.0 and float(base) == pytest.approx(q, rel=1e-3), fit.describe()


def test_theory_rate_quotes_the_lecture():
    assert "O(1/√k)" in analysis.theory_rate(GD("exact"))
    assert "O(1/k)" in analysis.theory_rate(SGD(schedule=inverse(1.0)))
    assert "Robbins–Monro (Σγ_k" in analysis.theory_rate(MiniBatchSGD(2, schedule=inverse(1.0)))
    assert "does not satisfy" in analysis.theory_rate(SGD(schedule=constant(0.1)))
    assert "Momentum" in analysis.theory_rate(mlplab.Momentum(SGD(schedule=0.1)))


# --- gradient flow -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_the_lectures_bound_holds_on_random_networks(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(2, 6))
    sizes = [int(rng.integers(1, 6)) for _ in range(L + 1)]
    act = ["sigmoid", "tanh", "relu", "softplus", "leaky_relu"][seed % 5]
    net = mlplab.MLP(sizes, activation=act, output_activation="sigmoid", bias=bool(seed % 2),
                     init=f"normal({rng.uniform(0.3, 3):.2f})", seed=seed)
    X = 2 * rng.standard_normal((5, sizes[0]))
    Y = rng.random((5, sizes[-1]))
    flow = analysis.gradient_flow(net, X, Y)
    assert [f.layer for f in flow.layers] == list(range(1, L + 1))
    for f in flow.layers:
        assert f.holds
        assert np.all(f.grad_norm <= f.bound * (1 + 1e-12) + 1e-300)
    # the factors against net.trace (explicit V^ℓ, Diag(φ′)) for one sample
    tr = net.trace(X[0], Y[0])
    for f, lt in zip(flow.layers, tr.layers):
        assert f.dphi_norm[0] == pytest.approx(np.linalg.norm(np.diag(lt.dphi), 2))
        assert f.delta_norm[0] == pytest.approx(np.linalg.norm(lt.delta), rel=1e-10, abs=1e-300)
        assert f.grad_norm[0] == pytest.approx(np.linalg.norm(lt.grad_W, 2), rel=1e-10, abs=1e-300)
        a_prev = tr.x if f.layer == 1 else tr.layers[f.layer - 2].a
        assert f.a_prev_norm[0] == pytest.approx(np.linalg.norm(a_prev))


def test_bound_with_softmax_output_and_cross_entropy():
    rng = np.random.default_rng(3)
    net = mlplab.MLP([3, 4, 3], activation="tanh", output_activation="softmax", seed=1)
    flow = analysis.gradient_flow(net, rng.standard_normal((6, 3)), rng.integers(0, 3, 6), "cross_entropy")
    assert all(f.holds for f in flow.layers)


def test_batch_gradient_norms_match_the_history_columns():
    net, X, y, _ = toy((1.0, -2.0))
    deep = mlplab.MLP([2, 3, 3, 1], seed=0)
    for n in (net, deep):
        flow = analysis.gradient_flow(n, X, y)
        g = n.loss_and_grad(X, y)[1]
        for f, s in zip(flow.layers, n.slices):
            assert f.batch_grad_norm == pytest.approx(np.linalg.norm(g[s.W]))


def test_saturation_counts_units_below_one_percent_of_max_derivative():
    net = mlplab.MLP([1, 2, 1], activation="sigmoid", bias=False, init="zeros")
    net.weights[0][:] = [[100.0], [0.0]]  # unit 1 saturates for |x| ≥ 0.1, unit 2 never
    net.weights[1][:] = [[1.0, 1.0]]
    flow = analysis.gradient_flow(net, np.array([[1.0], [-1.0], [0.0]]), [1.0, 0.0, 1.0])
    assert flow.layers[0].saturated == pytest.approx(2 / 6)


def test_vanishing_diagnosis_fires_on_a_10_layer_sigmoid_net_but_not_on_2_layers():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = (X[:, 0] > 0).astype(float)
    deep = mlplab.MLP([4] + [16] * 9 + [1], activation="sigmoid", seed=0)
    d = analysis.gradient_flow(deep, X, y).diagnosis
    assert d.kind == "vanishing" and d.ratio < 1e-3 and 1 <= d.layer < 10
    assert "Vanishing" in d.message and f"layer {d.layer}" in d.message
    shallow = mlplab.MLP([4, 16, 1], activation="sigmoid", seed=0)
    assert analysis.gradient_flow(shallow, X, y).diagnosis.kind == "healthy"


def test_exploding_diagnosis_names_the_layer():
    d = analysis.diagnose_gradients([1e6, 1e5, 1.0, 0.5])
    assert d.kind == "exploding" and d.layer == 2 and "layer 2" in d.message
    H = np.array([[1.0, 1.0], [10.0, 1.0], [1e5, 2.0]])
    d = analysis.diagnose_gradients(H[-1], history=H)
    assert d.kind == "exploding" and d.layer == 1
    assert analysis.diagnose_gradients([np.nan, 1.0], history=[[1.0, 1.0], [np.nan, 1.0]]).kind == "exploding"
    assert analysis.diagnose_gradients([0.5]).kind == "healthy"
    with pytest.raises(ValueError, match="non-empty"):
        analysis.diagnose_gradients([])


# --- where did it stop ------------------------------------------------------------------


def test_hessian_matches_the_closed_form_of_a_linear_least_squares_net():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    net = mlplab.MLP([3, 1], activation="identity", bias=False, seed=0)
    problem = mlplab.Problem(net, X, rng.standard_normal(8))
    np.testing.assert_allclose(analysis.hessian(problem, net.params), 2 * X.T @ X, rtol=1e-6)


def test_hessian_vector_products_give_the_extreme_eigenvalues():
    rng = np.random.default_rng(1)
    net = mlplab.MLP([3, 6, 2], activation="tanh", output_activation="identity", seed=4)
    problem = mlplab.Problem(net, rng.standard_normal((10, 3)), rng.standard_normal((10, 2)))
    eig = np.linalg.eigvalsh(analysis.hessian(problem, net.params))
    lo, hi = analysis.hvp_extremes(problem, net.params)
    assert lo == pytest.approx(eig[0], rel=1e-4, abs=1e-6) and hi == pytest.approx(eig[-1], rel=1e-4)
    assert lo < 0 < hi  # this random point is no minimum


def test_stationary_point_verdicts():
    # a strict minimum: linear least squares at its solution
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    net = mlplab.MLP([2, 1], activation="identity", bias=False, seed=0)
    problem = mlplab.Problem(net, X, y)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    assert analysis.stationary_point(problem, w_star).verdict == "local minimum"
    # a saddle: w = 0 of a 1-1-1 tanh net fitting y = 1 (E = (1 − w2 tanh(w1 x))², ∇E(0) = 0, det H < 0)
    net2 = mlplab.MLP([1, 1, 1], activation="tanh", output_activation="identity", bias=False, init="zeros")
    saddle = analysis.stationary_point(mlplab.Problem(net2, [[1.0]], [1.0]), np.zeros(2))
    assert saddle.verdict == "saddle point" and saddle.eig_min < 0 < saddle.eig_max
    # the toy problem after GD: gradient ≈ 0, curvature ≈ 0, and E still falls along the ray: infinity
    tnet, X, y, tproblem = toy()
    mlplab.train(tnet, X, y, optimizer=GD("exact"), max_iter=200, tol=1e-6)
    sp = analysis.stationary_point(tproblem, tnet.params)
    assert sp.verdict == "no minimum here: E decreases along the ray t·w" and "‖w‖ → ∞" in sp.message
    # and a point that is not stationary
    assert analysis.stationary_point(tproblem, np.array([0.5, 0.5])).verdict == "not stationary"


# --- trajectories and decision boundaries -----------------------------------------------------


@pytest.mark.parametrize("opt", [GD("exact"), SGD(schedule=inverse(1.0)), MiniBatchSGD(2, schedule=inverse(1.0))])
def test_trajectory_recorder_keeps_every_iterate(opt):
    net, X, y, problem = toy()
    rec = analysis.TrajectoryRecorder(net)
    exact = {"monitor": "full"} if "monitor" in inspect.signature(mlplab.train).parameters else {}  # E(w^k) itself
    result = mlplab.train(net, X, y, optimizer=opt, max_iter=12, eval_every=1, callback=rec, seed=0, **exact)
    T = rec.finish(result)
    assert T.shape == (len(result.history), 2)
    np.testing.assert_array_equal(T[0], [0.5, 0.5])
    np.testing.assert_array_equal(T[-1], result.params)
    np.testing.assert_allclose([problem.value(w) for w in T], result.history.loss, rtol=1e-12)


def test_trajectory_recorder_stops_at_the_cost_budget():
    net, X, y, _ = toy()
    rec = analysis.TrajectoryRecorder(net, stop_at_cost=10)
    result = mlplab.train(net, X, y, optimizer=SGD(schedule=inverse(1.0)), max_iter=100, eval_every=1,
                          callback=rec, seed=0)
    assert result.cost == 10 and result.n_iter == 10


def test_decision_grid_is_the_networks_output():
    net, X, y, _ = toy((-2.0, 0.1))
    xs, ys, P = analysis.decision_grid(net, X, n=20)
    assert P.shape == (20, 20) and xs[0] < X[:, 0].min() and ys[-1] > X[:, 1].max()
    assert P[3, 7] == pytest.approx(net.forward(np.array([xs[7], ys[3]]))[0])
    with pytest.raises(ValueError, match="2-D"):
        analysis.decision_grid(mlplab.MLP([3, 1]), np.zeros((4, 3)))


def test_analysis_imports_no_plotting_library():
    code = ("import sys, mlplab.analysis, mlplab.compare; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'plotly')]; assert not bad, bad; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# --- mlplab.compare: the numbers of a comparison ------------------------------------------------

from mlplab import compare, figures  # noqa: E402


def rows_cost(comp, run):
    return next(row["cost"] for row in comp.table() if row["method"] == run.name)


def test_default_comparison_runs_the_lectures_three_methods_with_one_budget():
    comp = compare.run_comparison(budget=600)  # GD's exact line search: ~150 gradient-equivalents a step here
    assert [r.name.split(",")[0] for r in comp.runs] == ["GD", "SGD", "mini-batch SGD"]
    assert comp.is_toy and comp.E_ref == 0.0 and "infimum" in comp.E_ref_note
    for r in comp.runs:
        np.testing.assert_array_equal(r.trajectory[0], [0.5, 0.5])  # the same w^0
        assert r.trajectory.shape == (len(r.history), 2)
        h = r.history
        # the budget, in sample-gradient equivalents (gradients + line-search forward passes / 3), is
        # never overspent: a step that would carry the cost past it is cut off there and not taken
        assert r.result.stop_reason in ("max_cost", "converged")
        cost = h.grad_equivalents
        assert cost[-1] <= 600 and (cost[-1] == 600 or r.budget_note or r.result.stop_reason == "converged")
        assert rows_cost(comp, r) == cost[-1]
        assert (r.rate is not None or "fewer than" in r.rate_note) and r.stop is not None and r.theory
    rows = comp.table()
    assert [row["stopped"] for row in rows][1:] == ["budget", "budget"]
    assert rows[1]["cost"] == 600 and rows[2]["cost"] == 600 and rows[1]["steps"] == 600 and rows[2]["steps"] == 300
    assert rows[0]["sample gradients"] == 4 * rows[0]["steps"] and rows[0]["forward passes"] > 0
    text = compare.format_table(comp)
    assert "GD, exact line search" in text and "O(1/k)" in text and "One layer" in text


def test_comparison_surface_on_the_toy_problem_is_the_slides_plane():
    comp = compare.run_comparison(budget=120)
    view = figures.comparison_surface(comp, n=31)
    s, full = view.surface, view.full
    assert s.labels == ("w11", "w12") and view.slice_1d is None and view.equal_axes and not view.projected
    assert full.a[0] <= -6 and full.b[-1] >= 6  # the full view: [−6, 6]² and every path
    allw = np.vstack([r.trajectory for r in comp.runs])
    assert s.a[0] <= allw[:, 0].min() and allw[:, 0].max() <= s.a[-1]  # zoomed: the paths, not [−6, 6]²
    assert s.b[0] <= allw[:, 1].min() and allw[:, 1].max() <= s.b[-1] and s.a[-1] - s.a[0] < 6
    assert s.a[-1] - s.a[0] == pytest.approx(s.b[-1] - s.b[0])  # a square: equal scaling
    for r, p in zip(comp.runs, view.paths):
        np.testing.assert_allclose(np.column_stack([p.a, p.b]), r.trajectory, atol=1e-12)  # the plane is all of R²
        np.testing.assert_allclose(p.z, r.history.loss, rtol=1e-12)
        np.testing.assert_allclose(p.E, r.history.loss, rtol=1e-12)
    r, Emin = figures.infimum_curve(comp)
    assert np.all(np.diff(Emin) < 0)


def test_comparison_on_a_bigger_net_uses_the_paths_principal_plane():
    X, y = mlplab.datasets.xor()
    net = mlplab.MLP([2, 4, 1], activation="tanh", output_activation="sigmoid", seed=3)
    comp = compare.run_comparison(net, X, y, "binary_cross_entropy",
                                  specs=[GD("exact"), SGD(schedule=inverse(2.0))], budget=60, seed=1)
    assert [r.name for r in comp.runs] == ["GD", "SGD"] and not comp.is_toy
    best = min(min(r.history.loss) for r in comp.runs)
    assert comp.E_ref < best and "E_best − Δ" in comp.E_ref_note  # below the best record: E − E* never hits 0
    view = figures.comparison_surface(comp, n=21)
    assert view.surface.kind == "pca" and len(view.paths) == 2 and view.slice_1d is not None and view.projected
    p = view.paths[0]
    np.testing.assert_allclose([p.a[-1], p.b[-1]], [0.0, 0.0], atol=1e-9)  # the plane's centre: GD's end
    assert p.z[-1] == pytest.approx(comp.runs[0].result.loss)
    np.testing.assert_allclose(p.E, np.asarray(comp.runs[0].history.loss)[p.idx])  # the run's true loss
    assert figures.infimum_curve(comp) is None


def test_from_result_wraps_one_training_run():
    X, y = mlplab.datasets.xor()
    net = mlplab.MLP([2, 3, 1], seed=0)
    rec = analysis.TrajectoryRecorder(net)
    result = mlplab.train(net, X, y, optimizer=GD("armijo"), max_iter=30, eval_every=1, callback=rec)
    comp = compare.from_result(net, X, y, result, trajectory=rec.finish(result), config={"data": "xor"})
    assert len(comp.runs) == 1 and comp.config["data"] == "xor" and comp.budget is None
    assert figures.comparison_surface(comp, n=11).surface.kind == "pca"
    single = compare.from_result(net, X, y, result)  # no trajectory: random directions
    assert figures.comparison_surface(single, n=11).surface.kind == "random"


def test_run_comparison_rejects_bad_arguments():
    with pytest.raises(ValueError, match="budget"):
        compare.run_comparison(budget=0)
    with pytest.raises(ValueError, match="w0"):
        compare.run_comparison(w0=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least one"):
        compare.run_comparison(specs=[])


def test_python_m_mlplab_compare_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "mlplab.compare", "--budget", "80"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "GD, exact line search" in out.stdout and "fitted rate" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "mlplab.compare", "--budget", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--budget" in bad.stderr


def test_stationary_point_with_non_finite_curvature_is_undetermined(monkeypatch):
    net = mlplab.MLP([2, 1], bias=False, init=np.array([0.5, 0.5]))
    X, y = mlplab.datasets.lecture()
    problem = mlplab.Problem(net, X, y)
    from mlplab.analysis import stationary

    def nan_curvature(problem, w, **kw):  # what Lanczos returns on a Hessian-vector product holding NaN
        return stationary.Curvature(np.nan, 1.0, np.full(2, np.nan), np.ones(2), np.nan, 0.0, 4, 1e-5, False)

    monkeypatch.setattr(stationary, "hessian_extremes", nan_curvature)
    sp = analysis.stationary_point(problem, net.params)
    assert sp.verdict == "undetermined" and "cannot be classified" in sp.message


def test_comparison_on_other_data_is_not_the_toy_problem():
    # the toy network on data of one's own: E* is the best E reached, not the toy's infimum 0
    from mlplab import compare

    X = np.array([[1.0, 1.0], [1.0, 1.0], [-1.0, 2.0], [2.0, -1.0]])
    y = np.array([1.0, 0.0, 1.0, 0.0])  # the first two points coincide with opposite labels: E > 0.5 always
    comp = compare.run_comparison(X=X, Y=y, budget=100)
    best = min(min(r.history.loss) for r in comp.runs)
    assert best > 0.5 and comp.E_ref < best and "E_best − Δ" in comp.E_ref_note
    assert "toy" not in comp.title
    with pytest.raises(ValueError, match="both X and Y"):
        compare.run_comparison(X=X, budget=10)


def test_gradient_flow_output_delta_is_de_da_for_logit_pairs():
    # softmax + cross-entropy and sigmoid + BCE compute dz^L from the logits; ‖δ^L‖ is still ‖∂e/∂a^L‖
    from mlplab.losses import get_loss

    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    cases = [(mlplab.MLP([3, 4, 3], activation=["tanh", "softmax"], seed=0), rng.integers(0, 3, 5), "cross_entropy"),
             (mlplab.MLP([3, 4, 2], activation=["tanh", "sigmoid"], seed=0),
              rng.integers(0, 2, (5, 2)).astype(float), "binary_cross_entropy")]
    for net, y, loss in cases:
        flow = analysis.gradient_flow(net, X, y, loss)
        p = mlplab.Problem(net, X, y, loss)
        A_L = net.forward_cache(p.X)[1][-1]
        np.testing.assert_allclose(flow.layers[-1].delta_norm,
                                   np.linalg.norm(get_loss(loss).grad(p.Y, A_L), axis=1), rtol=1e-12)
        assert all(f.holds for f in flow.layers)
