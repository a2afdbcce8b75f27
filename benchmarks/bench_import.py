"""Bulk import speed: validate and import a filled-in register template. Run:
    python -m benchmarks.bench_import --households 5000 --needs 5000 [--database URL]
Uses a throw-away instance directory (and SQLite) unless --database is given."""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from datetime import date


def filled_template(template: bytes, villages: list[str], households: int, needs: int) -> bytes:
    """The template with rows written under its headers, the way an office would fill it."""
    from openpyxl import load_workbook

    from marketplace.demo import id_number

    book = load_workbook(io.BytesIO(template))
    sheet = book["贫困户"]
    for n in range(households):
        village = villages[n % len(villages)]
        code = village.split("（")[1].rstrip("）")
        born = date(1950 + n % 50, 1 + n % 12, 1 + n % 28)
        person = [f"户主{n}", id_number(code, born, n % 1000), f"139{n:08d}", 1 + n % 6]
        sheet.append([f"B{n:07d}", village, *person, "因病", "缺技术", "未脱贫", "有劳动力", 3000])
    sheet = book["需求"]
    for n in range(needs):
        village = villages[n % len(villages)]
        sheet.append([f"B{n % max(households, 1):07d}" if households else "", village,
                      "生活用品与家电/洗衣机", f"需要洗衣机{n}", "家里没有洗衣机", 1, "台", 1200,
                      "2 · 较急", None])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=5_000)
    parser.add_argument("--needs", type=int, default=5_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="fupin-bench-")
    os.environ["MARKETPLACE_INSTANCE"] = instance
    os.environ.setdefault("SECRET_KEY", "bench")

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.accounts.models import Role, User
    from marketplace.extensions import db
    from marketplace.imports.pending import digest
    from marketplace.imports.reading import read_upload
    from marketplace.imports.spreadsheet import check_xlsx
    from marketplace.imports.template import build_template, vocabulary
    from marketplace.imports.writing import import_rows
    from marketplace.regions.services import by_code, load_baiyin_extract, load_gazetteer

    url = args.database or f"sqlite:///{instance}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_gazetteer()
        load_baiyin_extract()
        county = by_code("620421000000")  # 靖远县
        staff = User(username="bench", display_name="bench", role=Role.STAFF, regions=[county],
                     password_hash="-")  # fmt: skip
        db.session.add(staff)
        db.session.commit()
        template = build_template(staff)
        villages = vocabulary(staff).options()["所在村"]
        data = filled_template(template, villages, args.households, args.needs)

        start = time.perf_counter()
        check_xlsx(data, 50_000_000, 500_000_000)
        preview = read_upload(staff, data, 100_000)
        check_s = time.perf_counter() - start
        assert preview.ok, preview.rows_with_errors[:3] or preview.file_errors
        start = time.perf_counter()
        import_rows(staff, preview, digest(data))
        db.session.commit()
        import_s = time.perf_counter() - start
    rows = args.households + args.needs
    print("| measurement | value |")
    print("|---|---:|")
    print(f"| file: {args.households:,} households + {args.needs:,} needs | "
          f"{len(data) / 1e6:.1f} MB |")  # fmt: skip
    print(f"| check and validate {rows:,} rows (preview) | {check_s:.1f} s |")
    print(f"| write {rows:,} rows in one transaction | {import_s:.1f} s |")
    print(f"| total | {check_s + import_s:.1f} s |")


if __name__ == "__main__":
    main()
