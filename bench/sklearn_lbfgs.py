"""solver="lbfgs" fit time: mlplab's MLPClassifier against scikit-learn's on small data (wine, moons).

Both single-threaded BLAS (threadpoolctl), the same estimator settings and random_state, fits
interleaved (ours, theirs, ours, ...) so drifts in machine load hit both; the median of ``--repeats``
fits each, and their ratio. Run: ``python -m bench.sklearn_lbfgs [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings


def _cases():
    from sklearn.datasets import load_wine, make_moons
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    Xm, ym = make_moons(300, noise=0.2, random_state=0)
    return {"wine, scaled (178×13)": (StandardScaler().fit_transform(X), y),
            "wine, raw (178×13)": (X, y),
            "moons (300×2)": (Xm, ym)}


def _fit_seconds(cls, X, y, **kw):
    est = cls(solver="lbfgs", random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        est.fit(X, y)
        return (time.perf_counter() - t0, time.process_time() - c0), est


SETTINGS = ({"hidden_layer_sizes": (100,)}, {"hidden_layer_sizes": (10,)}, {"hidden_layer_sizes": (20, 20)})


def run(repeats=5, settings=SETTINGS):
    from sklearn.neural_network import MLPClassifier as Theirs
    from threadpoolctl import threadpool_limits

    from mlplab.sklearn import MLPClassifier as Ours

    rows = []
    with threadpool_limits(limits=1):
        for name, (X, y) in _cases().items():
            for kw in settings:
                _fit_seconds(Ours, X, y, **kw), _fit_seconds(Theirs, X, y, **kw)  # warm-up (imports, caches)
                ours, theirs = [], []
                for _ in range(repeats):
                    t, a = _fit_seconds(Ours, X, y, **kw)
                    ours.append(t)
                    t, b = _fit_seconds(Theirs, X, y, **kw)
                    theirs.append(t)
                wall = [statistics.median(t[0] for t in runs) for runs in (ours, theirs)]
                cpu = [statistics.median(t[1] for t in runs) for runs in (ours, theirs)]
                rows.append(dict(case=name, settings=kw, ours=wall[0], theirs=wall[1], ratio=wall[0] / wall[1],
                                 cpu_ours=cpu[0], cpu_theirs=cpu[1], cpu_ratio=cpu[0] / cpu[1],
                                 n_iter=(a.n_iter_, b.n_iter_), score=(a.score(X, y), b.score(X, y))))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print("median seconds per fit (wall; CPU = process time, less sensitive to other load); ratio = mlplab/sklearn")
    print(f"{'case':22} {'hidden':9} {'mlplab':>8} {'sklearn':>8} {'ratio':>6} {'CPU ml':>8} {'CPU sk':>8} "
          f"{'ratio':>6}  n_iter")
    for r in run(args.repeats):
        print(f"{r['case']:22} {str(r['settings']['hidden_layer_sizes']):9} {r['ours']:8.4f} {r['theirs']:8.4f} "
              f"{r['ratio']:6.2f} {r['cpu_ours']:8.4f} {r['cpu_theirs']:8.4f} {r['cpu_ratio']:6.2f}  "
              f"{r['n_iter'][0]}/{r['n_iter'][1]}")


if __name__ == "__main__":
    main()
