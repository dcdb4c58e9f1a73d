"""Pins on the gradient-flow verdict's thresholds and layer indexing (issue 28, item 10).

One-unit identity chains x → w1 → w2 → … → wL with x, w powers of two or decimals whose
products are exact: the chain ratio of layer ℓ is ‖δ^ℓ‖/‖δ^L‖ = Π_{m>ℓ} |w_m| and the ratio
of its gradient to the output layer's is |w_L| / |w_ℓ|, both exact in floating point, so a
threshold can be met exactly (> is tested, not ≥).
"""


import numpy as np
import pytest

import mlplab
from mlplab import analysis
from mlplab.analysis import gradflow


def chain_net(ws, x=1.0, y=0.0, activation="identity"):
    net = mlplab.MLP([1] * (len(ws) + 1), activation=activation, bias=False, init="zeros")
    net.params[:] = ws
    return net, np.array([[x]]), np.array([y])


def test_the_thresholds():
    assert gradflow.THRESHOLD == 1e3 and gradflow.HUGE == 1e6 and gradflow.SATURATION == 0.01


def test_the_chain_and_ratios_of_an_exact_chain():
    # w = (10, 10, 10, 10), x = 2⁻²⁰: δ^L = 2ŷ, chains 1000, 100, 10, 1; every layer's gradient equal
    net, X, y = chain_net([10.0, 10.0, 10.0, 10.0], x=2.0 ** -20)
    flow = analysis.gradient_flow(net, X, y)
    assert [f.layer for f in flow.layers] == [1, 2, 3, 4]
    assert [float(f.chain[0]) for f in flow.layers] == [1000.0, 100.0, 10.0, 1.0]
    g = [float(f.grad_norm[0]) for f in flow.layers]
    assert g[0] == g[1] == g[2] == g[3] == 2 * 1e4 * 2.0 ** -20 * 1e3 * 2.0 ** -20
    for f in flow.layers:
        assert f.holds and float(f.grad_norm[0]) == float(f.bound[0])  # one unit: the bound is attained
    d = flow.diagnosis
    # the chain at layer 1 is exactly the threshold: not above it
    assert d.kind == "healthy" and d.layers == () and d.ratio == 1.0 and d.threshold == 1e3
    assert list(d.chain) == [1000.0, 100.0, 10.0, 1.0] and list(d.grad_median) == g


def test_a_chain_just_above_the_threshold_at_layer_1_is_exploding_there():
    net, X, y = chain_net([10.0, 10.0 * (1 + 2.0 ** -40), 10.0, 10.0], x=2.0 ** -20)
    d = analysis.gradient_flow(net, X, y).diagnosis
    assert d.kind == "exploding" and d.layers == (1,) and d.layer == 1
    assert d.chain[0] > 1e3 and d.chain[1] == 100.0
    assert "layer 1" in d.message


def test_the_chain_test_names_the_right_layers_and_the_top_one():
    # chains: layer 1: 2·1e3·10 = 2e4, layer 2: 2e3 (> 1e3), layer 3: 10·... only layer 3 below
    net, X, y = chain_net([10.0, 10.0, 200.0, 10.0], x=2.0 ** -24)
    d = analysis.gradient_flow(net, X, y).diagnosis
    assert list(d.chain) == [20000.0, 2000.0, 10.0, 1.0]
    assert d.kind == "exploding" and d.layers == (1, 2) and d.layer == 2
    assert "20000" in d.message or "2e+04" in d.message  # the largest chain is quoted …
    assert "at layer 1" in d.message  # … with the layer it belongs to


@pytest.mark.parametrize("above", [False, True])
def test_gradient_ratio_at_the_threshold(above):
    # identical chains would be healthy; here layer 1's weight is 1024× smaller than the output's,
    # so ‖∇_{W^1} e‖ / ‖∇_{W^L} e‖ = |w_L| / |w_1| = 1024 = the threshold given
    w1 = 2.0 ** -7 if not above else 2.0 ** -7 * (1 - 2.0 ** -40)
    net, X, y = chain_net([w1, 1.0, 2.0 ** 3], x=1.0)
    flow = analysis.gradient_flow(net, X, y, threshold=1024.0)
    d = flow.diagnosis
    g = [float(f.grad_norm[0]) for f in flow.layers]
    assert g[0] / g[-1] == (1024.0 if not above else pytest.approx(1024.0, rel=1e-11))
    assert d.ratio == g[0] / g[-1]
    if above:
        assert d.kind == "exploding" and d.layers == (1,) and d.layer == 1  # layer 2's ratio is 8
    else:
        assert d.kind == "healthy" and d.layers == ()


@pytest.mark.parametrize("below", [False, True])
def test_vanishing_chain_at_one_over_the_threshold(below):
    # chains 2⁻¹⁰ = 1/1024 (layer 1), 2⁻⁶, 2⁻³; gradient ratios |w_L|/|w_ℓ| = 1/2, 2, 1
    w2 = 2.0 ** -4 if not below else 2.0 ** -4 * (1 - 2.0 ** -30)
    net, X, y = chain_net([2.0 ** -2, w2, 2.0 ** -3, 2.0 ** -3], x=1.0)
    flow = analysis.gradient_flow(net, X, y, threshold=1024.0)
    d = flow.diagnosis
    assert d.chain[1:] == pytest.approx([2.0 ** -6, 2.0 ** -3, 1.0], rel=1e-8)
    assert d.ratio == pytest.approx(0.5, rel=1e-8) and list(d.grad_median) == [float(f.grad_norm[0]) for f in flow.layers]
    if below:
        assert d.chain[0] < 2.0 ** -10
        assert d.kind == "vanishing" and d.layers == (1,) and d.layer == 1
    else:
        assert d.chain[0] == 2.0 ** -10
        assert d.kind == "healthy" and d.layers == ()


def test_vanishing_names_every_low_layer_and_the_top_one():
    # w = (1, 2⁻¹, 2⁻¹⁰, 2⁻³): chains 2⁻¹⁴, 2⁻¹³, 2⁻³ — layers 1 and 2 below 1/1000, layer 1 the lowest;
    # gradients ∝ 1/|w_ℓ|: layers 1 and 2 below the output layer's (ratio |w_L|/|w_1| = 1/8)
    net, X, y = chain_net([1.0, 0.5, 2.0 ** -10, 2.0 ** -3], x=1.0)
    d = analysis.gradient_flow(net, X, y).diagnosis
    assert list(d.chain) == [2.0 ** -14, 2.0 ** -13, 2.0 ** -3, 1.0]
    assert d.kind == "vanishing" and d.layers == (1, 2) and d.layer == 2
    assert d.ratio == 0.125 and "at layer 1" in d.message  # the smallest chain is layer 1's


@pytest.mark.parametrize("w, kind", [(488.28125, "healthy"), (488.28125 * (1 + 2.0 ** -40), "exploding")])
def test_a_one_layer_gradient_of_exactly_huge_is_not_huge(w, kind):
    # E = (w x)², x = 32: ‖∇_W e‖ = 2 w x² = 1e6 = HUGE exactly (every product exact), then a hair above it
    net, X, y = chain_net([w], x=32.0)
    d = analysis.gradient_flow(net, X, y).diagnosis
    assert d.grad_median[0] == 2 * w * 32.0 * 32.0
    assert d.kind == kind and d.layers == ((1,) if kind == "exploding" else ())


def test_saturation_counts_units_strictly_below_one_percent_of_the_largest_slope():
    # leaky ReLU at z < 0: φ′ = 0.01 = exactly 1 % of its max 1 — not saturated; ReLU's 0 is
    rng = np.random.default_rng(0)
    X = -np.abs(rng.standard_normal((6, 2))) - 0.1
    y = np.zeros(6)
    for act, sat in (("leaky_relu", 0.0), ("relu", 1.0)):
        net = mlplab.MLP([2, 3, 1], activation=act, output_activation="identity", bias=False, init="zeros")
        net.weights[0][:] = 1.0  # z^1 = x1 + x2 < 0 for every unit and sample
        net.weights[1][:] = 1.0
        flow = analysis.gradient_flow(net, X, y)
        assert flow.layers[0].saturated == sat, act
        assert flow.layers[1].saturated == 0.0


@pytest.mark.parametrize("grow, kind", [(1000.0, "healthy"), (1000.5, "exploding")])
def test_history_growth_by_exactly_the_threshold_is_not_exploding(grow, kind):
    net, X, y = chain_net([10.0, 10.0, 10.0, 10.0], x=2.0 ** -20)
    H = np.array([[1.0, 1.0, 1.0, 1.0], [grow, 1.0, 1.0, 1.0]])
    d = analysis.gradient_flow(net, X, y, history=H).diagnosis
    assert d.kind == kind
    if kind == "exploding":
        assert d.layers == (1,)


@pytest.mark.parametrize("w1, kind", [(2.0 ** 8, "vanishing"), (2.0 ** 7, "healthy")])
def test_a_gradient_ratio_below_one_over_the_threshold_names_its_own_layer(w1, kind):
    # w = (w1, 1, 2⁻³): ‖∇_{W^1} e‖/‖∇_{W^3} e‖ = |w_3|/|w_1| = 2⁻¹¹ (< 1/1024) or 2⁻¹⁰ (= 1/1024, not below);
    # layer 2's ratio is 2⁻³; chains 2⁻³, 2⁻³, 1
    net, X, y = chain_net([w1, 1.0, 2.0 ** -3], x=1.0)
    flow = analysis.gradient_flow(net, X, y, threshold=1024.0)
    d = flow.diagnosis
    assert list(d.chain) == [2.0 ** -3, 2.0 ** -3, 1.0] and d.ratio == 2.0 ** -3 / w1
    assert d.kind == kind and d.layers == ((1,) if kind == "vanishing" else ())
    if kind == "vanishing":
        assert d.layer == 1
