import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import USCC_ALPHABET, org_check, uscc
from zjfin._codes import make_uscc, normalise_industry_code, org_code_check_char, region_code_status, uscc_status

bodies = st.text(alphabet="0123456789", min_size=8, max_size=8)
regions = st.sampled_from(["330102", "330782", "110105", "440305"])


def test_known_code_from_spec_is_valid():
    # SPEC §8 uses this code in its example.
    assert not uscc_status(["91330100799655058B"]).any(axis=None)
    assert org_check("79965505") == "8"


@settings(max_examples=200, deadline=None)
@given(org=bodies, region=regions)
def test_make_uscc_agrees_with_independent_builder(org, region):
    built = make_uscc(np.array(["91"]), np.array([region]), np.array([org]))[0]
    assert built == uscc(region, org)
    assert not uscc_status([built]).any(axis=None)


@settings(max_examples=200, deadline=None)
@given(org=bodies, position=st.integers(0, 17), replacement=st.sampled_from(USCC_ALPHABET))
def test_every_single_character_change_is_caught(org, position, replacement):
    code = uscc("330102", org)
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1:]
    status = uscc_status([changed]).iloc[0]
    # Weights 3^i mod 31 are units mod 31: any single substitution breaks the check.
    assert status["check_char"] or status["org_check"]
    assert not status["malformed"]


def test_malformed_codes():
    codes = ["91330100799655058", "91330100799655058BB", "9133010079965505IB", "91330100799655058b", None, 12345, ""]
    assert uscc_status(pd.Series(codes, dtype=object))["malformed"].tolist() == [True] * 7


def test_org_check_letters_and_x():
    # Org code body with letters; check values 10 -> X and 11 -> 0.
    for body in ["D2143569", "00000000", "12345678", "A0000000"]:
        assert org_code_check_char([body])[0] == org_check(body)


def test_region_codes():
    s = region_code_status(pd.Series(["330102", "3301", "33010a", "000000", None], dtype=object))
    assert s["malformed"].tolist() == [False, True, True, False, True]
    assert s["unknown_province"].tolist() == [False, False, False, True, False]


def test_industry_codes():
    r = normalise_industry_code(pd.Series(["c1711", "1711", "F5123", "K7010", "A17", "Z99", "C", "C12345", None], dtype=object))
    assert r["code"].tolist()[:5] == ["C1711", "C1711", "F5123", "K7010", "C17"]
    assert r["malformed"].tolist() == [False, False, False, False, False, True, True, True, True]
    assert r["section_mismatch"].tolist() == [False, False, False, False, True, False, False, False, False]
    assert r["section"].tolist()[:4] == ["C", "C", "F", "K"]


def _status_by_hand(code) -> tuple[bool, bool, bool]:
    """(malformed, check_char, org_check) computed one code at a time with the builders."""
    if not isinstance(code, str) or len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return True, False, False
    body = code[:17]
    total = sum(USCC_ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(body))
    return False, USCC_ALPHABET[(31 - total % 31) % 31] != code[17], org_check(code[8:16]) != code[16]


_codes = st.one_of(
    st.builds(uscc, regions, bodies),  # valid
    st.builds(lambda code, i, c: code[:i] + c + code[i + 1:], st.builds(uscc, regions, bodies), st.integers(0, 17),
              st.sampled_from(USCC_ALPHABET + "IOSVZa-")),  # one character changed
    st.text(alphabet=USCC_ALPHABET + "IZ", min_size=16, max_size=19),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(codes=st.lists(_codes, max_size=40), block=st.sampled_from([1, 3, 7, 1 << 16]))
def test_status_equals_a_code_by_code_check_at_any_block_size(codes, block):
    # Codes are checked a block at a time with float32 sums: the same verdicts as the
    # by-hand GB 32100 / GB 11714 computation, across block boundaries.
    from unittest import mock

    with mock.patch("zjfin._codes._USCC_BLOCK", block):
        got = uscc_status(pd.Series(codes, dtype=object))
    expected = [_status_by_hand(c) for c in codes]
    assert list(zip(got["malformed"], got["check_char"], got["org_check"])) == expected
