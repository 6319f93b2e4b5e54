"""Page forms (Flask-WTF: CSRF token included)."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, Email, Length, NumberRange, Optional

from market.catalog import places


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me on this device"))


class RegisterForm(FlaskForm):
    company_name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    company_kind = SelectField(
        _l("Your company"),
        choices=[
            SelectChoice("buyer", _l("Buyer: we need parts made")),
            SelectChoice("factory", _l("Factory: we offer machine capacity")),
            SelectChoice("both", _l("Both")),
        ],
        validators=[DataRequired()],
    )
    # ISO 3166 codes named in the reader's language (the choices are set per request)
    country = SelectField(_l("Country or region"), default="CN", validators=[DataRequired()],
                          validate_choice=False)
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Work email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             description=_l("At least 10 characters."))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # an unknown code is the service's to refuse, in words, with the rest kept
        self.country.choices = list(places.countries(str(get_locale())))


class CompanyForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    name_zh = StringField(_l("Chinese name"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    lat = DecimalField(_l("Latitude"), places=5,
                       validators=[Optional(), NumberRange(min=-90, max=90)])
    lon = DecimalField(_l("Longitude"), places=5,
                       validators=[Optional(), NumberRange(min=-180, max=180)])
    website = StringField(_l("Website"), validators=[Optional(), URL(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=60)])
    description = TextAreaField(_l("About the company"),
                                validators=[Optional(), Length(max=4000)])


class StatusForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
