"""core/rules.py, table by table, each table headed by the words of the county notice it implements.

These are pure functions (no database); the same rules are exercised through the importers and the refund
steps on SQLite and PostgreSQL in tests/test_notice_rules.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core import rules
from core.rules import BANK, CASH, GOVERNMENT, TAX

# 通知：缴费渠道 — 税务渠道（微信小程序、电子税务局、掌上税务局、支付宝、税务窗口POS）；银行渠道（中国银行、
# 农业银行、工商银行、建设银行（含裕农通、智慧柜员机）、农村商业银行（含农金通）、邮政储蓄银行、临商银行）。
# 严禁村居、协理员收取现金。
CHANNELS = [
    ("微信小程序", TAX), ("“山东税务社保费缴纳”微信小程序", TAX), ("微信缴费", TAX), ("电子税务局", TAX),
    ("山东省电子税务局", TAX), ("掌上税务局", TAX), ("税务APP", TAX), ("税务ａｐｐ", TAX), ("支付宝", TAX),
    ("税务窗口POS", TAX), ("税务大厅 POS机", TAX), ("自助办税终端", TAX), ("税务", TAX),
    ("银行", BANK), ("银行代收", BANK), ("银行代扣", BANK), ("农商银行代收", BANK), ("农村商业银行代扣", BANK),
    ("农行柜台", BANK), ("中国农业银行柜面", BANK), ("农业银行-手机银行", BANK), ("建行裕农通", BANK),
    ("建设银行智慧柜员机", BANK), ("农商行农金通", BANK), ("邮储", BANK), ("邮储银行网银", BANK),
    ("中国邮政储蓄银行（柜面）", BANK), ("工行", BANK), ("中国银行网上银行", BANK), ("临商银行代收", BANK),
    ("手机银行", BANK), ("裕农通", BANK), ("农金通", BANK),
    ("财政代缴", GOVERNMENT), ("政府代缴", GOVERNMENT),
    ("现金", CASH), ("现金收缴", CASH), ("村居代收", CASH), ("协理员代收", CASH), ("村委会现金代收", CASH),
    ("代办员收取", CASH),
]  # fmt: skip
UNKNOWN_CHANNELS = ["代收", "柜面", "村里交的", "XYZ", "农行现金代收", "邮局汇款", "手机"]


@pytest.mark.parametrize(("text", "kind"), CHANNELS)
def test_every_channel_spelling_has_its_kind(text, kind):
    found = rules.classify_channel(text)
    assert found is not None and found.kind == kind, text


@pytest.mark.parametrize("text", UNKNOWN_CHANNELS)
def test_a_channel_in_no_row_is_unknown_never_silently_cash(text):
    assert rules.classify_channel(text) is None
    assert rules.channel_problem(None, False) == "CHANNEL_UNKNOWN"


def test_channel_problems():
    bank = rules.classify_channel("银行代收")
    cash = rules.classify_channel("村居代收")
    state = rules.classify_channel("财政代缴")
    assert rules.channel_problem(bank, False) is None
    assert rules.channel_problem(cash, False) == "CHANNEL_CASH_FORBIDDEN"
    assert rules.channel_problem(cash, True) == "CHANNEL_CASH_FORBIDDEN"
    assert rules.channel_problem(state, True) is None  # 财政代缴 carries 政府代缴
    assert rules.channel_problem(state, False) == "CHANNEL_GOVERNMENT_ONLY"
    names = rules.accepted_channels()
    assert all(
        word in names
        for word in ("微信小程序", "电子税务局", "中国农业银行", "农村商业银行", "手机银行", "财政代缴")
    )


# 通知：特殊群体 — 重度残疾人（县残联）、低保对象和特困人员（县民政局）、未参保的建档立卡贫困人员（县扶贫办）。
GROUPS = [
    ("农村低保", "低保对象"), ("城市低保", "低保对象"), ("城乡低保", "低保对象"), ("低保户", "低保对象"),
    ("最低生活保障", "低保对象"), ("分散供养特困人员", "特困人员"), ("集中供养特困人员", "特困人员"),
    ("特困供养人员", "特困人员"), ("五保户", "特困人员"), ("一级肢体残疾", "重度残疾人"), ("二级肢体残疾", "重度残疾人"),
    ("二级 视力残疾", "重度残疾人"), ("肢体残疾一级", "重度残疾人"), ("1级智力残疾", "重度残疾人"), ("重度残疾", "重度残疾人"),
    ("建档立卡贫困户", "建档立卡贫困人员"), ("贫困人口", "建档立卡贫困人员"), ("脱贫享受政策人口", "建档立卡贫困人员"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "group"), GROUPS)
def test_department_spellings_name_the_notice_groups(text, group):
    assert rules.group_of(text) == group


@pytest.mark.parametrize("text", ["三级肢体残疾", "四级视力残疾", "低保边缘户", "困难户", ""])
def test_other_groups_match_nothing(text):
    assert rules.group_of(text) is None


def test_accepted_group_names_per_department():
    assert "低保对象" in rules.accepted_groups("民政") and "特困人员" in rules.accepted_groups("民政")
    assert "重度残疾人" not in rules.accepted_groups("民政")
    assert "重度残疾人" in rules.accepted_groups("残联")


# 通知：补缴以前年度欠费 — the years run from the later of (the year the person turned 16, the first policy
# year allowing arrears) to last year, minus years paid or assessed; the enrolment date is no bound.
ALLOWED = range(2014, 2021)
ARREARS = [
    # born, taken, as of, years
    (dt.date(1980, 5, 17), set(), dt.date(2021, 1, 10), [2014, 2015, 2016, 2017, 2018, 2019, 2020]),
    (dt.date(2000, 6, 1), set(), dt.date(2021, 1, 10), [2016, 2017, 2018, 2019, 2020]),  # 16 in 2016
    (dt.date(1980, 5, 17), {2019, 2015}, dt.date(2021, 1, 10), [2014, 2016, 2017, 2018, 2020]),
    (
        dt.date(1980, 5, 17),
        set(),
        dt.date(2020, 12, 31),
        [2014, 2015, 2016, 2017, 2018, 2019],
    ),  # not this year
    (dt.date(2005, 1, 1), set(), dt.date(2021, 6, 1), []),  # turned 16 in 2021: nothing before
]


@pytest.mark.parametrize(("born", "taken", "as_of", "years"), ARREARS)
def test_arrears_years(born, taken, as_of, years):
    assert rules.arrears_years(born, ALLOWED, taken, as_of) == years


def test_arrears_only_in_years_the_table_allows():
    assert rules.arrears_years(dt.date(1980, 1, 1), [2016, 2018], set(), dt.date(2021, 1, 1)) == [2016, 2018]
    assert rules.arrears_years(dt.date(1980, 1, 1), [], set(), dt.date(2021, 1, 1)) == []


# 通知：缴费困难群体由政府代缴最低档次；本人有意愿选择其他档次的，于3月1日后重新选择档次缴费。
# The program reads 于3月1日后 as "from 1 March on".
RESELECT = dt.date(2020, 3, 1)
RULES_2020 = rules.YearRules([10000, 30000, 50000, 500000], 10000, RESELECT)
BOUNDARY = [
    (dt.date(2020, 2, 28), "PAID_AFTER_SUBSIDY_BEFORE_RESELECT"),
    (dt.date(2020, 2, 29), "PAID_AFTER_SUBSIDY_BEFORE_RESELECT"),
    (dt.date(2020, 3, 1), None),  # a re-selection
    (dt.date(2020, 3, 2), None),
    (None, "PAID_AFTER_SUBSIDY_BEFORE_RESELECT"),  # no date cannot prove a re-selection
]


@pytest.mark.parametrize(("paid_on", "code"), BOUNDARY)
def test_flagged_person_paying_around_1_march(paid_on, code):
    found = rules.refund_candidates(
        2020, RULES_2020, True, [rules.Paid("p", 30000, 30000, paid_on, "支付宝")]
    )
    assert [c.code for c in found] == ([code] if code else [])
    assert rules.may_reselect(paid_on, RESELECT) is (code is None)


def test_other_refund_candidates():
    def paid(fen, day=dt.date(2020, 4, 1), ref="p"):
        return rules.Paid(ref, fen, fen, day, "支付宝")

    assert [c.code for c in rules.refund_candidates(2020, RULES_2020, False, [paid(10000)])] == [
        "TIER_100_NOT_FLAGGED"
    ]
    assert [c.code for c in rules.refund_candidates(2020, RULES_2020, True, [paid(10000)])] == [
        "SUBSIDY_TIER_PAID_PERSONALLY"
    ]
    twice = rules.refund_candidates(2020, RULES_2020, False, [paid(300000, ref="a"), paid(300000, ref="b")])
    assert [(c.code, c.paid.ref, c.amount_fen) for c in twice] == [
        ("DUPLICATE_PAYMENT", "b", 300000),
        ("OVER_ANNUAL_MAX", "b", 100000),
    ]
    assert rules.refund_candidates(2020, RULES_2020, False, [paid(30000)]) == []


# 通知：乡镇人社所初步审核、签章后，于每月25日前报县人社局；县人社局复核后，于次月初向县财政局申请资金。
CUTOFF = [
    (dt.date(2020, 3, 24), "2020-03"), (dt.date(2020, 3, 25), "2020-03"), (dt.date(2020, 3, 26), "2020-04"),
    (dt.date(2020, 12, 26), "2021-01"),
]  # fmt: skip


@pytest.mark.parametrize(("passed_on", "month"), CUTOFF)
def test_the_25th_cut_off_follows_the_step_date(passed_on, month):
    assert rules.refund_batch_month(passed_on) == month


def test_fund_month_and_step_dates():
    assert rules.refund_fund_month(dt.date(2020, 12, 3)) == "2021-01"
    today = dt.date(2020, 5, 10)
    assert rules.step_date_problem(dt.date(2020, 5, 10), dt.date(2020, 5, 1), today, "初审") is None
    assert rules.step_date_problem(dt.date(2020, 5, 1), dt.date(2020, 5, 1), today, "初审") is None
    assert "晚于今天" in rules.step_date_problem(dt.date(2020, 5, 11), None, today, "")
    assert "早于初审" in rules.step_date_problem(dt.date(2020, 4, 30), dt.date(2020, 5, 1), today, "初审")


# 通知：退费退至缴费人本人账户 — what the government paid is not the person's money.
def test_government_payments_are_not_refundable():
    assert "冲正" in rules.refund_problem("政府代缴")
    assert rules.refund_problem("个人") is None
