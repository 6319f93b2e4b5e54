"""Places for the pickers: countries, and Chinese cities and districts with their points.

Countries are ISO 3166-1 alpha-2 codes named in the reader's language from CLDR (Babel, a
dependency already), so the names stay as maintained as the translations. Chinese places come
from `data/cn_cities.csv` (how it is made, from which source and how precise its points are:
tools/make_cn_cities.py): every prefecture-level city and its districts and counties, each
with the point of its seat of government. A point only fills the coordinates a form would
otherwise ask for by hand; they stay editable and are never required to come from here.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError

DATA = Path(__file__).parent / "data" / "cn_cities.csv"
# CLDR territories that are not ISO 3166-1 countries (regions, groupings, test codes)
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN",
                            "XA", "XB", "XK", "ZZ"})


@dataclass(frozen=True)
class Place:
    code: str  # GB/T 2260 division code, six digits
    city_code: str  # the city's own code for a district, its code for a city
    province_zh: str
    province_en: str
    city_zh: str
    city_en: str
    district_zh: str
    district_en: str
    lat: float
    lon: float

    @property
    def is_city(self) -> bool:
        return not self.district_zh

    def name(self, locale: str) -> str:
        """The place's own name (district or city) in the reader's language."""
        zh, en = ((self.city_zh, self.city_en) if self.is_city
                  else (self.district_zh, self.district_en))
        return zh if _is_zh(locale) else en

    def full_name(self, locale: str) -> str:
        """Province, city and district, as an address starts (江苏省苏州市昆山市)."""
        if _is_zh(locale):
            parts = dict.fromkeys((self.province_zh, self.city_zh, self.district_zh))
            return "".join(p for p in parts if p)
        parts = dict.fromkeys((self.district_en, self.city_en, self.province_en))
        return ", ".join(p for p in parts if p)

    def label(self, locale: str) -> str:
        """The option text: Chinese for a Chinese reader, English with the Chinese beside it
        (what the signs and the paperwork will say) for everyone else."""
        zh = self.city_zh if self.is_city else self.district_zh
        return zh if _is_zh(locale) else f"{self.name(locale)} · {zh}"


@dataclass(frozen=True)
class Province:
    label: str
    cities: tuple[Place, ...]


def _is_zh(locale: str) -> bool:
    return str(locale or "zh").startswith("zh")


@functools.cache
def _table() -> dict[str, Place]:
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    city_codes = {(r["province_zh"], r["city_zh"]): r["code"] for r in rows
                  if not r["district_zh"]}
    return {
        r["code"]: Place(
            code=r["code"],
            city_code=city_codes.get((r["province_zh"], r["city_zh"]), r["code"]),
            province_zh=r["province_zh"], province_en=r["province_en"],
            city_zh=r["city_zh"], city_en=r["city_en"],
            district_zh=r["district_zh"], district_en=r["district_en"],
            lat=float(r["lat"]), lon=float(r["lon"]),
        )
        for r in rows
    }


def get(code: str | None) -> Place | None:
    """The place with this code, or None for an unknown or empty one."""
    return _table().get((code or "").strip())


@functools.cache
def provinces(locale: str) -> tuple[Province, ...]:
    """Cities grouped by province, in code order (north to south-west, as the codes run)."""
    groups: dict[str, list[Place]] = {}
    for place in _table().values():
        if place.is_city:
            groups.setdefault(place.code[:2], []).append(place)
    out = []
    for cities in groups.values():
        first = cities[0]
        label = (first.province_zh if _is_zh(locale)
                 else f"{first.province_en} · {first.province_zh}")
        out.append(Province(label, tuple(cities)))
    return tuple(out)


def districts(city_code: str | None) -> list[Place]:
    """A city's districts and counties, in code order; none for an unknown city."""
    city = get(city_code)
    if city is None or not city.is_city:
        return []
    return [p for p in _table().values() if not p.is_city and p.city_code == city.code]


def chosen(city_code: str | None, district_code: str | None) -> Place | None:
    """The place a picker's two selects name: the district if it lies in the city."""
    district = get(district_code)
    city = get(city_code)
    if district is not None and not district.is_city and (
            city is None or district.city_code == city.code):
        return district
    return city if city is not None and city.is_city else None


def fill(values: dict[str, str], place: Place | None, locale: str) -> dict[str, str]:
    """The form's values with the place's point (and city name) where they were left blank:
    what the picker's script does in the page, for a browser without JavaScript."""
    if place is None:
        return values
    out = dict(values)
    if not str(out.get("lat") or "").strip() and not str(out.get("lon") or "").strip():
        out["lat"], out["lon"] = f"{place.lat:.6f}", f"{place.lon:.6f}"
    if "city" in out and not str(out.get("city") or "").strip():
        out["city"] = place.city_zh if _is_zh(locale) else place.city_en
    if "address" in out and not str(out.get("address") or "").strip():
        out["address"] = place.full_name(locale)
    return out


@functools.cache
def countries(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every ISO 3166-1 country in the reader's language; China first, the
    rest by name (English) or by code (Chinese, whose names have no alphabet to sort by)."""
    try:
        names = Locale.parse(str(locale or "zh").replace("-", "_")).territories
    except (UnknownLocaleError, ValueError):
        names = Locale("en").territories
    codes = [c for c in names if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES]
    key = (lambda c: c) if _is_zh(locale) else (lambda c: names[c].casefold())
    rest = sorted((c for c in codes if c != "CN"), key=key)
    return tuple((c, names[c]) for c in ["CN", *rest])


def is_country(code: str | None) -> bool:
    return (code or "").upper() in {c for c, _ in countries("en")}


def country_name(code: str | None, locale: str) -> str:
    """A country's name in the reader's language; the code itself when unknown."""
    return dict(countries(locale)).get((code or "").upper(), code or "")
