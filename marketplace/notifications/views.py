"""The in-app notification list."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from marketplace.forms import ReasonForm
from marketplace.notifications import services
from marketplace.paging import paginate
from marketplace.permissions import signed_in

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@signed_in
def index() -> Any:
    page = paginate(services.for_user(current_user))
    return render_template(
        "notifications/list.html",
        page=page,
        items=[(n, services.text_of(n)) for n in page.items],
    )


@bp.route("/read", methods=["POST"])
@signed_in
def mark_read() -> Any:
    if ReasonForm().validate_on_submit():
        services.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))
