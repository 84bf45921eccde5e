"""A realistic demo county: all townships, villages, residents with valid ID numbers, two years of payments."""

from __future__ import annotations

import csv
import datetime as dt
import random
import tempfile
from pathlib import Path

from core import admin, arrears, audit, handoff, idcard, ledger, refunds, regions
from core import special_groups as sg
from core.auth import (
    ADMIN,
    CLERK,
    FINANCE,
    REVIEWER,
    Actor,
    actor_of,
    create_user,
    find_user,
    hash_password,
    require,
)
from core.errors import UserError
from core.money import fen_to_yuan
from core.progress import Job, Progress, run
from dao import bulk, pg_security
from dao.db import current
from dao.models import (
    ENTRY_MATCHED,
    Contribution,
    GovernmentPayment,
    PolicyYear,
    Resident,
    SpecialList,
    SpecialListEntry,
    Township,
    User,
    Village,
    now,
)

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红建国志文斌凤云莲学海"
VILLAGE_STEMS = ("东", "西", "南", "北", "前", "后", "大", "小", "上", "下")
VILLAGE_ROOTS = ("王庄", "李庄", "张庄", "刘家庄", "河口", "沟", "岭", "官庄", "石桥", "柳行")
CHANNELS = (
    "微信小程序（山东税务社保费缴纳）", "山东省电子税务局", "支付宝", "中国农业银行", "农村商业银行（农金通）",
    "中国邮政储蓄银行", "中国建设银行（裕农通）", "中国工商银行", "临商银行", "税务大厅POS机",
)  # fmt: skip
TIER_WEIGHTS = {10000: 0, 30000: 10, 50000: 30, 60000: 8, 80000: 6, 100000: 12, 150000: 5, 200000: 4,
                250000: 2, 300000: 2, 400000: 1, 500000: 1}  # fmt: skip

DEMO_PASSWORD = "demo12345"


def create_demo(actor: Actor, residents: int = 3000, seed: int = 2020) -> Job[dict[str, int]]:
    """Fill an empty database with a demo county. Refuses a database that already holds residents."""
    require(actor, "system.manage")
    if Resident.select().exists():
        raise UserError("数据库中已有居民数据，演示数据只能写入空数据库。")
    if pg_security.connected_user(current()) is not None:
        # The demo acts for clerks, reviewers and finance in turn; on PostgreSQL the server records the one
        # user who is connected, and maker-checker (rightly) refuses one person doing every step.
        raise UserError("PostgreSQL 上的每一步须由办理人本人登录办理，演示数据无法代办：请用单独的 SQLite "
                        "演示数据库（start.sh --demo），或由数据库所有者在服务器上写入。")  # fmt: skip
    rng = random.Random(seed)
    county = regions.county_code()
    towns = list(Township.select().order_by(Township.sort_order))
    counts = {"townships": len(towns), "villages": 0, "residents": 0, "contributions": 0, "users": 0}
    with current().atomic():
        village_ids: list[tuple[int, int]] = []
        for t in towns:
            names = rng.sample([s + r + "村" for s in VILLAGE_STEMS for r in VILLAGE_ROOTS], 8)
            for n, name in enumerate(names, start=1):
                v = Village.create(township=t.id, name=name, code=f"{t.code}{n:03d}")
                village_ids.append((t.id, v.id))
        counts["villages"] = len(village_ids)
        yield Progress(0, residents, "生成居民")
        seen: set[str] = set()
        rows = []
        stamp = now()
        while len(rows) < residents:
            born = dt.date(1955, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 48))
            prefix = county if rng.random() < 0.93 else rng.choice(("371302", "371321", "370102", "320311"))
            number = idcard.make(prefix, born, rng.randrange(0, 1000))
            if number in seen:
                continue
            seen.add(number)
            town_id, village_id = rng.choice(village_ids)
            sex = "男" if int(number[16]) % 2 else "女"
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            phone = f"1{rng.choice('3578')}{rng.randrange(0, 10**9):09d}"
            rows.append((number, name, sex, born, town_id, village_id, phone, rng.choice(("农业", "非农业")),
                         "正常参保", dt.date(rng.choice((2012, 2014, 2016, 2018, 2019)), 1, 15), stamp, stamp, 1))  # fmt: skip
        cols = ("id_number", "name", "sex", "birth_date", "township_id", "village_id", "phone", "household_type",
                "status", "enrolled_on", "created_at", "updated_at", "version")  # fmt: skip
        bulk.insert_rows(Resident, cols, rows)
        counts["residents"] = len(rows)
        yield Progress(residents // 2, residents, "生成缴费记录")
        ids = list(Resident.select(Resident.id, Resident.enrolled_on).tuples())
        tiers = {p.year: p.tiers for p in PolicyYear.select()}
        contributions = []
        for year in (2019, 2020):
            choices = [t for t in tiers.get(year, []) if TIER_WEIGHTS.get(t)]
            weights = [TIER_WEIGHTS[t] for t in choices]
            share = 0.82 if year == 2019 else 0.86  # steady growth over 2019, as the notice asks
            for rid, enrolled in ids:
                if enrolled.year > year or rng.random() > share:
                    continue
                tier = rng.choices(choices, weights)[0]
                paid = dt.date(year, 1, 2) + dt.timedelta(days=rng.randrange(0, 88))
                voucher = f"3{year}{rid:08d}{rng.randrange(0, 1000):03d}"
                contributions.append((rid, year, tier, tier, "个人", "正常应缴", rng.choice(CHANNELS), paid, voucher,
                                      stamp))  # fmt: skip
        bulk.insert_rows(
            Contribution,
            ("resident_id", "year", "amount_fen", "tier_fen", "payer", "kind", "channel", "paid_on", "voucher",
             "created_at"),
            contributions,
        )  # fmt: skip
        counts["contributions"] = len(contributions)
        counts["users"] = _demo_users(actor, towns)
        yield Progress(residents * 3 // 4, residents, "生成特殊群体、补缴和退费")
        counts.update(_demo_workflows(actor, rng, ids, stamp))
        audit.record(actor.username, "demo_data", "database", "", after=counts)
    yield Progress(residents, residents, "完成")
    return counts


def _demo_workflows(
    actor: Actor, rng: random.Random, ids: list[tuple[int, dt.date]], stamp: dt.datetime
) -> dict[str, int]:
    """A little of every workflow, through the same core calls the tabs use, so no tab starts empty."""
    users = {u.username: actor_of(u) for u in User.select()}
    county = users["shenhe"]
    chosen = rng.sample([rid for rid, _ in ids], k=min(len(ids), max(12, len(ids) // 30)))
    by_id = {r.id: r for r in Resident.select().where(Resident.id.in_(chosen))}
    groups = [
        ("民政", "低保对象"),
        ("民政", "特困人员"),
        ("残联", "重度残疾人"),
        ("扶贫", "建档立卡贫困人员"),
    ]
    for n, (department, group) in enumerate(groups):
        members = chosen[n::4] + chosen[: len(chosen) // 20]  # a few people on two lists
        demo_list = SpecialList.create(year=2020, department=department, group=group, file_name=f"演示{department}名单.xlsx",
                                       sha256=f"demo-{n}", username="shenhe", people=len(set(members)), added=len(set(members)))  # fmt: skip
        for row, rid in enumerate(dict.fromkeys(members), start=2):
            r = by_id[rid]
            SpecialListEntry.create(special_list=demo_list.id, row=row, id_number=r.id_number, name=r.name, resident=rid,
                                    status=ENTRY_MATCHED)  # fmt: skip
    payments = sg.sync_payments(county, 2020)
    made_collected = _demo_subsidy_collected(actor, county)
    clerks = {u.township_id: u for u in users.values() if u.role == CLERK}
    made = {
        "government_payments": payments["created"],
        "government_paid": made_collected,
        "arrears": 0,
        "refunds": 0,
    }
    unpaid = [
        rid
        for rid, _ in ids
        if not Contribution.select()
        .where((Contribution.resident == rid) & (Contribution.year == 2019))
        .exists()
    ]
    for rid in unpaid[:8]:
        resident = Resident.get_by_id(rid)
        owed = arrears.proposal(clerks[resident.township_id], rid, dt.date(2021, 1, 10))
        if not owed:
            continue
        years = [y.year for y in owed[-2:]]
        tiers = [y.tiers[min(1, len(y.tiers) - 1)] for y in owed[-2:]]
        declared = arrears.declare(clerks[resident.township_id], rid, years, tiers, dt.date(2021, 1, 10))
        if made["arrears"] % 2 == 0:
            arrears.assess(clerks[resident.township_id], declared.id)
        made["arrears"] += 1
    # Cases across the county, not all in the first township.
    personal = Contribution.select().where((Contribution.year == 2020) & (Contribution.payer == "个人"))
    paid = rng.sample(list(personal.order_by(Contribution.id)), k=8)
    for n, c in enumerate(paid):
        resident = Resident.get_by_id(c.resident_id)
        clerk = clerks[resident.township_id]
        case = refunds.create(clerk, refunds.NewCase(resident.id, [c.id], [c.amount_fen], rng.choice(("重复缴费", "多缴/超过最高档次")),
                                                     resident.name, f"62284800{rng.randrange(10**10):010d}", "中国农业银行费县支行",
                                                     ("退费申请", "身份证复印件", "银行卡复印件")))  # fmt: skip
        if n % 4 >= 1:
            refunds.advance(clerk, case.id, "初审")
        if n % 4 >= 2:
            refunds.advance(county, case.id, "复核通过")
        if n % 4 == 3:
            refunds.advance(users["caiwu"], case.id, "已退款", bank_ref=f"NB{stamp:%Y%m%d}{n:04d}")
        made["refunds"] += 1
    made["refunds"] += _demo_first_clerk_cases(users, county, {c.id for c in paid})
    return made


def _demo_first_clerk_cases(users: dict[str, Actor], county: Actor, taken: set[int]) -> int:
    """The first clerk (jingban01, the first township) gets one case in each early state, so a reviewer trying
    that account sees the clerk's case screens filled in (the random cases above may miss that township)."""
    clerk = users.get("jingban01")
    if clerk is None or clerk.township_id is None:
        return 0
    own = (
        Contribution.select()
        .join(Resident)
        .where(
            (Contribution.year == 2020)
            & (Contribution.payer == "个人")
            & (Resident.township == clerk.township_id)
        )
        .order_by(Contribution.id)
    )
    chosen = [c for c in own if c.id not in taken][:4]
    steps = ((), ("初审",), ("初审", "退回"), ("初审", "复核通过"))  # 已受理, 已初审, 已退回, 复核通过
    for c, path in zip(chosen, steps, strict=False):
        resident = Resident.get_by_id(c.resident_id)
        # A real 重复缴费: the same year paid twice, so the case detail shows the payment kept beside the one refunded.
        again = Contribution.create(resident=resident.id, year=c.year, amount_fen=c.amount_fen, tier_fen=c.tier_fen,
                                    channel="支付宝", paid_on=c.paid_on + dt.timedelta(days=9), voucher=f"4{c.voucher[1:]}",
                                    created_at=c.created_at)  # fmt: skip
        case = refunds.create(clerk, refunds.NewCase(resident.id, [again.id], [c.amount_fen], "重复缴费", resident.name,
                                                     f"62284800{c.id:010d}", "中国农业银行费县支行",
                                                     ("退费申请", "身份证复印件", "银行卡复印件")))  # fmt: skip
        for step in path:
            who = clerk if step == "初审" else county
            refunds.advance(who, case.id, step, reason="银行卡复印件不清晰，请补正" if step == "退回" else "")
    return len(chosen)


def _demo_subsidy_collected(actor: Actor, county: Actor) -> int:
    """February: the 代缴 list went to the tax side, which collected it (and last year's); the tax side's detail
    file came back into the ledger as 政府代缴 payments. Returns how many payments that file held."""
    where = admin.database_info().path  # the SQLite file; None on PostgreSQL
    folder = where.parent / "handoff-demo" if where is not None else handoff.default_folder()
    batch = handoff.create_batch(county, "2020-02", "subsidy", folder)
    handoff.mark_sent(county, batch.id)
    label = {c.field: c.label for c in ledger.LEDGER_COLUMNS}
    fields = ("id_number", "name", "year", "amount", "paid_on", "channel", "voucher", "kind", "payer")
    rows = [[label[f] for f in fields]]
    query = (
        GovernmentPayment.select(GovernmentPayment, Resident).join(Resident).order_by(GovernmentPayment.id)
    )
    for n, p in enumerate(query):
        for year in (2019, 2020) if n % 5 else (2020,):  # most were already on last year's lists
            rows.append([p.resident.id_number, p.resident.name, year, str(fen_to_yuan(p.amount_fen)), f"{year}-03-16",
                         "财政代缴", f"9{year}{p.id:08d}", "正常缴费", "政府代缴"])  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "政府代缴到账明细.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(rows)
        return run(ledger.import_contributions(path, actor)).imported


def _demo_users(actor: Actor, towns: list[Township]) -> int:
    wanted = [("admin", ADMIN, None, "系统管理员"), ("shenhe", REVIEWER, None, "县局审核员"),
              ("caiwu", FINANCE, None, "财务人员")]  # fmt: skip
    wanted += [(f"jingban{n:02d}", CLERK, t.id, f"{t.name}经办") for n, t in enumerate(towns, start=1)]
    made = 0
    shared = hash_password(DEMO_PASSWORD)  # one published password: one scrypt run (0.5 s), not fifteen
    for username, role, town, display in wanted:
        if find_user(username) is None:
            create_user(actor, username, DEMO_PASSWORD, role, town, display, password_hash=shared)
            made += 1
    return made
