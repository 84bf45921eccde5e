"""A realistic demo county: all townships, villages, residents with valid ID numbers, two years of payments."""

from __future__ import annotations

import datetime as dt
import random

from core import audit, idcard, regions
from core.auth import ADMIN, CLERK, FINANCE, REVIEWER, Actor, create_user, require
from core.errors import UserError
from core.progress import Job, Progress
from dao import bulk
from dao.db import current
from dao.models import Contribution, PolicyYear, Resident, Township, User, Village, now

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
        audit.record(actor.username, "demo_data", "database", "", after=counts)
    yield Progress(residents, residents, "完成")
    return counts


def _demo_users(actor: Actor, towns: list[Township]) -> int:
    wanted = [("admin", ADMIN, None, "系统管理员"), ("shenhe", REVIEWER, None, "县局审核员"),
              ("caiwu", FINANCE, None, "财务人员")]  # fmt: skip
    wanted += [(f"jingban{n:02d}", CLERK, t.id, f"{t.name}经办") for n, t in enumerate(towns, start=1)]
    made = 0
    for username, role, town, display in wanted:
        if not User.select().where(User.username == username).exists():
            create_user(actor, username, DEMO_PASSWORD, role, town, display)
            made += 1
    return made
