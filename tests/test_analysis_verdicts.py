"""The verdicts of mlplab.analysis against independent oracles.

Where did it stop (∇E(w*) = 0 and the Hessian's extreme eigenvalues by Lanczos):
quadratics with a closed-form Hessian H = 2XᵀX, a constructed saddle, the
lecture's toy problem (no minimiser: its infimum lies at ‖w‖ → ∞).

Vanishing / exploding gradients (the lecture's bound, per sample): nets whose
chain ‖V^{ℓ+1}…V^L δ^L‖/‖δ^L‖ or gradient sizes are known to blow up or die out,
and the chain ratio against ``net.trace`` (the slides' explicit matrices).
"""

import numpy as np
import pytest

import mlplab
from mlplab import analysis
from mlplab.analysis import stationary
from mlplab.analysis.stationary_measure import underflowed_ray
from mlplab.optim import GD

# --- the package layout -------------------------------------------------------------------------


def test_every_public_name_is_reexported_and_modules_state_their_formula():
    import importlib

    for name in analysis.__all__:
        assert hasattr(analysis, name), name
    old = ["batched_loss", "Surface", "param_name", "param_surface", "random_direction", "pca_directions",
           "direction_surface", "direction_slice", "radial_minimum", "decision_grid", "RateFit", "fit_rate",
           "theory_rate", "LayerFlow", "GradientFlow", "gradient_flow", "Diagnosis", "diagnose_gradients",
           "hessian", "hvp_extremes", "StationaryPoint", "stationary_point", "TrajectoryRecorder", "SATURATION"]
    for name in old:
        assert getattr(analysis, name) is not None
    for mod, formula in [("surfaces", "E(w) = Σ_s"), ("rates", "C k^{−p}"), ("gradflow", "V^{ℓ+1} ⋯ V^L δ^L"),
                         ("stationary", "∇E(w*) = 0"), ("trajectory", "w^{k+1}")]:
        doc = importlib.import_module(f"mlplab.analysis.{mod}").__doc__
        assert formula in doc.split("\n\n")[0] + doc, (mod, formula)


# --- Hessian eigenvalues from Hessian-vector products ------------------------------------------


def linear_least_squares(n=6, S=20, seed=0, scale=1.0):
    """E(w) = Σ_s (y_s − wᵀx_s)² = ‖y − Xw‖²: ∇²E = 2XᵀX, the minimiser lstsq(X, y)."""
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((S, n)) * np.linspace(0.5, 3.0, n)
    y = rng.standard_normal(S)
    net = mlplab.MLP([n, 1], activation="identity", bias=False, seed=seed)
    return net, X, y, mlplab.Problem(net, X, y)


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_lanczos_extremes_match_the_closed_form_hessian_of_least_squares(n):
    net, X, y, problem = linear_least_squares(n=n, S=60, seed=n)
    eig, vecs = np.linalg.eigh(2 * X.T @ X)
    w = np.random.default_rng(1).standard_normal(n)  # any point: the Hessian of a quadratic is constant
    c = analysis.hessian_extremes(problem, w, tol=1e-8, maxiter=None)
    assert c.lam_min == pytest.approx(eig[0], rel=1e-6) and c.lam_max == pytest.approx(eig[-1], rel=1e-6)
    assert abs(c.v_min @ vecs[:, 0]) == pytest.approx(1.0, abs=1e-6)  # the eigenvector of λ_min
    assert c.products < 10 * n + 10
    lo, hi = analysis.hvp_extremes(problem, w)
    assert lo == pytest.approx(eig[0], rel=1e-6) and hi == pytest.approx(eig[-1], rel=1e-6)


def test_hessian_vector_product_is_the_closed_form_product():
    net, X, y, problem = linear_least_squares(n=5)
    hv = analysis.HessianVectorProduct(problem, np.ones(5))
    v = np.arange(5.0) - 2
    np.testing.assert_allclose(hv(v), 2 * X.T @ (X @ v), rtol=1e-7)
    assert hv.count == 1 and hv.eps == pytest.approx(np.finfo(float).eps ** (1 / 3))


def test_stationary_point_never_forms_the_hessian(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("stationary_point must not build the full Hessian")

    monkeypatch.setattr(stationary, "hessian", forbidden)
    monkeypatch.setattr(analysis, "hessian", forbidden)
    net, X, y, problem = linear_least_squares(n=30, S=80)
    sp = analysis.stationary_point(problem, np.linalg.lstsq(X, y, rcond=None)[0])
    assert sp.verdict == "local minimum" and sp.products < 2 * 30


# --- verdicts with known answers ---------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_least_squares_solution_is_a_local_minimum_at_every_scale(scale):
    net, X, y, problem = linear_least_squares(n=6, S=30, scale=scale)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    sp = analysis.stationary_point(problem, w_star)
    eig = np.linalg.eigvalsh(2 * X.T @ X)
    assert sp.verdict == "local minimum", sp.message
    assert sp.eig_min == pytest.approx(eig[0], rel=1e-2) and sp.eig_max == pytest.approx(eig[-1], rel=1e-2)
    assert "Local minimum" in sp.message and "λ_min" in sp.message and "Newton distance" in sp.message
    # the same point with the run's gradient scale ‖∇E(w^0)‖ at w^0 = 0
    g0 = np.linalg.norm(problem.value_and_grad(np.zeros(6))[1])
    assert analysis.stationary_point(problem, w_star, grad_scale=g0).verdict == "local minimum"
    # a point away from it is not stationary
    far = w_star + 0.3 * np.abs(w_star).max() * np.ones(6)
    assert analysis.stationary_point(problem, far, grad_scale=g0).verdict == "not stationary"


def test_a_zero_residual_minimum_approached_to_1e_9_is_a_local_minimum():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 4))
    w_true = rng.standard_normal(4)
    net = mlplab.MLP([4, 1], activation="identity", bias=False)
    problem = mlplab.Problem(net, X, X @ w_true)  # E* = 0 at w_true
    sp = analysis.stationary_point(problem, w_true + 1e-9 * rng.standard_normal(4))
    assert sp.verdict == "local minimum", sp.message


def test_a_duplicated_feature_gives_a_flat_valley():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((25, 2))
    X = np.column_stack([x, x[:, 0]])  # columns 1 and 3 equal: H = 2XᵀX is singular along (1, 0, −1)
    y = rng.standard_normal(25)
    net = mlplab.MLP([3, 1], activation="identity", bias=False)
    problem = mlplab.Problem(net, X, y)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    sp = analysis.stationary_point(problem, w)
    assert sp.verdict == "flat valley / degenerate", sp.message
    assert abs(sp.eig_min) < 1e-4 * sp.eig_max
    assert abs(sp.v_min @ np.array([1.0, 0.0, -1.0]) / np.sqrt(2)) == pytest.approx(1.0, abs=1e-3)


def test_the_origin_of_a_two_layer_identity_net_is_a_saddle():
    # E(w1, w2) = (1 − w2 w1)² on x = 1, y = 1: ∇E(0) = 0, ∇²E(0) = [[0, −2], [−2, 0]], eigenvalues ±2
    net = mlplab.MLP([1, 1, 1], activation="identity", bias=False, init="zeros")
    problem = mlplab.Problem(net, [[1.0]], [1.0])
    assert problem.value(np.zeros(2)) == 1.0
    sp = analysis.stationary_point(problem, np.zeros(2))
    assert sp.verdict == "saddle point", sp.message
    assert sp.eig_min == pytest.approx(-2.0, rel=1e-6) and sp.eig_max == pytest.approx(2.0, rel=1e-6)
    assert abs(sp.v_min @ np.array([1.0, 1.0]) / np.sqrt(2)) == pytest.approx(1.0, abs=1e-6)  # w1 = w2 goes down
    assert "E falls along" in sp.message


@pytest.mark.parametrize("sizes", [(10, 30, 3, 50), (100, 900, 10, 300)])
def test_a_minimum_of_a_deep_linear_net_is_degenerate(sizes):
    """E = ‖Y − X W¹ᵀ W²ᵀ‖² at W² W¹ = Bᵀ with B = lstsq(X, Y): a global minimum, but W¹ ↦ W¹ + N with
    W² N = 0 leaves E unchanged — ∇²E has a null space, λ_min = 0. The second size has 99,000 parameters."""
    n0, h, n2, S = sizes
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((S, n0)), rng.standard_normal((S, n2))
    net = mlplab.MLP([n0, h, n2], activation="identity", bias=False, init="zeros")
    B = np.linalg.lstsq(X, Y, rcond=None)[0]
    net.weights[0][:n2] = B.T
    net.weights[1][:, :n2] = np.eye(n2)
    problem = mlplab.Problem(net, X, Y)
    assert problem.value(net.params) == pytest.approx(np.sum((Y - X @ B) ** 2))
    sp = analysis.stationary_point(problem, net.params)
    assert sp.verdict == "flat valley / degenerate", sp.message
    assert abs(sp.eig_min) < 1e-6 * sp.eig_max and sp.rel_grad < 1e-10


def test_an_ambiguous_smallest_eigenvalue_is_refined(monkeypatch):
    net, X, y, problem = linear_least_squares(n=4)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    real = stationary.hessian_extremes
    calls = []

    def loose_then_real(problem, w, **kw):
        calls.append(kw.get("tol"))
        c = real(problem, w, **kw)
        if len(calls) == 1:  # pretend the first, loose run left λ_min's sign open
            c.lam_min, c.res_min = 0.0, 10 * c.lam_max
        return c

    monkeypatch.setattr(stationary, "hessian_extremes", loose_then_real)
    sp = analysis.stationary_point(problem, w)
    assert calls == [1e-2, 1e-5] and sp.verdict == "local minimum"


def toy_after_gd(tol=1e-3):
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.array([0.5, 0.5]))
    rec = analysis.TrajectoryRecorder(net)
    result = mlplab.train(net, X, y, optimizer=GD("exact"), tol=tol, eval_every=1, callback=rec)
    return net, mlplab.Problem(net, X, y), rec.finish(result), result


def test_the_toy_problem_has_no_minimum_along_its_ray():
    net, problem, traj, result = toy_after_gd(tol=1e-3)
    w = net.params
    g0 = np.linalg.norm(problem.value_and_grad(traj[0])[1])
    for scale in (None, g0):
        sp = analysis.stationary_point(problem, w, grad_scale=scale)
        assert sp.verdict != "local minimum"
        if scale is None:  # against the local scale ρ(∇²E)·max(1, ‖w‖) ‖∇E‖ is not small: that comes first
            assert sp.rel_grad > 1e-3 and sp.verdict == "not stationary", sp.message
        else:  # against ‖∇E(w^0)‖ it is
            assert sp.rel_grad <= 1e-3 and sp.verdict == "no minimum here: E decreases along the ray t·w", sp.message
        assert "ray t·w" in sp.message and "‖w‖ → ∞" in sp.message
        assert sp.eig_min > 0  # positive curvature, yet no minimum: the quadratic model misleads here
        t, Et = sp.ray
        assert np.all(np.diff(Et) < 0) and Et[0] < sp.loss  # the measured ray
    # the lecture's closed form on the ray: E(t·w) → 0 as t → ∞
    assert problem.value(50 * w) < 1e-100
    # no iterate of the run is a local minimum
    for wk in traj[::4]:
        assert analysis.stationary_point(problem, wk).verdict != "local minimum"


def test_the_toy_start_is_not_stationary():
    X, y = mlplab.datasets.lecture()
    problem = mlplab.Problem(mlplab.MLP([2, 1], bias=False), X, y)
    sp = analysis.stationary_point(problem, np.array([0.5, 0.5]))
    assert sp.verdict == "not stationary" and "Not stationary" in sp.message


def test_non_finite_loss_is_undetermined():
    net = mlplab.MLP([2, 1], activation="identity", bias=False)
    problem = mlplab.Problem(net, [[1e200, 1e200]], [0.0])
    sp = analysis.stationary_point(problem, np.array([1e200, 1e200]))
    assert sp.verdict == "undetermined" and "cannot be classified" in sp.message


def test_a_100k_parameter_saddle_is_found_by_lanczos():
    """MLP([100, 900, 10]) with identity layers at w = 0: E = Σ_s ‖y_s − W² W¹ x_s‖², ∇E(0) = 0 and
    ∇²E(0) couples W¹ and W² through C = Σ_s y_s x_sᵀ: its eigenvalues are ±2σ_i(C). (Time is not asserted.)"""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((300, 100)), rng.standard_normal((300, 10))
    net = mlplab.MLP([100, 900, 10], activation="identity", bias=False)
    assert net.n_params == 99_000
    problem = mlplab.Problem(net, X, Y)
    sigma = np.linalg.svd(Y.T @ X, compute_uv=False)[0]
    sp = analysis.stationary_point(problem, np.zeros(net.n_params))
    assert sp.verdict == "saddle point", sp.message
    assert sp.eig_max == pytest.approx(2 * sigma, rel=1e-2) and sp.eig_min == pytest.approx(-2 * sigma, rel=1e-2)
    assert sp.products < 200  # Lanczos, not d columns


# --- gradient flow -----------------------------------------------------------------------------


def inputs4(S=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((S, 4))
    return X, (X[:, 0] > 0).astype(float)


def exploding_cases():
    X, y = inputs4()
    cases = []
    for act in ("identity", "relu"):  # weights ×10: every layer multiplies δ by about 10·√8
        net = mlplab.MLP([4] + [8] * 9 + [1], activation=act, seed=0)
        net.params *= 10
        cases.append((f"{act} ×10", net, X, y))
    # tanh in its linear regime (tiny inputs, so φ′ ≈ 1 everywhere): the chain grows as for identity
    net = mlplab.MLP([4] + [8] * 9 + [1], activation="tanh", seed=0)
    net.params *= 10
    cases.append(("tanh ×10, linear regime", net, 1e-12 * X, y))
    net = mlplab.MLP([4] + [8] * 9 + [1], activation="tanh", bias=False, init="normal(1.0)", seed=0)
    cases.append(("tanh normal(1), linear regime", net, 1e-6 * X, y))
    return cases


@pytest.mark.parametrize("case", range(4))
def test_exploding_gradients_are_called_exploding_and_named(case):
    name, net, X, y = exploding_cases()[case]
    flow = analysis.gradient_flow(net, X, y)
    d = flow.diagnosis
    assert d.kind == "exploding", (name, d.message)
    assert d.layers and 1 in d.layers and d.layer == max(d.layers)
    assert f"from layer {d.layer} down" in d.message and "Exploding" in d.message
    # what it measured: the per-sample chain at layer 1 is above the threshold (computed here from δ)
    chain1 = np.nanmedian(flow.layers[0].delta_norm / flow.layers[-1].delta_norm)
    assert d.chain[0] == pytest.approx(chain1) and chain1 > 1e3
    # the summed-gradient form missed it: layer 1 and layer L are of the same size
    legacy = analysis.diagnose_gradients([f.batch_grad_norm for f in flow.layers])
    assert legacy.kind == "healthy" and legacy.basis == "summed gradient"


def test_huge_gradients_in_every_layer_are_exploding_even_with_one_layer():
    net = mlplab.MLP([2, 1], activation="identity", bias=False, init=np.array([1.0, 1.0]))
    X = 1e5 * np.random.default_rng(0).standard_normal((10, 2))
    d = analysis.gradient_flow(net, X, np.zeros(10)).diagnosis
    assert d.kind == "exploding" and d.layers == (1,) and d.grad_median[0] > 1e6


def test_overflowing_gradients_are_exploding():
    net = mlplab.MLP([2, 4, 1], activation="identity", bias=False, seed=0)
    net.params *= 1e120
    X, y = inputs4()
    d = analysis.gradient_flow(net, X[:, :2], y).diagnosis
    assert d.kind == "exploding" and "non-finite" in d.message


def test_saturated_tanh_x10_is_not_called_healthy():
    # tanh with weights ×10 on unit-scale inputs saturates (output φ′ ≈ 1e-7): gradients die, they do not explode
    X, y = inputs4()
    net = mlplab.MLP([4] + [8] * 9 + [1], activation="tanh", seed=0)
    net.params *= 10
    d = analysis.gradient_flow(net, X, y).diagnosis
    assert d.kind == "vanishing" and "Saturated units" in d.message


def moons_deep():
    X, y = mlplab.datasets.moons()
    return mlplab.MLP([2] + [16] * 8 + [1], activation="sigmoid", seed=0), X, y


def test_deep_sigmoid_net_on_moons_is_vanishing_and_names_the_layers():
    net, X, y = moons_deep()
    flow = analysis.gradient_flow(net, X, y)
    d = flow.diagnosis
    assert d.kind == "vanishing" and d.layers[0] == 1 and d.layer == max(d.layers) >= 3
    assert f"from layer {d.layer} down" in d.message and "Vanishing" in d.message
    g = np.array(d.grad_median)
    assert g[0] < 1e-3 * g[-1] and np.all(np.diff(np.log(g)) > 0)  # the per-sample medians fall layer by layer
    np.testing.assert_allclose(g, [np.median(f.grad_norm) for f in flow.layers])
    assert d.ratio == pytest.approx(g[0] / g[-1])


def test_deep_sigmoid_net_after_sgd_is_judged_at_w0_and_at_the_final_w():
    net, X, y = moons_deep()
    rec = analysis.TrajectoryRecorder(net)
    result = mlplab.train(net, X, y, loss="binary_cross_entropy", epochs=20, eval_every=200, callback=rec, seed=0,
                          optimizer=mlplab.optim.SGD(schedule=mlplab.optim.inverse(1.0)))
    flow = analysis.gradient_flow(net, X, y, "binary_cross_entropy", trajectory=rec.finish(result))
    d = flow.diagnosis
    assert d.kind == "vanishing" and d.point == "the final w" and "at w^0: vanishing" in d.message
    assert [p.label for p in flow.points] == ["w^0", "the final w"]
    assert flow.layers is flow.points[-1].layers
    np.testing.assert_array_equal(flow.points[0].layers[0].grad_norm,
                                  analysis.gradient_flow(moons_deep()[0], X, y, "binary_cross_entropy").layers[0].grad_norm)


def test_a_healthy_shallow_net_is_healthy():
    X, y = mlplab.datasets.moons()
    net = mlplab.MLP([2, 8, 1], activation="tanh", init="glorot", seed=0)
    d = analysis.gradient_flow(net, X, y).diagnosis
    assert d.kind == "healthy" and d.layers == () and d.layer is None and "No vanishing" in d.message


def test_the_verdict_names_the_point_of_the_trajectory_that_shows_the_problem():
    # exploding at w^0 (weights ×10), healthy at the end: the verdict is about w^0 and its factors are shown
    X, y = inputs4()
    net = mlplab.MLP([4] + [8] * 9 + [1], activation="identity", seed=0)
    w_end = net.params.copy()
    w_start = 10 * w_end
    flow = analysis.gradient_flow(net, X, y, trajectory=np.stack([w_start, 0.5 * (w_start + w_end), w_end]))
    assert [p.label for p in flow.points] == ["w^0", "the final w"]
    assert flow.points[-1].diagnosis.kind == "healthy"
    d = flow.diagnosis
    assert d.kind == "exploding" and d.point == "w^0" and "at the final w: healthy" in d.message
    assert flow.layers is flow.points[0].layers
    # with per-record summed norms as history: growth during the run counts as exploding
    H = np.array([[1.0] * 10, [1e5] + [1.0] * 9])
    healthy = analysis.gradient_flow(net, X, y)
    assert healthy.diagnosis.kind == "healthy"
    grown = analysis.gradient_flow(net, X, y, history=H).diagnosis
    assert grown.kind == "exploding" and grown.layers == (1,)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_per_sample_chain_ratio_is_the_slides_delta_ratio(act):
    rng = np.random.default_rng(5)
    net = mlplab.MLP([3, 5, 4, 4, 2], activation=act, output_activation="identity", seed=2)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    flow = analysis.gradient_flow(net, X, Y)
    for s in range(4):
        tr = net.trace(X[s], Y[s])  # δ^ℓ with the slides' explicit V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ))
        dL = np.linalg.norm(tr.layers[-1].delta)
        for f, lt in zip(flow.layers, tr.layers):
            # ‖V^{ℓ+1}…V^L δ^L‖ / ‖δ^L‖ from the explicit product of the V matrices
            prod = tr.layers[-1].delta
            for later in reversed(tr.layers[f.layer:]):
                prod = later.V @ prod
            assert f.chain[s] == pytest.approx(np.linalg.norm(prod) / dL, rel=1e-10)
            assert f.chain[s] == pytest.approx(np.linalg.norm(lt.delta) / dL, rel=1e-10)


def test_gradient_flow_table_shows_the_medians_the_verdict_uses():
    net, X, y = moons_deep()
    flow = analysis.gradient_flow(net, X, y)
    rows = flow.table()
    assert [r["median ||grad_W e||"] for r in rows] == pytest.approx(list(flow.diagnosis.grad_median))
    assert [r["median chain ||delta^l||/||delta^L||"] for r in rows] == pytest.approx(list(flow.diagnosis.chain))


def test_samples_without_error_signal_do_not_count():
    # the perceptron loss sends no gradient from correctly classified samples (δ^L = 0): the medians are
    # taken over the samples that still have an error signal, and a perfect fit has no flow to judge
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 2))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, 1.0, -1.0)
    net = mlplab.MLP([2, 6, 1], activation="tanh", output_activation="identity", seed=0)
    mlplab.train(net, X, y, loss="perceptron", optimizer=GD(0.05), max_iter=3)
    flow = analysis.gradient_flow(net, X, y, "perceptron")
    out = flow.layers[-1]
    assert 0 < out.n_used < 50 and out.n_used == np.sum(out.delta_norm > 0)
    assert flow.diagnosis.grad_median[-1] == pytest.approx(np.median(out.grad_norm[out.delta_norm > 0]))
    assert flow.diagnosis.kind == "healthy" and f"median over the {out.n_used} samples" in flow.diagnosis.message
    mlplab.train(net, X, y, loss="perceptron", optimizer=GD(0.05), max_iter=200)
    d = analysis.gradient_flow(net, X, y, "perceptron").diagnosis
    assert d.kind == "healthy" and "No error signal" in d.message


@pytest.mark.parametrize("bias", [True, False])
def test_per_sample_gradient_norms_match_the_per_sample_gradients(bias):
    rng = np.random.default_rng(2)
    net = mlplab.MLP([3, 5, 2], activation="tanh", output_activation="identity", bias=bias, seed=1)
    X, Y = rng.standard_normal((9, 3)), rng.standard_normal((9, 2))
    problem = mlplab.Problem(net, X, Y)
    G = np.array([net.trace(X[s], Y[s]).grad for s in range(9)])  # ∇e^s from the slides' explicit matrices
    np.testing.assert_allclose(analysis.per_sample_grad_norms(problem, net.params, chunk=4),
                               np.linalg.norm(G, axis=1), rtol=1e-10)
    c = rng.random(9)
    weighted = mlplab.Problem(net, X, Y, reduction="mean", sample_weight=c)
    np.testing.assert_allclose(analysis.per_sample_grad_norms(weighted, net.params),
                               c * np.linalg.norm(G, axis=1) / 9, rtol=1e-10)


def test_far_from_stationary_a_dip_along_the_ray_does_not_lead_the_verdict():
    # one GD step on moons: ‖∇E‖ is 0.45 of ‖∇E(w^0)‖ and E dips along t·w before rising again;
    # the verdict is "not stationary" (the dip is mentioned), not "no minimum here: … the ray"
    import mlplab
    from mlplab.analysis import stationary_point
    from mlplab.objective import Problem

    X, y = mlplab.datasets.moons()
    net = mlplab.MLP([2, 8, 1], activation="tanh", output_activation="sigmoid", seed=0)
    P = Problem(net, X, y, "binary_cross_entropy")
    g0 = float(np.linalg.norm(P.value_and_grad(net.params)[1]))
    mlplab.train(net, X, y, "binary_cross_entropy", mlplab.optim.GD("exact"), max_iter=1, tol=None)
    sp = stationary_point(P, net.params, grad_scale=g0)
    assert sp.verdict == "not stationary", sp.message
    assert sp.rel_grad > 0.01 and "dips along the ray" in sp.message  # the old order said "no minimum here"


# --- the lecture's edges (issue 28, item 6) -----------------------------------------------------


def toy_problem():
    X, y = mlplab.datasets.lecture()
    return mlplab.Problem(mlplab.MLP([2, 1], activation="sigmoid", bias=False), X, y)


@pytest.mark.parametrize("scale", [None, "w0"])
def test_a_point_with_a_large_gradient_is_not_stationary_before_anything_about_the_ray(scale):
    # w = (−1, 0): ‖∇E‖ = 0.13, about 0.1 of either gradient scale, and E falls along t·w all the way out
    problem = toy_problem()
    w = np.array([-1.0, 0.0])
    g0 = np.linalg.norm(problem.value_and_grad(np.array([0.5, 0.5]))[1]) if scale else None
    sp = analysis.stationary_point(problem, w, grad_scale=g0)
    assert sp.verdict == "not stationary", sp.message
    assert sp.message.startswith("Not stationary")
    assert 0.05 < sp.rel_grad < 0.2 and sp.grad_norm == pytest.approx(0.1300338, rel=1e-5)
    t, Et = sp.ray
    assert np.all(np.diff(Et) < 0) and Et[0] < sp.loss  # E does fall along the ray: said after, not instead
    assert "falls along the ray t·w at every t tested" in sp.message and "‖w‖ → ∞" in sp.message
    # the same point with the tolerance above its relative gradient: now the ray leads
    sp2 = analysis.stationary_point(problem, w, grad_scale=g0, grad_tol=0.5)
    assert sp2.verdict == "no minimum here: E decreases along the ray t·w", sp2.message


def test_grad_tol_is_inclusive_at_the_boundary():
    # ‖∇E‖ / scale = grad_tol exactly is small (≤), a hair above it is not (grad_tol a power of 2: exact ratios)
    net, X, y, problem = linear_least_squares(n=3, S=12)
    w = np.linalg.lstsq(X, y, rcond=None)[0] + 1e-7
    gn = float(np.linalg.norm(problem.value_and_grad(w)[1]))
    at = analysis.stationary_point(problem, w, grad_scale=gn / 0.25, grad_tol=0.25)
    assert at.rel_grad == 0.25 and at.verdict == "local minimum", at.message
    above = analysis.stationary_point(problem, w, grad_scale=gn / 0.25, grad_tol=0.25 * (1 - 1e-12))
    assert above.verdict == "not stationary", above.message


def test_on_the_toy_ray_only_the_gradient_across_the_ray_can_hand_the_verdict_to_the_ray():
    # at w = (−1, 0) ∇E has a part along w (out towards ‖w‖ → ∞) and a part across it (0.46 of ‖∇E‖):
    # with a scale that makes the part across exactly grad_tol the ray leads, a hair above it "not stationary"
    problem = toy_problem()
    w = np.array([-1.0, 0.0])
    g = problem.value_and_grad(w)[1]
    across = abs(float(g[1]))  # w ∝ e_1: the part across the ray is g_2
    assert across / np.linalg.norm(g) == pytest.approx(0.4591, abs=1e-3) and g[0] > 0  # −∇E points outwards
    sp = analysis.stationary_point(problem, w, grad_scale=across / 0.25, grad_tol=0.25)
    assert sp.rel_grad > 0.5 and sp.verdict == "no minimum here: E decreases along the ray t·w", sp.message
    assert "across the ray only 0.25 ×" in sp.message
    sp = analysis.stationary_point(problem, w, grad_scale=across / 0.25, grad_tol=0.25 * (1 - 1e-12))
    assert sp.verdict == "not stationary", sp.message
    # and pointing inwards (−w, where E rises along the ray) the ray never leads
    assert analysis.stationary_point(problem, -w, grad_tol=0.9).verdict != "no minimum here: E decreases along the ray t·w"


def test_gd_from_zero_lands_where_E_underflows_and_the_verdict_names_the_infimum_at_infinity():
    X, y = mlplab.datasets.lecture()
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=np.zeros(2))
    problem = mlplab.Problem(net, X, y)
    result = mlplab.train(net, X, y, optimizer=GD("exact"), max_iter=1, tol=None)
    assert result.history.capped[0]  # the first exact step runs into its cap
    w = result.params
    E, g = problem.value_and_grad(w)
    assert E == 0.0 and not np.any(g)  # underflowed: σ(z) is never exactly y
    g0 = np.linalg.norm(problem.value_and_grad(np.zeros(2))[1])
    for scale in (None, g0):
        sp = analysis.stationary_point(problem, w, grad_scale=scale)
        assert sp.verdict == "no minimum here: E decreases along the ray t·w", sp.message
        assert "underflowed" in sp.message and "‖w‖ → ∞" in sp.message and "infimum" in sp.message
        assert "reached only in the limit" in sp.message
    # E is positive closer in, and falls as t grows: the shrunk ray the message quotes
    ts, Es = underflowed_ray(problem, w, np.zeros(3))
    assert np.all(np.diff(Es) >= 0) and Es[-1] > 0.1 and Es[0] == 0.0
    assert problem.value(0.01 * w) == pytest.approx(3.72e-44, rel=1e-2)


def test_an_exact_zero_residual_at_a_finite_w_is_still_a_minimum():
    # E(w*) = 0 exactly at a finite w (an exact linear fit): E rises along the ray on both sides, no underflow
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    w_true = np.array([2.0, -1.0])
    net = mlplab.MLP([2, 1], activation="identity", bias=False)
    problem = mlplab.Problem(net, X, X @ w_true)
    E, g = problem.value_and_grad(w_true)
    assert E == 0.0 and not np.any(g)
    assert underflowed_ray(problem, w_true, [problem.value(t * w_true) for t in stationary.RAY_T]) is None
    sp = analysis.stationary_point(problem, w_true)
    assert sp.verdict == "local minimum", sp.message


def test_a_perceptron_fit_with_E_exactly_zero_everywhere_on_the_ray_is_not_called_an_underflow():
    # the perceptron loss is 0 at every t·w (t > 0) once w separates: no positive E closer in
    X, y = mlplab.datasets.lecture()
    problem = mlplab.Problem(mlplab.MLP([2, 1], activation="identity", bias=False), X, 2 * y - 1, "perceptron")
    w = np.array([-1.0, 0.0])
    assert problem.value(w) == 0.0 and problem.value(1e-12 * w) == 0.0
    assert underflowed_ray(problem, w, np.zeros(3)) is None
    assert analysis.stationary_point(problem, w).verdict == "flat valley / degenerate"
