"""Build market/catalog/data/cn_cities.csv, the city picker's table of Chinese places.

Run by hand when the source changes (not at run time, so neither package is a dependency):
    pip download --no-deps -d /tmp/cn cpca==0.5.5 && unzip /tmp/cn/cpca-0.5.5-*.whl -d /tmp/cn
    pip install --target /tmp/cn/lib pypinyin==0.55.0
    PYTHONPATH=/tmp/cn/lib python tools/make_cn_cities.py /tmp/cn/cpca/resources \
        > market/catalog/data/cn_cities.csv

Source: cpca 0.5.5 (MIT), resources/adcodes.csv: the GB/T 2260 division codes with the
point of each division's seat of government (GCJ-02, six decimals; GCJ-02 is offset from
WGS-84 by a few hundred metres inside China, which is below what transport costing needs).
Chinese names are the source's; English names are made here: hand-written for provinces,
pinyin (pypinyin, with its phrase dictionary) plus an English suffix for the rest, so a rare
polyphone may be read wrongly in English; the Chinese name is the authority.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from pypinyin import lazy_pinyin

PROVINCES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macao",
}
MUNICIPALITIES = {"11", "12", "31", "50"}
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
# The polyphones pypinyin's phrase dictionary reads wrongly in place names.
PINYIN_FIXES = {"六安": "Lu'an", "蚌埠": "Bengbu", "乐清": "Yueqing", "番禺": "Panyu",
                "厦门": "Xiamen", "重庆": "Chongqing", "长沙": "Changsha", "长春": "Changchun",
                "亳州": "Bozhou", "丽水": "Lishui", "丽江": "Lijiang", "乐山": "Leshan",
                "台州": "Taizhou", "铅山": "Yanshan", "洪洞": "Hongtong", "单县": "Shan",
                "莘县": "Shen", "浚县": "Xun", "蔚县": "Yu", "歙县": "She", "长治": "Changzhi",
                "朝阳": "Chaoyang", "东阿": "Dong'e", "涡阳": "Guoyang", "吐鲁番": "Turpan",
                "乌鲁木齐": "Urumqi", "呼和浩特": "Hohhot", "拉萨": "Lhasa", "喀什": "Kashgar",
                "漯河": "Luohe", "吕梁": "Lüliang", "哈尔滨": "Harbin", "齐齐哈尔": "Qiqihar",
                "鄂尔多斯": "Ordos", "呼伦贝尔": "Hulunbuir", "巴彦淖尔": "Bayannur",
                "乌兰察布": "Ulanqab", "锡林郭勒": "Xilingol", "阿拉善": "Alxa", "兴安": "Hinggan",
                "大兴安岭": "Da Hinggan Ling", "克拉玛依": "Karamay", "日喀则": "Shigatse",
                "昌都": "Qamdo", "那曲": "Nagqu", "阿里": "Ngari", "林芝": "Nyingchi",
                "阿克苏": "Aksu", "和田": "Hotan", "伊犁": "Ili", "阿勒泰": "Altay",
                "博尔塔拉": "Bortala", "巴音郭楞": "Bayingolin", "克孜勒苏": "Kizilsu",
                "果洛": "Golog", "阿拉尔": "Aral", "图木舒克": "Tumxuk", "石河子": "Shihezi"}
SUFFIXES = [  # longest first: (Chinese ending, English ending)
    ("自治州", " Prefecture"), ("自治县", " Autonomous County"), ("自治旗", " Autonomous Banner"),
    ("林区", " Forestry District"), ("特区", " Special District"), ("新区", " New Area"),
    ("地区", " Prefecture"), ("盟", " League"), ("旗", " Banner"), ("区", " District"),
    ("县", " County"), ("市", ""), ("省", ""),
]


SOURCE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
OLD = Path(sys.argv[2]) if len(sys.argv) > 2 else None


def _nations() -> list[str]:
    text = (SOURCE / "56_nations.csv").read_text("utf-8")
    names = [n.strip() for n in text.split() if n.strip()]
    # a few appear without 族 in division names ("巴音郭楞蒙古自治州"); not 水族 as "水" (陵水)
    return [*names, "蒙古", "哈萨克", "柯尔克孜"]


NATIONS = _nations()


def romanize(base: str) -> str:
    if base in PINYIN_FIXES:
        return PINYIN_FIXES[base]
    syllables = lazy_pinyin(base)
    out = syllables[0]
    for s in syllables[1:]:
        out += ("'" if s[:1] in "aoe" else "") + s
    return out[:1].upper() + out[1:]


def english(name: str) -> str:
    for zh, en in SUFFIXES:
        if name.endswith(zh) and len(name) > len(zh):
            base = name[: -len(zh)]
            if zh.startswith("自治"):
                cuts = [at for n in NATIONS if (at := base.find(n)) > 0]  # 恩施土家族苗族 -> 恩施
                base = base[:min(cuts)] if cuts else base
            if zh == "新区" and base in PINYIN_FIXES:
                return PINYIN_FIXES[base] + en
            return romanize(base) + en
    return romanize(name)


def _read(folder: Path) -> dict[str, dict[str, str]]:
    text = (folder / "adcodes.csv").read_text("utf-8")
    return {r["adcode"][:6]: r for r in csv.DictReader(io.StringIO(text))}


def _base(name: str) -> str:
    for zh, _en in SUFFIXES:
        if name.endswith(zh) and len(name) > len(zh):
            return name[: -len(zh)]
    return name


def _old_point(code: str, name: str, old: dict[str, dict[str, str]]) -> dict[str, str] | None:
    """The same place's point under its code or old name, if the old table has one."""
    if code in old and old[code]["latitude"] and _base(old[code]["name"]) == _base(name):
        return old[code]
    city_level = code.endswith("00")
    for c, r in old.items():
        same_parent = c[:2] == code[:2] if city_level else c[:4] == code[:4]
        if (same_parent and c.endswith("00") == city_level and r["latitude"]
                and _base(r["name"]) == _base(name)):
            return r
    return None


def main() -> None:
    by_code = _read(SOURCE)
    old = _read(OLD) if OLD else {}
    missing = 0
    for code, r in by_code.items():
        if not r["latitude"] and r["name"] not in PLACEHOLDERS and code[:2] in PROVINCES_EN:
            point = _old_point(code, r["name"], old)
            if point:
                r["latitude"], r["longitude"] = point["latitude"], point["longitude"]
            else:
                missing += 1
    print(f"left out for want of a point: {missing}", file=sys.stderr)
    provinces = {c[:2]: r["name"] for c, r in by_code.items() if c.endswith("0000")}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["code", "province_zh", "province_en", "city_zh", "city_en", "district_zh",
                  "district_en", "lat", "lon"])
    seen_city = set()
    for code in sorted(by_code):
        r = by_code[code]
        p = code[:2]
        if not r["latitude"] or r["name"] in PLACEHOLDERS or p not in PROVINCES_EN:
            continue
        prov = (provinces[p], PROVINCES_EN[p])
        coords = [f"{float(r['latitude']):.6f}", f"{float(r['longitude']):.6f}"]
        if code.endswith("0000"):
            has_cities = any(c[:2] == p and c != code and by_code[c]["latitude"]
                             and by_code[c]["name"] not in PLACEHOLDERS for c in by_code)
            if p in MUNICIPALITIES or not has_cities:  # Beijing, Hong Kong: a city themselves
                out.writerow([code, *prov, r["name"], PROVINCES_EN[p], "", "", *coords])
                seen_city.add(code)
            continue
        parent = by_code.get(code[:4] + "00")
        if p in MUNICIPALITIES and code.endswith("00"):
            continue  # 110100 "北京市" (or "市辖区"): Beijing itself is the city, 110000
        if code.endswith("00"):
            out.writerow([code, *prov, r["name"], english(r["name"]), "", "", *coords])
            seen_city.add(code)
        elif p in MUNICIPALITIES:
            out.writerow([code, *prov, provinces[p], PROVINCES_EN[p], r["name"],
                          english(r["name"]), *coords])
        elif parent is None or parent["name"] in PLACEHOLDERS:
            # a county-level city under the province itself (仙桃市): a city of its own
            out.writerow([code, *prov, r["name"], english(r["name"]), "", "", *coords])
        else:
            out.writerow([code, *prov, parent["name"], english(parent["name"]), r["name"],
                          english(r["name"]), *coords])


if __name__ == "__main__":
    main()
