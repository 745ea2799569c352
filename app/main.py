"""The ASGI application factory: `uvicorn --factory app.main:create_app`, `gunicorn 'app.main:create_app()'`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.api import docs
from app.api.body_limit import BodyLimitMiddleware
from app.api.errors import install_error_handlers
from app.api.middleware import RequestContextMiddleware
from app.api.read_retry import RetryReadsOnLostConnection
from app.api.router import api_router
from app.api.routes import git, health, lfs, ws
from app.api.static import UIFiles
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, resolve_database_url
from app.core.logging import configure_logging
from app.core.security import configure_password_hashing
from app.realtime.gateway import RealtimeService
from app.services.database_checks import check_at_start
from app.services.sweeper import sweep_forever
from app.services.temp_files import sweep_stale_temp_files, sweep_temp_files_forever
from app.services.users import UserService
from app.storage.git_store import GitStore
from app.vault.program_facts import stop_later
from app.vault.refs import reconcile

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


async def _bootstrap_first_admin(app: FastAPI, settings: Settings) -> None:
    if not (settings.first_admin_username and settings.first_admin_password):
        return
    async with app.state.sessionmaker() as session:
        user = await UserService(session).ensure_first_admin(
            settings.first_admin_username, settings.first_admin_password, settings.first_admin_email
        )
    if user is not None:
        logger.info("first admin created username=%s", user.username)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    url = await to_thread.run_sync(resolve_database_url, settings)
    # No overflow: a burst waits for the pool's connections instead of opening (and soon closing) more of them.
    engine = create_engine(
        url, pool_size=settings.database_pool_size, max_overflow=0, pre_ping=settings.database_pool_pre_ping
    )
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.store = GitStore.in_data_dir(settings.data_dir)
    await app.state.store.ensure_repo()
    tmp_dir, max_age = settings.data_dir / "tmp", settings.temp_file_max_age_seconds
    await to_thread.run_sync(sweep_stale_temp_files, tmp_dir, max_age)
    sweeper = temp_sweeper = None
    realtime = app.state.realtime = RealtimeService(settings, app.state.sessionmaker, url)
    try:
        await check_at_start(app.state.sessionmaker, production=settings.env == "production")
        await _bootstrap_first_admin(app, settings)
        try:
            async with app.state.sessionmaker() as session:
                # A crash between a commit and its ref move left the Git ref behind: it follows the catalog first.
                await reconcile(session, app.state.store)
        except Exception as exc:  # the database may be down at start: serve (readyz says so), the sweep retries
            logger.warning("could not check the git refs against the catalog at start (%s)", type(exc).__name__)
        sweeper = asyncio.create_task(sweep_forever(app.state.sessionmaker, settings, app.state.store))
        temp_sweeper = asyncio.create_task(sweep_temp_files_forever(tmp_dir, max_age, settings.temp_sweep_seconds))
        await realtime.start()
        yield
    finally:
        await realtime.stop()
        await stop_later()  # facts still being parsed after a commit: the backstop of the next start has them
        for task in (sweeper, temp_sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    configure_password_hashing(settings.password_hash_cost)
    app = FastAPI(
        title="camvault",
        version=__version__,
        description="Parts data management for CNC/CAM shops: versioned files, check-out locks, audit.",
        lifespan=lifespan,
        # Our own /docs (app/api/docs.py): FastAPI's loads Swagger UI from a CDN and runs an inline script.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(ws.router)
    app.include_router(api_router)
    app.include_router(git.router)
    app.include_router(lfs.router)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_json_body_bytes,
        csv_import_bytes=settings.max_csv_import_bytes,
    )
    app.add_middleware(RetryReadsOnLostConnection)
    app.include_router(docs.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Content-Disposition", "ETag", "Retry-After", "X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware)
    if settings.serve_static and STATIC_DIR.is_dir():
        # Development convenience; in production Nginx serves these files itself.
        app.mount("/", UIFiles(directory=STATIC_DIR, html=True), name="static")
    return app
