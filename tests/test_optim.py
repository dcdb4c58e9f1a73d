"""Optimizers, schedules and line searches against hand-computed oracles.

Every expected value below is written out from the formula in the comment next
to it (the lecture's / the docstrings'), never obtained by calling the code
under test a second time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplab.optim import (
    GD,
    SGD,
    Adam,
    Armijo,
    ExactLineSearch,
    MiniBatchSGD,
    Momentum,
    OptState,
)
from mlplab.optim import schedules as sch
from mlplab.optim.schedules import (
    Constant,
    Custom,
    Exponential,
    Inverse,
    Power,
    StepDecay,
    as_schedule,
)

# ---------------------------------------------------------------------------
# schedules k -> γ_k
# ---------------------------------------------------------------------------

KS = [0, 1, 2, 3, 7, 100]


def test_constant_schedule_values():
    s = Constant(0.3)
    for k in KS:
        assert s(k) == 0.3  # γ_k = c


def test_inverse_schedule_values():
    s = Inverse(2.0)
    for k in KS:
        assert s(k) == pytest.approx(2.0 / (k + 1), rel=1e-15)  # γ_k = c/(k+1)
    assert Inverse()(0) == 1.0 and Inverse()(3) == 0.25  # the lecture's γ_k = 1/(k+1)


def test_power_schedule_values():
    s = Power(c=0.5, p=0.75)
    for k in KS:
        assert s(k) == pytest.approx(0.5 / (k + 1) ** 0.75, rel=1e-15)  # γ_k = c/(k+1)^p
    assert s(15) == pytest.approx(0.5 / 8.0, rel=1e-15)  # 16^0.75 = 8


def test_step_decay_values():
    s = StepDecay(c=0.1, factor=0.5, every=3)
    # γ_k = c · factor^⌊k/every⌋
    expected = {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.05, 5: 0.05, 6: 0.025, 9: 0.0125}
    for k, v in expected.items():
        assert s(k) == pytest.approx(v, rel=1e-15)


def test_exponential_values():
    s = Exponential(c=0.1, rate=0.5)
    for k in KS:
        assert s(k) == pytest.approx(0.1 * math.exp(-0.5 * k), rel=1e-15)  # γ_k = c e^{−rate k}
    assert s(2) == pytest.approx(0.1 / math.e, rel=1e-15)


def test_lowercase_aliases():
    assert sch.constant is Constant and sch.inverse is Inverse and sch.power is Power
    assert sch.step is StepDecay and sch.exponential is Exponential


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (Inverse(1.0), True),                       # Σ1/k = ∞, Σ1/k² < ∞
        (Power(1.0, p=1.0), True),
        (Power(1.0, p=0.75), True),
        (Power(1.0, p=0.51), True),
        (Constant(0.1), False),                     # Σγ² = ∞
        (Power(1.0, p=0.5), False),                 # γ_k² = 1/(k+1): Σγ² = ∞
        (Power(1.0, p=0.25), False),
        (Power(1.0, p=0.0), False),                 # constant
        (Power(1.0, p=1.5), False),                 # Σγ < ∞
        (Power(1.0, p=2.0), False),
        (StepDecay(0.1, factor=0.5, every=10), False),  # geometric: Σγ < ∞
        (StepDecay(0.1, factor=1.0, every=10), False),  # constant
        (Exponential(0.1, rate=1e-3), False),       # geometric: Σγ < ∞
        (Exponential(0.1, rate=0.0), False),        # constant
    ],
    ids=repr,
)
def test_robbins_monro(schedule, expected):
    assert schedule.robbins_monro is expected


def test_robbins_monro_unknown_for_custom_callable():
    s = as_schedule(lambda k: 1.0 / (k + 1))
    assert isinstance(s, Custom)
    assert s.robbins_monro is None
    assert s(3) == 0.25


def test_as_schedule_accepts_number_name_callable_and_schedule():
    c = as_schedule(0.25)
    assert isinstance(c, Constant) and c(0) == c(10) == 0.25
    c_int = as_schedule(2)
    assert isinstance(c_int, Constant) and c_int(5) == 2.0
    assert isinstance(as_schedule("inverse"), Inverse)
    assert isinstance(as_schedule("power"), Power)
    assert isinstance(as_schedule("step"), StepDecay)
    assert isinstance(as_schedule("exp"), Exponential)
    assert isinstance(as_schedule("constant"), Constant)
    inv = Inverse(3.0)
    assert as_schedule(inv) is inv
    assert as_schedule(None, default=inv) is inv
    f = as_schedule(lambda k: 0.5 ** k)
    assert f(3) == 0.125 and isinstance(f(3), float)


@pytest.mark.parametrize(
    "bad, text",
    [
        ("foo", "foo"),
        (-1, "-1"),
        (0, "got 0"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (True, "True"),
        ([0.1], "[0.1]"),
    ],
)
def test_as_schedule_rejects_bad_values(bad, text):
    with pytest.raises(ValueError) as exc:
        as_schedule(bad)
    assert text in str(exc.value)


def test_as_schedule_requires_something():
    with pytest.raises(ValueError):
        as_schedule(None)


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: Constant(-0.1), "-0.1"),
        (lambda: Constant(0.0), "0.0"),
        (lambda: Constant(float("nan")), "nan"),
        (lambda: Inverse(-1.0), "-1.0"),
        (lambda: Inverse(0), "got 0"),
        (lambda: Power(c=float("nan")), "nan"),
        (lambda: Power(c=1.0, p=-0.5), "-0.5"),
        (lambda: Power(c=1.0, p=float("nan")), "nan"),
        (lambda: StepDecay(c=-2.0), "-2.0"),
        (lambda: StepDecay(c=0.1, factor=0.0), "0.0"),
        (lambda: StepDecay(c=0.1, factor=1.5), "1.5"),
        (lambda: StepDecay(c=0.1, every=0), "0"),
        (lambda: Exponential(c=0.0), "0.0"),
        (lambda: Exponential(c=0.1, rate=-1.0), "-1.0"),
        (lambda: Exponential(c=0.1, rate=float("nan")), "nan"),
    ],
)
def test_schedule_constructors_reject_bad_constants(make, text):
    with pytest.raises(ValueError) as exc:
        make()
    assert text in str(exc.value)


def test_numpy_scalar_step_sizes_accepted():
    assert as_schedule(np.int64(1))(5) == 1.0  # Constant(1.0), as for a Python int
    assert as_schedule(np.float32(0.25))(0) == 0.25
    assert GD(np.float32(0.5)).step == 0.5


# ---------------------------------------------------------------------------
# one update of each optimizer = the hand-computed step α_k d^k
# ---------------------------------------------------------------------------

W0 = np.array([0.3, -1.2, 2.0])
GRADS = [np.array([1.0, -2.0, 0.5]), np.array([-0.5, 4.0, 1.5]), np.array([2.0, 0.25, -3.0])]


def _run(opt, grads, w=W0):
    """Thread the state through len(grads) updates; returns the steps and the final state."""
    state = opt.init(w.copy())
    steps, infos = [], []
    for g in grads:
        g_in = g.copy()
        step, state, info = opt.update(g_in, state, w.copy())
        np.testing.assert_array_equal(g_in, g)  # the gradient is not modified
        steps.append(step.copy())
        infos.append(info)
    return steps, state, infos


def test_gd_constant_step():
    steps, state, infos = _run(GD(0.5), GRADS[:2])
    np.testing.assert_allclose(steps[0], -0.5 * GRADS[0], rtol=0, atol=0)  # α d = −α g
    np.testing.assert_allclose(steps[1], -0.5 * GRADS[1], rtol=0, atol=0)
    assert infos[0].step_size == 0.5 and infos[0].n_evals == 0
    assert isinstance(state, OptState) and state.k == 2 and state.alpha == 0.5


def test_sgd_inverse_schedule_over_several_steps():
    grads = [GRADS[i % 3] for i in range(5)]
    steps, state, infos = _run(SGD(), grads)  # default γ_k = 1/(k+1)
    for k in range(5):
        np.testing.assert_allclose(steps[k], -grads[k] / (k + 1), rtol=1e-15)
        assert infos[k].step_size == pytest.approx(1.0 / (k + 1), rel=1e-15)
    # k = 0: γ_0 = 1; k = 3: γ_3 = 1/4
    np.testing.assert_allclose(steps[0], -GRADS[0], rtol=1e-15)
    np.testing.assert_allclose(steps[3], -0.25 * GRADS[0], rtol=1e-15)
    assert state.k == 5


def test_sgd_scaled_inverse_and_number_schedule():
    steps, _, _ = _run(SGD(schedule=Inverse(3.0)), GRADS)
    np.testing.assert_allclose(steps[2], -(3.0 / 3) * GRADS[2], rtol=1e-15)  # γ_2 = 3/(2+1)
    steps, _, _ = _run(SGD(schedule=0.05), GRADS)
    np.testing.assert_allclose(steps[1], -0.05 * GRADS[1], rtol=1e-15)


def test_minibatch_sgd_step():
    opt = MiniBatchSGD(4, schedule=StepDecay(0.2, factor=0.5, every=2))
    assert opt.batch_size == 4 and opt.sampling == "shuffle" and opt.average is False
    steps, _, _ = _run(opt, GRADS)
    # γ = 0.2, 0.2, 0.1 (halved after every 2 steps); the block gradient is used as given
    np.testing.assert_allclose(steps[0], -0.2 * GRADS[0], rtol=1e-15)
    np.testing.assert_allclose(steps[1], -0.2 * GRADS[1], rtol=1e-15)
    np.testing.assert_allclose(steps[2], -0.1 * GRADS[2], rtol=1e-15)


def test_momentum_heavy_ball_three_steps():
    beta = 0.9
    opt = Momentum(SGD(schedule=Inverse(0.5)), beta=beta)  # γ_k = 0.5/(k+1)
    steps, _, _ = _run(opt, GRADS)
    g1, g2, g3 = GRADS
    v1 = g1                    # v^0 = 0, v^1 = β·0 + g^1
    v2 = beta * v1 + g2        # v^k = β v^{k−1} + g^k
    v3 = beta * v2 + g3
    np.testing.assert_allclose(steps[0], -0.5 * v1, rtol=1e-14)        # step = −γ_k v^k
    np.testing.assert_allclose(steps[1], -0.25 * v2, rtol=1e-14)
    np.testing.assert_allclose(steps[2], -(0.5 / 3) * v3, rtol=1e-14)


def test_momentum_nesterov_three_steps():
    beta = 0.8
    opt = Momentum(SGD(schedule=0.1), beta=beta, nesterov=True)
    steps, _, _ = _run(opt, GRADS)
    v = np.zeros(3)
    for k, g in enumerate(GRADS):
        v = beta * v + g                                        # v^k = β v^{k−1} + g^k
        expected = -0.1 * (g + beta * v)                        # d^k = −(g^k + β v^k)
        np.testing.assert_allclose(steps[k], expected, rtol=1e-14)
    # written out for the second step: d = −(g2 + β(β g1 + g2))
    g1, g2, _ = GRADS
    np.testing.assert_allclose(steps[1], -0.1 * (g2 + beta * (beta * g1 + g2)), rtol=1e-14)


def test_adam_three_steps_with_bias_correction():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    opt = Adam(SGD(schedule=lr), b1=b1, b2=b2, eps=eps)
    steps, _, _ = _run(opt, GRADS)
    m = np.zeros(3)
    v = np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g                # m = b1 m + (1−b1) g
        v = b2 * v + (1 - b2) * g * g            # v = b2 v + (1−b2) g²
        m_hat = m / (1 - b1 ** t)                # m̂ = m / (1 − b1^t)
        v_hat = v / (1 - b2 ** t)                # v̂ = v / (1 − b2^t)
        expected = -lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(steps[t - 1], expected, rtol=1e-12)
    # first step: m̂ = g, v̂ = g², so the step is −γ g/(|g|+ε) ≈ −γ sign(g)
    np.testing.assert_allclose(steps[0], -lr * np.sign(GRADS[0]), rtol=1e-7)


def test_adam_uses_base_schedule():
    opt = Adam(SGD(), b1=0.0, b2=0.0, eps=1e-12)  # m̂ = g, v̂ = g²: d = −sign(g)
    steps, _, _ = _run(opt, GRADS)
    for k, g in enumerate(GRADS):
        np.testing.assert_allclose(steps[k], -np.sign(g) / (k + 1), rtol=1e-10)  # γ_k = 1/(k+1)


@pytest.mark.parametrize("opt", [Momentum(SGD(0.1), beta=0.9), Adam(SGD(0.1))], ids=["momentum", "adam"])
def test_update_does_not_mutate_the_state_passed_in(opt):
    # explicit state (optax style): the same (g, state, w) must give the same step twice
    w = np.zeros(3)
    s0 = opt.init(w)
    slots_before = {name: buf.copy() for name, buf in s0.slots.items()}
    first, s1, _ = opt.update(GRADS[0].copy(), s0, w)
    again, _, _ = opt.update(GRADS[0].copy(), s0, w)
    np.testing.assert_array_equal(first, again)
    for name, buf in s0.slots.items():
        np.testing.assert_array_equal(buf, slots_before[name])
    assert s0.k == 0 and s1.k == 1


def test_momentum_restarts_when_not_a_descent_direction():
    # f(w) = ½‖w‖², w = (1, 0), g = (1, 0); a stale v = (−10, 0) gives v' = 0.9 v + g = (−8, 0),
    # d = −v' = (8, 0): ⟨g, d⟩ > 0, so a line-searched base falls back to d = −g and restarts v = g
    f = _quadratic(np.eye(2))
    w = np.array([1.0, 0.0])
    g = w.copy()
    opt = Momentum(GD("armijo"), beta=0.9)
    state = OptState(k=1, slots={"v": np.array([-10.0, 0.0])})
    step, new_state, info = opt.update(g.copy(), state, w, loss=f(w), value_fn=f)
    assert info.restarted
    np.testing.assert_allclose(step, -g, rtol=1e-15)  # Armijo accepts α = 1: f(0) = 0 ≤ ½ − 1e-4
    np.testing.assert_array_equal(new_state.slots["v"], g)


# ---------------------------------------------------------------------------
# line searches on φ(α)
# ---------------------------------------------------------------------------

class CountingPhi:
    def __init__(self, fn):
        self.fn, self.n = fn, 0

    def __call__(self, alpha):
        self.n += 1
        return self.fn(alpha)


def test_exact_line_search_on_1d_quadratic():
    phi = CountingPhi(lambda a: (a - 3.0) ** 2 + 1.0)  # minimiser α* = 3, φ(α*) = 1
    alpha, info = ExactLineSearch()(phi, phi0=10.0, slope=-6.0)
    assert alpha == pytest.approx(3.0, rel=1e-6)
    assert info.value == pytest.approx(1.0, abs=1e-10)
    assert info.n_evals == phi.n > 0
    assert not info.capped and not info.failed


def test_exact_line_search_on_non_quadratic():
    # φ(α) = e^α − 5α: φ′(α*) = e^{α*} − 5 = 0 → α* = ln 5 (Brent cannot hit it by one parabola)
    phi = CountingPhi(lambda a: math.exp(a) - 5.0 * a)
    alpha, info = ExactLineSearch()(phi, phi0=1.0, slope=-4.0)
    assert alpha == pytest.approx(math.log(5.0), rel=1e-6)
    assert info.value == pytest.approx(5.0 - 5.0 * math.log(5.0), rel=1e-12)
    assert info.n_evals == phi.n < 100


def test_exact_line_search_decreasing_phi_is_capped():
    phi = CountingPhi(lambda a: math.exp(-a))  # infimum only as α → ∞
    ls = ExactLineSearch()
    alpha, info = ls(phi, phi0=1.0, slope=-1.0)
    assert alpha == ls.alpha_max == 1e4
    assert info.capped and not info.failed
    assert math.isfinite(info.value) and info.value <= math.exp(-1.0)
    assert info.n_evals == phi.n < 100


def test_exact_line_search_small_cap_value():
    phi = CountingPhi(lambda a: math.exp(-a))
    alpha, info = ExactLineSearch(alpha_max=50.0)(phi, phi0=1.0, slope=-1.0)
    assert alpha == 50.0 and info.capped
    assert info.value == pytest.approx(math.exp(-50.0), rel=1e-12)  # φ(alpha_max)
    assert info.n_evals == phi.n < 100


@pytest.mark.parametrize("fn", [lambda a: 1.0 + a, lambda a: 1.0 + a * a, lambda a: math.nan],
                         ids=["linear", "quadratic", "nan"])
def test_exact_line_search_no_decrease_fails_without_looping(fn):
    phi = CountingPhi(fn)
    alpha, info = ExactLineSearch()(phi, phi0=1.0, slope=-1.0)
    assert alpha == 0.0 and info.failed and not info.capped
    assert info.value == 1.0  # φ(0): nothing changes
    assert info.n_evals == phi.n <= 100


def _quadratic(A):
    def f(w):
        return 0.5 * float(w @ A @ w)  # f(w) = ½ wᵀAw, ∇f = Aw
    return f


def test_armijo_sufficient_decrease_hand_worked():
    A = np.diag([1.0, 10.0])
    f = _quadratic(A)
    w = np.array([1.0, 1.0])
    g = A @ w                  # (1, 10)
    slope = -float(g @ g)      # φ′(0) = ⟨g, −g⟩ = −101
    phi = CountingPhi(lambda a: f(w - a * g))
    ls = Armijo()
    alpha, info = ls(phi, phi0=f(w), slope=slope)
    # trials 1, 1/2, 1/4 give φ = 405, 80.125, 11.53 > 5.5; α = 1/8 gives 0.6953 < 5.5 − 1e-4·101/8
    assert alpha == 0.125
    assert info.n_evals == phi.n == 4 and not info.failed
    assert f(w - alpha * g) <= f(w) + ls.c1 * alpha * slope          # sufficient decrease
    assert f(w - 2 * alpha * g) > f(w) + ls.c1 * 2 * alpha * slope   # the previous trial failed it
    assert info.value == pytest.approx(0.5 * (0.875 ** 2 + 10 * 0.25 ** 2), rel=1e-15)


def test_armijo_c1_matters():
    # same quadratic with c1 = 0.5: α = 1/8 gives 0.6953 > 5.5 − 0.5·101/8 = −0.8125 (rejected);
    # α = 1/16 gives ½(0.9375² + 10·0.375²) = 1.1426 ≤ 5.5 − 0.5·101/16 = 2.34375 (accepted)
    A = np.diag([1.0, 10.0])
    f = _quadratic(A)
    w = np.array([1.0, 1.0])
    g = A @ w
    alpha, info = Armijo(c1=0.5)(lambda a: f(w - a * g), phi0=f(w), slope=-float(g @ g))
    assert alpha == 0.0625 and info.n_evals == 5


def test_armijo_fails_on_ascent():
    alpha, info = Armijo(max_iter=30)(lambda a: 1.0 + a, phi0=1.0, slope=-1.0)
    assert alpha == 0.0 and info.failed and info.n_evals == 30


def test_gd_exact_step_matches_closed_form_on_quadratic():
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])  # SPD
    f = _quadratic(A)
    w = np.array([1.0, -2.0, 0.5])
    w_before = w.copy()
    g = A @ w
    alpha_star = float(g @ g) / float(g @ A @ g)  # argmin_α f(w − α g) = gᵀg / gᵀAg
    opt = GD("exact")
    step, state, info = opt.update(g.copy(), opt.init(w), w, loss=f(w), value_fn=f)
    np.testing.assert_allclose(step, -alpha_star * g, rtol=1e-6)
    assert info.step_size == pytest.approx(alpha_star, rel=1e-6)
    assert info.n_evals > 0 and not info.capped and not info.failed
    assert state.alpha == info.step_size and state.k == 1
    np.testing.assert_array_equal(w, w_before)  # update returns the step, it does not apply it


def test_gd_armijo_step_on_quadratic():
    A = np.diag([1.0, 10.0])
    f = _quadratic(A)
    w = np.array([1.0, 1.0])
    g = A @ w
    opt = GD("armijo")
    step, _, info = opt.update(g.copy(), opt.init(w), w, loss=f(w), value_fn=f)
    np.testing.assert_allclose(step, -0.125 * g, rtol=1e-15)  # see the hand-worked Armijo test
    assert info.n_evals == 4


def test_gd_line_search_needs_value_fn():
    with pytest.raises(ValueError):
        GD("exact").update(np.ones(2), OptState(), np.zeros(2))


# ---------------------------------------------------------------------------
# bad arguments: ValueError quoting the value
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: GD(step="foo"), "foo"),
        (lambda: GD(step=-1), "-1"),
        (lambda: GD(step=0), "got 0"),
        (lambda: GD(step=float("nan")), "nan"),
        (lambda: GD(step=None), "None"),
        (lambda: SGD(sampling="random"), "random"),
        (lambda: SGD(schedule="nope"), "nope"),
        (lambda: MiniBatchSGD(batch_size=0), "0"),
        (lambda: MiniBatchSGD(batch_size=2.5), "2.5"),
        (lambda: MiniBatchSGD(batch_size=4, sampling="random"), "random"),
        (lambda: Momentum(beta=1.5), "1.5"),
        (lambda: Momentum(beta=-0.1), "-0.1"),
        (lambda: Momentum(base="sgd"), "sgd"),
        (lambda: Adam(b1=1.0), "1.0"),
        (lambda: Adam(b2=-0.5), "-0.5"),
        (lambda: Adam(eps=0.0), "0.0"),
        (lambda: ExactLineSearch(alpha_max=0), "got 0"),
        (lambda: ExactLineSearch(alpha_max=float("inf")), "inf"),
        (lambda: Armijo(c1=1.5), "1.5"),
        (lambda: Armijo(rho=1.0), "1.0"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_value(make, text):
    with pytest.raises(ValueError) as exc:
        make()
    assert text in str(exc.value)


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: Armijo(grow=0), "0"),
        (lambda: Armijo(grow=-1.0), "-1.0"),
        (lambda: Armijo(max_iter=-3), "-3"),
        (lambda: ExactLineSearch(max_shrink=-1), "-1"),
        (lambda: ExactLineSearch(max_shrink=2.5), "2.5"),
    ],
    ids=["armijo-grow-0", "armijo-grow-negative", "armijo-max_iter-negative", "exact-max_shrink-negative",
         "exact-max_shrink-float"],
)
def test_line_search_counts_and_factors_validated(make, text):
    with pytest.raises(ValueError) as exc:
        make()
    assert text in str(exc.value)


def test_armijo_never_accepts_a_zero_step():
    # warm start from a previous α: the first trial is min(α_prev · grow, alpha0 · 1e6) > 0
    alpha, info = Armijo()(lambda a: (a - 1.0) ** 2, phi0=1.0, slope=-2.0, alpha_init=0.25)
    assert alpha == 0.5 and info.n_evals == 1  # φ(0.5) = 0.25 ≤ 1 − 1e-4 · 0.5 · 2


@pytest.mark.parametrize("schedule", [Constant(0.3), Inverse(2.0), Power(1.5, 0.6), StepDecay(0.2, 0.5, 7),
                                      Exponential(0.1, 0.01), Custom(lambda k: 1.0 / (k + 3))])
def test_schedule_values_equal_calls(schedule):
    # train takes γ_k for a chunk of one-sample steps at once: the very numbers schedule(k) gives
    assert schedule.values(13, 500) == [schedule(k) for k in range(13, 513)]


def test_adam_direction_is_the_textbook_expression_bit_for_bit_and_leaves_the_old_state_alone():
    """Adam's in-place arithmetic (three new arrays and one scratch per step) gives the bits of
    m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², d = −m̂/(√v̂ + ε), and the state handed in is not changed."""
    from dataclasses import replace

    from mlplab.optim import Adam

    rng = np.random.default_rng(0)
    opt = Adam(b1=0.8, b2=0.99, eps=1e-6)
    for dt in (np.float32, np.float64):
        state = opt.init(rng.standard_normal(257).astype(dt))
        for _ in range(6):
            g = rng.standard_normal(257).astype(dt)
            f, t = g.dtype.type, state.k + 1
            m = f(opt.b1) * state.slots["m"] + f(1 - opt.b1) * g
            v = f(opt.b2) * state.slots["v"] + f(1 - opt.b2) * (g * g)
            expected = -(m / f(1 - opt.b1 ** t)) / (np.sqrt(v / f(1 - opt.b2 ** t)) + f(opt.eps))
            old_m, old_v = state.slots["m"].copy(), state.slots["v"].copy()
            d, new = opt.direction(g, state)
            assert d.dtype == dt and np.array_equal(d, expected)
            assert np.array_equal(new.slots["m"], m) and np.array_equal(new.slots["v"], v)
            assert np.array_equal(state.slots["m"], old_m) and np.array_equal(state.slots["v"], old_v)
            state = replace(new, k=state.k + 1)
