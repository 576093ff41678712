"""A deterministic synthetic registry for 承德县 (``spotcheck sample``; DESIGN.md C1).

Departments are the seed plan's five (发起部门 县应急管理局 and the 联合部门).
Enterprises are invented: names carry the marker 样例 and every 统一社会信用代码
is built with :func:`ledger.domain.uscc.make_uscc` from region code 130821
(承德县) and a synthetic 主体标识码 whose ninth character deliberately fails the
GB 11714 organisation-code check, so no generated code can belong to a real
organisation, while the full 18-character code is valid per GB 32100-2015.
Towns are real 乡镇 of 承德县; sector, grade and status proportions are
plausible, grades skewed like DOMAIN.md §3's Dandong counts. Everything comes
from ``random.Random(seed)``: the same arguments give the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from ledger.domain.uscc import CHARSET, make_uscc
from ledger.errors import FormatError

REGION = "130821"
"""GB/T 2260 code of 承德县."""

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("AJJ", "县应急管理局"),
    ("SCJGJ", "县市场监管局"),
    ("TJJ", "县统计局"),
    ("SWJ", "县商务局"),
    ("QXJ", "县气象局"),
)

TOWNS: tuple[tuple[str, int], ...] = (
    ("下板城镇", 4),
    ("上板城镇", 3),
    ("甲山镇", 2),
    ("六沟镇", 2),
    ("三沟镇", 2),
    ("头沟镇", 2),
    ("高寺台镇", 2),
    ("鞍匠镇", 1),
    ("三家镇", 1),
    ("磴上镇", 1),
    ("石灰窑镇", 1),
    ("孟家院乡", 1),
    ("八家乡", 1),
    ("大营子乡", 1),
    ("五道河乡", 1),
    ("东小白旗乡", 1),
    ("岗子满族乡", 1),
    ("满杖子乡", 1),
    ("新杖子乡", 1),
    ("仓子乡", 1),
    ("两家满族乡", 1),
    ("刘杖子乡", 1),
    ("岔沟乡", 1),
)
"""Towns (乡镇) of 承德县 with a rough weight for where enterprises sit."""

SECTOR_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("工贸", 60),
    ("非煤矿山", 14),
    ("危化", 12),
    ("加油站", 10),
    ("安全服务机构", 4),
)

GRADE_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("A", 31107),
    ("B", 12044),
    ("C", 3682),
    ("D", 721),
)
"""Dandong 2023 counts (DOMAIN.md §3) used as sampling weights."""

STATUS_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("active", 96),
    ("closed", 3),
    ("deregistered", 1),
)

_BRAND = "鑫宏泰盛源恒达通兴隆丰瑞华润金益祥昌德合永利成信安众凯福广新"
_TRADE = {
    "工贸": (
        "机械制造",
        "建材",
        "木业",
        "食品",
        "铸造",
        "纺织",
        "包装",
        "农产品加工",
        "钢结构",
        "饲料",
        "商贸",
        "印刷",
    ),
    "非煤矿山": ("矿业", "铁矿", "石料", "采石"),
    "危化": ("化工产品销售", "危险化学品经营", "工业气体", "化工"),
    "加油站": ("石油销售", "能源"),
    "安全服务机构": ("安全技术咨询", "安全评价", "检测技术", "安全培训"),
}

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许"
    "沈彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏田任姜范石姚谭邹金陆郝孔白崔康毛邱"
    "秦史侯邵孟段雷钱尹常武乔贺"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红辉建国志海宇鹏斌"
    "浩凯亮峰晨雪琳宁东文博新春立永学德佳俊"
)

JOINT_SHARES: tuple[tuple[str, float], ...] = (
    ("SCJGJ", 0.13),
    ("TJJ", 0.07),
    ("SWJ", 0.07),
    ("QXJ", 0.07),
)
"""Share of inspectors in each joint department (at least 4 each)."""

_CONFLICT_REASONS = (
    "近亲属在该企业担任负责人",
    "曾在该企业任职，离职未满三年",
    "配偶持有该企业股份",
    "与该企业主要负责人有其他利害关系",
)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _org_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c, 36) * w for c, w in zip(body8, weights, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def _synthetic_body(rng: random.Random) -> str:
    """A 9-character 主体标识码 that is *not* a valid GB 11714 code."""
    body8 = "MA" + "".join(rng.choice(CHARSET) for _ in range(6))
    real = _org_check(body8)
    return body8 + rng.choice([d for d in "0123456789" if d != real])


def sample_departments() -> list[dict[str, str]]:
    """The seed's five departments as ``{"department": id, "name": name}`` rows."""
    return [{"department": dep, "name": name} for dep, name in DEPARTMENTS]


def sample_enterprises(n: int = 1200, seed: int = 2023) -> list[dict[str, str]]:
    """``n`` synthetic enterprise rows ``{"usc", "name", "sector", "town", "grade", "status"}``.

    Codes and names are unique; the rows pass
    :func:`ledger.domain.registry.validate_enterprise_rows`.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise FormatError("sample", f"n must be an integer >= 1, got {n!r}", field="n")
    rng = random.Random(seed)
    codes: set[str] = set()
    names: set[str] = set()
    rows: list[dict[str, str]] = []
    while len(rows) < n:
        sector = _pick(rng, SECTOR_WEIGHTS)
        town = _pick(rng, TOWNS)
        code = make_uscc("91" + REGION + _synthetic_body(rng))
        if code in codes:
            continue
        name = _enterprise_name(rng, sector, town, names)
        codes.add(code)
        names.add(name)
        rows.append(
            {
                "usc": code,
                "name": name,
                "sector": sector,
                "town": town,
                "grade": _pick(rng, GRADE_WEIGHTS),
                "status": _pick(rng, STATUS_WEIGHTS),
            }
        )
    return rows


def _enterprise_name(rng: random.Random, sector: str, town: str, taken: set[str]) -> str:
    for attempt in range(50):
        brand = "".join(rng.sample(_BRAND, 2))
        trade = rng.choice(_TRADE[sector])
        if sector == "加油站":
            place = town.removesuffix("镇").removesuffix("乡")
            name = f"承德样例{brand}{trade}有限公司{place}加油站"
        else:
            name = f"承德样例{brand}{trade}有限公司"
        if attempt >= 40:
            name = f"{name}{town}分公司"
        if name not in taken:
            return name
    return f"承德样例企业{len(taken) + 1:05d}有限公司"


def sample_inspectors(n: int = 60, seed: int = 2023) -> list[dict[str, object]]:
    """``n`` inspector rows ``{"id", "name", "cert_no", "department", "active"}``.

    Most sit in 县应急管理局 (AJJ); each joint department has at least 4, all
    active; 2-3 AJJ inspectors are inactive. ``n`` must be >= 20.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 20:
        raise FormatError("sample", f"n must be an integer >= 20, got {n!r}", field="n")
    rng = random.Random(seed)
    counts = {dep: max(4, round(n * share)) for dep, share in JOINT_SHARES}
    counts = {"AJJ": n - sum(counts.values()), **counts}
    names: set[str] = set()
    rows: list[dict[str, object]] = []
    for dep_index, (dep, _) in enumerate(DEPARTMENTS, start=1):
        for k in range(1, counts[dep] + 1):
            rows.append(
                {
                    "id": f"{dep}-{k:03d}",
                    "name": _person_name(rng, names),
                    "cert_no": f"{REGION}{dep_index:02d}{k:04d}",
                    "department": dep,
                    "active": True,
                }
            )
    ajj = [row for row in rows if row["department"] == "AJJ"]
    for row in rng.sample(ajj, 3 if n >= 40 else 2):
        row["active"] = False
    return rows


def _person_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
        name = rng.choice(_SURNAMES) + given
        if name not in taken:
            taken.add(name)
            return name


def sample_conflicts(
    inspectors: Sequence[Mapping[str, object]] | None = None,
    enterprises: Sequence[Mapping[str, object]] | None = None,
    *,
    n: int = 6,
    seed: int = 2023,
) -> list[dict[str, str]]:
    """A few conflict-of-interest declarations ``{"enterprise", "inspector", "reason"}``.

    Pairs active inspectors with active enterprises of the given rows (default:
    ``sample_inspectors()`` and ``sample_enterprises()``); no pair repeats.
    """
    people = [r for r in (inspectors or sample_inspectors()) if r["active"] is True]
    firms = [r for r in (enterprises or sample_enterprises()) if r["status"] == "active"]
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= min(len(people), len(firms)):
        raise FormatError("sample", f"cannot make {n!r} declarations", field="n")
    rng = random.Random(seed)
    return [
        {
            "enterprise": str(firm["usc"]),
            "inspector": str(person["id"]),
            "reason": rng.choice(_CONFLICT_REASONS),
        }
        for person, firm in zip(rng.sample(people, n), rng.sample(firms, n), strict=True)
    ]
