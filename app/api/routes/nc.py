from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ReaderUser, SettingsDep
from app.api.responses import errors
from app.schemas.nc import NcSettings

router = APIRouter(prefix="/nc", tags=["nc"], responses=errors(401, 403))


@router.get("/settings", response_model=NcSettings)
async def nc_settings(user: ReaderUser, settings: SettingsDep) -> NcSettings:
    """Which files are NC programs, and the rapid rate for cycle times: the viewer computes program facts with the
    same settings as the server."""
    return NcSettings(extensions=settings.nc_extensions, rapid_rate_mm_min=settings.rapid_rate_mm_min)
