"""Notifications API: the caller's notifications, marking them read, mail settings."""

from __future__ import annotations

from typing import Any

from flask import request

from market.core.api import Page, current_api_user, pagination, route
from market.core.extensions import db
from market.notify import service, webhooks
from market.notify.models import Notification, WebhookEndpoint
from market.notify.schemas import (
    NotificationOut,
    NotificationSettingsIn,
    NotificationSettingsOut,
    ReadAllOut,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
)


@route("GET", "/notifications", summary="The caller's notifications, newest first",
       response=NotificationOut, tag="notifications", paginated=True,
       query={"unread": "1: only the unread ones"})
def list_notifications() -> Page:
    page, per_page = pagination()
    unread = request.args.get("unread", "") in ("1", "true", "yes")
    return service.list_for(db.session, current_api_user(), unread, page, per_page)


@route("POST", "/notifications/<int:notification_id>/read", summary="Mark one read",
       response=NotificationOut, tag="notifications")
def read_notification(notification_id: int) -> Notification:
    return service.mark_read(db.session, current_api_user(), notification_id)


@route("POST", "/notifications/read-all", summary="Mark all read", response=ReadAllOut,
       tag="notifications")
def read_all_notifications() -> dict[str, Any]:
    return {"marked": service.mark_all_read(db.session, current_api_user())}


@route("GET", "/me/notification-settings", summary="Which kinds are also mailed to the caller",
       response=NotificationSettingsOut, tag="notifications")
def get_notification_settings() -> dict[str, Any]:
    return {"email": service.email_settings(db.session, current_api_user())}


@route("PUT", "/me/notification-settings", summary="Choose which kinds are mailed",
       body=NotificationSettingsIn, response=NotificationSettingsOut, tag="notifications")
def put_notification_settings(data: NotificationSettingsIn) -> dict[str, Any]:
    return {"email": service.save_email_settings(db.session, current_api_user(), data.email)}


@route("POST", "/webhook-endpoints", summary="Add a webhook endpoint (the secret is shown once)",
       body=WebhookEndpointIn, response=WebhookEndpointCreated, status=201, tag="webhooks")
def create_webhook_endpoint(data: WebhookEndpointIn) -> WebhookEndpoint:
    return webhooks.create_endpoint(db.session, current_api_user(), data.url, data.events)


@route("GET", "/webhook-endpoints", summary="The company's webhook endpoints",
       response=WebhookEndpointOut, tag="webhooks", paginated=True)
def list_webhook_endpoints() -> list[WebhookEndpoint]:
    return webhooks.list_endpoints(db.session, current_api_user())


@route("DELETE", "/webhook-endpoints/<int:endpoint_id>", summary="Delete a webhook endpoint",
       response=WebhookEndpointOut, tag="webhooks")
def delete_webhook_endpoint(endpoint_id: int) -> WebhookEndpoint:
    return webhooks.delete_endpoint(db.session, current_api_user(), endpoint_id)


@route("GET", "/webhook-endpoints/<int:endpoint_id>/deliveries",
       summary="An endpoint's delivery log, newest first", response=WebhookDeliveryOut,
       tag="webhooks", paginated=True)
def list_webhook_deliveries(endpoint_id: int) -> Page:
    page, per_page = pagination()
    return webhooks.deliveries(db.session, current_api_user(), endpoint_id, page, per_page)
