"""mlplab.optim.method: one constructor from option names gives the same methods as the classes."""

import pytest

from mlplab.optim import GD, SGD, Adam, MiniBatchSGD, Momentum, method, schedules
from mlplab.optim.methods import schedule


@pytest.mark.parametrize("made, direct", [
    (lambda: method("gd"), lambda: GD("exact")),
    (lambda: method("gd", step="armijo"), lambda: GD("armijo")),
    (lambda: method("gd", step=0.1), lambda: GD(0.1)),
    (lambda: method("gd", alpha_max=10.0), lambda: GD("exact", alpha_max=10.0)),
    (lambda: method("sgd", gamma=0.1, sampling="shuffle"), lambda: SGD(0.1, sampling="shuffle")),
    (lambda: method("minibatch", gamma=0.1, batch_size=8, average=True),
     lambda: MiniBatchSGD(8, 0.1, average=True)),
    (lambda: method("momentum", gamma=0.1, batch_size=4, nesterov=True),
     lambda: Momentum(MiniBatchSGD(4, 0.1), beta=0.9, nesterov=True)),
    (lambda: method("adam", gamma=1e-3, b1=0.8), lambda: Adam(MiniBatchSGD(32, 1e-3), b1=0.8)),
])
def test_method_equals_the_class(made, direct):
    assert repr(made()) == repr(direct())


def test_schedules_by_name():
    assert schedule("inverse", 0.5)(3) == schedules.inverse(0.5)(3) == 0.5 / 4
    assert schedule("constant", 0.2)(100) == 0.2
    assert schedule("power", 1.0, power=0.5)(3) == pytest.approx(0.5)
    assert schedule("step", 1.0, factor=0.5, every=10)(25) == 0.25
    assert schedule("exp", 2.0, rate=0.0)(7) == 2.0


def test_unknown_names_say_what_is_allowed():
    with pytest.raises(ValueError, match="method must be one of gd, sgd, minibatch, momentum, adam"):
        method("lbfgs")
    with pytest.raises(ValueError, match="schedule must be one of"):
        schedule("cosine", 1.0)
