"""``python -m mlplab``: the lecture's toy problem solved by its three optimizers.

    min_w E(w) = Σ_{i=1}^{4} (y^i − σ(w11 x1^i + w12 x2^i))²

on D = {(−3,−3)→1, (−2,−2)→1, (4,4)→0, (2,−5)→0}, from the same w^0, by
gradient descent with exact line search, SGD with γ_k = 1/(k+1) and mini-batch
SGD (|B_k| = 2, γ_k = 1/(k+1)). Prints E, ‖∇E‖, steps and cost (sample-gradient
evaluations) for each.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import mlplab
from mlplab.config import POSITIVE_INT
from mlplab.optim import GD, SGD, MiniBatchSGD, inverse


def _w0(text: str) -> np.ndarray:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--w0 must be two numbers like 0.5,0.5, got {text!r}") from None
    if len(values) != 2 or not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"--w0 must be two finite numbers like 0.5,0.5, got {text!r}")
    return np.array(values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlplab",
        description="Solve the lecture's toy problem with GD (exact line search), SGD and mini-batch SGD.")
    parser.add_argument("--w0", type=_w0, default=np.array([0.5, 0.5]),
                        help="starting point w11,w12 (default 0.5,0.5)")
    parser.add_argument("--budget", type=POSITIVE_INT, default=400,
                        help="cost budget in sample-gradient evaluations per method (default 400)")
    parser.add_argument("--tol", type=float, default=1e-6, help="stop when ||grad E|| <= tol (default 1e-6)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the sampling of j_k and B_k")
    args = parser.parse_args(argv)

    X, y = mlplab.datasets.lecture()
    S = len(X)
    methods = [
        ("GD, exact line search", GD("exact"), args.budget // S),
        ("SGD, gamma_k = 1/(k+1)", SGD(schedule=inverse(1.0)), args.budget),
        ("mini-batch SGD, |B|=2, gamma_k = 1/(k+1)", MiniBatchSGD(2, schedule=inverse(1.0)), args.budget // 2),
    ]
    print("The lecture's toy problem: E(w) = sum_i (y^i - sigmoid(w11 x1^i + w12 x2^i))^2")
    print(f"data: {S} samples; w^0 = ({args.w0[0]:g}, {args.w0[1]:g}); "
          f"E(w^0) = {_E(X, y, args.w0):.6g}")
    print(f"budgets: {args.budget} sample gradients each (GD {methods[0][2]} steps, SGD {methods[1][2]}, "
          f"mini-batch {methods[2][2]} steps); cost counts sample gradients, fwd the sample forward passes "
          "of GD's line search (E and its slope along d^k)\n")
    header = (f"{'method':<42} {'E(w)':>11} {'||grad E||':>11} {'steps':>6} {'cost':>6} {'fwd':>6}  "
              f"{'stopped':<10} w")
    print(header)
    print("-" * len(header))
    for name, optimizer, max_iter in methods:
        net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=args.w0.copy())
        result = mlplab.train(net, X, y, loss="squared", optimizer=optimizer, max_iter=max_iter,
                              tol=args.tol, seed=args.seed)
        w = ", ".join(f"{v:.4g}" for v in result.params)
        unbounded = sum(result.history.unbounded)
        note = f" ({unbounded} steps: E still falling at alpha_max)" if unbounded else ""
        print(f"{name:<42} {result.loss:>11.4e} {result.grad_norm:>11.3e} {result.n_iter:>6} "
              f"{result.cost:>6} {result.forward_evals:>6}  {result.stop_reason:<10} ({w}){note}")
    print("\nThe data are separable: E > 0 everywhere and E -> 0 only as ||w|| -> infinity. Along GD's "
          "directions E keeps falling up to the line search's cap alpha_max (those steps are 'unbounded'), "
          "and ||grad E|| gets small only because ||w|| grows: no minimiser is reached.")
    return 0


def _E(X, y, w) -> float:
    net = mlplab.MLP([2, 1], bias=False, init=w.copy())
    return net.loss_and_grad(X, y, "squared")[0]


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        sys.stdout = None
        sys.exit(0)
