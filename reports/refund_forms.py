"""Refund forms: 退费审批表 (one A4 per case), 退费申请表 and 缴费证明 (three copies each), and the monthly fund
request to the county finance bureau (PDF and .xlsx)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from fpdf.enums import XPos, YPos
from openpyxl import Workbook
from openpyxl.styles import Font

from reports.pdf_kit import FAMILY, Column, Document, Roster, draw_roster
from reports.tables import append_row, neutralise, save_workbook, start_sheet

ROW = 7.5
COPIES = ("第一联：乡镇税务分局留存", "第二联：乡镇人社所留存", "第三联：县人社局（医保局）留存")


@dataclass
class CaseForm:
    case_no: str
    insurance: str
    name: str
    sex: str
    id_number: str
    township: str
    phone: str
    reason: str
    payments: Sequence[
        tuple[str, str, str, str, str, str, str]
    ]  # year, kind, voucher, paid, date, channel, refund
    amount: str
    amount_capital: str
    account: tuple[str, str, str]  # name, number, bank
    documents: str
    state: str
    trail: Sequence[tuple[str, str, str, str]]  # time, step, who, note
    entered_by: str
    passed_by: str
    reviewed_by: str
    applied_on: str = ""
    paid_total: str = ""  # what the listed payments came to (缴费证明)
    paid_total_capital: str = ""  # the day the tax branch accepted the application (YYYY年MM月DD日)


def _grid(doc: Document, rows: Sequence[Sequence[tuple[str, str]]], label_w: float = 26) -> None:
    """Label/value rows; a row with one pair spans the full width."""
    for pairs in rows:
        _room(doc, doc.label_row_height(pairs, label_w, ROW))
        doc.label_row(pairs, label_w, ROW)


def _payments(doc: Document, form: CaseForm, rows_min: int = 3) -> None:
    widths = [14, 18, 50, 22, 22, 0, 22]  # a 20-digit voucher number whole
    widths[5] = doc.content_width - sum(widths)
    headers = ["年度", "类型", "税票号码", "实缴（元）", "缴费日期", "缴费渠道", "退费（元）"]
    doc.set_fill_color(230, 236, 245)
    doc.row(headers, widths, ROW, fill=True)
    for p in form.payments:
        if _room(doc, doc.row_height(list(p), widths, ROW)):  # a long list goes on overleaf, under its header
            doc.set_fill_color(230, 236, 245)
            doc.row(headers, widths, ROW, fill=True)
        doc.row(list(p), widths, ROW, ["C", "C", "C", "R", "C", "L", "R"])
    for _ in range(max(0, rows_min - len(form.payments))):
        doc.row([""] * 7, widths, ROW)


def _title(doc: Document, title: str, right: str) -> None:
    doc.set_font(FAMILY, size=16)
    doc.cell(doc.content_width, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(FAMILY, size=10)
    doc.cell(doc.content_width, 6, right, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


OPINION, SIGN, NOTE = "opinion", "sign", "note"
SIGN_HEIGHT = 30.0  # mm, a signature box on the approval sheet


def _bottom(doc: Document) -> float:
    """The lowest a form may draw: 15 mm from the page's edge, clear of the page-number footer."""
    return doc.h - 15


def _room(doc: Document, height: float) -> bool:
    """A new page when ``height`` mm would run past the page's foot (a form grown tall by wrapped cells or a
    long payment list); whether it took one."""
    if doc.get_y() + height <= _bottom(doc):
        return False
    doc.add_page()
    return True


def _signatures(
    doc: Document, boxes: Sequence[tuple[str, str] | tuple[str, str, str]], height: float = SIGN_HEIGHT
) -> None:
    """Boxes two per row: a label, who (if known), and room to sign, date and stamp. A box is an office's
    opinion (signed and stamped), a person's signature (签字 and date, no stamp), or a note."""
    half = doc.content_width / 2
    _room(doc, height * ((len(boxes) + 1) // 2))  # the signatures whole, never cut at the page's foot
    for i in range(0, len(boxes), 2):
        y = doc.get_y()
        for n, box in enumerate(boxes[i : i + 2]):
            label, who, kind = (*box, OPINION) if len(box) == 2 else box  # type: ignore[misc]
            x = doc.l_margin + n * half
            doc.rect(x, y, half, height)
            doc.set_xy(x + 2, y + 2)
            doc.cell(
                half - 4, 6, {OPINION: f"{label}意见：", SIGN: f"{label}（签字）：", NOTE: f"{label}："}[kind]
            )
            if kind == NOTE:
                continue
            doc.set_xy(x + 2, y + height - 14)
            # A person's box says 签字 in its label already: once is enough (who, if known, stands alone).
            doc.cell(half - 4, 6, f"签字：{who}" if kind == OPINION else who)
            doc.set_xy(x + 2, y + height - 8)
            stamp = "（盖章）　　　　　　" if kind == OPINION else ""
            doc.cell(half - 4, 6, f"{stamp}年　　月　　日", align="R")
        doc.set_xy(doc.l_margin, y + height)


def _wrapped(doc: Document, label: str, text: str, label_w: float = 26) -> None:
    """A label and a long value that wraps inside its cell instead of being cut."""
    value_w = doc.content_width - label_w
    y = doc.get_y()
    doc.set_xy(doc.l_margin + label_w, y)
    doc.multi_cell(value_w, ROW, text or " ", border=1, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = doc.get_y()
    doc.set_xy(doc.l_margin, y)
    doc.set_fill_color(240, 240, 240)
    doc.cell(label_w, bottom - y, label, border=1, align="C", fill=True)
    doc.set_xy(doc.l_margin, bottom)


def _approval_page(doc: Document, title: str, form: CaseForm) -> None:
    doc.add_page()
    _title(doc, title, f"案件编号：{form.case_no}　　状态：{form.state}")
    _grid(doc, [
        [("姓名", form.name), ("性别", form.sex)],
        [("身份证号码", form.id_number), ("所属乡镇", form.township)],
        [("险种", form.insurance), ("联系电话", form.phone)],
    ])  # fmt: skip
    _wrapped(doc, "退费原因", form.reason)
    _payments(doc, form)
    _grid(doc, [
        [("退费金额", f"¥{form.amount}"), ("大写", form.amount_capital)],
        [("收款人户名", form.account[0]), ("开户行", form.account[2])],
        [("银行账号", form.account[1])],
        [("已收材料", form.documents or "无")],
    ])  # fmt: skip
    doc.ln(2)
    widths = [34, 22, 30, 0]
    widths[3] = doc.content_width - sum(widths)
    doc.set_fill_color(230, 236, 245)
    doc.row(["时间", "环节", "经办人", "说明"], widths, 6.5, fill=True)
    doc.set_font(FAMILY, size=9)
    # The latest steps (up to eight) that leave room for the signatures: a wrapped note takes more than a line.
    room = _bottom(doc) - doc.get_y() - 3 - 2 * SIGN_HEIGHT
    steps: list[Sequence[str]] = []
    for t in reversed(form.trail[-8:]):
        room -= doc.row_height(list(t), widths, 6.5)
        if room < 0:
            break
        steps.insert(0, t)
    for t in steps or form.trail[-1:]:
        doc.row(list(t), widths, 6.5, ["C", "C", "C", "L"])
    doc.set_font(FAMILY, size=10)
    doc.ln(3)
    _signatures(doc, [("经办人", form.entered_by), ("乡镇人社所", form.passed_by),
                      ("县人社局审核", form.reviewed_by), ("分管领导", "")], SIGN_HEIGHT)  # fmt: skip


def write_approval_sheets(path: str | os.PathLike, title: str, forms: Sequence[CaseForm]) -> None:
    doc = Document(footer_note=title)
    for form in forms:
        _approval_page(doc, title, form)
    doc.save(path)


def write_application(path: str | os.PathLike, county: str, form: CaseForm) -> None:
    """退费申请表 and 缴费证明, three copies each, each copy marked with who keeps it."""
    doc = Document()
    for copy in COPIES:
        doc.add_page()
        _title(doc, f"{county}社会保险费退费申请表", f"{copy}　　编号：{form.case_no}")
        _grid(doc, [
            [("申请人", form.name), ("身份证号码", form.id_number)],
            [("险种", form.insurance), ("联系电话", form.phone)],
            [("所属乡镇", form.township), ("申请日期", form.applied_on)],
        ])  # fmt: skip
        _wrapped(doc, "退费原因", form.reason)
        _payments(doc, form)
        _grid(doc, [
            [("申请退费金额", f"¥{form.amount}"), ("大写", form.amount_capital)],
            [("收款人户名", form.account[0]), ("开户行", form.account[2])],
            [("银行账号", form.account[1])],
            [("附送材料", form.documents or "无")],
        ])  # fmt: skip
        doc.ln(4)
        _room(doc, 14)
        doc.multi_cell(doc.content_width, 6, "本人承诺以上信息真实有效，所缴费款确属应退，退费款项请转入上述银行账户。",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        doc.ln(2)
        _signatures(doc, [("申请人", "", SIGN), ("乡镇税务分局受理", "")], height=26)
    for copy in COPIES:
        doc.add_page()
        _title(doc, f"{county}城乡居民社会保险缴费证明", f"{copy}　　编号：{form.case_no}")
        _grid(
            doc,
            [
                [("缴费人", form.name), ("身份证号码", form.id_number)],
                [("险种", form.insurance), ("所属乡镇", form.township)],
            ],
        )
        _payments(doc, form)
        _grid(doc, [[("缴费合计", f"¥{form.paid_total}"), ("大写", form.paid_total_capital)]])
        doc.ln(4)
        _room(doc, 14)
        doc.multi_cell(doc.content_width, 6, "兹证明上述人员已按所列税票缴纳社会保险费，特此证明。", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)  # fmt: skip
        doc.ln(2)
        _signatures(doc, [("乡镇税务分局", ""), ("备注", "", NOTE)], height=26)
    doc.save(path)


FUND_HEADERS = (
    "案件编号",
    "乡镇",
    "姓名",
    "身份证号码",
    "收款人户名",
    "银行账号",
    "开户行",
    "退费金额（元）",
)


def write_fund_request_pdf(
    path: str | os.PathLike,
    title: str,
    by_township: Sequence[tuple[str, int, int]],
    payees: Sequence[tuple[str, str, str, str, str, str, str, int]],
    *,
    unit: str,
    money: Callable[[int], str],
    capital: str,
) -> None:
    doc = Document(landscape=True, footer_note=title)
    doc.add_page()
    _title(doc, title, f"申请单位：{unit}")
    widths = [80.0, 40.0, 60.0]
    left = doc.l_margin + (doc.content_width - sum(widths)) / 2  # the summary table centred on the page
    doc.set_fill_color(230, 236, 245)
    doc.set_x(left)
    doc.row(["乡镇（街道）", "件数", "金额（元）"], widths, ROW, fill=True)
    for town, count, fen in by_township:
        doc.set_x(left)
        doc.row([town, str(count), money(fen)], widths, ROW, ["C", "C", "R"])
    total = sum(f for _, _, f in by_township)
    doc.set_x(left)
    doc.row(
        ["合计", str(sum(n for _, n, _ in by_township)), money(total)],
        widths,
        ROW,
        ["C", "C", "R"],
        fill=True,
    )
    doc.ln(3)
    doc.set_x(left)
    doc.cell(sum(widths), ROW, f"申请金额合计（大写）：{capital}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.ln(3)
    # Signed, dated and stamped on the first page, which is the one the finance bureau files.
    doc.signature_block(
        ["经办人（签字）：", "审核人（签字）：", "分管领导（签字）：", "申请单位（盖章）："], height=24
    )
    doc.cell(
        doc.content_width,
        ROW,
        "申请日期：　　　　年　　月　　日",
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    columns = [Column("案件编号", 34), Column("乡镇", 24), Column("姓名", 20), Column("身份证号码", 42),
               Column("收款人户名", 24), Column("银行账号", 50), Column("开户行", 0, "L"), Column("退费金额（元）", 30, "R")]  # fmt: skip
    columns[6].width = doc.content_width - sum(c.width for c in columns)
    draw_roster(doc, Roster(
        title=f"{title}——收款人清单", columns=columns, count_label="件数",
        rows=[(*p[:7], money(p[7])) for p in payees], amount_column=7, amounts=[p[7] for p in payees], money=money,
        signatures=("经办人：", "审核人：", "分管领导：", "县财政局（盖章）："),
    ))  # fmt: skip
    doc.save(path)


def write_fund_request_xlsx(
    path: str | os.PathLike,
    title: str,
    by_township: Sequence[tuple[str, int, int]],
    payees: Sequence[tuple[str, str, str, str, str, str, str, int]],
) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "收款人清单"
    start_sheet(ws, FUND_HEADERS, title)
    for p in payees:
        append_row(
            ws, [*(neutralise(v) for v in p[:7]), Decimal(p[7]) / 100], {4: "@", 6: "@", 8: "#,##0.00"}
        )
    total = Decimal(sum(p[7] for p in payees)) / 100
    append_row(ws, ["合计", "", f"{len(payees)} 件", "", "", "", "", total], {8: "#,##0.00"}, Font(bold=True))
    for letter, width in zip("ABCDEFGH", (18, 12, 10, 22, 12, 26, 24, 14), strict=True):
        ws.column_dimensions[letter].width = width
    summary = wb.create_sheet("按乡镇汇总")
    start_sheet(summary, ("乡镇（街道）", "件数", "金额（元）"))
    for town, count, fen in by_township:
        append_row(summary, [neutralise(town), count, Decimal(fen) / 100], {3: "#,##0.00"})
    append_row(summary, ["合计", sum(n for _, n, _ in by_township), Decimal(sum(f for _, _, f in by_township)) / 100],
               {3: "#,##0.00"}, Font(bold=True))  # fmt: skip
    save_workbook(wb, path)
