import io
import logging

from zjfin.progress import Progress


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
