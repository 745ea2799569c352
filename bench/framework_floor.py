"""The framework floor: the least a FastAPI service on asyncpg does to check a file out and back in.

Issue 20 measures camvault's per-request cost against it. It answers the same routes as camvault
(`POST /api/files/{id}/checkout`, `POST /api/files/{id}/checkin`) for the same bearer tokens, on the same
database, through the same Gunicorn with two Uvicorn workers, and does only what deciding needs:

- the token checked as camvault checks it (python-jose, HS256, `exp`, `sub` and `jti` required);
- one statement for the user and whether the token was revoked;
- the deciding statement: the upsert that only takes an expired lock, or the delete of one's own lock.

No ORM, no journal, no history, no catalog: a 409 says only that the file is held. And one route that does
nothing at all, `POST /api/files/{id}/refuse` (409 at once: no token, no database), so a race against it
measures the client, HTTP and FastAPI alone. Started by bench/designs.py with FLOOR_DSN (a libpq DSN) and
FLOOR_SECRET in the environment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException
from jose import JWTError, jwt

USER = (
    "SELECT u.id, u.username, u.is_active, u.token_version, "
    "EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $2) AS revoked FROM users u WHERE u.id = $1"
)
TAKE = """
INSERT INTO locks (file_id, user_id, message, expires_at) VALUES ($1, $2, $3, now() + interval '8 hours')
ON CONFLICT (file_id) DO UPDATE SET user_id = EXCLUDED.user_id, message = EXCLUDED.message,
    acquired_at = now(), expires_at = EXCLUDED.expires_at
WHERE locks.expires_at IS NOT NULL AND locks.expires_at <= now()
RETURNING file_id, user_id, acquired_at, expires_at
"""
GIVE_BACK = "DELETE FROM locks WHERE file_id = $1 AND user_id = $2 RETURNING acquired_at"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["FLOOR_DSN"], min_size=2, max_size=10)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)
SECRET = os.environ.get("FLOOR_SECRET", "")


async def user_of(conn: asyncpg.Connection, authorization: str | None) -> asyncpg.Record:
    scheme, _, token = (authorization or "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise JWTError("no bearer token")
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require_exp": True, "require_sub": True, "require_jti": True}
        )
        user_id, jti, version = int(claims["sub"]), str(claims["jti"]), int(claims.get("ver", 0))
    except (JWTError, KeyError, ValueError):
        raise HTTPException(401, "Invalid or expired token") from None
    user = await conn.fetchrow(USER, user_id, jti)
    if user is None or not user["is_active"] or user["token_version"] != version or user["revoked"]:
        raise HTTPException(401, "Token has been revoked")
    return user


@app.post("/api/files/{file_id}/checkout")
async def checkout(file_id: int, body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
    async with app.state.pool.acquire() as conn:
        user = await user_of(conn, authorization)
        lock = await conn.fetchrow(TAKE, file_id, user["id"], str(body.get("message", "")))
    if lock is None:
        raise HTTPException(409, "The file is checked out by someone else")
    return {"id": file_id, "lock": {"user": user["username"], **dict(lock)}}


@app.post("/api/files/{file_id}/checkin")
async def checkin(file_id: int, authorization: str | None = Header(None)) -> dict[str, Any]:
    async with app.state.pool.acquire() as conn:
        user = await user_of(conn, authorization)
        gone = await conn.fetchrow(GIVE_BACK, file_id, user["id"])
    if gone is None:
        raise HTTPException(409, "You do not hold this file")
    return {"id": file_id, "lock": None}


@app.post("/api/files/{file_id}/refuse")
async def refuse(file_id: int, body: dict[str, Any]) -> dict[str, Any]:
    raise HTTPException(409, "Refused without looking")
