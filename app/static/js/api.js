// Talking to /api: the bearer token, JSON errors, uploads with progress.
// The token lives in localStorage: every tab of this browser shares it (Ctrl+click opens a tab that is
// logged in), it survives a reload and a restart until it expires or anyone logs out. The trade-off (a
// script injected into the page could read it) is described in the README; the strict CSP is the guard.

const TOKEN_KEY = "camvault.token";
const listeners = new Set();

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
  user: null,
};

/** Called with the new token (or null) when another tab of this browser logs in or out. */
export function onTokenChangedElsewhere(fn) {
  window.addEventListener("storage", (event) => {
    if (event.key === TOKEN_KEY || event.key === null) fn(event.key === null ? null : event.newValue);
  });
}

/** Called with a reason whenever the server says the token is no longer good (any 401). */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

function unauthorized(reason) {
  session.token = null;
  session.user = null;
  for (const fn of listeners) fn(reason);
}

export class ApiError extends Error {
  constructor(status, detail, headers) {
    super(describe(detail, status));
    this.status = status;
    this.detail = detail;
    this.retryAfter = headers?.get?.("Retry-After") ?? null;
  }
}

/** One readable sentence from any {"detail": ...} the API sends. */
function describe(detail, status) {
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    if (detail.holder) {
      const since = new Date(detail.since).toLocaleString();
      return `${detail.message || `Checked out by ${detail.holder}`} since ${since}`;
    }
    return detail.message || JSON.stringify(detail);
  }
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc, msg}, ...]
    return detail.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`).join("; ");
  }
  return detail || `Request failed (${status})`;
}

async function errorFrom(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = response.statusText;
  }
  return new ApiError(response.status, detail, response.headers);
}

/** fetch() with the token; JSON in and out; throws ApiError for any non-2xx answer. */
export async function request(method, path, { json, query, body, auth = true, token = null } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    // Only undefined/null mean "not given": an empty string is a value (folder="" is the top).
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, v)); // repeated (card=…)
    else if (value !== undefined && value !== null) url.searchParams.set(key, value);
  }
  const headers = {};
  const bearer = token || (auth ? session.token : null); // `token`: one already taken out of the session
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, "The server cannot be reached; check your connection.");
  }
  if (response.status === 401 && auth) {
    const error = await errorFrom(response);
    unauthorized(error.message);
    throw error;
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, json, query) => request("POST", path, { json, query }),
  patch: (path, json) => request("PATCH", path, { json }),
  delete: (path, query) => request("DELETE", path, { query }),
};

/**
 * POST a multipart form with upload progress (fetch cannot report it; XMLHttpRequest can).
 * Resolves with the JSON answer; rejects with ApiError. `onProgress(loaded, total)`.
 */
export function sendForm(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    if (session.token) xhr.setRequestHeader("Authorization", `Bearer ${session.token}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded, e.total);
    });
    xhr.addEventListener("load", () => {
      const payload = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(payload);
        return;
      }
      const headers = { get: (name) => xhr.getResponseHeader(name) };
      const detail = payload && typeof payload === "object" ? payload.detail : xhr.statusText;
      const error = new ApiError(xhr.status, detail || `Upload failed (${xhr.status})`, headers);
      error.file = payload && typeof payload === "object" ? payload.file ?? null : null;
      if (xhr.status === 401) unauthorized(error.message);
      reject(error);
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "Upload interrupted: the connection was lost.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "Upload cancelled.")));
    xhr.send(form);
  });
}

/**
 * Download with a short-lived link for this one file: a plain link cannot carry the bearer
 * header, and following a link lets the browser stream the file to disk (a fetch would hold
 * all of it in the tab's memory first).
 */
export async function download(fileId, name, version) {
  // The server names the file (an older version: `OP10.v1.nc`); `name` is what the link says meanwhile.
  const link = await api.post(`/api/files/${fileId}/download-link`, undefined, { version });
  const anchor = document.createElement("a");
  anchor.href = link.url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

/** GET a file the API builds (a CSV export) with the bearer token, and hand it to the browser as a download. */
export async function downloadExport(path, query, fallbackName) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
  } catch {
    throw new ApiError(0, "The server cannot be reached; check your connection.");
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401) unauthorized(error.message);
    throw error;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
  const href = URL.createObjectURL(await response.blob());
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}
