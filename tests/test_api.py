"""The public API: parameter layout, forward shapes, initialisers, losses' targets,
objective options, input validation, determinism and import hygiene."""

import subprocess
import sys

import numpy as np
import pytest

import mlplab

# --- parameters: one flat vector, weights and biases are views --------------------


def test_flat_layout_and_views():
    net = mlplab.MLP([3, 4, 2], seed=0)
    assert net.n_params == 3 * 4 + 4 + 4 * 2 + 2 == net.params.size
    W1, b1, W2, b2 = net.weights[0], net.biases[0], net.weights[1], net.biases[1]
    assert W1.shape == (4, 3) and b1.shape == (4,) and W2.shape == (2, 4) and b2.shape == (2,)
    # order W^1, b^1, W^2, b^2, each W row-major
    np.testing.assert_array_equal(net.params, np.concatenate([W1.ravel(), b1, W2.ravel(), b2]))
    for v in (W1, b1, W2, b2):
        assert np.shares_memory(v, net.params)
    W1[2, 1] = 7.5  # writing into a view changes the model
    assert net.params[2 * 3 + 1] == 7.5
    net.params[12] = -3.0  # and the other way round: params[12] is b^1_1
    assert b1[0] == -3.0


def test_writing_weights_changes_forward():
    net = mlplab.MLP([2, 1], activation="identity", bias=True, init="zeros")
    net.weights[0][...] = [[2.0, -1.0]]
    net.biases[0][...] = 0.5
    np.testing.assert_allclose(net.forward([[1.0, 3.0]]), [[2 - 3 + 0.5]])


def test_no_bias():
    net = mlplab.MLP([2, 2, 1], bias=False, seed=0)
    assert net.biases is None and net.n_params == 4 + 2


def test_forward_shapes():
    net = mlplab.MLP([3, 5, 2], activation=["relu", "softmax"], seed=1)
    X = np.random.default_rng(0).normal(size=(7, 3))
    Y = net.forward(X)
    assert Y.shape == (7, 2)
    np.testing.assert_allclose(Y.sum(1), 1.0)
    y1 = net.forward(X[0])  # a 1-D x is one sample
    assert y1.shape == (2,)
    np.testing.assert_allclose(y1, Y[0])
    np.testing.assert_allclose(net(X), Y)


def test_forward_matches_explicit_formula():
    net = mlplab.MLP([3, 4, 2], activation=["tanh", "sigmoid"], seed=3)
    x = np.array([0.1, -0.4, 2.0])
    a1 = np.tanh(net.weights[0] @ x + net.biases[0])
    a2 = 1 / (1 + np.exp(-(net.weights[1] @ a1 + net.biases[1])))
    np.testing.assert_allclose(net.forward(x), a2, rtol=1e-14)


def test_forward_with_other_params_does_not_change_net():
    net = mlplab.MLP([2, 3, 1], seed=0)
    before = net.params.copy()
    w = np.zeros(net.n_params)
    np.testing.assert_allclose(net.forward([[1.0, 2.0]], params=w), [[0.5]])
    np.testing.assert_array_equal(net.params, before)


def test_per_layer_activation_list_and_output_override():
    net = mlplab.MLP([2, 3, 3, 1], activation=["relu", "tanh", "sigmoid"], output_activation="identity")
    assert [a.name for a in net.activations] == ["relu", "tanh", "identity"]


def test_copy_is_independent():
    net = mlplab.MLP([2, 3, 1], seed=0)
    other = net.copy()
    other.weights[0][0, 0] = 99.0
    assert net.weights[0][0, 0] != 99.0 and np.shares_memory(other.weights[0], other.params)


# --- initialisers ------------------------------------------------------------------


def test_init_zeros_constant():
    assert np.all(mlplab.MLP([3, 2], init="zeros").params == 0)
    assert np.all(mlplab.MLP([3, 2], init="constant(0.3)").params == 0.3)


def test_init_normal_uniform_statistics():
    net = mlplab.MLP([200, 300], init="normal(0.5)", seed=0)
    assert np.std(net.weights[0]) == pytest.approx(0.5, rel=0.02)
    net = mlplab.MLP([200, 300], init="uniform(2.0)", seed=0)
    W = net.weights[0]
    assert W.min() >= -2 and W.max() <= 2 and np.std(W) == pytest.approx(2 / np.sqrt(3), rel=0.02)


def test_init_glorot_and_he():
    net = mlplab.MLP([200, 300], init="glorot", seed=0)
    r = np.sqrt(6 / 500)
    W = net.weights[0]
    assert np.abs(W).max() <= r and np.abs(W).max() > 0.99 * r and np.all(net.biases[0] == 0)
    net = mlplab.MLP([200, 300], init="he", seed=0)
    assert np.std(net.weights[0]) == pytest.approx(np.sqrt(2 / 200), rel=0.02)


def test_init_explicit_arrays():
    W1, b1, W2 = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0]), np.ones((1, 3))
    net = mlplab.MLP([2, 3, 1], init=[(W1, b1), W2])
    np.testing.assert_array_equal(net.weights[0], W1)
    np.testing.assert_array_equal(net.biases[0], b1)
    np.testing.assert_array_equal(net.biases[1], [0.0])
    flat = np.arange(net.n_params, dtype=float)
    np.testing.assert_array_equal(mlplab.MLP([2, 3, 1], init=flat).params, flat)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        mlplab.MLP([2, 3, 1], init=[np.ones((2, 3)), W2])
    with pytest.raises(ValueError, match="length"):
        mlplab.MLP([2, 3, 1], init=np.ones(5))


def test_seed_reproducible_and_global_rng_untouched():
    state = np.random.get_state()[1].copy()
    a = mlplab.MLP([4, 5, 2], init="normal(1.0)", seed=42).params
    b = mlplab.MLP([4, 5, 2], init="normal(1.0)", seed=42).params
    c = mlplab.MLP([4, 5, 2], init="normal(1.0)", seed=43).params
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(np.random.get_state()[1], state)


# --- losses: values and accepted targets ---------------------------------------------


def test_squared_loss_is_the_lecture_sum_without_half():
    net = mlplab.MLP([1, 2], activation="identity", bias=False, init=[np.array([[1.0], [2.0]])])
    E, _ = net.loss_and_grad([[1.0], [3.0]], [[0.0, 0.0], [1.0, 1.0]])
    # ŷ = (1, 2), (3, 6): e = 1 + 4, 4 + 25
    assert E == 34.0


def test_absolute_and_perceptron_values():
    net = mlplab.MLP([1, 1], activation="identity", bias=False, init=[np.array([[2.0]])])
    X = np.array([[1.0], [-1.0], [0.5]])
    assert net.loss_and_grad(X, [0.0, 0.0, 3.0], loss="absolute")[0] == 2 + 2 + 2
    # ŷ = 2, −2, 1 with y = +1, +1, −1: e = max(0, −y ŷ) = 0, 2, 1
    assert net.loss_and_grad(X, [1, 1, -1], loss="perceptron")[0] == 3.0
    assert net.loss_and_grad(X, [1, 1, 0], loss="perceptron")[0] == 3.0  # 0 is read as −1


def test_binary_labels_pm1_equal_01():
    net = mlplab.MLP([2, 3, 1], activation=["tanh", "sigmoid"], seed=0)
    X = np.random.default_rng(0).normal(size=(6, 2))
    y01 = np.array([0, 1, 1, 0, 1, 0])
    a = net.loss_and_grad(X, y01, loss="binary_cross_entropy")
    b = net.loss_and_grad(X, 2 * y01 - 1, loss="binary_cross_entropy")
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    # e = −[y log ŷ + (1 − y) log(1 − ŷ)]
    p = net.forward(X)[:, 0]
    assert a[0] == pytest.approx(-np.sum(y01 * np.log(p) + (1 - y01) * np.log(1 - p)), rel=1e-12)


def test_cross_entropy_labels_equal_one_hot():
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    X = np.random.default_rng(0).normal(size=(5, 2))
    labels = np.array([0, 2, 1, 2, 0])
    a = net.loss_and_grad(X, labels, loss="cross_entropy")
    b = net.loss_and_grad(X, np.eye(3)[labels], loss="cross_entropy")
    assert a[0] == pytest.approx(b[0], rel=1e-15) and np.allclose(a[1], b[1], rtol=1e-15)
    P = net.forward(X)
    assert a[0] == pytest.approx(-np.sum(np.log(P[np.arange(5), labels])), rel=1e-12)


def test_squared_loss_with_class_labels_is_one_hot():
    net = mlplab.MLP([2, 3], activation="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    a = net.loss_and_grad(X, [0, 1, 2, 1])
    b = net.loss_and_grad(X, np.eye(3)[[0, 1, 2, 1]])
    assert a[0] == b[0]


@pytest.mark.parametrize("loss,Y,match", [
    ("binary_cross_entropy", [0, 2, 1], "binary labels"),
    ("cross_entropy", [0, 3, 1], "label 3"),
    ("cross_entropy", [[0.5, 0.6, 0.0]] * 3, "probability rows"),
    ("perceptron", [0, 1, -1], "perceptron"),
    ("squared", [0.5, np.nan, 1.0], "NaN"),
    ("squared", ["a", "b", "c"], "numeric"),
    ("squared", [0.0, 1.0], "X has 3 samples but Y has 2"),
])
def test_bad_targets(loss, Y, match):
    out = {"binary_cross_entropy": ("sigmoid", 1), "cross_entropy": ("softmax", 3),
           "perceptron": ("identity", 1), "squared": ("identity", 1)}[loss]
    net = mlplab.MLP([2, out[1]], activation=out[0], seed=0)
    with pytest.raises(ValueError, match=match):
        net.loss_and_grad(np.zeros((3, 2)), np.array(Y, dtype=object if loss == "squared" and
                                                       isinstance(Y[0], str) else None), loss=loss)


def test_loss_activation_mismatch():
    with pytest.raises(ValueError, match="binary_cross_entropy.*'tanh'.*sigmoid"):
        mlplab.MLP([2, 1], activation="tanh").loss_and_grad(np.zeros((1, 2)), [1], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match="softmax"):
        mlplab.MLP([2, 3], activation="sigmoid").loss_and_grad(np.zeros((1, 2)), [1], loss="cross_entropy")


# --- the objective's options ---------------------------------------------------------


def test_reduction_mean_is_sum_over_S():
    net = mlplab.MLP([3, 4, 2], seed=0)
    X, Y = np.random.default_rng(0).normal(size=(8, 3)), np.random.default_rng(1).normal(size=(8, 2))
    Es, gs = net.loss_and_grad(X, Y)
    Em, gm = net.loss_and_grad(X, Y, reduction="mean")
    assert Em == pytest.approx(Es / 8, rel=1e-14)
    np.testing.assert_allclose(gm, gs / 8, rtol=1e-13)


def test_l2_regulariser_covers_weights_not_biases():
    net = mlplab.MLP([3, 4, 2], seed=0)
    X, Y = np.random.default_rng(0).normal(size=(8, 3)), np.random.default_rng(1).normal(size=(8, 2))
    E0, g0 = net.loss_and_grad(X, Y)
    E1, g1 = net.loss_and_grad(X, Y, l2=0.5)
    sq = sum(np.sum(W ** 2) for W in net.weights)
    assert E1 == pytest.approx(E0 + 0.25 * sq, rel=1e-14)  # + (λ/2) Σ‖W^ℓ‖²
    diff = g1 - g0
    for s, W in zip(net.slices, net.weights):
        np.testing.assert_allclose(diff[s.W], 0.5 * W.ravel(), rtol=1e-12)  # + λ W
        assert np.all(diff[s.b] == 0)


def test_sample_weight_scales_each_error():
    net = mlplab.MLP([2, 1], activation="identity", seed=0)
    X, y = np.random.default_rng(0).normal(size=(4, 2)), np.arange(4.0)
    c = np.array([1.0, 0.0, 2.0, 0.5])
    G = net.per_sample_grads(X, y)
    e = (y - net.forward(X)[:, 0]) ** 2
    E, g = net.loss_and_grad(X, y, sample_weight=c)
    assert E == pytest.approx(np.dot(c, e), rel=1e-14)
    np.testing.assert_allclose(g, c @ G, rtol=1e-13)


# --- validation: bad arguments name the value ----------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer_sizes=[3]), r"\[3\]"),
    (dict(layer_sizes=[3, 0, 1]), r"\[3, 0, 1\]"),
    (dict(layer_sizes=[3, 1.5]), "1.5"),
    (dict(layer_sizes=[2, 1], activation="gelu"), "'gelu'.*sigmoid, tanh, relu"),
    (dict(layer_sizes=[2, 3, 1], activation=["relu"]), r"\['relu'\]"),
    (dict(layer_sizes=[2, 3, 1], activation=["softmax", "sigmoid"]), "softmax.*output layer"),
    (dict(layer_sizes=[2, 1], init="xavier"), "'xavier'"),
    (dict(layer_sizes=[2, 1], init="normal(-1)"), "normal\\(-1\\)"),
    (dict(layer_sizes=[2, 1], dtype="float16"), "float16"),
    (dict(layer_sizes=[2, 1], bias="yes"), "'yes'"),
])
def test_bad_model_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mlplab.MLP(**kwargs)


def test_unknown_loss_lists_valid_ones():
    with pytest.raises(ValueError, match="'hinge'.*squared, absolute, binary_cross_entropy, cross_entropy, perceptron"):
        mlplab.MLP([2, 1]).loss_and_grad(np.zeros((1, 2)), [0.0], loss="hinge")


@pytest.mark.parametrize("X,match", [
    (np.zeros((3, 4)), "4 features.*N_0 = 2"),
    (np.zeros(3), "needs 2 features"),
    (np.array([[1.0, np.inf]]), r"row 0, column 1"),
    (np.zeros((0, 2)), "no samples"),
    (np.zeros((2, 2, 2)), "2-D"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_inputs(X, match):
    with pytest.raises(ValueError, match=match):
        mlplab.MLP([2, 1]).forward(X)


def test_bad_objective_options():
    net = mlplab.MLP([2, 1])
    with pytest.raises(ValueError, match="'median'"):
        net.loss_and_grad(np.zeros((1, 2)), [0.0], reduction="median")
    with pytest.raises(ValueError, match="-1"):
        net.loss_and_grad(np.zeros((1, 2)), [0.0], l2=-1)


# --- import hygiene -------------------------------------------------------------------


def test_import_pulls_in_no_plotting_cli_or_sklearn():
    code = ("import sys, mlplab; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'plotly', 'sklearn', 'rich', 'safetensors', 'torch')]; "
            "assert not bad, bad; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_demo_runs():
    out = subprocess.run([sys.executable, "-m", "mlplab", "--budget", "80"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "GD, exact line search" in out.stdout and "mini-batch SGD" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "mlplab", "--w0", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--w0" in bad.stderr


# --- boundary checks found in review ---------------------------------------------------


def test_more_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="NaN or inf"):
        mlplab.MLP([2, 1], bias=False, init=np.array([np.nan, 1.0]))
    np.testing.assert_array_equal(mlplab.MLP([2, 1], bias=False, init=[0.5, 0.5]).params, [0.5, 0.5])
    for seed in (1.5, "x", -1):
        with pytest.raises(ValueError, match="seed"):
            mlplab.MLP([2, 1], seed=seed)
    with pytest.raises(ValueError, match="rectangular"):
        mlplab.MLP([2, 1]).forward([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="floor"):
        mlplab.gradcheck(mlplab.MLP([2, 1]), np.zeros((1, 2)), [0.0], floor=0)


def test_trace_accepts_a_label_array_of_one():
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    a = net.trace([0.1, 0.2], np.array([2]), loss="cross_entropy")
    b = net.trace([0.1, 0.2], 2, loss="cross_entropy")
    np.testing.assert_array_equal(a.grad, b.grad)


def test_pickle_keeps_views_into_params():
    import pickle

    net = pickle.loads(pickle.dumps(mlplab.MLP([2, 3, 1], seed=0)))
    assert all(np.shares_memory(W, net.params) for W in net.weights)
    net.weights[0][0, 0] = 42.0
    assert net.params[0] == 42.0


# --- the per-call checks of loss_and_grad's front door (cheap, and still complete) ------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_x_finiteness_check_finds_every_nan_and_inf_and_keeps_huge_finite_inputs(dtype):
    """X is checked by one Σ x² (a BLAS dot): NaN and ±inf anywhere are refused with their place;
    finite values whose squares overflow are not (the exact check decides then)."""
    net = mlplab.MLP([3, 2, 1], dtype=dtype, seed=0)
    for bad in (np.nan, np.inf, -np.inf):
        for row, col in ((0, 0), (4, 2), (2, 1)):
            X = np.ones((5, 3))
            X[row, col] = bad
            with pytest.raises(ValueError, match=rf"NaN or inf \(row {row}, column {col}\)"):
                net.loss_and_grad(X, np.zeros(5))
    huge = 0.5 * float(np.finfo(dtype).max)  # x² overflows to inf: still a finite input
    X = np.array([[huge, -huge, 1.0], [0.0, 1.0, 2.0]])
    checked, _ = net.check_X(X)
    np.testing.assert_array_equal(checked, X.astype(dtype))
    E, g = net.loss_and_grad(np.array([[0.5, -1.0, 2.0]]), [0.25])
    assert np.isfinite(E) and np.all(np.isfinite(g))


@pytest.mark.parametrize("labels, bad", [
    (np.array([0, 2, -1, 1]), "sample 2 has label -1"),
    (np.array([0, 3, 1], dtype=np.int32), "sample 1 has label 3"),
    (np.array([0, 1, 7], dtype=np.uint8), "sample 2 has label 7"),
    (np.array([0.0, 1.5, 2.0]), "sample 1 has label 1.5"),
    (np.array([0.0, 2.0, 3.0]), "sample 2 has label 3.0"),
])
def test_class_labels_out_of_range_name_the_sample(labels, bad):
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    with pytest.raises(ValueError, match=bad):
        net.loss_and_grad(np.zeros((len(labels), 2)), labels, loss="cross_entropy")


@pytest.mark.parametrize("kind", [np.int8, np.int64, np.uint16, np.float32, np.float64, bool])
def test_class_labels_of_every_dtype_equal_one_hot_rows(kind):
    net = mlplab.MLP([2, 3, 2], activation="tanh", output_activation="softmax", seed=1)
    X = np.array([[0.1, -0.3], [0.7, 0.2], [-0.5, 0.4]])
    labels = np.array([1, 0, 1]).astype(kind)
    E, g = net.loss_and_grad(X, labels, loss="cross_entropy")
    E1, g1 = net.loss_and_grad(X, np.eye(2)[[1, 0, 1]], loss="cross_entropy")
    assert E == E1
    np.testing.assert_array_equal(g, g1)


def test_a_problem_for_one_gradient_does_not_ask_for_the_scalar_kernel(monkeypatch):
    """Whether the one-sample scalar kernel applies is decided when sgd_steps first asks."""
    from mlplab import _scalar
    from mlplab.objective import Problem

    asked = []
    real = _scalar.supports
    monkeypatch.setattr(_scalar, "supports", lambda p: asked.append(p) or real(p))
    net = mlplab.MLP([2, 2, 1], seed=0)
    X, y = np.array([[0.1, 0.2], [0.3, -0.1]]), np.array([0.5, -0.5])
    net.loss_and_grad(X, y)
    p = Problem(net, X, y)
    p.value_and_grad(net.params)
    assert asked == []
    w = net.params.copy()
    assert p.sgd_steps(w, [0, 1], [0.1, 0.1]) == 2
    assert len(asked) <= 1  # the compiled kernel, where Numba is installed, comes first
    assert p._use_scalar is real(p) and p._use_scalar is real(p)
    assert asked == [p]  # asked once, then kept
