"""mlplab.optim.optimizers: one update of GD, SGD, mini-batch SGD, momentum (heavy ball, Nesterov)
and Adam = the hand-computed step α_k d^k, with the state threaded explicitly.

Every expected value below is written out from the formula in the comment next
to it (the lecture's / the docstrings'), never obtained by calling the code
under test a second time.
"""

from __future__ import annotations

from dataclasses import replace

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
from mlplab.optim.schedules import Inverse, StepDecay
from optim_helpers import quadratic


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
    f = quadratic(np.eye(2))
    w = np.array([1.0, 0.0])
    g = w.copy()
    opt = Momentum(GD("armijo"), beta=0.9)
    state = OptState(k=1, slots={"v": np.array([-10.0, 0.0])})
    step, new_state, info = opt.update(g.copy(), state, w, loss=f(w), value_fn=f)
    assert info.restarted
    np.testing.assert_allclose(step, -g, rtol=1e-15)  # Armijo accepts α = 1: f(0) = 0 ≤ ½ − 1e-4
    np.testing.assert_array_equal(new_state.slots["v"], g)


def test_adam_direction_is_the_textbook_expression_bit_for_bit_and_leaves_the_old_state_alone():
    """Adam's in-place arithmetic (three new arrays and one scratch per step) gives the bits of
    m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², d = −m̂/(√v̂ + ε), and the state handed in is not changed."""
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


# ---------------------------------------------------------------------------
# GD with a line search: the step the line search chose, not applied
# ---------------------------------------------------------------------------


def test_gd_exact_step_matches_closed_form_on_quadratic():
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])  # SPD
    f = quadratic(A)
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
    f = quadratic(A)
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
