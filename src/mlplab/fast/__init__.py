"""The speed paths, beneath the training loop and apart from the lecture's formulas.

Each computes what the lecture core (:mod:`mlplab.network`, :mod:`mlplab.objective`) computes,
faster, and is tested equal to it (bit for bit, or to rounding where a sum runs in another order):

* :mod:`.blas` — every large product through one BLAS (SciPy's), on the thread count that
  measures faster for its shape (``thread_policy``); ``axpy``, ``dot``, ``all_finite``.
* :mod:`.workspace` — reused Z^ℓ, δ^ℓ buffers and parameter views (no allocation per block).
* :mod:`.sgd_steps` — one-sample SGD steps in place (BLAS ``ger``), or whole runs of them in
  :mod:`.compiled` (Numba) or :mod:`.scalar` (Python floats, tiny float64 networks).
* :mod:`.kernels` — the training loop's step kernels: general (any optimizer), fused
  mini-batch, one-sample BLAS, compiled one-sample SGD; :func:`.kernels.choose` picks one.

Tests: ``tests/test_fast_paths.py``, ``test_compiled.py``, ``test_loop_kernels.py``,
``test_pinned_compiled.py``.
"""
