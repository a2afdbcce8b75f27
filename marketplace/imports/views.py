"""The import pages, under the register's address: template, upload and check, confirmation."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.imports.forms import ConfirmImportForm, ImportForm
from marketplace.imports.pending import (
    digest,
    discard_pending,
    keep_pending,
    pending,
    pending_rows,
)
from marketplace.imports.reading import Preview, read_upload
from marketplace.imports.spreadsheet import check_xlsx
from marketplace.imports.template import build_template
from marketplace.imports.writing import import_rows
from marketplace.permissions import roles
from marketplace.roles import Role
from marketplace.signals import start_work

bp = Blueprint("imports", __name__)


@bp.route("/households/import")
@roles(*Role.EDITORS)
def start() -> Any:
    return render_template("imports/start.html", form=ImportForm())


@bp.route("/households/import/template.xlsx")
@roles(*Role.EDITORS)
def template() -> Any:
    response = Response(
        build_template(current_user),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = "attachment; filename=register-template.xlsx"
    return response


@bp.route("/households/import", methods=["POST"])
@roles(*Role.EDITORS)
def check() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        abort(400)
    config = current_app.config
    upload = request.files.get("file")
    data = upload.read(config["IMPORT_MAX_BYTES"] + 1) if upload else b""
    check_xlsx(data, config["IMPORT_MAX_BYTES"], config["IMPORT_MAX_UNZIPPED"])
    preview = read_upload(current_user, data, config["IMPORT_MAX_ROWS"])
    token = keep_pending(current_user, data, preview.rows) if preview.ok else ""
    return _render_preview(preview, token)


def _render_preview(preview: Preview, token: str) -> Any:
    confirm = ConfirmImportForm(token=token)
    return render_template(
        "imports/preview.html", preview=preview, confirm=confirm, form=ImportForm()
    ), (200 if preview.ok else 400)


@bp.route("/households/import/confirm", methods=["POST"])
@roles(*Role.EDITORS)
def confirm() -> Any:
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data
    rows = pending_rows(current_user, token)  # 0 once the upload is used up or gone
    if rows > current_app.config["BACKGROUND_IMPORT_ROWS"]:
        # A large file is read, checked again and written in the background; its page shows
        # how far it got. The upload stays until then.
        run_id = start_work("import", current_user, subject=f"rows:{rows}", token=token,
                            locale=str(get_locale()))  # fmt: skip
        return redirect(url_for("work.run", run_id=run_id))
    data = pending(current_user, token)
    # Checked again: the register may have changed since the preview.
    preview = read_upload(current_user, data, current_app.config["IMPORT_MAX_ROWS"])
    if not preview.ok:
        discard_pending(current_user, token)
        return _render_preview(preview, "")
    households, needs = import_rows(current_user, preview, digest(data))
    discard_pending(current_user, token)
    members = len(preview.members)
    flash(_("Imported %(households)s households, %(members)s members and %(needs)s needs.",
            households=households, members=members, needs=needs), "success")  # fmt: skip
    return redirect(url_for("households.index"))
