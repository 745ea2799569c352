from __future__ import annotations

from pydantic import BaseModel, Field


class NcSettings(BaseModel):
    """What the browser's NC viewer needs from the server's settings."""

    extensions: list[str] = Field(description="Extensions of NC programs (NC_EXTENSIONS), lower case with the dot")
    rapid_rate_mm_min: float = Field(description="Rapid rate the estimated cycle time assumes (RAPID_RATE_MM_MIN)")
