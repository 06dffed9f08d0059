"""Fixtures shared by the tests; the builders live in builders.py."""

import pytest

from builders import minimal_tables


@pytest.fixture
def tables():
    return minimal_tables()

# Run by `make test-wheel` in a fresh environment with the built wheel, not by pytest
# (--doctest-modules would import it here).
collect_ignore = ["installed_package.py", "read_parquet_outputs.py"]
