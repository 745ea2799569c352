from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.models import Role
from app.schemas.common import Text

Username = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
Password = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str | None
    full_name: str
    role: Role
    is_active: bool
    is_approver: bool = Field(description="May approve, reject and obsolete (admins always may; viewers never)")
    created_at: datetime
    updated_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Username
    password: str = Password
    email: EmailStr | None = None
    full_name: Text = Field(default="", max_length=200)
    role: Role = Role.user
    is_approver: bool = False


class UserRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Username
    password: str = Password
    email: EmailStr | None = None
    full_name: Text = Field(default="", max_length=200)


class UserUpdate(BaseModel):
    """Fields an admin may change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    full_name: Text | None = Field(default=None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None
    is_approver: bool | None = Field(default=None, description="Approver of releases (users; never a viewer)")


class UserList(BaseModel):
    items: list[UserOut]
    total: int


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(max_length=256)
    new_password: str = Password


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Password
