"""Serving attachments over HTTP, shared by the order pages and the API: where the bytes live,
the upload limit, and a download response that never renders in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from market.core.api import ApiError, refuse_nul_in_form
from market.core.extensions import check_rate
from market.orders.models import Attachment


def attachment_root() -> Path:
    """Where attachment bytes live: ATTACHMENT_DIR, else <instance>/attachments (outside
    the static folder, so no URL reaches them except through the authorised views)."""
    configured = current_app.config.get("ATTACHMENT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def upload_limit() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 50 * 1024 * 1024)


def api_upload(user: Any) -> FileStorage:
    """The multipart field 'file' of an API upload (drawings, message files, QC documents),
    within the uploads' rate limit; a clear 400/413 otherwise."""
    check_rate("upload", "UPLOAD_RATE_LIMIT", user.company_id or f"user-{user.id}")
    if not request.mimetype.startswith("multipart/form-data"):
        raise ApiError(400, "bad_request", "Send the file as multipart/form-data, field 'file'.")
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise ApiError(413, "too_large", f"The upload is larger than "
                                         f"{upload_limit() // (1024 * 1024)} MB.") from None
    if upload is None:
        raise ApiError(400, "bad_request", "Send the file in the multipart field 'file'.")
    refuse_nul_in_form()  # the views read the other fields (kind, number, ...) as they are
    return upload


def file_response(row: Attachment, path: Path) -> Any:
    """Always a download, never rendered by the browser: a drawing must not run as a page."""
    response = send_file(path, mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
