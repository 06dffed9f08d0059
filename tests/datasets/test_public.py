"""Readers of the public credit data sets: errors for files that are not what they claim."""

import pytest

from zjfin.datasets.public import read_german_credit, read_polish_bankruptcy
from zjfin._errors import InputFileError


def test_files_that_are_not_the_data_sets_are_refused(tmp_path):
    text = tmp_path / "x.data"
    text.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(InputFileError, match="expected 21 columns"):
        read_german_credit(text)
    with pytest.raises(InputFileError, match="not an ARFF file"):
        read_polish_bankruptcy(text)
    with pytest.raises(InputFileError, match="cannot be read"):
        read_polish_bankruptcy(tmp_path / "absent.arff")


def test_a_small_arff_file(tmp_path):
    path = tmp_path / "tiny.arff"
    path.write_text("@relation r\n@attribute Attr1 numeric\n@attribute class {0,1}\n@data\n0.5,0\n?,1\n")
    X, y = read_polish_bankruptcy(path)
    assert X["Attr1"].isna().tolist() == [False, True] and y.tolist() == [0, 1]
