"""Buyers' orders (placeholder blueprint; the orders issue fills it in)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.get("/")
@login_required
def index():
    return render_template("errors/error.html", status=404, title="Orders",
                           text="Order posting is being built."), 404
