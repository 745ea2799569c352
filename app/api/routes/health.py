from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import HealthServiceDep, SettingsDep
from app.schemas.health import Health
from app.services.health import DISK_CHECK

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up and serving."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(health: HealthServiceDep, settings: SettingsDep) -> JSONResponse:
    """The database answers and the Git store is usable; 503 otherwise. Less than MIN_FREE_DISK_BYTES free under
    DATA_DIR is reported (`"disk": "low"`, status `degraded`) but stays 200: reads, and uploads that fit, work."""
    checks = await health.readiness(data_dir=settings.data_dir, min_free_disk_bytes=settings.min_free_disk_bytes)
    ready = all(value == "ok" for name, value in checks.items() if name != DISK_CHECK)
    status = "unavailable" if not ready else "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    body = Health(status=status, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
