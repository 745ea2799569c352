// Start-up, the header (connection, online users, account) and hash routing between views.
import { can } from "./actions.js";
import { showActivity } from "./activity.js";
import { api, onTokenChangedElsewhere, onUnauthorized, request, session } from "./api.js";
import { h, replace } from "./dom.js";
import { installShortcuts } from "./keys.js";
import { policy } from "./lifecycle.js";
import { live } from "./live.js";
import { clearNotices, field, formDialog } from "./ui.js";
import { renderFields, renderPacket } from "./cards.js";
import { renderAudit, renderUsers } from "./views/admin.js";
import { renderFile } from "./views/file.js";
import { renderFiles } from "./views/files.js";
import { renderLogin } from "./views/login.js";
import { renderReviews } from "./views/reviews.js";
import { renderTokens } from "./views/tokens.js";

const main = document.getElementById("main");
const header = document.getElementById("header");
let dispose = () => {};
let headerOff = [];

function routeParts() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

function render() {
  dispose();
  clearNotices(); // they were about the page being left
  if (!session.user) return showLogin();
  const { parts, params } = routeParts();
  const [view, ...rest] = parts;
  let title = "Files";
  if (view === "file" && rest.length) {
    dispose = renderFile(main, rest);
    title = "File";
  } else if (view === "admin" && rest[0] === "users" && can.admin()) {
    dispose = renderUsers(main);
    title = "Users";
  } else if (view === "admin" && rest[0] === "audit" && can.admin()) {
    dispose = renderAudit(main);
    title = "Audit log";
  } else if (view === "admin" && rest[0] === "fields" && can.admin()) {
    dispose = renderFields(main);
    title = "Card fields";
  } else if (view === "packet") {
    dispose = renderPacket(main, params);
    title = "Part packet";
  } else if (view === "reviews" && !policy.floor) {
    dispose = renderReviews(main);
    title = "Reviews";
  } else if (view === "tokens") {
    dispose = renderTokens(main);
    title = "Access tokens";
  } else {
    dispose = renderFiles(main, params);
  }
  document.title = `${title} · camvault`;
  markNav(view === "admin" ? `#/admin/${rest[0]}` : ["tokens", "reviews", "packet"].includes(view) ? `#/${view}` : "#/files");
  main.focus({ preventScroll: true });
}

function markNav(href) {
  for (const link of header.querySelectorAll("nav.main-nav a")) {
    link.setAttribute("aria-current", link.getAttribute("href") === href ? "page" : "false");
  }
}

function showLogin(reason) {
  dispose();
  live.disconnect();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close(); // nothing to act on any more
  header.hidden = true;
  document.title = "Log in · camvault";
  dispose = renderLogin(main, { reason, onLoggedIn: start });
}

function renderHeader() {
  const status = h("span", { class: "conn", id: "connection", role: "status" });
  const online = h("ul", { class: "online", id: "online", "aria-label": "Online users" });
  const showStatus = () => {
    const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };
    status.dataset.state = live.status;
    replace(status, labels[live.status] || live.status);
  };
  const showOnline = () =>
    replace(
      online,
      live.online.map((u) => h("li", { title: u.full_name || u.username, dataset: { username: u.username } }, u.username)),
    );
  headerOff.forEach((off) => off());
  headerOff = [live.on("status", showStatus), live.on("presence", showOnline)];
  showStatus();
  const user = session.user;
  replace(
    header,
    h("a", { class: "brand", href: "#/files" }, "camvault"),
    h(
      "nav",
      { class: "main-nav", "aria-label": "Main" },
      h("a", { href: "#/files" }, policy.floor ? "Released programs" : "Files"),
      policy.floor ? null : h("a", { href: "#/reviews" }, "Reviews"),
      h("a", { href: "#/packet" }, "Packets"),
      can.admin() ? [h("a", { href: "#/admin/users" }, "Users"), h("a", { href: "#/admin/audit" }, "Audit"), h("a", { href: "#/admin/fields" }, "Fields")] : null,
    ),
    h("div", { class: "presence" }, status, h("span", { class: "muted" }, "Online:"), online),
    h(
      "div",
      { class: "account" },
      h("span", { id: "me" }, `${user.full_name || user.username} (${user.role}${user.is_approver ? ", approver" : ""})`),
      h("a", { href: "#/tokens", title: "Access tokens for git and git-lfs" }, "Tokens"),
      h("button", { type: "button", onclick: changePassword }, "Password"),
      h("button", { type: "button", id: "logout", onclick: logout }, "Log out"),
    ),
  );
  header.hidden = false;
}

async function changePassword() {
  const old = h("input", { type: "password", name: "old_password", required: true, autocomplete: "current-password" });
  const fresh = h("input", { type: "password", name: "new_password", required: true, minlength: 8, autocomplete: "new-password" });
  const ok = await formDialog({
    title: "Change your password",
    body: [field("Current password", old), field("New password", fresh, "At least 8 characters. Other sessions end.")],
    submitLabel: "Change",
    submit: () => api.post("/api/users/me/password", { old_password: old.value, new_password: fresh.value }),
  });
  if (ok) showLogin("Password changed: log in with the new one.");
}

async function logout() {
  // Out of this browser before the server hears of it: the other tabs learn it from the storage event ("logged
  // out in another tab") before the server's logout closes their sockets ("Please log in again: logged out").
  const token = session.token;
  session.token = null;
  session.user = null;
  live.disconnect();
  try {
    await request("POST", "/api/auth/logout", { auth: false, token });
  } catch {
    /* already invalid: the outcome is the same */
  }
  location.hash = "";
  showLogin("You are logged out.");
}

async function start() {
  try {
    session.user = await api.get("/api/users/me");
    await policy.load();
  } catch {
    return; // a 401 already went to the login page
  }
  renderHeader();
  live.connect(session.token);
  render();
}

onUnauthorized((reason) => showLogin(`Please log in again: ${reason}`));
live.on("unauthorized", (m) => {
  session.token = null;
  session.user = null;
  showLogin(`Please log in again: ${m.reason}`);
});
// Other people's actions as notices, whatever the page shows.
showActivity();
installShortcuts();
window.addEventListener("hashchange", () => session.user && render());
// Every tab of this browser shares one session: a login or logout in one is one in all.
onTokenChangedElsewhere((token) => {
  if (!token) {
    session.user = null;
    showLogin("You logged out in another tab.");
  } else {
    live.disconnect(); // a new session (maybe another user): start again with it
    start();
  }
});

if (session.token) start();
else showLogin();
