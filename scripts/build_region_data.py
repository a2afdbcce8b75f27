"""Rebuild the region data files shipped in marketplace/regions/data/.

Sources (downloaded once by hand from the package registries, not at run time):
- cpca 0.5.5 (PyPI, MIT licence): cpca/resources/adcodes.csv, provinces, cities and
  counties with 12-digit codes and coordinates.
- china-division 2.7.0 (npm, package.json says MIT, LICENSE file WTFPL): dist/streets.csv and
  dist/villages.csv, the national statistical division codes of townships and villages.

Usage: python scripts/build_region_data.py CPCA_ADCODES_CSV CHINA_DIVISION_DIST_DIR
"""

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "marketplace" / "regions" / "data"
BAIYIN_PREFIX = "6204"


def level_of(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "city"
    return "county"


def parent_of(code: str, level: str) -> str:
    if level == "province":
        return ""
    if level == "city":
        return code[:2] + "0" * 10
    return code[:4] + "0" * 8


def build_counties(adcodes: Path) -> None:
    rows = list(csv.DictReader(adcodes.open(encoding="utf-8")))
    # County-level "市辖区" rows are placeholders with no units below them.
    rows = [r for r in rows if not (level_of(r["adcode"]) == "county" and r["name"] == "市辖区")]
    by_code = {r["adcode"]: r for r in rows}
    order = {"province": 0, "city": 1, "county": 2}
    rows.sort(key=lambda r: (order[level_of(r["adcode"])], r["adcode"]))
    with (OUT / "china_counties.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["code", "name", "level", "parent_code", "lat", "lng"])
        for r in rows:
            code, level = r["adcode"], level_of(r["adcode"])
            parent = parent_of(code, level)
            lat, lng = r["latitude"], r["longitude"]
            walk = parent
            # Units without coordinates take their nearest ancestor's.
            while (not lat or not lng) and walk:
                lat, lng = by_code[walk]["latitude"], by_code[walk]["longitude"]
                walk = parent_of(walk, level_of(walk))
            out.writerow([code, r["name"], level, parent, lat, lng])


def build_baiyin(dist: Path) -> None:
    with (OUT / "baiyin_townships_villages.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["code", "name", "parent_code", "lat", "lng"])
        for r in csv.DictReader((dist / "streets.csv").open(encoding="utf-8")):
            if r["code"].startswith(BAIYIN_PREFIX):
                out.writerow([r["code"] + "000", r["name"], r["areaCode"] + "000000", "", ""])
        for r in csv.DictReader((dist / "villages.csv").open(encoding="utf-8")):
            if r["code"].startswith(BAIYIN_PREFIX):
                out.writerow([r["code"], r["name"], r["streetCode"] + "000", "", ""])


if __name__ == "__main__":
    build_counties(Path(sys.argv[1]))
    build_baiyin(Path(sys.argv[2]))
