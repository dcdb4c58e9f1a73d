"""mlplab.optim.schedules: the step-size schedules k -> γ_k against hand-computed oracles.

Every expected value below is written out from the formula in the comment next
to it (the lecture's / the docstrings'), never obtained by calling the code
under test a second time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplab.optim import GD
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


@pytest.mark.parametrize("schedule", [Constant(0.3), Inverse(2.0), Power(1.5, 0.6), StepDecay(0.2, 0.5, 7),
                                      Exponential(0.1, 0.01), Custom(lambda k: 1.0 / (k + 3))])
def test_schedule_values_equal_calls(schedule):
    # train takes γ_k for a chunk of one-sample steps at once: the very numbers schedule(k) gives
    assert schedule.values(13, 500) == [schedule(k) for k in range(13, 513)]
