from __future__ import annotations

import httpx


async def test_openapi_documents_bodies_and_errors(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    upload = paths["/api/files"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["properties"]) == {"files", "folder", "message"}
    checkin = paths["/api/files/{file_id}/checkin"]["post"]["requestBody"]["content"]
    assert {"file", "message", "keep_locked", "base_version"} == set(
        checkin["multipart/form-data"]["schema"]["properties"]
    )
    assert {"400", "409", "413", "415", "503"} <= set(upload["responses"])
    assert {"404", "409"} <= set(paths["/api/files/{file_id}/checkout"]["post"]["responses"])
    assert "416" in paths["/api/files/{file_id}/content"]["get"]["responses"]
    # Every operation that needs a token says what a missing one gets.
    public = {"/api/auth/login", "/api/auth/token", "/api/auth/register", "/healthz", "/readyz"}
    public.add("/git/vault.git/git-receive-pack")  # refuses every push, signed in or not
    for path, operations in paths.items():
        if path in public:
            continue
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)
    lock_error = doc["components"]["schemas"]["LockHeldDetail"]
    assert set(lock_error["properties"]) == {"message", "holder", "since", "until"}
