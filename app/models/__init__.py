"""ORM models; importing this package registers every table on Base.metadata."""

from app.models.access_token import AccessToken
from app.models.audit import AuditEvent
from app.models.card import CardField, CardValue, FieldType, FileLink, FolderCardValue
from app.models.file import File, FileVersion, Folder, Lock
from app.models.lifecycle import FileRevision, FileState, Review, ReviewApproval, ReviewStatus
from app.models.login_throttle import LoginThrottle
from app.models.presence import Presence
from app.models.program_facts import VersionFacts
from app.models.token import RevokedToken
from app.models.user import Role, User
from app.models.vault import LockHistory, VaultRef

__all__ = [
    "AccessToken",
    "AuditEvent",
    "CardField",
    "CardValue",
    "FieldType",
    "File",
    "FileLink",
    "FileRevision",
    "FileState",
    "FileVersion",
    "Folder",
    "FolderCardValue",
    "Lock",
    "LockHistory",
    "LoginThrottle",
    "Presence",
    "Review",
    "ReviewApproval",
    "ReviewStatus",
    "RevokedToken",
    "Role",
    "User",
    "VaultRef",
    "VersionFacts",
]
