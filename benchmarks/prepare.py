"""Inputs for benchmarks.imports (run with DATABASE_URL set to the scratch database):

- a synthetic county whose county, townships and villages are loaded, and whose ~6,000 village
  groups are written to groups.gpkg for the importer to load;
- children.xlsx, a registry export of N school-age children of those groups, with valid IDs.
"""

from __future__ import annotations

import math
import os
import sys
from datetime import date, timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmap.settings")
django.setup()

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from gridmap import idnumbers, schooling  # noqa: E402
from importers.demo.build import build_county  # noqa: E402
from importers.demo.load import _load_areas  # noqa: E402
from importers.demo.sources import synthetic_source  # noqa: E402


def main(work: Path, groups: int, children: int) -> None:
    townships = 30
    villages = math.ceil(groups / townships / 9.5)  # ~9.5 groups per village
    dataset = build_county(synthetic_source(townships, seed=77, villages_per_township=villages),
                           seed=77, children=1000, as_of=date.today())
    areas = dataset.areas
    _load_areas(areas[areas.level != "group"])
    layer = areas[areas.level == "group"]
    gpd.GeoDataFrame({"代码": layer.code, "名称": layer.name}, geometry=list(layer.geom),
                     crs=4326).to_file(work / "groups.gpkg", engine="pyogrio")
    (work / "groups.count").write_text(str(len(layer)))
    print(f"synthetic county {dataset.county_code}: {len(layer):,} village groups in groups.gpkg")

    rng = np.random.default_rng(7)
    earliest, latest = schooling.school_age_birth_range(date.today())
    span = (latest - earliest).days
    codes = layer.code.to_numpy()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("适龄儿童")
    ws.append(["身份证号", "姓名", "性别", "出生日期", "户籍村组", "就读状态", "留守", "随迁"])
    used: dict[date, int] = {}
    for i in range(children):
        birth = earliest + timedelta(days=int(rng.integers(0, span + 1)))
        k = used.get(birth, 0)
        used[birth] = k + 1
        number = idnumbers.make(dataset.county_code, birth, k)  # sequence parity gives the sex
        ws.append([number, f"儿童{i}", "男" if int(number[16]) % 2 else "女", birth.isoformat(),
                   codes[i % len(codes)], "在校", "是" if i % 25 == 0 else "", "是" if i % 7 == 0 else ""])
    wb.save(work / "children.xlsx")
    print(f"children.xlsx: {children:,} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
