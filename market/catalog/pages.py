"""The city picker's second step: a city's districts as <option>s, for htmx (public data)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale

from market.catalog import places

bp = Blueprint("places", __name__)


@bp.get("/places/districts")
def districts():
    # the picker's city select sends its own name and value: whichever picker asked
    code = next((v for k, v in request.args.items() if k.endswith("place")), "")
    # not cached: the language may come from the account or the language switch, not only
    # from Accept-Language, and the answer is a few hundred bytes
    return render_template("catalog/_district_options.html",
                           districts=places.districts(code), locale=str(get_locale()))
