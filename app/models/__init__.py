"""ORM models; importing this package registers every table on Base.metadata."""

from app.models.access_token import AccessToken
from app.models.audit import AuditEvent
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
    "File",
    "FileRevision",
    "FileState",
    "FileVersion",
    "Folder",
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
