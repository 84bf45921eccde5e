"""The county notice's rules in one place: plain values in, decisions out — no database, no Qt.

Importers, the refund steps and the arrears workflow ask here; ``tests/test_rules.py`` holds a table of cases
for each rule, quoting the notice. Spellings that grow with the files the county receives (缴费渠道, the
departments' group names) are tables in ``resources/rules/``, not code.

Rules that depend on a person's age belong here too: 16 to enrol and the first arrears year, 60 for the last
paying year (``last_paying_year``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from core import resources

# --- 缴费渠道 -------------------------------------------------------------------------------------------
# 通知: 缴费渠道为税务渠道（微信小程序、电子税务局、掌上税务局、支付宝、税务窗口POS）和银行渠道（七家银行的
# 柜面、手机银行、网上银行、裕农通、农金通、智慧柜员机等）；严禁村居或协理员等收取现金。

TAX, BANK, GOVERNMENT, CASH = "tax", "bank", "government", "cash"
_NOISE = re.compile(r"[\s\u3000()（）\[\]【】“”\"'‘’《》<>·•、,，.。:：;；/\\|_\-—–]+")


@dataclass(frozen=True)
class Channel:
    kind: str  # TAX, BANK, GOVERNMENT or CASH
    name: str  # the table's name for it, e.g. 中国农业银行·手机银行


def _key(text: str) -> str:
    """Compared without spaces, brackets, quotes and separators; full-width letters folded, ASCII upper."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text)
    return _NOISE.sub("", folded).upper()


@dataclass(frozen=True)
class _ChannelTable:
    exact: dict[str, Channel]
    banks: tuple[tuple[str, str], ...]  # (spelling key, bank name), longest first
    services: dict[str, str]  # spelling key -> service name
    kinds: dict[str, str]


@cache
def _channels() -> _ChannelTable:
    data = resources.load_json("rules", "channels.json")
    exact: dict[str, Channel] = {}
    for kind in (TAX, GOVERNMENT, CASH):
        for row in data[kind]:
            for spelling in row["spellings"]:
                exact[_key(spelling)] = Channel(kind, row["name"])
    banks = []
    for row in data["banks"]:
        for spelling in row["spellings"]:
            key = _key(spelling)
            exact[key] = Channel(BANK, row["name"])  # a bank alone: its counters and its collection
            banks.append((key, row["name"]))
    services = {}
    for row in data["bank_services"]:
        for spelling in row["spellings"]:
            key = _key(spelling)
            services[key] = row["name"]
            if row["alone"]:
                exact[key] = Channel(BANK, row["name"])
    banks.sort(key=lambda item: -len(item[0]))
    return _ChannelTable(exact, tuple(banks), services, data["kinds"])


def classify_channel(text: str) -> Channel | None:
    """The channel a file's text names, or None when it is in no row of the table (CHANNEL_UNKNOWN)."""
    table = _channels()
    key = _key(text)
    if not key:
        return None
    found = table.exact.get(key)
    if found is not None:
        return found
    for bank_key, bank in table.banks:  # a bank followed by one of its services: 农行手机银行, 银行代收
        if key.startswith(bank_key):
            service = table.services.get(key[len(bank_key) :])
            if service is not None:
                return Channel(BANK, f"{bank}·{service}")
    return None


def accepted_channels() -> str:
    """The accepted names, for a message: what a clerk may write instead."""
    data = resources.load_json("rules", "channels.json")
    tax = "、".join(row["name"] for row in data[TAX])
    banks = "、".join(row["name"] for row in data["banks"] if row["name"] != "银行")
    services = "、".join(row["name"] for row in data["bank_services"])
    return f"税务渠道：{tax}；银行渠道：{banks}（可加{services}）；政府代缴：财政代缴"


def channel_problem(channel: Channel | None, payer_is_government: bool) -> str | None:
    """The row code a channel earns, or None when it may carry the payment."""
    if channel is None:
        return "CHANNEL_UNKNOWN"
    if channel.kind == CASH:
        return "CHANNEL_CASH_FORBIDDEN"
    if channel.kind == GOVERNMENT and not payer_is_government:
        return "CHANNEL_GOVERNMENT_ONLY"  # 财政代缴 carries the government's money, never a person's
    return None


# --- 特殊群体 -------------------------------------------------------------------------------------------
# 通知: 重度残疾人（县残联确认）、低保对象和特困人员（县民政局）、未参保的建档立卡贫困人员（县扶贫办），
# 由政府按最低缴费档次代缴。


@dataclass(frozen=True)
class _GroupTable:
    by_key: dict[str, str]  # spelling key -> group
    department: dict[str, str]  # group -> department
    spellings: dict[str, list[str]]  # group -> the table's own spellings (for messages)


@cache
def _groups() -> _GroupTable:
    data = resources.load_json("rules", "special_groups.json")
    by_key: dict[str, str] = {}
    department: dict[str, str] = {}
    spellings: dict[str, list[str]] = {}
    for row in data["groups"]:
        group = row["group"]
        department[group] = row["department"]
        spellings[group] = list(row["spellings"])
        written = list(row["spellings"])
        for level in row.get("levels", ()):
            for kind in row.get("kinds", ()):
                written += [
                    f"{level}{kind}残疾",
                    f"{level}{kind}残疾人",
                    f"{kind}残疾{level}",
                    f"{kind}{level}",
                ]
        for spelling in written:
            by_key[_key(spelling)] = group
    return _GroupTable(by_key, department, spellings)


def group_of(text: str) -> str | None:
    """The notice's group a department's text names (农村低保 -> 低保对象), or None."""
    return _groups().by_key.get(_key(text))


def accepted_groups(department: str) -> str:
    """A department's groups with a few of the spellings accepted for each, for GROUP_UNKNOWN."""
    table = _groups()
    parts = [
        f"{group}（{'、'.join(table.spellings[group][1:7])}等）"
        for group, dept in table.department.items()
        if dept == department
    ]
    return "；".join(parts)


# --- 补缴以前年度欠费 -------------------------------------------------------------------------------------
# 通知: 补缴申报 — 年满16周岁、以前年度未缴费的，可补缴以前年度欠费。The enrolment date is no bound (a person
# imported today may have paid in 2019 and missed 2017): the years run from the later of the year the person
# turned 16 and the first policy year allowing arrears, to last year, minus years paid or already assessed.
MIN_AGE = 16

# --- 60 周岁 --------------------------------------------------------------------------------------------
# 国发〔2014〕8号: the basic pension is drawn from 60. The program reads it by calendar year: a person pays for
# the years before the year they turn 60 (the same reading as the 补缴动员 work list); the year of turning 60
# and later years are not paying years — a personal payment for them is refundable (PAID_AFTER_60), and no
# arrears may be declared for them.
PENSION_AGE = 60


def turns_60_in(birth_date: dt.date) -> int:
    """The calendar year in which the person turns 60."""
    return birth_date.year + PENSION_AGE


def last_paying_year(birth_date: dt.date) -> int:
    """The last year the person pays for: the year before the year they turn 60."""
    return turns_60_in(birth_date) - 1


def paid_after_60(year: int, birth_date: dt.date) -> bool:
    """A payment for ``year`` is for the year of turning 60 or a later one."""
    return year > last_paying_year(birth_date)


def arrears_years(
    birth_date: dt.date, allowed: Iterable[int], taken: Iterable[int], as_of: dt.date
) -> list[int]:
    """Years this person may declare: ``allowed`` are the policy years that allow arrears, ``taken`` the
    years paid or in an open assessment. From the later of the year of turning 16 and the first allowed
    year, to the earlier of last year and the year before the year of turning 60."""
    allowed = set(allowed)
    if not allowed:
        return []
    first = max(birth_date.year + MIN_AGE, min(allowed))
    last = min(as_of.year - 1, last_paying_year(birth_date))
    skip = set(taken)
    return [year for year in range(first, last + 1) if year in allowed and year not in skip]


# --- 个人缴费与政府代缴 -----------------------------------------------------------------------------------
# 通知: 缴费困难群体由政府代缴最低档次；本人有意愿选择其他档次的，于3月1日后重新选择档次缴费。
# The program reads 于3月1日后 as "from 1 March on": a payment on 1 March is a re-selection.


def may_reselect(paid_on: dt.date | None, reselect_date: dt.date | None) -> bool:
    """Whether a flagged person's own payment on ``paid_on`` counts as a re-selection (an unknown date
    cannot prove it)."""
    if reselect_date is None:
        return True
    return paid_on is not None and paid_on >= reselect_date


@dataclass(frozen=True)
class YearRules:
    tiers: Sequence[int]  # fen, ascending
    hardship_min: int  # the tier the government pays
    reselect_date: dt.date | None


@dataclass(frozen=True)
class Paid:
    """A person's own ordinary payment of the year."""

    ref: object  # whatever the caller needs back (the stored payment)
    amount_fen: int
    tier_fen: int
    paid_on: dt.date | None
    channel: str


@dataclass(frozen=True)
class Candidate:
    paid: Paid
    code: str
    detail: str
    amount_fen: int  # what could be refunded


def refund_candidates(year: int, rules: YearRules, flagged: bool, paid: Sequence[Paid]) -> list[Candidate]:
    """Payments of one person's year that look refundable. ``paid`` in the order they were made."""
    out: list[Candidate] = []
    if len(paid) > 1:
        channels = "、".join(dict.fromkeys(p.channel or "未填渠道" for p in paid))
        out += [
            Candidate(p, "DUPLICATE_PAYMENT", f"{year} 年已缴 {len(paid)} 笔（{channels}）", p.amount_fen)
            for p in paid[1:]
        ]
    total = sum(p.amount_fen for p in paid)
    top = rules.tiers[-1]
    if paid and total > top:
        over = total - top
        out.append(
            Candidate(paid[-1], "OVER_ANNUAL_MAX", f"合计 {_yuan(total)} 元，超出 {_yuan(over)} 元", over)
        )
    for p in paid:
        if p.tier_fen == rules.hardship_min and not flagged:
            out.append(Candidate(p, "TIER_100_NOT_FLAGGED", f"{year} 年不在困难群体名单中", p.amount_fen))
        elif flagged and p.tier_fen == rules.hardship_min:
            out.append(Candidate(p, "SUBSIDY_TIER_PAID_PERSONALLY", f"{year} 年已列入政府代缴", p.amount_fen))
        elif flagged and not may_reselect(p.paid_on, rules.reselect_date):
            when = p.paid_on.isoformat() if p.paid_on else "未填日期"
            detail = f"{when} 早于 {rules.reselect_date}"
            out.append(Candidate(p, "PAID_AFTER_SUBSIDY_BEFORE_RESELECT", detail, p.amount_fen))
    return out


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


# --- 退费 -----------------------------------------------------------------------------------------------
# 通知: 乡镇人社所初步审核、签章后，于每月25日前报县人社局；县人社局复核后，于次月初向县财政局申请资金。
CUTOFF_DAY = 25


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year + 1:04d}-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}"


def refund_batch_month(passed_on: dt.date) -> str:
    """A case passed on or before the 25th joins that month's batch to the county; later, next month's."""
    this = month_of(passed_on)
    return this if passed_on.day <= CUTOFF_DAY else next_month(this)


def refund_fund_month(approved_on: dt.date) -> str:
    """Approved cases are requested from the county finance bureau at the start of the next month."""
    return next_month(month_of(approved_on))


def step_date_problem(
    day: dt.date, previous: dt.date | None, today: dt.date, previous_step: str
) -> str | None:
    """A refund step's date (受理, 初审, 复核, 退款) may be entered late, never in the future or before the
    step before it. Returns the reason it cannot be used, or None."""
    if day > today:
        return f"日期 {day:%Y-%m-%d} 晚于今天（{today:%Y-%m-%d}）：不能登记未来的日期"
    if previous is not None and day < previous:
        return f"日期 {day:%Y-%m-%d} 早于{previous_step}日期 {previous:%Y-%m-%d}"
    return None


def refund_problem(payer: str) -> str | None:
    """通知: 退费退回缴费人本人账户 — money the government paid (政府代缴) is not the person's to get back;
    a wrong government payment is reversed by a 冲正 line in the 代缴 handoff."""
    if payer == "政府代缴":
        return "政府代缴的缴费不能退给个人：如代缴有误，请在税务传递中对代缴记录冲正"
    return None
