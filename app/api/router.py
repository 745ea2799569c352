from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import admin, auth, cards, files, folders, lifecycle, locks, nc, users

api_router = APIRouter(prefix="/api")
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(admin.router)
api_router.include_router(files.router)
api_router.include_router(folders.router)
api_router.include_router(locks.router)
api_router.include_router(lifecycle.router)
api_router.include_router(nc.router)
api_router.include_router(cards.router)
