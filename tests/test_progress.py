import io
import logging

from zjfin._progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal():
    stream = FakeTerminal()
    p = Progress(["read", "validate"], stream=stream)
    with p.stage("read"):
        pass
    with p.stage("validate"):
        pass
    text = stream.getvalue()
    assert "\r" in text and "2/2 validate" in text and text.endswith("\n")
    assert list(p.timings) == ["read", "validate"] and all(v >= 0 for v in p.timings.values())


def test_log_lines_otherwise(caplog):
    stream = io.StringIO()
    p = Progress(["read"], stream=stream)
    with caplog.at_level(logging.INFO, logger="zjfin"):
        with p.stage("read"):
            pass
    assert stream.getvalue() == ""
    assert "[1/1] read:" in caplog.text


def test_disabled_is_silent(caplog):
    stream = FakeTerminal()
    p = Progress(["read"], stream=stream, enabled=False)
    with caplog.at_level(logging.INFO, logger="zjfin"):
        with p.stage("read"):
            pass
    assert stream.getvalue() == "" and caplog.text == "" and "read" in p.timings


def test_stages_on_threads_and_records(caplog):
    import threading

    p = Progress(["a", "b", "c"], stream=io.StringIO())
    barrier = threading.Barrier(2)

    def lane(name):
        with p.stage(name):
            barrier.wait(timeout=5)  # both stages are open at the same time

    with caplog.at_level(logging.INFO, logger="zjfin"):
        worker = threading.Thread(target=lane, args=("b",))
        worker.start()
        lane("a")
        worker.join()
        p.record("a_and_b_wall", 0.5)
        with p.stage("c"):
            pass
    assert set(p.timings) == {"a", "b", "c", "a_and_b_wall"} and p.timings["a_and_b_wall"] == 0.5
    # A recorded timing is not a stage: the count runs 1, 2 (in either order), then 3/3.
    assert "[3/3] c:" in caplog.text and "[1/3]" in caplog.text and "[2/3]" in caplog.text
