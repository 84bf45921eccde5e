"""Handoff files for the tax side: .xlsx and UTF-8 .csv with the same rows, and a JSON manifest.

Byte-identical on every export of a batch: the rows come from the batch's stored lines, the workbook's
document dates are the batch's creation time, and the zip entries carry that time too.

Amounts are numbers: numeric cells with a 0.00 format in the workbook, plain -300.00 in the CSV (format 2).
Batches made before that (format 1) wrote them as text, neutralised like any text ('-300.00); their files
are rebuilt that way, since a re-export must match the bytes the tax side received.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import socket
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reports.tables import MONEY_FORMAT, append_row, csv_text, neutralise, start_sheet, strip_formulas

REFUND_COLUMNS = ("序号", "社会保障号码", "姓名", "险种", "费款所属期", "退费金额", "退费原因", "退费日期", "银行流水号",
                  "经办机构", "记录类型", "原批次号", "原序号")  # fmt: skip
SUBSIDY_COLUMNS = ("序号", "社会保障号码", "姓名", "险种", "费款所属期", "代缴金额", "代缴依据", "乡镇（街道）", "经办机构",
                   "记录类型", "原批次号", "原序号")  # fmt: skip
TEXT_COLUMNS = {"社会保障号码", "银行流水号", "经办机构", "原批次号"}
AMOUNT_COLUMNS = {"退费金额", "代缴金额"}
FORMAT_TEXT_AMOUNTS, FORMAT_NUMERIC_AMOUNTS = 1, 2
CURRENT_FORMAT = FORMAT_NUMERIC_AMOUNTS


def _cells(columns: Sequence[str], row: Sequence[object], file_format: int) -> list[object]:
    """A stored row as written: amounts (stored as text such as "-300.00") as numbers from format 2 on."""
    if file_format < FORMAT_NUMERIC_AMOUNTS:
        return [neutralise(v) for v in row]
    return [Decimal(v) if c in AMOUNT_COLUMNS and isinstance(v, str) and v else neutralise(v)
            for c, v in zip(columns, row, strict=True)]  # fmt: skip


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _zip_time(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    return (
        max(moment.year, 1980),
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second - moment.second % 2,
    )


def _normalise_zip(path: Path, moment: dt.datetime) -> None:
    """Rewrite a zip (an .xlsx) with fixed entry times and order: the same content gives the same bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    # openpyxl stamps the save time into the document properties: put the batch's own time there.
    entries = [
        (name, _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", data) if name == "docProps/core.xml" else data)
        for name, data in entries
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_zip_time(moment))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def write_xlsx(
    path: Path,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    moment: dt.datetime,
    file_format: int = CURRENT_FORMAT,
) -> None:
    from openpyxl import Workbook  # loads when a batch is written, not with every command

    wb = Workbook()
    wb.properties.created = moment
    wb.properties.modified = moment
    wb.properties.creator = "居民养老保险征缴业务系统"
    wb.properties.lastModifiedBy = "居民养老保险征缴业务系统"
    ws = wb.active
    ws.title = "传递明细"
    start_sheet(ws, columns, title, title_size=12)
    formats = {i + 1: "@" for i, c in enumerate(columns) if c in TEXT_COLUMNS}
    formats.update({i + 1: MONEY_FORMAT for i, c in enumerate(columns) if c in AMOUNT_COLUMNS})
    longest = [0] * len(columns)
    for row in rows:
        cells = _cells(columns, row, file_format)
        append_row(ws, cells, formats)
        for i, value in enumerate(cells):
            text = f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
            longest[i] = max(longest[i], len(text))
    for i, column in enumerate(columns):  # wide enough for an 18-digit ID and the amounts, never cut
        ws.column_dimensions[chr(65 + i)].width = max(10, len(column) * 2 + 4, longest[i] + 4)
    strip_formulas(wb)
    wb.save(path)
    _normalise_zip(path, moment)


def write_csv(
    path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]], file_format: int = CURRENT_FORMAT
) -> None:
    """UTF-8 without a BOM, CRLF (see README, 税务传递文件): the tax side's loader reads plain UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        if file_format < FORMAT_NUMERIC_AMOUNTS:
            writer.writerow(["" if v is None else neutralise(str(v)) for v in row])
        else:
            writer.writerow([csv_text(v) for v in _cells(columns, row, file_format)])
    path.write_bytes(buffer.getvalue().encode("utf-8"))


# -- staging: files appear under their names only after the batch is committed ---------------------------------

_PART = re.compile(
    r"^\.(?P<name>.+\.(?:xlsx|csv|manifest\.json))\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)\.part$"
)
_FOREIGN_AGE = 3600  # seconds: another PC's unfinished file this old belongs to a writer that is gone


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def part_name(name: str) -> str:
    """The temporary name of a handoff file while its batch is not committed: names this PC and process."""
    return f".{name}.{_host()}-{os.getpid()}.part"


@dataclass
class Staged:
    """A batch's files written under temporary names beside their final ones."""

    folder: Path
    temps: dict[str, Path]  # final name -> temporary file
    hashes: dict[str, str]

    def commit(self) -> None:
        """Give the files their names (after the batch row is committed)."""
        for name, temp in self.temps.items():
            os.replace(temp, self.folder / name)
        _fsync_dir(self.folder)

    def discard(self) -> None:
        for temp in self.temps.values():
            temp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if os.name == "posix":  # Windows has no directory handles to flush
        _fsync(folder)


def stage_batch(
    out_dir: Path,
    batch_no: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    manifest: dict,
    moment: dt.datetime,
    file_format: int = CURRENT_FORMAT,
) -> Staged:
    """Write the three files under temporary names (removed again if anything fails)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {"xlsx": f"{batch_no}.xlsx", "csv": f"{batch_no}.csv", "manifest": f"{batch_no}.manifest.json"}
    temps = {key: out_dir / part_name(name) for key, name in names.items()}
    staged = Staged(out_dir, {names[k]: temps[k] for k in names}, {})
    try:
        write_xlsx(temps["xlsx"], title, columns, rows, moment, file_format)
        write_csv(temps["csv"], columns, rows, file_format)
        staged.hashes = {names["xlsx"]: sha256(temps["xlsx"]), names["csv"]: sha256(temps["csv"])}
        body = {**manifest, "files": staged.hashes}
        temps["manifest"].write_bytes(
            (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        )
        for temp in temps.values():
            _fsync(temp)
    except BaseException:
        staged.discard()
        raise
    return staged


@dataclass(frozen=True)
class Orphan:
    path: Path  # the temporary file
    name: str  # the handoff file it would have become


def orphans(folder: Path) -> list[Orphan]:
    """Temporary handoff files in a folder whose writer is gone (killed, crashed, powered off)."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _PART.match(entry.name)
        if match and _writer_gone(match["host"], int(match["pid"]), entry):
            found.append(Orphan(entry, match["name"]))
    return sorted(found, key=lambda o: o.path.name)


def _writer_gone(host: str, pid: int, path: Path) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    if host != _host() or os.name != "posix":  # another PC (or no way to ask): only when old
        return age > _FOREIGN_AGE
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def write_batch(
    out_dir: Path,
    batch_no: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    manifest: dict,
    moment: dt.datetime,
    file_format: int = CURRENT_FORMAT,
) -> dict[str, str]:
    """Write the three files under temporary names, then move them into place. Returns name -> SHA-256."""
    staged = stage_batch(out_dir, batch_no, title, columns, rows, manifest, moment, file_format)
    try:
        staged.commit()
    finally:
        staged.discard()
    return staged.hashes
