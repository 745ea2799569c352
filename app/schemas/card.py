"""Data cards, where-used links and part packets: what the API takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import INT32_MAX, Text
from app.schemas.file import FileOut

FieldTypeName = Literal["text", "number", "date", "bool", "choice", "user"]
FieldKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# A value as JSON gives it: text, a number, true/false, or null (and "" ) to clear it.
RawValue = Annotated[str, StringConstraints(max_length=2000)] | int | float | bool | None
Values = Annotated[
    dict[FieldKey, RawValue],
    Field(max_length=100, description='Field key → value (text, number, true/false); null or "" clears it'),
]


class FieldOut(BaseModel):
    key: str
    label: str
    type: FieldTypeName
    choices: list[str]
    required_for_release: bool
    extensions: list[str] = Field(description="Lower-case extensions the field is on (empty: every file)")
    folders: list[str] = Field(description="Folders the field is on, with everything below them (empty: all)")
    position: int
    removed: bool = False


class FieldList(BaseModel):
    items: list[FieldOut]


class FieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: FieldKey = Field(description="Lower-case letters, digits and _; fixed once made (`part_number`)")
    label: Text = Field(min_length=1, max_length=100)
    type: FieldTypeName
    choices: list[Annotated[Text, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=500, description="For `choice`: the allowed values, in order"
    )
    required_for_release: bool = Field(default=False, description="A submit for review is refused while empty")
    extensions: list[Annotated[Text, StringConstraints(max_length=32)]] = Field(default_factory=list, max_length=100)
    folders: list[Annotated[Text, StringConstraints(max_length=1024)]] = Field(default_factory=list, max_length=100)
    position: int | None = Field(default=None, ge=0, le=INT32_MAX, description="Display order (default: last)")


class FieldUpdate(BaseModel):
    """Anything but the key and type (values of the old type would no longer be valid). Labels may change freely:
    values belong to the key."""

    model_config = ConfigDict(extra="forbid")

    label: Text | None = Field(default=None, min_length=1, max_length=100)
    choices: list[Annotated[Text, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=500
    )
    required_for_release: bool | None = None
    extensions: list[Annotated[Text, StringConstraints(max_length=32)]] | None = Field(default=None, max_length=100)
    folders: list[Annotated[Text, StringConstraints(max_length=1024)]] | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=INT32_MAX)


class CardValueOut(BaseModel):
    key: str
    label: str
    type: FieldTypeName
    value: str | None = Field(description="The value shown (canonical text: `12.5`, `2026-12-01`, `true`)")
    own: bool = Field(description="Set on this file (or folder) itself")
    inherited_from: str | None = Field(
        default=None, description="The folder the value comes from when it is not the file's own"
    )
    required_for_release: bool
    choices: list[str] = Field(default_factory=list)


class CardOut(BaseModel):
    file_id: int
    path: str
    values: list[CardValueOut] = Field(description="Every field on this file's card, in display order")
    missing_for_release: list[str] = Field(description="Required fields still empty (a submit would be refused)")


class FolderCardOut(BaseModel):
    path: str
    values: list[CardValueOut] = Field(description="Every field; `inherited_from` names a folder above this one")


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: Values


class CardChangeOut(BaseModel):
    at: datetime
    user: str | None
    action: str = Field(description="`card.changed`, or `card.folder_changed` for a folder's card")
    via: str | None = Field(
        default=None,
        description="edit, upload, checkin, bulk or import; for a folder's card: edit or folder_deleted",
    )
    inherited_from: str | None = Field(
        default=None,
        description="The folder whose card changed (a value the file inherits unless it has its own); "
        "null: the file's own card",
    )
    changes: dict[str, dict[str, Any]] = Field(description='Field key → {"old": …, "new": …}')


class CardHistory(BaseModel):
    path: str
    items: list[CardChangeOut]


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: int | None = Field(default=None, ge=1, le=INT32_MAX, description="The file used (or give its path)")
    target_path: Text | None = Field(default=None, max_length=1024)
    kind: Literal["uses"] = "uses"
    note: Text = Field(default="", max_length=1000)


class LinkedFile(BaseModel):
    id: int
    path: str
    state: str
    revision: str | None
    deleted: bool = Field(description="The file was deleted; the link stays (restore brings it back)")


class LinkOut(BaseModel):
    id: int
    kind: str
    note: str
    file: LinkedFile = Field(description="The other end: what is used (in `uses`) or the user (in `used_by`)")
    created_at: datetime


class LinksOut(BaseModel):
    file_id: int
    path: str
    uses: list[LinkOut]
    used_by: list[LinkOut]


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_ids: list[Annotated[int, Field(ge=1, le=INT32_MAX)]] | None = Field(default=None, max_length=10_000)
    folder: Text | None = Field(default=None, max_length=1024, description="Every live file in it, at any depth")
    values: Values


class FileCardChange(BaseModel):
    file_id: int
    path: str
    changes: dict[str, dict[str, Any]]


class BulkOut(BaseModel):
    files: int = Field(description="Files the set named")
    changed: list[FileCardChange] = Field(description="Files whose card changed, with old and new values")


class ImportOut(BaseModel):
    dry_run: bool
    rows: int
    changed: list[FileCardChange]
    applied: bool = Field(description="False on a dry run: nothing was written")


class PacketFile(BaseModel):
    group: Literal["program", "setup_sheet", "model", "other"]
    operation: str | None
    file: FileOut


class PacketOut(BaseModel):
    part_number: str
    files: list[PacketFile] = Field(description="Programs by operation, then setup sheets, models and the rest")
    zip_url: str = Field(description="GET it (with the token) for every file in one zip")
