"""The template filters that every list page calls per row give the same text as the
library calls they stand in for."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import format_datetime

from market.core.templating import when


@pytest.mark.parametrize("language", ["zh", "en"])
def test_when_writes_what_flask_babel_writes(app, language):
    rng = random.Random(12)
    moments = [datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(3 * 10**9))
               for _ in range(300)]
    moments += [datetime(2026, 12, 31, 16, 0, tzinfo=UTC),  # past midnight in Shanghai
                datetime(2026, 12, 1, 8, 30)]  # naive: UTC, as flask_babel reads it
    with app.test_request_context("/", headers={"Accept-Language": language}):
        for moment in moments:
            for style in ("short", "medium", "long", "full", "yyyy-MM-dd HH:mm"):
                assert when(moment, style) == format_datetime(moment, style), (moment, style)
        assert when(datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "short") == (
            "2027/1/1 00:00" if language == "zh" else "1/1/27, 12:00\u202fAM")


def test_when_without_a_moment_is_a_dash(app):
    with app.test_request_context("/"):
        assert when(None) == "—"


def test_a_forced_locale_is_honoured_inside_its_block_and_only_there(app):
    """The templates' translations, dates and labels are looked up once per request, but an
    email rendered in its recipient's language (flask_babel.force_locale) gets that one."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('Orders') }} | {{ moment | when('short') }} | {{ 'accepted' | label }}"
    moment = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        before = render_template_string(page, moment=moment)
        with force_locale("en"):
            inside = render_template_string(page, moment=moment)
        after = render_template_string(page, moment=moment)
    assert before == after == "订单 | 2027/1/1 00:00 | 已接受"
    assert inside == "Orders | 1/1/27, 12:00\u202fAM | accepted"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pages_show_moments_to_the_minute(app, language):
    from babel.dates import get_datetime_format
    from flask_babel import format_date, format_time, get_locale

    moment = datetime(2026, 12, 5, 2, 35, 20, tzinfo=UTC)
    with app.test_request_context("/", headers={"Accept-Language": language}):
        frame = get_datetime_format("medium", locale=get_locale()).replace("'", "")
        assert when(moment) == frame.replace("{0}", format_time(moment, "short")).replace(
            "{1}", format_date(moment, "medium"))
        assert ":20" not in when(moment)
        assert when(moment) == ("2026年12月5日 10:35" if language == "zh"
                                else "Dec 5, 2026, 10:35\u202fAM")


def test_a_label_of_a_constant_is_in_the_language_of_each_reader(app):
    """Jinja works a filter of a constant out when it compiles a template, once per process:
    the calendar's legend (`{{ 'held' | label }}`) stayed in the first reader's language."""
    template = app.jinja_env.from_string(
        "{{ 'held' | label }} | {{ 'order.created' | audit_label }}")
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        assert template.render() == "已预留 | 订单已创建"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert template.render() == "held | Order created"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_templates_gettext_writes_what_jinjas_writes(app, language):
    """`_()` in one call, with the texts of plain strings kept: the same text, escaped the
    same way, as Jinja's newstyle gettext over flask_babel."""
    from jinja2 import Environment

    from market.core.reader import reader

    cases = [("Orders", {}), ("100%% sure", {}), ("Select order %(id)s", {"id": "<b>7</b>"}),
             ("Times in %(tz)s", {"tz": "Asia/Shanghai"}), ("<not a msgid>", {})]
    with app.test_request_context("/", headers={"Accept-Language": language}):
        stock = Environment(extensions=["jinja2.ext.i18n"])
        stock.install_gettext_callables(lambda s: reader().translations.ugettext(s),
                                        lambda s, p, n: s, newstyle=True)
        for autoescape in (True, False):
            for text, values in cases:
                source = "{{ _(text, **values) }}{{ gettext(text, **values) }}"
                ours = app.jinja_env.from_string(
                    f"{{% autoescape {autoescape} %}}{source}{{% endautoescape %}}")
                theirs = stock.from_string(
                    f"{{% autoescape {autoescape} %}}{source}{{% endautoescape %}}")
                for _ in range(2):  # the second from the kept texts
                    assert ours.render(text=text, values=values) == theirs.render(
                        text=text, values=values), (text, autoescape)
        escaped = app.jinja_env.from_string("{{ _('Select order %(id)s', id='<b>') }}")
        assert "&lt;b&gt;" in escaped.render()  # the cases above do escape


def test_id_url_builds_what_url_for_builds(app):
    from flask import url_for

    from market.core.templating import id_url

    with app.test_request_context("/"):
        show = id_url("orders.show", "order_id")
        calendar = id_url("factory.calendar", "plant_id", week="2026-12-07")
        for value in (1, 42, 2**31 - 1):
            assert show(value) == url_for("orders.show", order_id=value)
            assert calendar(value) == url_for("factory.calendar", plant_id=value,
                                              week="2026-12-07")


def test_when_formatter_writes_what_when_writes(app):
    from market.core.templating import when_formatter

    moments = [None, datetime(2026, 12, 31, 16, 0, tzinfo=UTC), datetime(2026, 12, 1, 8, 30)]
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        for style in ("short", "medium"):
            write = when_formatter(style)
            assert [write(m) for m in moments] == [when(m, style) for m in moments]


def test_the_templates_url_for_remembers_each_link_as_url_for_builds_it(app):
    from flask import url_for

    from market.core.templating import template_url_for

    with app.test_request_context("/"):
        for values in ({"page": 1}, {"page": True}, {"page": "1"}, {"page": 1.0}, {"page": 2}):
            for _ in range(2):  # the second from memory
                assert template_url_for("orders.index", **values) == url_for(
                    "orders.index", **values), values


@pytest.mark.parametrize("language", ["zh", "en"])
def test_dateformat_writes_what_flask_babel_writes(app, language):
    from datetime import date

    from flask_babel import format_date

    from market.core.templating import dateformat

    with app.test_request_context("/", headers={"Accept-Language": language}):
        for day in (date(2026, 12, 7), date(2027, 1, 1), date(2000, 2, 29)):
            for style in ("short", "medium", "long", "full"):
                assert dateformat(day, style) == format_date(day, style), (day, style)
        moment = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # a datetime: its zone's day
        assert dateformat(moment) == format_date(moment, "medium")
