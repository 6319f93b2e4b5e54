"""Buyers' change requests through the JSON API (API.md "Disruption and change")."""

from __future__ import annotations

from typing import Any

from market.core.api import current_api_user, route
from market.core.extensions import db
from market.deals import changes
from market.deals.models import ChangeRequest
from market.deals.schemas import ChangeRequestIn, ChangeRequestOut


def change_out(change: ChangeRequest) -> dict[str, Any]:
    return ChangeRequestOut.model_validate(change, from_attributes=True).model_dump(mode="json")


@route("POST", "/orders/<int:order_id>/change-requests",
       summary="The buyer asks for a new due date and/or quantity after acceptance: a "
               "re-plan quotes the price difference and the new delivery date",
       body=ChangeRequestIn, response=ChangeRequestOut, status=201, tag="orders")
def request_change(order_id: int, data: ChangeRequestIn) -> dict[str, Any]:
    return change_out(changes.request_change(db.session, current_api_user(), order_id,
                                             data.due_date, data.quantity, data.reason))


@route("GET", "/orders/<int:order_id>/change-requests",
       summary="An order's change requests, newest first (the buyer, operators)",
       response=ChangeRequestOut, tag="orders", paginated=True)
def order_changes(order_id: int) -> list[dict[str, Any]]:
    return [change_out(c) for c in changes.list_changes(db.session, current_api_user(),
                                                        order_id)]


@route("GET", "/change-requests/<int:change_id>",
       summary="A change request: its status and, once quoted, the price difference and "
               "the new delivery date (the buyer, operators)",
       response=ChangeRequestOut, tag="orders")
def get_change(change_id: int) -> dict[str, Any]:
    return change_out(changes.get_change(db.session, current_api_user(), change_id))


@route("POST", "/change-requests/<int:change_id>/accept",
       summary="Accept a quoted change: the order takes it, the new quote is in force, "
               "bookings move, and a higher price opens a second escrow payment (a lower "
               "one is refunded)", response=ChangeRequestOut, tag="orders")
def accept_change(change_id: int) -> dict[str, Any]:
    return change_out(changes.accept_change(db.session, current_api_user(), change_id))


@route("POST", "/change-requests/<int:change_id>/decline",
       summary="Decline a quoted change: nothing changes", response=ChangeRequestOut,
       tag="orders")
def decline_change(change_id: int) -> dict[str, Any]:
    return change_out(changes.decline_change(db.session, current_api_user(), change_id))
