"""The lists workbook ``lists/三张名单.xlsx`` (SPEC §7).

One sheet per list with the Chinese headers of ``data_schemas/lists.json`` — 关注名单
(watch), 纾困名单 (relief), 优质企业名单 (quality), 中小企业融资需求名单 (sme_funding) — then
a 说明 sheet: as-of date, zjfin version, each list's definition and count, and the full
policy. openpyxl writes the frame of the workbook (styles, widths, the frozen header, filters, 说明);
the rows of each list sheet are streamed into its XML column-wise with Arrow kernels, at
hundreds of thousands of rows a second. A list longer than Excel's 1,048,575 rows a sheet
continues on 名单(2), 名单(3) …, as 说明 says.

The bytes depend on the inputs alone: the document properties carry the as-of date and
every zip entry the same timestamp, so two exports of one screening are identical.

Number formats, by the column's unit (``number_format``):

- money (``yuan``) and counts of persons or days: ``#,##0``;
- ``ratio`` columns that are shares (pledge ratio, contagion loss, guarantees / equity):
  ``0.00%``;
- ``cash_to_st_debt`` (a multiple, quoted as 倍), ``list_score`` and unitless scores
  (``z2_score``, ``mujun_score``): ``0.00``;
- ``systemic_impact``: ``0.00E+00`` — shares of the province's assets of 1e-7 … 1e-4 would
  all read 0.00 %;
- ``priority`` and other unitless integers: ``0``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from zjfin._version import __version__
from zjfin._arrow import arrow_text, as_text
from zjfin._lists import LIST_FILES
from zjfin._write import escape_formulas, escape_text
from zjfin._policy import Policy
from zjfin._schema import Column, list_table, table_schema

__all__ = ["SHEETS", "NOTES_SHEET", "MAX_DATA_ROWS", "list_definitions", "number_format", "column_widths",
           "write_lists_workbook"]

#: Sheet of each list, in the workbook's order (``data_schemas/reference/lists.csv``); the
#: 说明 sheet follows.
SHEETS: dict[str, str] = dict(zip(LIST_FILES, list_table().loc[list(LIST_FILES), "sheet"]))
NOTES_SHEET = "说明"
_SIZES_ZH = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型", "unknown": "规模未知"}

_UNIT_FORMATS = {"yuan": "#,##0", "money": "#,##0", "person": "#,##0", "day": "#,##0", "ratio": "0.00%"}
# Ratio columns that are not shares, and shares too small for two decimals of a percent.
_COLUMN_FORMATS = {"cash_to_st_debt": "0.00", "list_score": "0.00", "systemic_impact": "0.00E+00"}
# How Python prints a value in each number format: for the column widths.
_PY_FORMATS = {"#,##0": "{:,.0f}", "0.00%": "{:.2%}", "0.00": "{:.2f}", "0": "{:.0f}", "0.00E+00": "{:.2E}"}
_MAX_WIDTH = 60


def number_format(column: Column) -> str | None:
    """The Excel number format of a list column (None: General).

    Examples
    --------
    >>> lists = table_schema("lists")
    >>> [number_format(lists.column(c)) for c in ("revenue", "pledge_ratio", "cash_to_st_debt", "z2_score", "priority", "name")]
    ['#,##0', '0.00%', '0.00', '0.00', '0', None]
    """
    if column.name in _COLUMN_FORMATS:
        return _COLUMN_FORMATS[column.name]
    if column.unit in _UNIT_FORMATS:
        return _UNIT_FORMATS[column.unit]
    return {"float": "0.00", "int": "0", "date": "yyyy-mm-dd"}.get(column.type)


def _text_width(values: Any) -> int:
    """Widest text in display columns: a CJK character (3 UTF-8 bytes) counts two."""
    text = arrow_text(values)
    if len(text) == 0 or text.null_count == len(text):
        return 0
    chars = pc.utf8_length(text)
    wide = pc.divide(pc.subtract(pc.binary_length(text), chars), 2)
    widest = pc.max(pc.add(chars, wide)).as_py()
    return int(widest or 0)


def column_widths(frame: pd.DataFrame, headers: list[str], formats: list[str | None]) -> list[int]:
    """Column widths (in characters) from the header and the widest value, capped at 60.

    Examples
    --------
    >>> f = pd.DataFrame({"name": ["杭州某某科技有限公司", "x"], "revenue": [1234567.0, None]})
    >>> column_widths(f, ["企业名称", "营业收入"], [None, "#,##0"])
    [22, 11]
    """
    widths = []
    for name, header, fmt in zip(frame.columns, headers, formats):
        column = frame[name]
        if pd.api.types.is_bool_dtype(column.dtype):
            content = len("FALSE")
        elif pd.api.types.is_numeric_dtype(column.dtype):
            values = column.to_numpy(dtype=float, na_value=np.nan)
            values = values[np.isfinite(values)]
            # The extremes print widest (most digits, or a minus sign).
            pattern = _PY_FORMATS.get(fmt or "", "{}")
            content = max((len(pattern.format(v)) for v in (values.min(), values.max())), default=0) if values.size else 0
        else:
            content = _text_width(column.dropna().astype(str))
        widths.append(min(_MAX_WIDTH, max(_text_width([header]), content) + 2))
    return widths


# Characters no XML document may hold: openpyxl's control characters, U+FFFE and U+FFFF.
_NOT_XML = ILLEGAL_CHARACTERS_RE.pattern + "|[\\x{FFFE}\\x{FFFF}]"


def _has_control_bytes(text: Any) -> bool:
    """Whether any string holds a control character other than tab, LF and CR: one pass
    over the UTF-8 bytes (in UTF-8 those bytes are never part of another character)."""
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        raw = np.frombuffer(data, dtype=np.uint8)
        low = raw[raw < 0x20]
        if low.size and not np.isin(low, (9, 10, 13)).all():
            return True
        # U+FFFE and U+FFFF (EF BF BE / EF BF BF) are no XML characters either.
        lead = np.flatnonzero(raw[:-2] == 0xEF)
        if lead.size and ((raw[lead + 1] == 0xBF) & (raw[lead + 2] >= 0xBE)).any():
            return True
    return False


def _clean_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the control characters XML cannot hold, then escape formulas as in the CSV
    files (in that order: what is left after the drop is what a spreadsheet sees)."""
    out = frame.copy(deep=False)
    for name in out.columns:
        if pd.api.types.is_string_dtype(out[name]):
            text = arrow_text(out[name].astype(object).where(out[name].notna(), None))
            if _has_control_bytes(text):
                out[name] = as_text(pc.replace_substring_regex(text, _NOT_XML, ""), index=out.index)
    return escape_formulas(out)


def _write_list_sheet(wb: Workbook, title: str, frame: pd.DataFrame) -> None:
    """The sheet's frame through openpyxl: widths, frozen header, filter, the header row,
    and one template row whose cells carry each column's style (read back by
    :func:`_stream_sheet`, which writes the data rows in its place, column by column)."""
    schema = table_schema("lists")
    columns = [schema.column(name) for name in frame.columns]
    formats = [number_format(c) for c in columns]
    headers = [c.label_zh for c in columns]
    ws = wb.create_sheet(title)
    # Widths, panes and filter go before the first row: write-only sheets stream in order.
    for i, width in enumerate(column_widths(frame, headers, formats), 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{len(frame) + 1}"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, header)
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    template = []
    for fmt in formats:  # a styled placeholder per formatted column: its s="…" is read back
        cell = WriteOnlyCell(ws, 0)
        if fmt is not None:
            cell.number_format = fmt
        template.append(cell if fmt is not None else None)
    ws.append(template)


def _escape(value: Any) -> Any:
    """One cell of the 说明 sheet: text escaped as in the CSV files, lists as JSON text."""
    if isinstance(value, (list, tuple, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return escape_text([re.sub("[\ufffe\uffff]", "", ILLEGAL_CHARACTERS_RE.sub("", value))])[0][0].as_py()
    return value


def _policy_rows(values: Mapping[str, Any], section: str = "") -> list[tuple[str, str, Any]]:
    """(section, key, value) rows of a nested policy dict; sub-tables become dotted sections."""
    rows: list[tuple[str, str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            rows.extend(_policy_rows(value, f"{section}.{key}" if section else key))
        else:
            rows.append((section, key, value))
    return rows


def list_definitions(policy: Policy) -> dict[str, str]:
    """Each list's definition in Chinese, with the thresholds of ``policy``.

    Examples
    --------
    >>> list_definitions(Policy.default())["sme_funding"][:16]
    '企业规模为中型、小型、微型，具备'
    """
    p = policy.lists
    labels = {c.name: c.label_zh for c in table_schema("screening").columns}
    fields = {
        "risks": "、".join(labels.get(r, r) for r in p.risks) or "各项风险",
        "quality_max_pd": f"{p.quality_max_pd:.0%}",
        "quality_top_share": f"{p.quality_top_share:.0%}",
        "sme_sizes": "、".join(_SIZES_ZH.get(s, s) for s in p.sme_sizes),
    }
    return {name: text.format(**fields) for name, text in list_table()["definition_zh"].items()}


def _write_notes_sheet(wb: Workbook, as_of: pd.Timestamp, policy: Policy, counts: Mapping[str, int],
                       dataset: str | None, continued: Mapping[str, list[str]] | None = None) -> None:
    ws = wb.create_sheet(NOTES_SHEET)
    for letter, width in zip("ABCD", (26, 34, 26, 100)):
        ws.column_dimensions[letter].width = width
    bold = Font(bold=True)

    def heading(*texts: str) -> list[Any]:
        cells = []
        for text in texts:
            cell = WriteOnlyCell(ws, text)
            cell.font = bold
            cells.append(cell)
        return cells

    order = [*policy.lists.precedence, "none"]
    ws.append(heading("三张名单说明"))
    ws.append(["数据截止日（as-of）", as_of.strftime("%Y-%m-%d")])
    ws.append(["zjfin 版本", __version__])
    if dataset:
        ws.append(["数据集", _escape(str(dataset))])
    names = list_table()["name_zh"]
    ws.append(["名单优先顺序", " > ".join(names.get(n, n) for n in order)])
    ws.append(["名单规则", "每家企业只列入一张名单，同时符合多张名单条件时取优先顺序在前者。"
                     "各名单按行政区划代码、再按优先级排序；优先级为名单内同一县（市、区）的排名，1 为最先。"])
    ws.append(["单位", "金额为元；比例以百分比显示；现金短债比为倍数。"])
    for name, titles in (continued or {}).items():
        ws.append(["续表", f"{names.get(name, name)}超过Excel单表上限（{MAX_DATA_ROWS:,}行），依次续于工作表："
                           + "、".join(titles)])
    ws.append([])
    ws.append(heading("名单（list）", "工作表", "企业数", "定义"))
    definitions = list_definitions(policy)
    count_style = WriteOnlyCell(ws)
    count_style.number_format = "#,##0"
    for name in names.index:
        count = WriteOnlyCell(ws, int(counts.get(name, 0)))
        count._style = count_style._style
        ws.append([name, SHEETS.get(name, names[name]), count, definitions[name]])
    total = WriteOnlyCell(ws, int(sum(counts.get(n, 0) for n in names.index)))
    total._style = count_style._style
    ws.append(["合计", "", total, ""])
    ws.append([])
    ws.append(heading("政策参数（policy）"))
    ws.append(heading("部分（section）", "参数（key）", "取值（value）"))
    for section, key, value in _policy_rows(policy.to_dict()):
        ws.append([section, key, _escape(value)])


class _StampedZip(zipfile.ZipFile):
    """A zip archive whose entries all carry one timestamp, whatever the clock says."""

    def __init__(self, file: str | os.PathLike[str], stamp: tuple[int, int, int, int, int, int]) -> None:
        # Level 1: a province's sheet is hundreds of MB of XML; deflating it harder costs
        # more time than all the rest of the workbook and saves a few per cent.
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=1)
        self._stamp = stamp

    def info(self, name: str, size: int | None = None) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = 1  # what ZipFile.open(info, "w") uses
        info.external_attr = 0o600 << 16
        if size is not None:
            info.file_size = size  # lets zipfile pick ZIP64 up front for a very large sheet
        return info

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self.info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: str | None = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        name = arcname if arcname is not None else os.fspath(filename)
        # Streamed, not read whole: a sheet of 300,000 rows is a few hundred MB of XML.
        with open(filename, "rb") as src, self.open(self.info(name, os.path.getsize(filename)), "w") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def write_lists_workbook(lists: Mapping[str, pd.DataFrame], path: str | os.PathLike[str], *,
                         as_of: Any, policy: Policy, counts: Mapping[str, int] | None = None,
                         dataset: str | None = None) -> None:
    """Write ``三张名单.xlsx``: a sheet per list, then 说明.

    Parameters
    ----------
    lists : mapping of list name to DataFrame
        The rows of ``watch``, ``relief``, ``quality`` and ``sme_funding`` with columns of
        ``data_schemas/lists.json`` (see :func:`zjfin._lists.list_rows`); a missing list
        gives a sheet with headers only.
    path : path
        The file to write.
    as_of : date-like
        Shown on 说明 and stamped on the document properties and zip entries.
    policy : Policy
        Written in full on 说明; its thresholds fill the list definitions.
    counts : mapping of list name to int, optional
        Firms per list, ``none`` included; default: the rows of ``lists``.
    dataset : str, optional
        The dataset's name, shown on 说明.

    Examples
    --------
    >>> import tempfile, zjfin
    >>> from openpyxl import load_workbook
    >>> from zjfin._lists import list_rows
    >>> res = zjfin.screen(zjfin.datasets.synthetic_province(300, seed=1), as_of="2019-03-31")
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "三张名单.xlsx"
    >>> frames = {name: list_rows(res.screening, name) for name in SHEETS}
    >>> write_lists_workbook(frames, path, as_of=res.as_of, policy=res.policy)
    >>> wb = load_workbook(path, read_only=True)
    >>> wb.sheetnames
    ['关注名单', '纾困名单', '优质企业名单', '中小企业融资需求名单', '说明']
    >>> [c.value for c in next(wb["纾困名单"].iter_rows(max_row=1))][:3]
    ['统一社会信用代码', '企业名称', '行政区划代码']
    >>> wb.close(); folder.cleanup()
    """
    as_of = pd.Timestamp(as_of)
    names = table_schema("lists").names
    counts = dict(counts) if counts is not None else {name: len(frame) for name, frame in lists.items()}
    wb = Workbook(write_only=True)
    wb.properties.creator = "zjfin"
    wb.properties.title = "三张名单"
    sheets: list[tuple[str, pd.DataFrame]] = []  # (title, rows), in the workbook's order
    continued: dict[str, list[str]] = {}
    for name, title in SHEETS.items():
        frame = lists.get(name)
        if frame is None:
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in names})
        frame = _clean_text(frame)
        # Excel holds 1,048,575 data rows a sheet: a longer list goes on 名单(2), 名单(3) …
        parts = [frame.iloc[i:i + MAX_DATA_ROWS] for i in range(0, len(frame), MAX_DATA_ROWS)] or [frame]
        titles = [title if k == 0 else f"{title}({k + 1})" for k in range(len(parts))]
        if len(parts) > 1:
            continued[name] = titles
        for sheet_title, part in zip(titles, parts):
            _write_list_sheet(wb, sheet_title, part)
            sheets.append((sheet_title, part))
    _write_notes_sheet(wb, as_of, policy, counts, dataset, continued)
    # The frame of the workbook (styles, 说明, properties) by openpyxl, in memory; then the
    # archive again, each list sheet's rows streamed in.

    def stream_rows(archive: _StampedZip, name: str, template: bytes) -> bool:
        sheet = _sheet_number(name)
        if sheet is None or sheet > len(sheets):
            return False
        _stream_sheet(archive, name, template, sheets[sheet - 1][1])
        return True

    save_stamped(wb, path, as_of, rewrite=stream_rows)


def _unstamped_bytes(wb: Workbook) -> bytes:
    """The workbook as an uncompressed archive in memory, its properties as set: through
    ExcelWriter, because ``wb.save()`` stamps "modified" with the clock."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as scratch:
        ExcelWriter(wb, scratch).save()
    return buffer.getvalue()


def save_stamped(wb: Workbook, path: str | os.PathLike[str], day: Any,
                 rewrite: Callable[[_StampedZip, str, bytes], bool] | None = None) -> None:
    """Save ``wb`` so that its bytes depend on its content and ``day`` alone: document
    properties and every zip entry carry that date, never the clock. ``rewrite(archive,
    name, data)`` may write an entry itself (returning True), as the list sheets are streamed."""
    day = pd.Timestamp(day)
    stamp = dt.datetime(max(day.year, 1980), day.month, day.day)  # zip dates start in 1980
    wb.properties.created = wb.properties.modified = stamp
    with zipfile.ZipFile(io.BytesIO(_unstamped_bytes(wb))) as source, \
            _StampedZip(Path(path), (stamp.year, stamp.month, stamp.day, 0, 0, 0)) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if rewrite is None or not rewrite(target, info.filename, data):
                target.writestr(info.filename, data)


#: Data rows a sheet holds (Excel's 1,048,576 rows, the header included).
MAX_DATA_ROWS = 1_048_575
# Rows turned into XML at a time: bounds the memory of a province-sized list.
_STREAM_ROWS = 50_000


def _sheet_number(name: str) -> int | None:
    match = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", name)
    return int(match.group(1)) if match else None


def _stream_sheet(archive: "_StampedZip", name: str, template: bytes, frame: pd.DataFrame) -> None:
    """A list sheet: openpyxl's XML around ``<sheetData>`` kept, its header row kept, its
    template row's styles read, and the data rows written column-wise in Arrow."""
    text = template.decode("utf-8")
    start, end = text.index("<sheetData>") + len("<sheetData>"), text.index("</sheetData>")
    rows = re.findall(r"<row [^>]*>.*?</row>", text[start:end], flags=re.S)
    header, style_row = rows[0], rows[1] if len(rows) > 1 else ""
    styles = {letter: s for letter, s in re.findall(r'<c r="([A-Z]+)2" s="(\d+)"', style_row)}
    # ZIP64 up front: a streamed sheet's size is not known before it is written.
    with archive.open(archive.info(name), "w", force_zip64=True) as out, _two_threads() as pool:
        out.write(text[:start].encode("utf-8"))
        out.write(header.encode("utf-8"))
        # Deflating one block (zlib lets go of the GIL) while the next is built.
        pending = None
        for first in range(0, len(frame), _STREAM_ROWS):
            block = _rows_xml(frame.iloc[first:first + _STREAM_ROWS], first + 2, styles, pool)
            if pending is not None:
                pending.result()
            pending = pool.submit(out.write, block)
        if pending is not None:
            pending.result()
        out.write(text[end:].encode("utf-8"))


def _two_threads() -> ThreadPoolExecutor:
    """Two threads for the workbook: Arrow's kernels and zlib run without the GIL."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="zjfin-xlsx")


def _rows_xml(frame: pd.DataFrame, first_row: int, styles: Mapping[str, str],
             pool: ThreadPoolExecutor | None = None) -> bytes:
    """``<row>`` elements for ``frame`` from spreadsheet row ``first_row`` on, built column
    by column with Arrow kernels (no Python per cell): numbers with their column's style,
    booleans, text as inline strings; empty and non-finite cells left out."""
    n = len(frame)
    if not n:
        return b""
    row = pa.array(np.arange(first_row, first_row + n, dtype=np.int64)).cast(pa.string())
    letters = [get_column_letter(j + 1) for j in range(len(frame.columns))]
    jobs = [(frame[name], letter, row, styles.get(letter)) for name, letter in zip(frame.columns, letters)]
    cells = list(pool.map(lambda job: _cells(*job), jobs)) if pool is not None else [_cells(*job) for job in jobs]
    pieces: list[Any] = ['<row r="', row, '">', *cells, "</row>"]
    joined = pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in pieces], "")
    joined = joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined
    # The rows side by side are the array's value buffer between its first and last offset.
    _, offsets, data = joined.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=joined.offset + len(joined) + 1)
    begin, stop = int(bounds[joined.offset]), int(bounds[-1])
    return data[begin:stop].to_pybytes() if data is not None else b""


def _cells(column: pd.Series, letter: str, row: pa.Array, style: str | None) -> pa.Array:
    """One column's ``<c>`` elements; an empty cell is ``<c/>`` (no reference needed: cells
    take their place in order, which keeps a row's XML short)."""
    s = f' s="{style}"' if style is not None else ""
    if pd.api.types.is_bool_dtype(column.dtype):
        values = pd.array(column, dtype="boolean")
        bit = pa.array(np.where(values.to_numpy(dtype=bool, na_value=False), "1", "0"),
                       mask=np.asarray(values.isna(), dtype=bool))
        prefix = f'<c{s} t="b"><v>'
        suffix = "</v></c>"
        text = bit
    elif pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        missing = ~np.isfinite(values)  # Excel has no NaN or infinity
        if pd.api.types.is_integer_dtype(column.dtype):
            text = pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing).cast(pa.string())
        else:
            text = pa.array(values, mask=missing).cast(pa.string())
        prefix, suffix = f'<c{s} t="n"><v>', "</v></c>"
    else:
        text = arrow_text(column.astype(object).where(column.notna(), None))
        text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        if pc.any(pc.match_substring_regex(text, "[&<>\r]")).as_py():  # most columns have none: one pass
            for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
                text = pc.replace_substring(text, raw, entity)
        prefix, suffix = f'<c{s} t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"
    cell = pc.binary_join_element_wise(pa.scalar(prefix), text, pa.scalar(suffix), "")  # null stays null
    return pc.fill_null(cell, "<c/>")
