"""The order form's required certifications, as checkboxes (beside pages.py, which is at its
size limit): the field, its value as the service's input, and filling it from an order.
Unknown values are the service's to refuse (one set of rules with the API)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from market.catalog.certifications import CERTIFICATION_KINDS


class CertificationsForm(FlaskForm):
    certifications = SelectMultipleField(
        _l("Required certifications (optional)"),
        choices=[SelectChoice(k, name) for k, name in CERTIFICATION_KINDS.items()],
        validate_choice=False, widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Only factories holding every one, verified and valid, are matched."))

    def certification_input(self) -> dict[str, Any]:
        return {"required_certifications": list(self.certifications.data or [])}

    def fill_certifications(self, order: Any) -> None:
        self.certifications.data = list(order.required_certifications or [])
