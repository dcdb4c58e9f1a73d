"""Numerics of the lecture's pair, sigmoid output + squared error, against an mpmath oracle.

ŷ = σ(z) rounds toward 1 from z ≈ 20 on, so anything computed as 1 − σ(z) (the residual
y − ŷ for the label 1, σ′ = a(1 − a)) loses its precision there and is exactly 0 from
z ≈ 37. E and ∇E must stay accurate to relative 1e-12 for |z| ≤ 700 in float64.

The oracle is independent of the code's cancellation-free forms: it evaluates the naive
formulas (r = y − σ(z), σ′ = σ(1 − σ), δ^{ℓ−1} = (W^ℓ)ᵀ (σ′ ⊙ δ^ℓ)) in mpmath, at the float
weights converted exactly, with DPS = 400 digits: 1 − σ(700) ≈ 1e-304 cancels ~304 of them
and leaves more than 50 significant digits for everything after.

Test points are chosen where every true gradient component is a normal float64 (> 1e-300)
and its sum over the samples is well-conditioned: cond = Σ_s |term| / |Σ_s term| with
cond·(1 + max |z|)·ε ≤ 5e-13 (asserted), so that 1e-12 measures the forms, not the rounding
of z = W a that any float forward pass makes (relative |z|·ε per exponential, ≈ 1.6e-13 at
|z| = 700; a cancelling sum with cond ≈ 20 at |z| ≈ 690 is off by 1.4e-12 for that reason).
"""

import mpmath as mpm
import numpy as np
import pytest

import mlplab
from mlplab.activations import get_activation
from mlplab.losses import get_loss, output_error
from mlplab.objective import Problem

DPS = 400
RTOL = 1e-12
TINY = 1e-300  # below this a true value may round to a subnormal or 0: no relative check

X_LECTURE, Y_LECTURE = mlplab.datasets.lecture()


# --- the oracle -------------------------------------------------------------------


def _sig(z):
    return 1 / (1 + mpm.exp(-z))


def oracle(weights, X, Y):
    """E = Σ_s Σ_i (y_i − σ(z_i^L))², ∇E (flat, params layout, no biases) and, per gradient
    component, cond = Σ_s |∂e^s/∂w| / |∂E/∂w|, by the naive chain rule at DPS digits."""
    with mpm.workdps(DPS):
        Ws = [[[mpm.mpf(float(v)) for v in row] for row in W] for W in weights]
        E = mpm.mpf(0)
        grads = [[[mpm.mpf(0)] * len(W[0]) for _ in W] for W in Ws]
        sizes = [[[mpm.mpf(0)] * len(W[0]) for _ in W] for W in Ws]
        zmax = 0.0
        for x, y in zip(np.asarray(X, dtype=float), np.asarray(Y, dtype=float).reshape(len(X), -1)):
            a = [mpm.mpf(float(v)) for v in x]
            As = [a]
            for W in Ws:  # z^ℓ = W^ℓ a^{ℓ−1}, a^ℓ = σ(z^ℓ)
                z = [mpm.fsum(w * aj for w, aj in zip(row, a)) for row in W]
                zmax = max(zmax, max(abs(float(v)) for v in z))
                a = [_sig(v) for v in z]
                As.append(a)
            yv = [mpm.mpf(float(v)) for v in y]
            E += mpm.fsum((yi - ai) ** 2 for yi, ai in zip(yv, a))
            delta = [2 * (ai - yi) for yi, ai in zip(yv, a)]  # δ^L = ∂e/∂ŷ
            for ell in range(len(Ws) - 1, -1, -1):
                dz = [d * s * (1 - s) for d, s in zip(delta, As[ell + 1])]  # σ′ ⊙ δ
                for i, row in enumerate(Ws[ell]):
                    for j in range(len(row)):
                        term = dz[i] * As[ell][j]
                        grads[ell][i][j] += term
                        sizes[ell][i][j] += abs(term)
                delta = [mpm.fsum(Ws[ell][i][j] * dz[i] for i in range(len(dz))) for j in range(len(Ws[ell][0]))]
        g = [v for W in grads for row in W for v in row]
        size = [v for W in sizes for row in W for v in row]
        cond = max(float(s / abs(v)) if v != 0 else np.inf for v, s in zip(g, size))
        return E, g, cond, zmax


def rel_err(value, exact) -> float:
    with mpm.workdps(DPS):
        return float(abs(mpm.mpf(float(value)) - exact) / abs(exact))


def assert_matches(E, g, E_ref, g_ref, rtol=RTOL):
    assert abs(float(E_ref)) > TINY, "test point: E below the normal range"
    assert E > 0
    assert rel_err(E, E_ref) <= rtol, (float(E), float(E_ref))
    assert len(g) == len(g_ref)
    for k, (v, ref) in enumerate(zip(g, g_ref)):
        assert abs(float(ref)) > TINY, f"test point: ∂E/∂w_{k} below the normal range"
        assert rel_err(v, ref) <= rtol, (k, float(v), float(ref))


def check_net(net, X, Y, **kw):
    """E, ∇E through all three entry points (loss_and_grad, Problem.value_and_grad, .value)."""
    E_ref, g_ref, cond, zmax = oracle(net.weights, X, Y)
    # rounding z = W a perturbs each term by ~(1 + |z|) ε, the sum by cond times that
    assert cond * (1 + zmax) * np.finfo(float).eps <= RTOL / 2, f"ill-conditioned test point (cond {cond:.1f})"
    # no overflow, no invalid operation; products below the normal range may underflow in
    # the backward pass (σ′(z¹) ≈ 1e-297 times a tiny δ¹), which rounds them, as it should
    with np.errstate(all="raise", under="ignore"):
        E1, g1 = net.loss_and_grad(X, Y, loss="squared")
        problem = Problem(net, X, Y, "squared")
        E2, g2 = problem.value_and_grad(net.params)
        E3 = problem.value(net.params)
    for E, g in ((E1, g1), (E2, g2), (E3, g1)):
        assert isinstance(E, float) and g.dtype == np.float64
        assert_matches(E, g, E_ref, g_ref, **kw)
    return zmax


# --- the toy net ŷ = σ(w1 x1 + w2 x2) on the lecture's data ---------------------------

# w = t·(−1, 0.2) classifies all four points right: z = (2.4t, 1.6t, −3.2t, −3t), E ≈ e^{−3.2t}.
# w = t·(−1, −0.5) gets (2, −5) wrong: z = (4.5t, 3t, −6t, 0.5t), E ≈ 1; with the targets
# flipped, three residuals are ≈ 1 and ∇E ≈ e^{−|z|} comes from σ′ alone.
TOY_CASES = (
    [((-1.0, 0.2), t, False) for t in (0.5, 1, 5, 12, 20, 36, 60, 100, 150, 215)]
    + [((-1.0, -0.5), t, False) for t in (1, 5, 20, 40, 80, 116)]
    + [((-1.0, -0.5), t, True) for t in (1, 5, 20, 40, 80, 116)]
)


@pytest.mark.parametrize("direction, t, flipped", TOY_CASES)
def test_toy_net_value_and_gradient_match_mpmath(direction, t, flipped):
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=[t * np.array([direction])])
    Y = 1 - Y_LECTURE if flipped else Y_LECTURE
    zmax = check_net(net, X_LECTURE, Y)
    assert zmax == pytest.approx((3.2 if direction[1] > 0 else 6.0) * t)


def test_toy_net_covers_z_up_to_700():
    assert max(t * (3.2 if d[1] > 0 else 6.0) for d, t, _ in TOY_CASES) >= 680


def test_toy_net_error_is_positive_wherever_the_true_one_is_normal():
    # the old 1 − σ(z) residual made E exactly 0 from t ≈ 23 (z ≥ 37 on every point)
    for t in np.arange(10.0, 216.0, 5.0):
        net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=[np.array([[-t, 0.2 * t]])])
        E_ref, _, _, _ = oracle(net.weights, X_LECTURE, Y_LECTURE)
        assert float(E_ref) > TINY
        E = Problem(net, X_LECTURE, Y_LECTURE, "squared").value(net.params)
        assert E > 0 and rel_err(E, E_ref) <= RTOL, (t, E, float(E_ref))


# --- a 2-3-1 sigmoid net: hidden units in saturation too ------------------------------

# hidden rows: a^1 ≈ (1, 1, 0, 0), (1, 1, 0, 1), (0, 0, 1, 0) on the four points for large t;
# output W² = u·(2, −1, −1) gives z² ≈ (u, u, −u, −u): every point right, |z¹| up to 3.6t
W1_DIR = np.array([[-1.0, 0.2], [0.1, -0.4], [0.3, 0.6]])
W2_DIR = np.array([[2.0, -1.0, -1.0]])
NET231_CASES = (
    [(t, u, False) for t, u in ((0.3, 2), (1, 1), (5, 10), (20, 40), (50, 100), (100, 150), (190, 100),
                                (190, 150))]
    + [(t, u, True) for t, u in ((1, 1), (5, 10), (20, 40), (50, 100), (100, 300), (190, 330), (50, 600))]
)


def _net231(t, u, dtype="float64"):
    return mlplab.MLP([2, 3, 1], activation="sigmoid", bias=False, init=[t * W1_DIR, u * W2_DIR], dtype=dtype)


@pytest.mark.parametrize("t, u, flipped", NET231_CASES)
def test_2_3_1_net_value_and_gradient_match_mpmath(t, u, flipped):
    net = _net231(t, u)
    Y = 1 - Y_LECTURE if flipped else Y_LECTURE
    check_net(net, X_LECTURE, Y)


def test_2_3_1_cases_cover_z_up_to_700():
    # hidden |z¹| ≤ 3.6 t, output |z²| ≈ u
    assert max(3.6 * t for t, _, _ in NET231_CASES) >= 680
    assert max(u for _, u, _ in NET231_CASES) >= 600


@pytest.mark.parametrize("t, u, flipped", [(190, 150, False), (100, 300, True), (5, 10, False)])
def test_blocks_take_the_same_accurate_forms(t, u, flipped):
    # 300 copies of the data: (1200, 3) hidden and (1200, 1) output blocks, ≥ 1024 entries,
    # so σ and σ′ run their NumPy-exp block forms instead of expit
    net = _net231(t, u)
    Y = 1 - Y_LECTURE if flipped else Y_LECTURE
    E_ref, g_ref, _, _ = oracle(net.weights, X_LECTURE, Y)
    reps = 300
    with np.errstate(all="raise", under="ignore"):
        E, g = Problem(net, np.tile(X_LECTURE, (reps, 1)), np.tile(Y, reps), "squared").value_and_grad(net.params)
    with mpm.workdps(DPS):
        assert_matches(E, g, E_ref * reps, [v * reps for v in g_ref])


def test_trace_uses_the_accurate_output_form():
    net = _net231(50, 100)
    for s in range(4):
        t = net.trace(X_LECTURE[s], Y_LECTURE[s])
        E_ref, g_ref, _, _ = oracle(net.weights, X_LECTURE[s:s + 1], Y_LECTURE[s:s + 1])
        assert_matches(t.e, t.grad, E_ref, g_ref)
        assert t.e < 1e-80  # e^s ≈ e^{−2·100}: right and confident, not rounded to 0


# --- the forms themselves, z by z ----------------------------------------------------

Z_GRID = np.concatenate([-np.geomspace(700, 1e-3, 400), [0.0], np.geomspace(1e-3, 700, 400)])


def _oracle_unit(y, z):
    """e = (y − σ(z))², ∂e/∂z = 2(σ(z) − y) σ(z)(1 − σ(z)), σ′(z) for one output unit."""
    with mpm.workdps(DPS):
        zz, yy = mpm.mpf(float(z)), mpm.mpf(float(y))
        s = _sig(zz)
        return (yy - s) ** 2, 2 * (s - yy) * s * (1 - s), s * (1 - s)


def _check_against_unit_oracle(y, z, e, dz, dphi=None):
    for k, (yk, zk) in enumerate(zip(y, z)):
        e_ref, dz_ref, dphi_ref = _oracle_unit(yk, zk)
        for name, v, ref in (("e", e[k], e_ref), ("dz", dz[k], dz_ref)) + (
                (("dphi", dphi[k], dphi_ref),) if dphi is not None else ()):
            if abs(float(ref)) > TINY:
                assert rel_err(v, ref) <= RTOL, (name, yk, zk, float(v), float(ref))
            else:  # the true value is below the normal range: at most rounding to it
                assert abs(float(v)) <= 1e-299, (name, yk, zk, float(v), float(ref))


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_output_error_of_sigmoid_squared_matches_mpmath(label):
    act, loss = get_activation("sigmoid"), get_loss("squared")
    z = Z_GRID.reshape(-1, 1)
    y = np.full_like(z, label)
    with np.errstate(all="raise"):
        e, dz = output_error(loss, act, y, z, act.phi(z))
    assert e.shape == (len(z),) and dz.shape == z.shape
    _check_against_unit_oracle(y.ravel(), z.ravel(), e, dz.ravel())
    # e.g. the label 1 at z = 36: e = σ(−36)² ≈ 5.3e-32, not the old 0 or 8 % off
    e36, _ = output_error(loss, act, np.ones((1, 1)), np.full((1, 1), 36.0), act.phi(np.full((1, 1), 36.0)))
    assert rel_err(e36[0], _oracle_unit(1.0, 36.0)[0]) <= 1e-15


def test_residual_form_for_real_targets():
    # targets in (0, 1) and outside: y ≥ ½ goes through (y − 1) + σ(−z), the rest through y − σ(z)
    act, loss = get_activation("sigmoid"), get_loss("squared")
    y = np.array([[0.5], [0.7], [0.3], [-2.0], [3.0], [0.999]])
    z = np.array([[30.0], [-40.0], [45.0], [3.0], [-700.0], [6.9]])
    e, dz = output_error(loss, act, y, z, act.phi(z))
    _check_against_unit_oracle(y.ravel(), z.ravel(), e, dz.ravel())


def test_scalar_forms_match_mpmath():
    from mlplab.fast import scalar

    value, grad_z = scalar.LOGIT_FORMS[("squared", "sigmoid")]
    phi, dphi = scalar.ACTIVATIONS["sigmoid"]
    for label in (0.0, 1.0):
        z = [float(v) for v in Z_GRID]
        a = [phi(v) for v in z]
        e = [value(label, v) for v in z]
        dz = [grad_z(label, v, av) for v, av in zip(z, a)]
        _check_against_unit_oracle([label] * len(z), z, e, dz, [dphi(v, av) for v, av in zip(z, a)])


@pytest.mark.parametrize("block", [False, True])
def test_sigmoid_derivative_is_accurate_for_hidden_layers(block):
    act = get_activation("sigmoid")
    z = Z_GRID
    if block:  # ≥ 1024 entries: the NumPy-exp block form
        z = np.concatenate([z] * 2)
    with np.errstate(all="raise"):
        d = act.dphi(z.reshape(1, -1), act.phi(z.reshape(1, -1))).ravel()
    with mpm.workdps(DPS):
        ref = [_sig(mpm.mpf(float(v))) * _sig(-mpm.mpf(float(v))) for v in z]
    worst = max(rel_err(v, r) for v, r in zip(d, ref))
    assert worst <= 1e-15  # a few ulps (measured 4.4e-16); the old a(1 − a) was off by 100 % at z = 40
    assert d[np.argmax(z)] == pytest.approx(float(ref[int(np.argmax(z))]), rel=1e-15)  # σ′(700) ≈ 9.9e-305
    # far beyond: σ′ underflows to 0 (true value below the smallest float), no warning
    with np.errstate(all="raise"):
        far = np.array([[-1e4, -800.0, 800.0, 1e4]] * (300 if block else 1))
        np.testing.assert_array_equal(act.dphi(far, act.phi(far)), 0.0)


# --- float32 -------------------------------------------------------------------------


@pytest.mark.parametrize("t", [1, 5, 12, 20, 25])
def test_float32_stays_float32_and_accurate(t):
    # z up to 3.2t = 80; the true E ≈ e^{−3.2t} ≥ 1e-35 stays a normal float32. The forward pass
    # rounds z = w·x to float32 (relative 6e-8), which moves e^{−2z} by up to ~2|z|·6e-8 ≈ 1e-5
    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=[np.array([[-t, 0.2 * t]])], dtype="float32")
    E_ref, g_ref, _, _ = oracle(net.weights, X_LECTURE, Y_LECTURE)
    with np.errstate(all="raise"):
        E, g = net.loss_and_grad(X_LECTURE, Y_LECTURE, loss="squared")
    assert isinstance(E, float) and g.dtype == np.float32 and net.params.dtype == np.float32
    assert_matches(E, g, E_ref, g_ref, rtol=2e-5)


def test_float32_forms_keep_the_dtype():
    act, loss = get_activation("sigmoid"), get_loss("squared")
    for n in (3, 2000):  # one sample's size and a block
        z = np.linspace(-80, 80, n, dtype=np.float32).reshape(-1, 1)
        y = (np.arange(n) % 2).astype(np.float32).reshape(-1, 1)
        with np.errstate(all="raise"):
            a = act.phi(z)
            e, dz = output_error(loss, act, y, z, a)
            d = act.dphi(z, a)
        assert a.dtype == e.dtype == dz.dtype == d.dtype == np.float32
        # σ′(80) = e^{−80}(1 + O(e^{−80})) ≈ 1.80e-35, a normal float32, not the old 0
        assert d[-1, 0] == pytest.approx(np.exp(-80.0), rel=1e-5)
        # label 1 at z = 80: e = σ(−80)² ≈ 3.2e-70 underflows in float32; label 0 at z = −80 too
        assert e[-1] == pytest.approx(np.exp(-160.0) if y[-1, 0] == 1 else 1.0, abs=1e-37, rel=1e-5)


def test_sigmoid_derivative_on_blocks_with_and_without_saturated_units():
    # blocks of ≥ 1024 entries: a(1 − a) where every a ≤ 1 − 2^−12, σ(z)σ(−z) otherwise;
    # both within 1e-12 of the product of SciPy's expit(z)·expit(−z) (each accurate to ulps)
    from scipy.special import expit

    from mlplab.activations import get_activation

    sig = get_activation("sigmoid")
    for z in (np.linspace(-8.0, 8.0, 2048).reshape(32, 64), np.linspace(-700.0, 700.0, 2048).reshape(32, 64)):
        a = sig.phi(z)
        exact = expit(z) * expit(-z)
        np.testing.assert_allclose(sig.dphi(z, a), exact, rtol=1e-12, atol=0)
