"""Named dependencies: a route's signature reads like a sentence.

Every dependency is `async def`, even those that only build an object: FastAPI runs a plain `def` dependency
in its thread pool, and that hand-off cost more than the work (about a tenth of a lock cycle's CPU).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Query, Request, WebSocket
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.params import FileId
from app.core.config import Settings
from app.core.errors import BasicAuthRequired
from app.core.security import TokenClaims
from app.models import Role, User
from app.realtime.gateway import RealtimeService
from app.realtime.handshake import SocketCredentials, credentials_of
from app.services import roles
from app.services.access_tokens import AccessTokenService
from app.services.audit import AuditService
from app.services.auth import AuthService
from app.services.cards import CardService
from app.services.cards_csv import CardCsvService
from app.services.cards_fields import CardFieldService
from app.services.cards_links import LinkService, PacketService
from app.services.files import FileService
from app.services.folders import FolderService
from app.services.git_http import GitHttpService
from app.services.health import HealthService
from app.services.lfs_locks import LfsLockService
from app.services.lifecycle import LifecycleService
from app.services.listing import FileExport
from app.services.locks import LockService
from app.services.moves import MoveService
from app.services.users import UserService
from app.vault.pipeline import Vault

# auto_error=False: a missing token reaches get_current_user, which answers 401 with our body.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # Services commit before they return; closing here only rolls back what was never committed.
    async with request.app.state.sessionmaker() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the session closes (and its connection goes back to the pool) when the route
# returns, before the response is sent, so a long streamed download holds no database connection.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_auth_service(session: SessionDep, settings: SettingsDep) -> AuthService:
    return AuthService(session, settings)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_current_claims(
    request: Request, auth: AuthServiceDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> tuple[User, TokenClaims]:
    user, claims = await auth.authenticate(token)
    request.state.user = user.username  # for the access log line
    return user, claims


CurrentClaims = Annotated[tuple[User, TokenClaims], Depends(get_current_claims)]


async def get_current_user(current: CurrentClaims) -> User:
    return current[0]


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(allowed: frozenset[Role]) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency that lets through only the given roles (the rule itself: app/services/roles.py)."""

    async def check(user: CurrentUser) -> User:
        roles.require(user, allowed)
        return user

    return check


async def get_download_user(
    request: Request,
    auth: AuthServiceDep,
    file_id: FileId,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    dl: Annotated[
        str | None,
        Query(max_length=2048, description="A download token from `POST /files/{id}/download-link`, for plain links"),
    ] = None,
) -> User:
    """Who is downloading: the bearer token's user or, without one, the download link's (any role reads)."""
    if token is None and dl is not None:
        user = await auth.authenticate_download(dl, file_id)
    else:
        user, _ = await auth.authenticate(token)
    request.state.user = user.username
    return user


DownloadUser = Annotated[User, Depends(get_download_user)]

# Download links for part packets are bound to no file (file ids start at 1): one works for any packet its user
# may read, for DOWNLOAD_LINK_SECONDS.
PACKET_LINK = 0


async def get_packet_download_user(
    request: Request,
    auth: AuthServiceDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    dl: Annotated[
        str | None,
        Query(max_length=2048, description="A token from `POST /cards/packet/download-link`, for plain links"),
    ] = None,
) -> User:
    """Who is downloading a packet: the bearer token's user or, without one, the packet download link's."""
    if token is None and dl is not None:
        user = await auth.authenticate_download(dl, PACKET_LINK)
    else:
        user, _ = await auth.authenticate(token)
    request.state.user = user.username
    return user


PacketDownloadUser = Annotated[User, Depends(get_packet_download_user)]

AdminUser = Annotated[User, Depends(require_role(roles.ADMINS))]
WriterUser = Annotated[User, Depends(require_role(roles.WRITERS))]


async def get_streaming_writer(user: WriterUser, session: SessionDep) -> User:
    """A writer whose request body is still to come: its database connection goes back to the pool now.

    Authentication needed the connection; the body may take minutes to arrive, and a connection held
    meanwhile is one fewer for every other request (80 slow uploads used to drain the pool). The write
    transaction opens on a fresh connection once the body is on disk; the user's row stays loaded.
    """
    await session.close()
    return user


StreamingWriter = Annotated[User, Depends(get_streaming_writer)]
ReaderUser = Annotated[User, Depends(require_role(roles.READERS))]


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(session)


async def get_audit_service(request: Request, session: SessionDep) -> AuditService:
    # The sessionmaker is for the CSV export, which reads while its response streams (after `session` closed).
    return AuditService(session, request.app.state.sessionmaker)


async def get_health_service(request: Request) -> HealthService:
    return HealthService(request.app.state.sessionmaker, request.app.state.store)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
AuditServiceDep = Annotated[AuditService, Depends(get_audit_service)]
HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]


async def get_vault(request: Request, session: SessionDep, settings: SettingsDep) -> Vault:
    return Vault(session, request.app.state.store, settings)


VaultDep = Annotated[Vault, Depends(get_vault)]


async def get_file_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> FileService:
    return FileService(session, settings, vault)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]


async def get_file_export(request: Request, settings: SettingsDep) -> FileExport:
    # Reads while its response streams, after the request's session has closed: sessions of its own.
    return FileExport(request.app.state.sessionmaker, settings)


FileExportDep = Annotated[FileExport, Depends(get_file_export)]


async def get_folder_service(session: SessionDep, vault: VaultDep) -> FolderService:
    return FolderService(session, vault)


FolderServiceDep = Annotated[FolderService, Depends(get_folder_service)]


async def get_move_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> MoveService:
    return MoveService(session, settings, vault)


MoveServiceDep = Annotated[MoveService, Depends(get_move_service)]


async def get_lock_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> LockService:
    return LockService(session, settings, vault)


LockServiceDep = Annotated[LockService, Depends(get_lock_service)]


async def get_lifecycle_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> LifecycleService:
    return LifecycleService(session, settings, vault)


LifecycleServiceDep = Annotated[LifecycleService, Depends(get_lifecycle_service)]


async def get_card_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> CardService:
    return CardService(session, settings, vault)


async def get_card_field_service(session: SessionDep, vault: VaultDep) -> CardFieldService:
    return CardFieldService(session, vault)


CardServiceDep = Annotated[CardService, Depends(get_card_service)]
CardFieldServiceDep = Annotated[CardFieldService, Depends(get_card_field_service)]


async def get_link_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> LinkService:
    return LinkService(session, settings, vault)


async def get_packet_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> PacketService:
    return PacketService(session, settings, vault)


LinkServiceDep = Annotated[LinkService, Depends(get_link_service)]


async def get_card_csv_service(cards: CardServiceDep) -> CardCsvService:
    return CardCsvService(cards)


CardCsvServiceDep = Annotated[CardCsvService, Depends(get_card_csv_service)]
PacketServiceDep = Annotated[PacketService, Depends(get_packet_service)]


async def get_realtime(websocket: WebSocket) -> RealtimeService:
    return websocket.app.state.realtime  # type: ignore[no-any-return]


async def get_socket_credentials(websocket: WebSocket) -> SocketCredentials:
    return credentials_of(websocket)


RealtimeDep = Annotated[RealtimeService, Depends(get_realtime)]
SocketCredentialsDep = Annotated[SocketCredentials, Depends(get_socket_credentials)]


async def get_access_token_service(session: SessionDep) -> AccessTokenService:
    return AccessTokenService(session)


AccessTokenServiceDep = Annotated[AccessTokenService, Depends(get_access_token_service)]


# ----- Git and git-lfs clients: HTTP Basic (username or email, and a password or an access token) -----


async def basic_user(request: Request, auth: AuthService) -> User:
    """The user behind the request's Basic credentials; 401 with `WWW-Authenticate: Basic` otherwise."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise BasicAuthRequired()
    try:
        login, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise BasicAuthRequired("Malformed Basic credentials") from None
    if not sep:
        raise BasicAuthRequired("Malformed Basic credentials")
    user = await auth.authenticate_basic(login, secret)
    request.state.user = user.username
    return user


async def get_git_user(request: Request, auth: AuthServiceDep) -> User:
    return await basic_user(request, auth)


GitUser = Annotated[User, Depends(get_git_user)]


async def get_git_writer(user: GitUser) -> User:
    roles.require(user, roles.WRITERS, "Your role (viewer) can read the vault but not lock files")
    return user


GitWriter = Annotated[User, Depends(get_git_writer)]


async def get_git_http_service(request: Request, settings: SettingsDep) -> GitHttpService:
    return GitHttpService(request.app.state.store, settings)


async def get_lfs_lock_service(session: SessionDep, settings: SettingsDep, vault: VaultDep) -> LfsLockService:
    return LfsLockService(session, settings, vault)


GitHttpServiceDep = Annotated[GitHttpService, Depends(get_git_http_service)]
LfsLockServiceDep = Annotated[LfsLockService, Depends(get_lfs_lock_service)]
