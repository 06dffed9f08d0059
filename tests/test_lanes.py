"""The lane runner (zjfin._lanes): named tasks with declared inputs on two lanes."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zjfin
from zjfin._lanes import WAITING, Lanes, side_by_side, threads


def test_inputs_are_passed_by_name_with_arguments():
    with Lanes(2) as lanes:
        lanes.task("a", lambda: 2)
        lanes.task("b", lambda a, k: a + k, inputs=("a",), lane=1, k=10)
        lanes.task("c", lambda a, b: a * b, inputs=("a", "b"))
    assert (lanes["a"], lanes["b"], lanes["c"]) == (2, 12, 24)
    assert "b" in lanes and "d" not in lanes


@pytest.mark.parametrize("n_jobs,second_thread", [(1, False), (2, True)])
def test_the_second_lane_is_a_thread_only_with_two(n_jobs, second_thread):
    caller = threading.get_ident()
    with Lanes(n_jobs) as lanes:
        lanes.task("here", threading.get_ident)
        lanes.task("there", threading.get_ident, lane=1)
    assert lanes["here"] == caller
    assert (lanes["there"] != caller) is second_thread


def test_the_second_lane_runs_its_tasks_in_order():
    seen = []
    with Lanes(2) as lanes:
        for k in range(20):
            lanes.task(f"t{k}", lambda k=k: seen.append(k) or k, lane=1)
    assert seen == list(range(20))


def test_an_input_must_come_first():
    with Lanes(1) as lanes:
        with pytest.raises(ValueError, match="no earlier task gives"):
            lanes.task("b", lambda a: a, inputs=("a",))
        lanes.task("a", lambda: 1)
        with pytest.raises(ValueError, match="added twice"):
            lanes.task("a", lambda: 1)
        with pytest.raises(ValueError, match="lane must be 0 or 1"):
            lanes.task("c", lambda: 1, lane=2)


def test_an_error_on_the_second_lane_reaches_the_caller_and_drops_queued_work():
    ran = []

    def fail():
        raise zjfin.PolicyError("boom")

    with pytest.raises(zjfin.PolicyError, match="boom"):
        with Lanes(2) as lanes:
            lanes.task("slow", lambda: time.sleep(0.2), lane=1)
            lanes.task("fail", fail, lane=1)
            lanes.task("later", lambda: ran.append(1), lane=1)
            lanes.task("reads", lambda fail: fail, inputs=("fail",))  # waits, then raises here
    assert ran == []  # queued after the failure: cancelled, not run


def test_reading_a_task_the_failure_stopped_raises_the_failure():
    def fail():
        raise zjfin.PolicyError("the cause")

    with pytest.raises(zjfin.PolicyError, match="the cause"):
        with Lanes(2) as lanes:
            lanes.task("fail", fail, lane=1)
            lanes.task("next", lambda: 1, lane=1)
            lanes.task("reads", lambda next: next, inputs=("next",))


def test_an_unread_error_on_the_second_lane_is_raised_on_close():
    def fail():
        raise RuntimeError("unread")

    with pytest.raises(RuntimeError, match="unread"):
        with Lanes(2) as lanes:
            lanes.task("fail", fail, lane=1)


def test_an_error_on_the_first_lane_propagates_at_once():
    def fail():
        raise KeyError("here")

    with pytest.raises(KeyError):
        with Lanes(1) as lanes:
            lanes.task("fail", fail)


def test_timings_per_task_with_the_second_lanes_label_and_the_wait():
    timings: dict[str, float] = {}
    with Lanes(2, timings=timings, second_lane_label="lane 2: ") as lanes:
        lanes.task("slow", lambda: time.sleep(0.15), lane=1)
        lanes.task("quick", lambda: None)
        lanes.task("after", lambda slow: None, inputs=("slow",))
    assert set(timings) == {"lane 2: slow", "quick", "after", WAITING}
    assert timings["lane 2: slow"] >= 0.14 and timings[WAITING] > 0.05


def test_a_stage_reports_each_task():
    from zjfin._progress import Progress

    progress = Progress(["a", "b"], enabled=False)
    with Lanes(1, stage=progress.stage) as lanes:
        lanes.task("a", lambda: 1)
        lanes.task("b", lambda: 2, lane=1)
    assert set(progress.timings) == {"a", "b"}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(-5, 5)), min_size=1, max_size=12))
def test_one_thread_or_two_give_the_same_results(plan):
    """Each task adds its number to the sum of the results of the tasks before it."""
    def run(n_jobs):
        with Lanes(n_jobs) as lanes:
            for k, (lane, number) in enumerate(plan):
                inputs = tuple(f"t{j}" for j in range(k))
                lanes.task(f"t{k}", lambda number=number, **before: number + sum(before.values()),
                           inputs=inputs, lane=lane)
        return [lanes[f"t{k}"] for k in range(len(plan))]

    expected, total = [], 0
    for _, number in plan:
        expected.append(number + total)
        total += expected[-1]
    assert run(1) == run(2) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_threads_are_checked(bad):
    with pytest.raises(zjfin.ParameterError, match="n_jobs must be"):
        threads(bad)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_side_by_side_keeps_the_items_order_and_shares_the_lanes(n_jobs):
    seen = []
    out = side_by_side(lambda x: (seen.append(threading.get_ident()), x * 10)[1], list(range(7)), n_jobs)
    assert out == [0, 10, 20, 30, 40, 50, 60]
    assert len(set(seen)) == n_jobs  # every other item on the worker thread
    assert side_by_side(abs, [], n_jobs) == []


def test_side_by_side_raises_an_items_error():
    def fail_on_three(x):
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        side_by_side(fail_on_three, [1, 2, 3, 4], 2)
