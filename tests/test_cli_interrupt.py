"""Ctrl-C/SIGTERM during ``mlplab train``: what is saved, what is said, what is never overwritten.

The interrupt is raised from inside the training callback at a chosen record (deterministic, no timing):
the same KeyboardInterrupt a signal raises there. The subprocess tests with real signals are in
test_cli.py and test_cli_failures.py."""

import re

import numpy as np
import pytest

import mlplab
from cli_helpers import cli


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] > 0).astype(int)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,label", comments="", fmt="%.17g")
    return path, X, y


def interrupt_at(monkeypatch, n_records, **override):
    """mlplab.train whose callback raises KeyboardInterrupt at record number ``n_records`` (0 = the first);
    ``override``: keywords of mlplab.train to change."""
    real, seen = mlplab.train, []

    def train(*args, callback=None, **kw):
        kw.update(override)
        def cb(rec):
            seen.append(dict(rec))
            stop = callback(rec) if callback is not None else False
            if len(seen) > n_records:
                raise KeyboardInterrupt
            return stop

        return real(*args, callback=cb, **kw)

    monkeypatch.setattr(mlplab, "train", train)
    return seen


def true_E(path, X, y) -> float:
    net, meta = mlplab.io.load_network(path)
    c = meta["extra"]["cli"]
    E, _ = net.loss_and_grad(X, y, c["loss"], l2=c["l2"], reduction=c["reduction"])
    return float(E)


RUN = ["--target", "label", "--no-standardize", "--optimizer", "sgd", "--lr", "0.05", "--hidden", "4",
       "--epochs", "50", "--eval-every", "7", "--quiet"]


def test_an_interrupt_before_the_first_step_leaves_an_existing_model_untouched(tmp_path, capsys, monkeypatch,
                                                                               data):
    path, X, y = data
    model = tmp_path / "good.safetensors"
    assert cli(capsys, "train", path, *RUN, "--out", model)[0] == 0
    before = model.read_bytes()
    interrupt_at(monkeypatch, 0)  # at the record of w^0: no step taken
    code, _, err = cli(capsys, "train", path, *RUN, "--seed", "5", "--out", model)
    assert code == 130, err
    assert "before the first training step" in err and "nothing was saved" in err and "unchanged" in err, err
    assert len(err.strip().splitlines()) == 1
    assert model.read_bytes() == before


def test_an_interrupt_before_the_first_step_writes_no_file(tmp_path, capsys, monkeypatch, data):
    path, X, y = data
    interrupt_at(monkeypatch, 0)
    code, _, err = cli(capsys, "train", path, *RUN, "--out", tmp_path / "m.safetensors")
    assert code == 130 and "nothing was saved" in err and "unchanged" not in err, err
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("n_records", [1, 2, 3, 5])
def test_the_saved_model_and_the_reported_E_are_measured_on_all_samples(tmp_path, capsys, monkeypatch, data,
                                                                        n_records):
    """Between the exact ends the records are block estimates (off by several %): the saved model is the
    lowest exactly measured E among the exact records after w^0 and the weights at the interrupt, and the
    E printed and stored is that model's true E."""
    path, X, y = data
    model = tmp_path / "m.safetensors"
    seen = interrupt_at(monkeypatch, n_records)
    code, _, err = cli(capsys, "train", path, *RUN, "--out", model)
    assert code == 130, err
    assert not all(r["exact"] for r in seen[1:]), "the run must have block estimates between its ends"
    E = true_E(model, X, y)
    printed = float(re.search(r"E = ([-+0-9.e]+) on all 120 training samples", err).group(1))
    assert printed == pytest.approx(E, rel=1e-5), err
    _, meta = mlplab.io.load_network(model)
    stored = meta["extra"]["cli"]["training"]
    assert stored["interrupted"] is True and stored["best_loss"] == pytest.approx(E, rel=1e-12)
    exact_after_start = [r["loss"] for r in seen[1:] if r["exact"]]
    assert all(E <= e + 1e-12 for e in exact_after_start)
    if stored["best_k"] is None:
        assert "the weights at the interrupt" in err
    else:
        assert f"iteration {stored['best_k']}" in err
        assert any(r["k"] == stored["best_k"] and r["exact"] for r in seen)


def test_the_lowest_exact_record_wins_over_worse_weights_at_the_interrupt(tmp_path, capsys, monkeypatch, data):
    """A step size that makes E rise after the first epochs: the model saved is the earlier, better one."""
    path, X, y = data
    model = tmp_path / "m.safetensors"
    seen = interrupt_at(monkeypatch, 6, monitor="epoch")  # every record exact
    code, _, err = cli(capsys, "train", path, *RUN[:-7], "--lr", "4", "--epochs", "50", "--eval-every", "1",
                       "--quiet", "--diverge-factor", "1e9", "--out", model)
    assert code == 130, err
    losses = [r["loss"] for r in seen]
    assert all(r["exact"] for r in seen) and min(losses[1:]) < losses[-1], losses  # E rose again
    E = true_E(model, X, y)
    assert E == pytest.approx(min(losses[1:]), rel=1e-12)
    best_k = seen[1 + int(np.argmin(losses[1:]))]["k"]
    assert f"(iteration {best_k}, E = {E:.6g} on all 120" in err, err
