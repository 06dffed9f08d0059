"""Vectorised checks and builders for Chinese identification codes.

Unified social credit codes (统一社会信用代码, GB 32100-2015), the organisation codes
embedded in them (组织机构代码, GB 11714-1997), county codes (GB/T 2260) and industry
codes (GB/T 4754-2017). Every function works on whole arrays: validation of a province
of firms is a handful of numpy operations, never a Python loop over firms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import pyarrow as pa
import pyarrow.compute as pc

from zjfin._arrow import arrow_text, as_text, distinct
from zjfin._schema import reference_table

__all__ = [
    "USCC_CHARSET",
    "uscc_check_char",
    "uscc_status",
    "org_code_check_char",
    "make_uscc",
    "region_code_status",
    "normalise_industry_code",
]

#: The 31 characters a unified social credit code may use (no I, O, Z, S, V).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of positions 1..17: 3^(i-1) mod 31 (GB 32100-2015 §4.2).
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
#: Weights of the 8 body characters of an organisation code (GB 11714-1997).
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

# Byte -> value lookups; -1 marks a character outside the code's alphabet.
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_CHARSET):
    _USCC_VALUE[ord(_c)] = _i
# Organisation codes value digits 0-9 and letters A=10 .. Z=35.
_ORG_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _ORG_VALUE[ord(_c)] = _i
_USCC_VALUE_F32 = _USCC_VALUE.astype(np.float32)
_ORG_VALUE_F32 = _ORG_VALUE.astype(np.float32)
_USCC_WEIGHTS_F32 = USCC_WEIGHTS.astype(np.float32)
_ORG_WEIGHTS_F32 = ORG_WEIGHTS.astype(np.float32)
_ORG_CHECK_BYTES = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # index 10 -> X, 11 -> 0
# Codes checked at a time (their values as float32: 4.7 MB, in cache).
_USCC_BLOCK = 1 << 16
_USCC_CHARS = np.frombuffer(USCC_CHARSET.encode("ascii"), dtype="S1")
_ORG_CHECK_CHARS = np.frombuffer(b"0123456789X0", dtype="S1")  # index 10 -> X, 11 -> 0


def _as_byte_matrix(codes: np.ndarray | pd.Series, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (n × width uint8 matrix, mask of entries that are ASCII of exactly ``width``).

    Text is read straight from the Arrow buffer: no Python string per code.
    """
    try:
        arr = arrow_text(codes).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # numbers among the codes: their text
        values = pd.Series(np.asarray(codes, dtype=object))
        arr = pa.array(values.astype(str).where(values.notna(), None), type=pa.string())
    ok = pc.fill_null(pc.and_(pc.equal(pc.binary_length(arr), width), pc.string_is_ascii(arr)), False)
    # Every slot of the filled array is exactly `width` bytes: its data buffer is the matrix.
    # The usual case, every code of the right shape, needs no filled copy.
    everyone = arr.null_count == 0 and bool(pc.all(ok).as_py() if len(arr) else True)
    filled = arr if everyone else pc.if_else(ok, arr, pa.scalar("0" * width, pa.string()))
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[filled.offset: filled.offset + len(filled) + 1]
    data = np.frombuffer(filled.buffers()[2], dtype=np.uint8) if len(filled) else np.zeros(0, np.uint8)
    matrix = data[offsets[0]: offsets[-1]].reshape(len(filled), width) if len(filled) else np.zeros((0, width), np.uint8)
    return matrix, ok.to_numpy(zero_copy_only=False)


def uscc_check_char(bodies: np.ndarray | pd.Series) -> np.ndarray:
    """Check character of 17-character USCC bodies (GB 32100-2015).

    Parameters
    ----------
    bodies : array of str
        The first 17 characters of each code, from ``USCC_CHARSET``.

    Returns
    -------
    numpy.ndarray of str
        One character per body; empty string where the body is malformed.

    Examples
    --------
    >>> uscc_check_char(["91330100799655058"]).tolist()
    ['B']
    """
    matrix, ok = _as_byte_matrix(bodies, 17)
    values = _USCC_VALUE[matrix]
    ok &= (values >= 0).all(axis=1)
    remainder = (np.where(values < 0, 0, values) @ USCC_WEIGHTS) % 31
    check = (31 - remainder) % 31
    return np.where(ok, _USCC_CHARS[check].astype(str), "")


def org_code_check_char(bodies: np.ndarray | pd.Series) -> np.ndarray:
    """Check character of 8-character organisation-code bodies (GB 11714-1997).

    C9 = 11 − (Σ value_i · w_i mod 11), written ``X`` for 10 and ``0`` for 11.

    Examples
    --------
    >>> org_code_check_char(["79965505"]).tolist()
    ['8']
    """
    matrix, ok = _as_byte_matrix(bodies, 8)
    values = _ORG_VALUE[matrix]
    ok &= (values >= 0).all(axis=1)
    check = 11 - (np.where(values < 0, 0, values) @ ORG_WEIGHTS) % 11
    return np.where(ok, _ORG_CHECK_CHARS[check].astype(str), "")


def uscc_status(codes: np.ndarray | pd.Series, checks: bool = True) -> pd.DataFrame:
    """Classify unified social credit codes.

    Returns a frame with one boolean column per finding, aligned with ``codes``:

    - ``malformed``: not 18 characters of ``0-9A-HJ-NPQRTUWXY`` (the row is unusable);
    - ``check_char``: well formed but the GB 32100 check character is wrong;
    - ``org_check``: well formed but the embedded organisation code (positions 9–17)
      fails its GB 11714 check.

    The two check findings are warnings: some early real codes fail them. With
    ``checks=False`` only the structure is examined (both check columns are False).

    Examples
    --------
    >>> uscc_status(["91330100799655058B", "91330100799655058A", "bad"]).to_dict("list")
    {'malformed': [False, False, True], 'check_char': [False, True, False], 'org_check': [False, False, False]}
    """
    matrix, ok = _as_byte_matrix(codes, 18)
    n = len(ok)
    well_formed = np.zeros(n, dtype=bool)
    check_bad = np.zeros(n, dtype=bool)
    org_bad = np.zeros(n, dtype=bool)
    # A block of codes at a time, the weighted sums as float32 matrix-vector products
    # (exact: every sum is below 2**24): the block stays in cache, no pass per character.
    for start in range(0, n, _USCC_BLOCK):
        rows = matrix[start: start + _USCC_BLOCK]
        block = slice(start, start + len(rows))
        values = _USCC_VALUE_F32[rows]
        formed = ok[block] & (values >= 0).all(axis=1)
        well_formed[block] = formed
        if not checks:
            continue
        remainder = np.rint(np.maximum(values[:, :17], 0) @ _USCC_WEIGHTS_F32).astype(np.int32) % 31
        check_bad[block] = formed & ((31 - remainder) % 31 != values[:, 17])
        org_sum = np.rint(_ORG_VALUE_F32[rows[:, 8:16]] @ _ORG_WEIGHTS_F32).astype(np.int32)
        org_bad[block] = formed & (_ORG_CHECK_BYTES[11 - org_sum % 11] != rows[:, 16])
    index = codes.index if isinstance(codes, pd.Series) else None
    return pd.DataFrame(
        {"malformed": ~well_formed, "check_char": check_bad, "org_check": org_bad}, index=index
    )


def make_uscc(
    registration: np.ndarray, region_codes: np.ndarray, org_bodies: np.ndarray
) -> np.ndarray:
    """Build valid codes from their parts.

    Parameters
    ----------
    registration : array of str
        Two characters: the registering authority and the entity category (``"91"`` for an
        enterprise registered with the market regulator).
    region_codes : array of str
        Six-digit GB/T 2260 codes.
    org_bodies : array of str
        Eight-character organisation-code bodies (digits and ``USCC_CHARSET`` letters).

    Examples
    --------
    >>> make_uscc(np.array(["91"]), np.array(["330100"]), np.array(["79965505"])).tolist()
    ['91330100799655058B']
    """
    registration = np.asarray(registration, dtype=str)
    region_codes = np.asarray(region_codes, dtype=str)
    org_bodies = np.asarray(org_bodies, dtype=str)
    org = np.char.add(org_bodies, org_code_check_char(org_bodies))
    body = np.char.add(np.char.add(registration, region_codes), org)
    return np.char.add(body, uscc_check_char(body))


def _spread(values: pa.Array, indices: pa.Array) -> np.ndarray:
    """Per-distinct booleans back to one per row (False where the code is missing)."""
    return pc.fill_null(pc.take(values, indices), False).to_numpy(zero_copy_only=False)


def region_code_status(codes: pd.Series) -> pd.DataFrame:
    """Classify county codes: ``malformed`` (not six digits) and ``unknown_province``
    (six digits whose two-digit prefix is no GB/T 2260 province).

    Examples
    --------
    >>> region_code_status(pd.Series(["330102", "33010", "990101"])).to_dict("list")
    {'malformed': [False, True, False], 'unknown_province': [False, False, True]}
    """
    values, indices = distinct(codes)
    well_formed = pc.match_substring_regex(values, r"^\d{6}$")
    provinces = pa.array(reference_table("gb2260_provinces")["code"].astype(str).str.zfill(2).tolist(), type=pa.string())
    known = pc.is_in(pc.utf8_slice_codeunits(values, 0, 2), value_set=provinces)
    malformed = ~_spread(well_formed, indices)
    unknown = ~malformed & ~_spread(known, indices)
    return pd.DataFrame({"malformed": malformed, "unknown_province": unknown}, index=codes.index)


def normalise_industry_code(codes: pd.Series) -> pd.DataFrame:
    """Normalise GB/T 4754-2017 codes and classify them.

    Accepts a section letter with 2–4 digits (``C1711``, ``C17``) or the digits alone
    (``1711``), whose section is inferred from the division. Returns columns ``code``
    (normalised: section letter + digits, upper case), ``section``, ``division`` (two
    digits), all text with missing values where the code is malformed, ``malformed`` (no
    usable division) and ``section_mismatch`` (the letter given is not the division's
    section; the division wins).

    Examples
    --------
    >>> r = normalise_industry_code(pd.Series(["C1711", "1711", "A17", "Z9"]))
    >>> r["code"].fillna("-").tolist(), r["malformed"].tolist(), r["section_mismatch"].tolist()
    (['C1711', 'C1711', 'C17', '-'], [False, False, False, True], [False, False, True, False])
    """
    values, indices = distinct(codes)
    text = pc.utf8_upper(pc.utf8_trim_whitespace(values))
    parts = pc.extract_regex(text, r"^(?P<letter>[A-Z]?)(?P<digits>\d{2,4})$")
    given, digits = pc.struct_field(parts, "letter"), pc.struct_field(parts, "digits")
    division = pc.utf8_slice_codeunits(digits, 0, 2)
    # The division's section, by a table of the hundred two-digit divisions.
    by_division = np.full(100, None, dtype=object)
    for row in reference_table("gb4754_2017_sections").itertuples():
        by_division[int(row.division_from): int(row.division_to) + 1] = row.section
    number = pc.cast(division, pa.int64()).to_numpy(zero_copy_only=False)
    section = pa.array(np.where(np.isnan(number), None, by_division[np.nan_to_num(number).astype(int)]), type=pa.string())
    usable = pc.is_valid(section)
    mismatch = pc.and_(usable, pc.and_(pc.not_equal(given, ""), pc.not_equal(given, section)))
    code = pc.binary_join_element_wise(section, digits, "")  # null where the section is
    missing = pa.scalar(None, pa.string())
    return pd.DataFrame(
        {
            "code": as_text(pc.take(code, indices), index=codes.index),
            "section": as_text(pc.take(section, indices), index=codes.index),
            "division": as_text(pc.take(pc.if_else(usable, division, missing), indices), index=codes.index),
            "malformed": ~_spread(usable, indices),
            "section_mismatch": _spread(mismatch, indices),
        },
        index=codes.index,
    )
