"""Suggesting a need's category while staff type: the classifier is trained on the verified
needs and kept per process, retrained when their number changes."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.needs.models import Need, NeedStatus
from matching.classify import CategoryClassifier

# The domain's words, for a young deployment with too few verified needs to learn from.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "necessities.washer": ("洗衣机",),
    "necessities.appliance": ("冰箱", "电视", "家电", "电器", "热水器"),
    "necessities.clothing": ("棉被", "棉衣", "衣服", "被褥"),
    "necessities.food": ("粮", "米面", "食用油"),
    "education.grant": ("助学", "上学", "读书", "学生"),
    "education.tuition": ("学费",),
    "education.supplies": ("书桌", "文具", "学习用品"),
    "medical.treatment": ("看病", "用药", "住院", "治疗", "慢性病"),
    "medical.aids": ("轮椅", "拐杖", "助听器", "康复"),
    "medical.insurance": ("医保", "医疗保险"),
    "housing.renovation": ("危房", "房屋", "漏雨", "改造"),
    "housing.relocation": ("搬迁",),
    "industry.livestock": ("羊", "牛", "猪", "鸡", "养殖"),
    "industry.planting": ("种植", "地膜", "良种", "种子", "果苗", "马铃薯"),
    "industry.aquaculture": ("鱼", "水产"),
    "industry.cooperative": ("合作社", "加工"),
    "jobs.employment": ("务工", "就业", "打工", "工作"),
    "jobs.training": ("培训", "技能", "电焊", "厨师"),
    "consumption.produce": ("销路", "卖不出", "农产品", "小杂粮"),
    "finance.microcredit": ("贷款", "信贷", "贴息"),
    "infrastructure.road": ("道路", "硬化", "桥"),
    "infrastructure.water": ("水窖", "饮水", "自来水", "水管"),
    "infrastructure.power": ("路灯", "电网", "通电"),
    "services.telecom": ("话费", "通信", "电信", "手机卡", "宽带"),
    "ecology.ranger": ("护林员", "护林", "管护"),
    "ecology.reforestation": ("退耕还林", "还林"),
    "ecology.grassland": ("草原", "禁牧", "草畜平衡"),
    "safety_net.minimum_living": ("低保", "最低生活保障"),
    "safety_net.destitute": ("特困", "五保", "供养"),
    "safety_net.temporary": ("临时救助", "急难"),
}

_lock = threading.Lock()
_cached: tuple[tuple[int, int], CategoryClassifier] | None = None


def classifier() -> CategoryClassifier:
    global _cached
    count, last = db.session.execute(
        sa.select(sa.func.count(Need.id), sa.func.coalesce(sa.func.max(Need.id), 0)).where(
            Need.status.in_((NeedStatus.VERIFIED, NeedStatus.FULFILLED))
        )
    ).one()
    key = (int(count), int(last))
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
    rows = db.session.execute(
        sa.select(Need.title, Need.description, Need.subcategory).where(
            Need.status.in_((NeedStatus.VERIFIED, NeedStatus.FULFILLED))
        )
    ).all()
    model = CategoryClassifier(KEYWORDS).fit(
        [f"{t} {d}" for t, d, _s in rows], [s for *_x, s in rows]
    )
    with _lock:
        _cached = (key, model)
    return model
