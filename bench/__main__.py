"""``python -m bench [--smoke] [--cases B1,B2,...] [--repeats N]``; see :mod:`bench`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

from bench import cases, cases_users, core, report
from bench.core import library_versions, machine_info, make_data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, nothing written")
    p.add_argument("--cases", default="B1,B2,B3,B4,B5,B6,B7,B8,B9,B10", help="comma-separated subset")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement")
    p.add_argument("--json", default=None, help="also write the rows as JSON to this file (any mode)")
    p.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                   help="folder for results.md / results.json (default: bench/)")
    args = p.parse_args(argv)
    sz = cases.SMOKE if args.smoke else cases.FULL
    if args.smoke:
        core.SETTLE_S = 0.0  # nothing is timed for real
    if args.repeats is not None:
        sz = replace(sz, repeats=args.repeats)
    wanted = {c.strip().upper() for c in args.cases.split(",")}
    data = make_data(sz.S, sz.n_in)

    rows = []
    # the GEMM peak is measured before B1 too, and B5 keeps the best: outside load can only lower it
    early_peaks = cases.gemm_peak(sz) if "B5" in wanted else []
    steps = [("B1", lambda: cases.b1(sz, data)), ("B2", lambda: cases.b2(sz, data)),
             ("B3", lambda: cases.b3(sz, data)), ("B4", lambda: cases.b4(sz, data)),
             ("B5", lambda: cases.b5(sz, [r for r in rows if r["case"].startswith("B1")], early_peaks)),
             ("B6", lambda: cases.b6(args.smoke)), ("B7", lambda: cases_users.b7(sz, data)),
             ("B8", lambda: cases_users.b8(sz, data)), ("B9", lambda: cases_users.b9(sz, data)),
             ("B10", lambda: cases_users.b10(sz, data))]
    for name, run in steps:
        if name in wanted:
            print(f"running {name} …", file=sys.stderr, flush=True)
            new = run()
            rows.extend(new)
            print(report.table(new), flush=True)

    info, versions = machine_info(), library_versions()
    print("\n" + "\n".join(report.ratios(rows)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "versions": versions, "rows": rows}, f)
    if not args.smoke:
        os.makedirs(args.out, exist_ok=True)
        command = "PYTHONPATH=src python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
        report.write(rows, info, versions, command.strip(), os.path.join(args.out, "results.md"),
                     os.path.join(args.out, "results.json"))
        print(f"\nwrote {args.out}/results.md and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
