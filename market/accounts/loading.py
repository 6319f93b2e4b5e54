"""The signed-in user of a request, as flask-login loads it (one query, every page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import joinedload
from sqlmodel import Session, select

from market.accounts.models import User

# What other domains read with the signed-in user on every page, by name (notify: the unread
# count), a column each in the user's own query: one round trip for both
USER_EXTRAS: dict[str, Callable[[], Any]] = {}


@lru_cache(maxsize=8)
def _user_query(names: tuple[str, ...]) -> Any:
    """The user by id with its company (the navigation reads it) and the USER_EXTRAS `names`,
    in one query built once."""
    columns = [USER_EXTRAS[name]().label(name) for name in names]
    query = select(User, *columns) if columns else select(User)  # type: ignore[call-overload]
    return query.options(joinedload(User.company)).where(User.id == bindparam("user_id"))


def load_user(session: Session, session_id: str,
              extras: dict[str, Any] | None = None) -> User | None:
    """flask-login's loader: `<id>:<session_version>`; a stale version signs the user out.
    `extras`, when given, gets the user's USER_EXTRAS."""
    try:
        raw_id, raw_version = session_id.split(":", 1)
        user_id, version = int(raw_id), int(raw_version)
    except (ValueError, TypeError):
        return None
    names = tuple(USER_EXTRAS) if extras is not None else ()
    found = session.exec(_user_query(names), params={"user_id": user_id}).first()
    user, values = (found[0], found[1:]) if names and found is not None else (found, ())
    if user is None or not user.is_active or user.session_version != version:
        return None
    if extras is not None:
        extras.update(zip(names, values, strict=True))
    return user
