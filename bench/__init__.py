"""mlplab's benchmark against scikit-learn and PyTorch (issue 6).

Run from the repository root::

    PYTHONPATH=src python -m bench            # the full run, writes bench/results.{md,json}
    PYTHONPATH=src python -m bench --smoke    # tiny sizes, a few seconds, nothing written

Cases (every installed library in the same run, same work for each):

* B1 epoch throughput — one epoch of mini-batch SGD (|B| = 128, constant γ)
  on synthetic MNIST-shaped data (60,000 × 784, 10 classes); 784-300-10
  sigmoid/softmax cross-entropy in float32 and float64, 784-512-512-10 relu.
* B2 per-sample SGD — the lecture's SGD (|B| = 1, γ_k = 1/(k+1)) on a
  2-2-1 sigmoid net (no biases, the lecture's toy data) and on 784-300-10;
  steps per second.
* B3 full-batch GD with the exact line search on 10,000 samples of B1.
* B4 per-sample gradients ∇e^s for S = 1,024 on 784-300-10.
* B5 roofline: the machine's GEMM peak and B1's FLOP-bound time.
* B6 peak resident memory of B1, one fresh process per library.
"""
