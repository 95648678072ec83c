"""The profile benchmark: parts that add up to the fit (no timing assertions)."""

import time

import pytest

from benchmarks import profile


def test_part_timer_keeps_each_part_own_time():
    timer = profile.PartTimer()
    inner = timer.wrap(lambda: time.sleep(0.02), "train steps")
    outer = timer.wrap(lambda: inner(), "train loop overhead")
    outer()
    assert timer.calls["train steps"] == timer.calls["train loop overhead"] == 1
    assert timer.seconds["train steps"] >= 0.02
    assert timer.seconds["train loop overhead"] < timer.seconds["train steps"]


@pytest.mark.slow
def test_parts_add_up_to_the_fit_and_the_patches_are_undone():
    before = {
        name: vars(owner).get(name)
        for owner, name in [
            (profile.AutoencoderNet, "train_step"),
            (profile.training, "fill_for_linear_start"),
        ]
    }
    config = profile.ProfileConfig.quick(
        datasets=("digits", "table"), table_rows=200, repeats=1
    )
    rows = profile.run(config, log=lambda message: None)
    assert {(row["dataset"], row["model"]) for row in rows} == {
        (data, model) for data in ("digits", "table 200x30") for model in profile.MODELS
    }
    for row in rows:
        assert row["steps"] > 0
        assert sum(row["parts"].values()) == pytest.approx(row["total"], rel=0.05)
    after = {
        name: vars(owner).get(name)
        for owner, name in [
            (profile.AutoencoderNet, "train_step"),
            (profile.training, "fill_for_linear_start"),
        ]
    }
    assert after == before
    assert profile.rst_table(rows, {"torch_threads": 1, "torch": "x", "cores": 2})
