// The server's NC settings (which files are programs, the rapid rate), read once per page.
import { api } from "../api.js";

let pending = null;

export function ncSettings() {
  if (pending === null) {
    pending = api.get("/api/nc/settings").catch((err) => {
      pending = null; // try again next time
      throw err;
    });
  }
  return pending;
}

function extensionOf(path) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

export function isNcPath(path, settings) {
  return settings.extensions.includes(extensionOf(path));
}
