"""mlplab.trace: one sample through the network with the slides' explicit matrices (``net.trace``)."""

import numpy as np

import mlplab


def test_trace_accepts_a_label_array_of_one():
    net = mlplab.MLP([2, 3], activation="softmax", seed=0)
    a = net.trace([0.1, 0.2], np.array([2]), loss="cross_entropy")
    b = net.trace([0.1, 0.2], 2, loss="cross_entropy")
    np.testing.assert_array_equal(a.grad, b.grad)
