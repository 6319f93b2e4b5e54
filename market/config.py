"""Configuration from the environment (microblog style): embedded defaults for a laptop,
real services when the variables say so (CTFd style)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("YUNZAO_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'yunzao.sqlite'}"
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy needs the psycopg 3 dialect.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    # A fixed development key is fine for `make run`; production refuses to start without one.
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    DATABASE_URL = _database_url()
    REDIS_URL = os.environ.get("REDIS_URL", "")
    ENV_NAME = os.environ.get("YUNZAO_ENV", "development")

    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_MB", 50) * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30

    WTF_CSRF_TIME_LIMIT = None  # tie CSRF tokens to the session, not to a clock

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")

    # Rate limits: in-process memory by default, Redis when configured (shared by workers).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
        REDIS_URL or "memory://"
    )
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # per company: instant quotes run the solver, uploads fill the disk
    QUOTE_RATE_LIMIT = os.environ.get("QUOTE_RATE_LIMIT", "30 per minute")
    UPLOAD_RATE_LIMIT = os.environ.get("UPLOAD_RATE_LIMIT", "120 per hour")
    # per company: every message is a notification and a mail to the other side
    MESSAGE_RATE_LIMIT = os.environ.get("MESSAGE_RATE_LIMIT", "120 per hour")

    HSTS = _bool("HSTS", False)
    API_TOKEN_DAYS = _int("API_TOKEN_DAYS", 90)
    SQL_ECHO = _bool("SQL_ECHO", False)

    # Background jobs: "thread" (in-process pool), "celery" (workers on REDIS_URL) or "sync".
    JOBS_MODE = os.environ.get("JOBS_MODE", "")
    SOLVER_WORKERS = _int("SOLVER_WORKERS", 2)
    # CP-SAT threads on shift-calendar models (every matching run's model): off by default.
    # With two there, OR-Tools 9.15 aborted 3 of about 20 solves at size M (issue #4176;
    # docs/benchmarks.md) for no measured gain; the solve's child process survives it, but
    # the run then starts again on one thread and takes twice its time.
    SOLVER_CALENDAR_THREADS = _bool("SOLVER_CALENDAR_THREADS", False)
    # "anytime": a run uses its whole time limit (stops early only when optimal);
    # "repeatable": a fixed amount of work, the same plan every time (tests, audits)
    SOLVER_MODE = os.environ.get("SOLVER_MODE", "anytime")
    PLATFORM_FEE_BPS = _int("PLATFORM_FEE_BPS", 800)  # 8% on top of the factories' price
    QUOTE_VALID_HOURS = _int("QUOTE_VALID_HOURS", 72)
    MATCHING_EVERY_MINUTES = _int("MATCHING_EVERY_MINUTES", 0)  # 0: operators start runs
    MATCHING_TIME_LIMIT = _int("MATCHING_TIME_LIMIT", 60)
    # the in-process schedule (JOBS_MODE=thread): "" = on, except under TESTING
    SCHEDULE_IN_PROCESS = os.environ.get("SCHEDULE_IN_PROCESS", "")
    HOUSEKEEPING_SECONDS = _int("HOUSEKEEPING_SECONDS", 60)
    # pages that show housekeeping's effects (runs, bookings) ask what is due at most this
    # often per process (core.jobs.catch_up)
    CATCH_UP_SECONDS = _int("CATCH_UP_SECONDS", 5)
    # Days a buyer has to inspect a delivery; a delivered order closes when they pass.
    INSPECTION_DAYS = _int("INSPECTION_DAYS", 7)
    # A re-plan that cannot deliver by the due date plus these days offers the buyer
    # cancellation with a full refund (API.md "Disruption and change").
    REPLAN_SLACK_DAYS = _int("REPLAN_SLACK_DAYS", 3)
    # Probation (issue 15): a factory with fewer than 3 jobs takes part in matching only
    # while it has no live booking, and only for orders worth at most this much, in fen
    # (the environment gives yuan, default 20,000). 0 turns probation off.
    PROBATION_MAX_AMOUNT = _int("PROBATION_MAX_AMOUNT", 20_000) * 100
    TEST_SOLVE_DELAY_SECONDS = _int("TEST_SOLVE_DELAY_SECONDS", 0)  # tests only

    # Payments (market/payments). Stripe is used when its secret key is set; otherwise the
    # manual gateway (bank transfer, an operator marks it received).
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")  # tests: the fake server
    STRIPE_TIMEOUT_SECONDS = _int("STRIPE_TIMEOUT_SECONDS", 30)
    STRIPE_MAX_NETWORK_RETRIES = _int("STRIPE_MAX_NETWORK_RETRIES", 2)
    SUPPORTED_CURRENCIES = tuple(
        c.strip().upper() for c in os.environ.get("SUPPORTED_CURRENCIES", "CNY").split(",")
        if c.strip())
    PAYOUT_AFTER_SHIPMENT_DAYS = _int("PAYOUT_AFTER_SHIPMENT_DAYS", 14)
    # an accepted quote keeps its capacity booked this long while the payment is awaited
    PAYMENT_DUE_HOURS = _int("PAYMENT_DUE_HOURS", 72)
    PLATFORM_BANK_NAME = os.environ.get("PLATFORM_BANK_NAME", "China Merchants Bank, Shanghai")
    PLATFORM_BANK_HOLDER = os.environ.get("PLATFORM_BANK_HOLDER", "Yunzao Escrow Account")
    PLATFORM_BANK_ACCOUNT = os.environ.get("PLATFORM_BANK_ACCOUNT", "6225 8800 0000 0000")

    # Mail (market/notify): SMTP through flask-mailman when MAIL_SERVER is set; without it
    # mails are written to the log. SITE_URL makes the links in mails absolute.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Yunzao <noreply@yunzao.local>")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 15)
    MAIL_BACKEND = "smtp"  # flask-mailman would pick an in-memory one under TESTING
    MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN", "yunzao.local")
    SITE_URL = os.environ.get("SITE_URL", "http://localhost:5000")
    # Outbound webhooks may call private or loopback addresses only when this is set (tests,
    # an integrator's MES on the same private network as a self-hosted marketplace)
    WEBHOOKS_ALLOW_PRIVATE = _bool("WEBHOOKS_ALLOW_PRIVATE", False)

    @classmethod
    def check_production(cls, config: dict) -> None:
        """Refuse to serve production traffic with development secrets."""
        if config.get("ENV_NAME") == "production" and config.get("SECRET_KEY") in (
            None,
            "",
            "dev-only-not-secret",
        ):
            raise RuntimeError("SECRET_KEY must be set when YUNZAO_ENV=production")
