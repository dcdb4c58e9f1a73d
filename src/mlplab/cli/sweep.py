"""``mlplab sweep``: many ``mlplab train`` runs from one spec (:mod:`mlplab.sweeps`).

    mlplab sweep SPEC.toml --out DIR [--backend local|ray] [--workers N] [--address ADDR] [--report sweep.html]
    mlplab sweep DIR --show [--report sweep.html] [--metric NAME] [--top N]
    mlplab sweep DIR --best best.toml [--metric NAME]     # then: mlplab train --config best.toml

Exit codes as everywhere: 0 (every run done or diverged), 2 (a user error, before
any run starts: one line naming the problem and the fix), 130 (Ctrl-C; 143 for
SIGTERM: the runs in flight go back to pending, the same command resumes), and 1
when some runs failed (their workers died three times, or they raised; see ``--show``).
"""

from __future__ import annotations

import sys


class _Display:
    """Progress of the sweep: a Rich bar on a terminal, one line per run otherwise, nothing when quiet."""

    def __init__(self, mode: str):
        self.mode, self.bar, self.done, self.total = mode, None, 0, 0
        self.counts = {}

    def start(self, outcome, n_todo, backend) -> None:
        self.total = n_todo
        if self.mode == "off":
            return
        n = len(outcome.ids)
        skip = f"{outcome.skipped} already done, " if outcome.skipped else ""
        print(f"sweep: {n} runs ({skip}{n_todo} to run) on a {backend.describe()}; results in "
              f"{outcome.out / 'results.sqlite'}", flush=True)
        if self.mode == "rich" and n_todo:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
                TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TimeRemainingColumn())
            self.task = self.bar.add_task("sweep", total=n_todo, stats="")
            self.bar.start()

    def result(self, row) -> None:
        from mlplab.sweeps import describe

        self.done += 1
        self.total = max(self.total, self.done)  # successive halving and TPE add runs as they go
        self.counts[row["status"]] = self.counts.get(row["status"], 0) + 1
        if self.mode == "rich" and self.bar is not None:
            stats = "  ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
            self.bar.update(self.task, completed=self.done, total=self.total, stats=stats)
        elif self.mode == "plain":
            what = (f"E={row['final_loss']:.4e}  ||grad E||={row['grad_norm']:.3e}  {row['seconds']:.2f} s"
                    if row["status"] == "done" and row["final_loss"] is not None else (row["error"] or ""))
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {row['status']:<8} {describe(row['combo'])}  {what}",
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _summary_json(out, runs, summary, outcome=None, report=None) -> dict:
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if hasattr(v, "item"):
            v = v.item()
            return None if isinstance(v, float) and not math.isfinite(v) else v
        return v

    counts = runs["status"].value_counts().to_dict()
    obj = {"out": str(out), "results": str(out / "results.sqlite"), "swept": runs.attrs.get("swept", []),
           "metric": summary.attrs.get("metric"),
           "runs": {"total": int(len(runs)), **{k: int(v) for k, v in counts.items()}},
           "configurations": [{k: clean(v) for k, v in row.items()} for row in summary.to_dict("records")],
           "report": None if report is None else str(report)}
    if outcome is not None:
        obj.update(skipped=outcome.skipped, backend=outcome.backend, seconds=outcome.seconds)
    return obj


def _cmd_best(args) -> int:
    """``mlplab sweep DIR --best BEST.toml``: the best run's settings as a train config file."""
    from pathlib import Path

    from mlplab.cli import UserError
    import mlplab.sweeps as S

    for flag, v in (("--out", args.out), ("--backend", args.backend), ("--workers", args.workers),
                    ("--address", args.address), ("--report", args.report)):
        if v is not None:
            raise UserError(f"{flag} does not apply to --best, which reads the results in {args.spec!r}; drop it")
    out = Path(args.spec)
    if not out.is_dir():
        raise UserError(f"--best needs the results folder of a sweep (the --out DIR it was run with), got "
                        f"{args.spec!r}")
    best = Path(args.best)
    if best.is_dir() or not (best.parent if str(best.parent) else Path(".")).is_dir():
        raise UserError(f"--best {args.best!r}: give a file path in an existing folder")
    try:
        options, row = S.best(out, args.metric, config=best)
    except S.SpecError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        from mlplab.cli.common import emit_json

        emit_json({"config": str(best), "run": int(row["id"]), "options": options,
                   "final_loss": row["final_loss"], "status": row["status"]})
    elif not args.quiet:
        print(f"best run: {int(row['id'])} (E = {row['final_loss']:.6g}); its settings are in {best}; rerun it with: "
              f"mlplab train --config {best} --out best.safetensors")
    return 0


def cmd_sweep(args) -> int:
    from pathlib import Path

    from mlplab.cli import UserError

    report = None
    if args.best is not None:
        return _cmd_best(args)
    if args.report:
        from mlplab.cli.reports import check_outputs

        report, _ = check_outputs(args.report, None)
    import mlplab.sweeps as S
    from mlplab.cli.common import emit_json as _emit_json
    from mlplab.sweeps import results

    interactive = sys.stdout.isatty() and not args.json and not args.quiet
    outcome = None
    try:
        if args.show:
            for flag, v in (("--out", args.out), ("--backend", args.backend), ("--workers", args.workers),
                            ("--address", args.address)):
                if v is not None:
                    raise UserError(f"{flag} does not apply to --show, which only reads the results in "
                                    f"{args.spec!r}; drop it")
            out = Path(args.spec)
            if not out.is_dir():
                raise UserError(f"--show needs the results folder of a sweep (the --out DIR it was run with), got "
                                f"{args.spec!r}")
            runs = S.load_runs(out, history=False)
        else:
            if args.out is None:
                raise UserError("mlplab sweep needs --out DIR, the folder for results.sqlite and the models "
                                f"(e.g. mlplab sweep {args.spec} --out sweep-out)")
            display = _Display("off" if args.quiet or args.json else "rich" if interactive else "plain")
            try:
                outcome = S.run(args.spec, args.out, backend=args.backend or "local", workers=args.workers,
                                address=args.address, on_start=display.start, on_result=display.result)
            except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (mlplab.cli.Terminated, a KeyboardInterrupt)
                display.close()
                terminated = type(exc).__name__ == "Terminated"
                print(f"mlplab: {'terminated (SIGTERM)' if terminated else 'interrupted'}; the runs done so far are in "
                      f"{Path(args.out) / 'results.sqlite'}, rerun the same command to finish the sweep",
                      file=sys.stderr)
                return 143 if terminated else 130
            finally:
                display.close()
            out = outcome.out
            runs = S.load_runs(out, outcome.ids, history=False)
        summary = S.summarize(runs, args.metric)
    except S.ClusterLost as exc:  # one line, exit 2 now: Ray's exit hook would retry the dead head for seconds
        import os

        display.close()
        sys.stdout.flush()
        print(f"mlplab: error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    except S.SpecError as exc:
        raise UserError(str(exc)) from None
    if report is not None:
        from mlplab.sweeps.report import write_report

        try:
            write_report(report, runs, out=out, metric=args.metric, top=args.top or 10)
        except OSError as exc:
            raise UserError(f"cannot write {str(report)!r}: {exc.strerror or exc}") from None
    if args.json:
        _emit_json(_summary_json(out, runs, summary, outcome, report))
    else:
        if len(summary):
            top = args.top or (len(summary) if len(summary) <= 50 else 20)
            shown = results.ranked(summary).head(top) if top < len(summary) else summary
            shown.attrs.update(summary.attrs)
            results.print_table(shown, rich=interactive, title=f"sweep results: {out}")
            if top < len(summary):
                print(f"({top} best of {len(summary)} configurations, ranked by {summary.attrs.get('metric')}; "
                      f"all of them: --json or --top {len(summary)})")
        else:
            print(f"{out}: no runs stored")
        if report is not None and not args.quiet:
            print(f"report: {report}", file=sys.stderr)
    failed = int((runs["status"] == "failed").sum())
    if failed and not args.show:
        print(f"mlplab: {failed} of {len(runs)} runs failed (see the error column: `mlplab sweep {out} --show "
              f"--json`); rerun the sweep to try them again", file=sys.stderr)
        return 1
    return 0
