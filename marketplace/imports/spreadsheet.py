"""Safety checks for uploaded spreadsheets, before any parser sees them.

An .xlsx file is a zip of XML parts. We refuse what is not one (by content, not by name), what
is too large, what would inflate far beyond its size (a zip bomb), macro-enabled workbooks, and
XML that declares entities or a DTD (parsed with defusedxml, which openpyxl also uses).
"""

from __future__ import annotations

import io
import zipfile

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask_babel import lazy_gettext as _l

from marketplace.errors import ServiceError

ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBERS = 500
# Spreadsheet XML compresses well, but not a thousand times: beyond that it is a bomb.
MAX_RATIO = 200
REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


def check_xlsx(data: bytes, max_bytes: int, max_unzipped: int) -> None:
    """Raise ServiceError with a clear message unless ``data`` is a plain, sane .xlsx file."""
    if not data:
        raise ServiceError(_l("The file is empty."))
    if len(data) > max_bytes:
        raise ServiceError(
            _l("The file is larger than %(size)s MB.", size=max(1, max_bytes // 1_000_000))
        )
    not_xlsx = ServiceError(
        _l("This is not an Excel .xlsx file. Save the sheet as Excel Workbook (.xlsx) and retry.")
    )
    if not data.startswith(ZIP_MAGIC):
        raise not_xlsx
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise not_xlsx from exc
    names = {m.filename for m in members}
    if not all(part in names for part in REQUIRED_PARTS):
        raise not_xlsx
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise ServiceError(_l("Workbooks with macros are not accepted: save as .xlsx."))
    total = sum(m.file_size for m in members)
    too_big = ServiceError(_l("The file unpacks to far more data than a register can hold."))
    if len(members) > MAX_MEMBERS or total > max_unzipped:
        raise too_big
    if any(m.file_size > MAX_RATIO * max(m.compress_size, 1) + 1_000_000 for m in members):
        raise too_big
    for part in REQUIRED_PARTS:
        try:
            fromstring(archive.read(part))
        except (DefusedXmlException, SyntaxError, zipfile.BadZipFile) as exc:
            raise not_xlsx from exc
