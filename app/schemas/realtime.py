"""Messages of the /ws protocol that have a fixed shape (docs/realtime.md is the full reference)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# A client's own correlation id, echoed in the answer; short, so an echo cannot be used to
# make the server send large frames.
ClientId = Annotated[str, Field(max_length=100)] | Annotated[int, Field(ge=-(2**53), le=2**53)]


class _ClientMessage(BaseModel):
    # strict: "7" is not a file id and true is not an id; unknown keys are ignored so a newer
    # client can talk to an older server.
    model_config = ConfigDict(strict=True, extra="ignore")


class PingIn(_ClientMessage):
    type: Literal["ping"]
    id: ClientId | None = None


class ViewingIn(_ClientMessage):
    type: Literal["viewing"]
    file_id: Annotated[int, Field(ge=1)] | None
    id: ClientId | None = None


ClientMessage = Annotated[PingIn | ViewingIn, Field(discriminator="type")]


class OnlineUser(BaseModel):
    """One user with at least one open socket anywhere in the cluster."""

    user_id: int
    username: str
    full_name: str
    connections: int
    viewing: list[int]
    since: datetime
