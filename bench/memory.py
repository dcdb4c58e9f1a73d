"""``python -m bench.memory LIBRARY [--smoke]``: B1 float32 once, then print peak RSS as JSON.

Run in a fresh process per library so that peaks do not mix. "data only" is the
floor every library shares: Python, NumPy and the 60,000 × 784 float32 data.
"""

from __future__ import annotations

import json
import resource
import sys

import numpy as np


def main(argv):
    from bench.core import FULL, SMOKE, glorot_weights, make_data

    lib, smoke = argv[0], "--smoke" in argv
    sz = SMOKE if smoke else FULL
    data = make_data(sz.S, sz.n_in)
    sizes = (sz.n_in, sz.hidden, 10)
    init = glorot_weights(sizes, "float32")
    order = np.random.default_rng(1).permutation(sz.S)
    args = (data, sizes, "sigmoid", init, "float32", sz.batch, sz.lr)
    if lib == "mlplab":
        from bench import impl_mlplab

        impl_mlplab.epoch(*args, order)
    elif lib == "sklearn":
        from bench import impl_sklearn

        impl_sklearn.epoch(*args)
    elif lib == "torch":
        from bench import impl_torch

        impl_torch.epoch(*args, order)
    elif lib != "data only":
        raise SystemExit(f"unknown library {lib!r}")
    print(json.dumps({"peak_rss_mib": peak_rss_mib(),
                      "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_rss_mib() -> float:
    """This process's own peak RSS: VmHWM of /proc/self/status where there is one.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is the fallback only: Linux carries the
    parent's high-water mark over fork and execve, so a child started by a large
    parent reports the parent's peak (both are in the JSON).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
