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
