from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Text
from app.schemas.user import UserOut


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Text = Field(min_length=1, max_length=254, description="Username or email")
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut
