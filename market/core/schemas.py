"""What every API body shares: the strict input base, the error body, a reason."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from market.core.models import MAX_ID

# An object id in a body: within what the id columns hold (INTEGER), so a fuzzer's 10**30
# is a 422, never a driver error.
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class ReasonIn(Strict):
    reason: str = Field(default="", max_length=1000)
