"""Fixtures shared by the tests; the builders live in builders.py."""

import pytest

from builders import minimal_tables


@pytest.fixture
def tables():
    return minimal_tables()
