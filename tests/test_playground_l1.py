"""The playground's L1 λ₁ field: the session's E is the engine's Problem with that l1, training with it
shrinks Σ|W|, the form round-trips and validates it, and the page says it."""

from __future__ import annotations

from urllib.parse import parse_qs

import numpy as np
import pytest

from browser_helpers import artifacts_dir, browser, watch  # noqa: F401 - browser: the module-scoped fixture
from mlplab.objective import Problem
from mlplab.playground.build import describe_regulariser
from mlplab.playground.config import Config, FormError, parse
from mlplab.playground.session import Session
from playground_helpers import server  # noqa: F401 - server: the module-scoped fixture

FORM = {"dataset": "moons", "model": "mlp", "hidden": "8,8", "activations": ["tanh"], "loss": "binary_cross_entropy",
        "n_samples": "60", "optimizer": "gd-exact", "alpha_max": "100"}


def _abs_weights(s) -> float:
    return sum(float(np.abs(s.w[sl.W]).sum()) for sl in s.net.slices)


def test_session_E_is_the_problems_value_with_the_same_l1():
    cfg = parse({**FORM, "l1": "0.05", "l2": "0.01"})
    s = Session(cfg)
    P = Problem(s.net, s.X, s.y, "binary_cross_entropy", l1=0.05, l2=0.01)
    assert s.problem.l1 == 0.05
    assert s.E == pytest.approx(P.value(s.w), rel=1e-14)
    s.step(3)
    assert s.E == pytest.approx(P.value(s.w), rel=1e-14)
    plain = Session(parse(FORM))
    assert s.frame(surface=False)["loss"] != plain.frame(surface=False)["loss"]


@pytest.mark.parametrize("optimizer", ["gd-exact", "sgd"])
def test_training_with_l1_ends_with_a_smaller_sum_of_abs_weights(optimizer):
    form = {**FORM, "optimizer": optimizer, "schedule": "constant", "c": "0.1"}
    plain, sparse = Session(parse(form)), Session(parse({**form, "l1": "0.5"}))
    np.testing.assert_array_equal(plain.w, sparse.w)  # the same w^0
    plain.step(60)
    sparse.step(60)
    assert not plain.stopped and not sparse.stopped
    assert _abs_weights(sparse) < _abs_weights(plain)


def test_config_round_trips_l1():
    cfg = parse({**FORM, "l1": "0.25"})
    assert cfg.l1 == 0.25 and cfg.to_dict()["l1"] == 0.25
    again = parse(cfg.to_dict())
    assert again == cfg
    assert Config().l1 == 0.0 and parse({}).l1 == 0.0


@pytest.mark.parametrize("raw, words", [("-1", "≥ 0"), ("nan", "finite"), ("abc", "not a number"), ("", "required")])
def test_a_bad_l1_is_a_per_field_message(raw, words):
    with pytest.raises(FormError) as info:
        parse({**FORM, "l1": raw})
    assert set(info.value.errors) == {"l1"} and words in info.value.errors["l1"]


def test_the_page_says_the_regulariser_when_it_is_on():
    assert describe_regulariser(Config()) == ""
    assert describe_regulariser(Config(l1=0.01)) == "E = Σₛ eˢ + λ₁ Σ|Wᵢⱼ| (λ₁ = 0.01)"
    both = describe_regulariser(Config(l1=0.01, l2=0.5))
    assert "λ = 0.5" in both and "λ₁ = 0.01" in both
    s = Session(parse({**FORM, "l1": "0.01"}))
    assert "λ₁ = 0.01" in s.frame(surface=False)["regulariser"]
    assert Session(parse(FORM)).status()["regulariser"] == ""


# --- the page (Debian's Chromium through Playwright) ------------------------------------------------


T = 60_000  # ms


@pytest.fixture
def page_of(browser, server):  # noqa: F811
    """A function opening the playground at a URL in a fresh tab; the tab's errors and refused requests."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = []

    def open_tab(url=None):
        page = ctx.new_page()
        errors, external = [], []
        watch(page, server.url.rstrip("/") + "/", errors, external)
        page.goto(url or server.url, wait_until="load")
        page.wait_for_function("() => window.playground.frame", timeout=T)
        opened.append((errors, external))
        return page

    yield open_tab
    ctx.close()
    assert all(errors == [] and external == [] for errors, external in opened)


@pytest.mark.slow
def test_the_l1_field_is_in_the_address_restored_on_reload_and_said_on_the_page(page_of, tmp_path):
    page = page_of()
    for name, value in (("dataset", "moons"), ("hidden", "5"), ("l1", "0.05")):
        if name == "dataset":
            page.select_option(f"[data-field={name}]", value)
        else:
            page.fill(f"[data-field={name}]", value)
            page.dispatch_event(f"[data-field={name}]", "change")
    page.wait_for_function("() => window.playground.frame.config.l1 === 0.05", timeout=T)
    assert parse_qs(page.url.split("#", 1)[1])["l1"] == ["0.05"]
    page.wait_for_function("() => document.getElementById('netinfo').textContent.includes('λ₁ = 0.05')", timeout=T)
    again = page_of(page.url)
    again.wait_for_function("() => window.playground.frame.config.l1 === 0.05 && "
                            "window.playground.frame.config.dataset === 'moons'", timeout=T)
    assert again.input_value("[data-testid=l1]") == "0.05"
    again.fill("[data-field=l1]", "-1")
    again.dispatch_event("[data-field=l1]", "change")
    again.wait_for_function("() => document.querySelector('[data-err=l1]').textContent.includes('≥ 0')", timeout=T)
    assert again.eval_on_selector("[data-field=l1]", "e => e.classList.contains('bad')")
    again.screenshot(path=str(artifacts_dir(tmp_path) / "playground-l1.png"), full_page=True)
