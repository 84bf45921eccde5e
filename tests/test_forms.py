"""Issue 18's printed forms: each new field checked in the PDF's text (pdftotext), the handoff workbook's
column widths, and the display names the core puts on them."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from reports import (
    arrears_sheet,
    handoff_files,
    pdf_kit,
    refund_forms,
    registration_form,
    stats_report,
    subsidy_list,
)

LONG_REASON = "重复缴费（本人于三月在支付宝缴纳后，村里又在农商行柜台代为缴纳了一次，现申请退还重复缴纳的一笔款项到本人银行卡）"


def text_of(pdf: Path, *, layout: bool = False) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    return "".join(text.split())


def form(**changes: object) -> refund_forms.CaseForm:
    values = dict(
        case_no="TF2026-001-0002", insurance="城乡居民基本养老保险", name="张平", sex="男",
        id_number="371325199001010011", township="费城街道", phone="13800000000", reason=LONG_REASON,
        payments=[("2025", "正常应缴", "3713251234567890", "300.00", "2025-03-01", "支付宝", "300.00"),
                  ("2024", "正常应缴", "3713251234567891", "500.00", "2024-03-01", "农业银行", "500.00")],
        amount="800.00", amount_capital="捌佰元整", account=("张平", "6228480000000001", "农业银行费县支行"),
        documents="退费申请、身份证复印件", state="已受理", trail=[("2026-11-30 09:00", "受理", "李经办", "")],
        entered_by="李经办", passed_by="", reviewed_by="", applied_on="2026年11月30日", paid_total="800.00",
        paid_total_capital="捌佰元整",
    )  # fmt: skip
    values.update(changes)
    return refund_forms.CaseForm(**values)  # type: ignore[arg-type]


def test_application_and_payment_certificate(tmp_path):
    pdf = tmp_path / "application.pdf"
    refund_forms.write_application(pdf, "费县", form())
    pages = text_of(pdf).split("\f")
    application, certificate = flat(pages[0]), flat(pages[3])
    assert flat(LONG_REASON) in application  # the reason wraps, nothing cut
    assert "申请日期" in application and "2026年11月30日" in application
    assert "申请人（签字）" in application
    assert application.count("签字") == 2  # 申请人（签字） once, and the tax branch's 签字：
    assert application.count("盖章") == 1  # only the tax branch stamps; the applicant signs
    assert "缴费合计" in certificate and "¥800.00" in certificate and "捌佰元整" in certificate
    assert "备注：" in certificate and "（备注）意见" not in certificate


def test_approval_sheet_reason_wraps_and_names_people(tmp_path):
    pdf = tmp_path / "approval.pdf"
    refund_forms.write_approval_sheets(pdf, "费县退费审批表", [form(entered_by="李经办", passed_by="王所长")])
    text = flat(text_of(pdf))
    assert flat(LONG_REASON) in text and "签字：李经办" in text and "签字：王所长" in text


def test_fund_request_signs_on_the_first_page(tmp_path):
    pdf = tmp_path / "fund.pdf"
    payees = [("TF2026-001-0002", "费城街道", "张平", "371325199001010011", "张平", "6228", "农行", 80000)]
    refund_forms.write_fund_request_pdf(pdf, "费县退费资金申请表（2026-12）", [("费城街道", 1, 80000)], payees,
                                        unit="费县人力资源和社会保障局", money=lambda f: f"{Decimal(f) / 100:,.2f}",
                                        capital="捌佰元整")  # fmt: skip
    first = flat(text_of(pdf).split("\f")[0])
    assert "经办人（签字）" in first and "申请单位（盖章）" in first and "申请日期" in first
    layout = text_of(pdf, layout=True).split("\f")[0]
    header = next(line for line in layout.splitlines() if "乡镇（街道）" in line)
    indent = len(header) - len(header.lstrip())
    assert indent > 20  # the summary table sits in the middle of the landscape page, not at the margin


def test_stats_report_separators_and_maker(tmp_path, monkeypatch):
    sizes: dict[str, float] = {}
    row = pdf_kit.Document.row

    def sized_row(self, values, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes[str(values[0])] = self.font_size_pt
        return row(self, values, *args, **kwargs)

    monkeypatch.setattr(pdf_kit.Document, "row", sized_row)
    pdf = tmp_path / "stats.pdf"
    rows = [
        [
            "费城街道",
            12345,
            11000,
            10234,
            9000,
            1234,
            13.7,
            9000,
            1234,
            Decimal("3456789.00"),
            Decimal("1.00"),
        ]
    ]
    headers = [
        "乡镇",
        "参保",
        "上年参保",
        "缴费",
        "上年缴费",
        "增减",
        "增长%",
        "个人",
        "代缴",
        "金额",
        "上年金额",
    ]
    stats_report.write_pdf(
        pdf, "统计", headers, rows, [], "摘要", maker="李经办", made_on=dt.date(2026, 11, 30)
    )
    text = flat(text_of(pdf))
    assert "12,345" in text and "3,456,789.00" in text
    assert "制表人：李经办" in text and "制表日期：2026年11月30日" in text
    assert sizes["乡镇"] >= 9 and sizes["乡镇"] >= sizes["费城街道"]  # the header as readable as the figures
    assert "…" not in text


def test_subsidy_roster_total_in_capitals(tmp_path):
    from core.money import format_yuan, to_capital

    pdf = tmp_path / "subsidy.pdf"
    rows = [("费城街道", "东村", "371325199001010011", "张平", "男", "低保对象", 10000, "有效")] * 3
    subsidy_list.write_pdf(pdf, "政府代缴花名册", rows, unit="费县人社局", printed="打印日期", money=format_yuan,
                           capital=to_capital)  # fmt: skip
    assert "合计金额（大写）：叁佰元整" in flat(text_of(pdf))


def test_arrears_sheet_assessor_and_phone_row(tmp_path):
    pdf = tmp_path / "arrears.pdf"
    sheet = arrears_sheet.Sheet(
        title="补缴费额核定单", number="补核2026-001-0001",
        resident=[("姓名", "张平"), ("性别", "男"), ("身份证号码", "371325199001010011"), ("出生日期", "1990-01-01"),
                  ("乡镇（街道）", "费城街道"), ("村（居）", "东村"), ("联系电话", "13800000000")],
        lines=[("2020", "300.00", "300.00", "—")], total="300.00", total_capital="叁佰元整", channels=["微信"],
        assessor="李经办", assessed_on="2026年11月30日", office="费城街道人力资源和社会保障所",
    )  # fmt: skip
    arrears_sheet.write(pdf, [sheet])
    layout = text_of(pdf, layout=True)
    phone = next(line for line in layout.splitlines() if "联系电话" in line)
    assert "13800000000" in phone and phone.count("联系电话") == 1
    assert "核定人：李经办" in flat(layout)


def test_handoff_workbook_columns_fit_ids_and_amounts(tmp_path):
    path = tmp_path / "batch.xlsx"
    columns = ["序号", "社会保障号码", "姓名", "退费金额"]
    handoff_files.write_xlsx(path, "批次", columns, [[1, "371325199001010011", "张平", "-123456.00"]],
                             dt.datetime(2026, 11, 30, 9, 0))  # fmt: skip
    ws = load_workbook(path).active
    assert ws.column_dimensions["B"].width >= 22 and ws.column_dimensions["D"].width >= 14


def test_core_forms_name_the_people_not_the_logins(db, admin, tmp_path):
    from core import arrears, auth, refunds
    from dao.models import Contribution, PolicyYear, Resident
    from tests.conftest import township_id
    from tests.fixtures import HEADER, person, write_xlsx
    from tests.test_roster_import import do_import

    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c = Contribution.create(resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="V1")
    clerk = auth.actor_of(
        auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办")
    )
    case = refunds.create(clerk, refunds.NewCase(r.id, [c.id], [30000], "其他", r.name, "6228", "农行", [],
                                                 reason_text=LONG_REASON))  # fmt: skip
    out = tmp_path / "app.pdf"
    refunds.print_application(clerk, case.id, out)
    text = flat(text_of(out))
    assert flat(LONG_REASON) in text and f"{dt.date.today():%Y年%m月%d日}" in text and "¥300.00" in text
    year = min(y for (y,) in PolicyYear.select(PolicyYear.year).where(PolicyYear.arrears_allowed).tuples())
    owed = arrears.proposal(clerk, r.id)
    a = arrears.declare(clerk, r.id, [owed[0].year], [owed[0].tiers[0]])
    arrears.assess(clerk, a.id)
    sheet = tmp_path / "sheet.pdf"
    arrears.print_sheets(clerk, [a.id], sheet)
    assert "核定人：李经办" in flat(text_of(sheet)) and year <= owed[0].year


GROUPS = "低保对象、建档立卡贫困人员、特困人员、重度残疾人、其他困难人员、计划生育特殊家庭"


def test_subsidy_roster_wraps_long_categories_instead_of_cutting(tmp_path):
    from core.money import format_yuan

    pdf = tmp_path / "subsidy.pdf"
    rows = [("费城街道", "东村", "371325199001010011", "张平", "男", GROUPS, 10000, "有效")] * 40
    subsidy_list.write_pdf(
        pdf, "政府代缴花名册", rows, unit="费县人社局", printed="打印日期", money=format_yuan
    )
    text = text_of(pdf)
    assert "…" not in text
    assert flat(text).count(flat(GROUPS)) == 40  # every row names every category
    assert (
        flat(text).count("代缴金额") == len(text.split("\f")) - 1
    )  # taller rows: more pages, a header on each
    assert "合计：人数40" in flat(text)


def test_printed_cells_wrap_whole_items_never_an_ellipsis(tmp_path):
    doc = pdf_kit.Document()
    doc.add_page()
    lines = doc.wrap(
        "银行渠道：中国建设银行（含裕农通、智慧柜员机）、农村商业银行（含农金通）、税务大厅POS机", 60
    )
    assert len(lines) > 1 and all(doc.get_string_width(line) <= 58 for line in lines)
    assert any(
        line.endswith("农村商业银行（含农金通）、") or line == "农村商业银行（含农金通）、" for line in lines
    )
    assert not any("（含农金" in line and "通）" not in line for line in lines)  # the parenthesis kept whole
    assert doc.wrap("一个很长的没有分隔符的名字" * 4, 30)[0]  # a single long item still breaks, by character
    assert "".join(doc.wrap("一个很长的没有分隔符的名字" * 4, 30)) == "一个很长的没有分隔符的名字" * 4
    assert not hasattr(doc, "fit_text")  # nothing left that cuts a value with "…"
    pdf = tmp_path / "approval.pdf"
    long_bank = "中国农业银行股份有限公司费县支行营业部（费城街道人民路分理处）"
    trail = [("2026-11-30 09:00", "受理", "李经办", "材料齐全，" * 20)]
    refund_forms.write_approval_sheets(
        pdf, "退费审批表", [form(account=("张平", "6228", long_bank), trail=trail)]
    )
    text = text_of(pdf)
    assert "…" not in text and flat(long_bank) in flat(text) and flat("材料齐全，" * 20) in flat(text)


def registration(**changes: object) -> registration_form.Form:
    from core.arrears import PAYMENT_CHANNELS

    values = dict(
        title="费县城乡居民基本养老保险参保登记表", number="00002001",
        details=[("姓名", "欧阳明华"), ("性别", "男"), ("公民身份号码", "371325197005065170"), ("出生日期", "1970-05-06"),
                 ("乡镇（街道）", "费城街道"), ("村（居）", "东村"), ("联系电话", "13905391234"),
                 ("参保日期", "2026-12-01"), ("参保状态", "正常参保")],
        eligibility=[("是否在校学生", "否"), ("是否参加其他养老保险", "否")], tier_year=2020,
        tiers=["100", "300", "500", "600", "800", "1000", "1500", "2000"], tier_notes={"100": "仅限缴费困难群体"},
        channels=PAYMENT_CHANNELS, clerk="李经办", registered_on="2026年12月01日", office="费城街道人力资源和社会保障所",
    )  # fmt: skip
    values.update(changes)
    return registration_form.Form(**values)  # type: ignore[arg-type]


def test_registration_form_rules_boxes_and_channels(tmp_path, monkeypatch):
    edges: set[float] = set()
    boxes: list[tuple[float, float]] = []
    cell, rect = pdf_kit.Document.cell, pdf_kit.Document.rect

    def ruled_cell(self, w=None, h=None, text="", border=0, *args, **kwargs):  # type: ignore[no-untyped-def]
        if border and self.get_y() < 120:  # the details grid at the top of the page
            edges.update({round(self.get_x(), 1), round(self.get_x() + w, 1)})
        return cell(self, w, h, text, border, *args, **kwargs)

    def any_rect(self, x, y, w, h, *args, **kwargs):  # type: ignore[no-untyped-def]
        boxes.append((w, h))
        return rect(self, x, y, w, h, *args, **kwargs)

    monkeypatch.setattr(pdf_kit.Document, "cell", ruled_cell)
    monkeypatch.setattr(pdf_kit.Document, "rect", any_rect)
    pdf = tmp_path / "registration.pdf"
    registration_form.write(
        pdf, [registration(tier_notice="2026 年度缴费档次尚未公布，以下为 2020 年度档次。")]
    )
    assert edges == {15.0, 55.0, 105.0, 145.0, 195.0}  # one label column: every row's rules line up
    assert sum(1 for w, h in boxes if w == h and w >= 4) == 8  # a pen-sized tick box per tier
    text = text_of(pdf)
    assert "注意：2026 年度缴费档次尚未公布，以下为 2020 年度档次" in text
    lines = text.splitlines()
    for item in ("税务大厅POS机", "农村商业银行（含农金通）", "中国建设银行（含裕农通、智慧柜员机）"):
        assert any(item in line for line in lines), item  # each channel whole on one line
    assert "…" not in text


def test_wrapped_cells_never_push_a_form_off_its_page(tmp_path, monkeypatch):
    lowest: list[float] = []
    rect = pdf_kit.Document.rect

    def any_rect(self, x, y, w, h, *args, **kwargs):  # type: ignore[no-untyped-def]
        lowest.append(y + h)
        return rect(self, x, y, w, h, *args, **kwargs)

    monkeypatch.setattr(pdf_kit.Document, "rect", any_rect)
    note = "材料不全，请补充身份证复印件和银行卡复印件，并由本人签字确认后重新提交乡镇人社所审核。"
    trail = [(f"2026-11-{n:02d} 09:00", "退回", "李经办", f"{note}{n}") for n in range(1, 13)]
    channel = "中国建设银行（含裕农通、智慧柜员机）"
    payments = [("2025", "正常应缴", "3713251234567890", "300.00", "2025-03-01", channel, "300.00")] * 5
    pdf = tmp_path / "approval.pdf"
    refund_forms.write_approval_sheets(pdf, "退费审批表", [form(trail=trail, payments=payments)])
    text = flat(text_of(pdf))
    assert "\f" not in text_of(pdf).rstrip("\f")  # one page: the oldest steps give way, not the signatures
    assert flat(f"{note}12") in text and "分管领导意见" in text
    assert (
        "中国建设银行" in text and "智慧柜员机" in text
    )  # wrapped in its cell (pdftotext reads it in pieces)
    assert max(lowest) <= 297 - 15
    lowest.clear()
    pdf = tmp_path / "application.pdf"
    refund_forms.write_application(pdf, "费县", form(payments=payments * 3))
    assert max(lowest) <= 297 - 15 and "申请人（签字）" in flat(text_of(pdf))
