// Admin pages: users (create, role, deactivate, reset password, release locks) and the audit log.
import { api, downloadExport } from "../api.js";
import { h, replace, time } from "../dom.js";
import { field, formDialog, pagedLoads, toast } from "../ui.js";

const ROLES = ["admin", "user", "viewer"];
const PAGE = 50;

export function renderUsers(root) {
  const body = h("tbody");
  const summary = h("p", { class: "muted", role: "status" });
  const search = h("input", { type: "search", name: "q", placeholder: "Username, name or email", autocomplete: "off" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let offset = 0;
  let debounce = null;

  function row(user) {
    const role = h("select", { "aria-label": `Role of ${user.username}` }, ROLES.map((r) => h("option", { value: r, selected: r === user.role }, r)));
    role.addEventListener("change", async () => {
      try {
        const changed = await api.patch(`/api/admin/users/${user.id}`, { role: role.value });
        toast(`${changed.username} is now ${changed.role}`, "success");
        tr.replaceWith(row(changed));
      } catch (err) {
        role.value = user.role;
        toast(err.message, "error");
      }
    });
    // Approvers release files (admins always may, viewers never): audited like any change.
    const approver = h("input", {
      type: "checkbox",
      "aria-label": `${user.username} is an approver`,
      checked: user.is_approver || user.role === "admin",
      disabled: user.role !== "user",
    });
    approver.addEventListener("change", async () => {
      try {
        const changed = await api.patch(`/api/admin/users/${user.id}`, { is_approver: approver.checked });
        toast(`${changed.username} ${changed.is_approver ? "is an approver now" : "is no longer an approver"}`, "success");
        tr.replaceWith(row(changed));
      } catch (err) {
        approver.checked = user.is_approver;
        toast(err.message, "error");
      }
    });
    const actions = [
      user.is_active
        ? h("button", { type: "button", class: "danger", "aria-label": `Deactivate ${user.username}`, onclick: () => deactivate(user, tr) }, "Deactivate")
        : h("button", { type: "button", "aria-label": `Reactivate ${user.username}`, onclick: () => reactivate(user, tr) }, "Reactivate"),
      h("button", { type: "button", "aria-label": `Reset password of ${user.username}`, onclick: () => resetPassword(user) }, "Reset password"),
      h("button", { type: "button", "aria-label": `Release locks of ${user.username}`, onclick: () => releaseLocks(user) }, "Release locks"),
    ];
    const tr = h(
      "tr",
      { dataset: { username: user.username }, class: user.is_active ? "" : "inactive" },
      h("td", {}, user.username),
      h("td", {}, user.full_name),
      h("td", {}, user.email ?? ""),
      h("td", {}, role),
      h("td", { class: "approver" }, approver),
      h("td", {}, user.is_active ? "active" : "deactivated"),
      h("td", {}, time(user.created_at)),
      h("td", {}, h("div", { class: "actions" }, actions)),
    );
    return tr;
  }

  // Each search as typed starts the list again; an earlier search answering last is not what the box says.
  const load = pagedLoads(
    more,
    (first) => api.get("/api/admin/users", { q: search.value.trim() || undefined, limit: PAGE, offset: first ? 0 : offset }),
    (page, first) => {
      if (first) body.replaceChildren();
      page.items.forEach((u) => body.append(row(u)));
      offset = (first ? 0 : offset) + page.items.length;
      more.hidden = offset >= page.total;
      replace(summary, `${page.total} user${page.total === 1 ? "" : "s"}`);
    },
  );

  async function deactivate(user, tr) {
    const ok = await formDialog({
      title: `Deactivate ${user.username}`,
      body: [h("p", {}, `${user.username} is logged out everywhere at once and cannot log in. Their history and audit rows stay.`)],
      submitLabel: "Deactivate",
      danger: true,
      submit: () => api.post(`/api/admin/users/${user.id}/deactivate`),
    });
    if (ok) tr.replaceWith(row(ok));
  }

  async function reactivate(user, tr) {
    try {
      tr.replaceWith(row(await api.patch(`/api/admin/users/${user.id}`, { is_active: true })));
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async function resetPassword(user) {
    const password = h("input", { type: "password", name: "new_password", minlength: 8, required: true, autocomplete: "new-password" });
    const ok = await formDialog({
      title: `New password for ${user.username}`,
      body: [field("New password", password, "At least 8 characters. Their current sessions end.")],
      submitLabel: "Set password",
      submit: () => api.post(`/api/admin/users/${user.id}/password`, { new_password: password.value }),
    });
    if (ok) toast(`Password of ${user.username} reset`, "success");
  }

  async function releaseLocks(user) {
    const answer = await formDialog({
      title: `Release every lock of ${user.username}`,
      body: [h("p", {}, "For someone who is away: their check-outs end without new versions.")],
      submitLabel: "Release all",
      danger: true,
      submit: () => api.post(`/api/admin/users/${user.id}/release-locks`),
    });
    if (answer) toast(`${answer.released.length} lock(s) of ${user.username} released`, "success");
  }

  async function create() {
    const inputs = {
      username: h("input", { name: "username", required: true, minlength: 2, maxlength: 64, autocomplete: "off" }),
      full_name: h("input", { name: "full_name", maxlength: 200 }),
      email: h("input", { name: "email", type: "email" }),
      role: h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === "user" }, r))),
      password: h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" }),
    };
    const user = await formDialog({
      title: "New user",
      body: [
        field("Username", inputs.username),
        field("Full name", inputs.full_name),
        field("Email (optional)", inputs.email),
        field("Role", inputs.role),
        field("Password", inputs.password, "At least 8 characters; they can change it after logging in."),
      ],
      submitLabel: "Create user",
      submit: () =>
        api.post("/api/admin/users", {
          username: inputs.username.value.trim(),
          full_name: inputs.full_name.value.trim(),
          email: inputs.email.value.trim() || null,
          role: inputs.role.value,
          password: inputs.password.value,
        }),
    });
    if (user) {
      toast(`User ${user.username} created`, "success");
      load(true);
    }
  }

  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => load(true), 250);
  });
  more.addEventListener("click", () => load(false));
  replace(
    root,
    h("h1", {}, "Users"),
    h("div", { class: "toolbar" }, field("Search", search), h("button", { type: "button", class: "primary", onclick: create }, "New user")),
    h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "users" }, h("thead", {}, h("tr", {}, ["Username", "Name", "Email", "Role", "Approver", "Status", "Created", "Actions"].map((t) => h("th", { scope: "col" }, t)))), body),
    ),
    summary,
    more,
  );
  load(true);
  return () => clearTimeout(debounce);
}

export function renderAudit(root) {
  const inputs = {
    actor: h("input", { name: "actor", autocomplete: "off", placeholder: "username, name or email" }),
    action: h("input", { name: "action", list: "audit-actions", autocomplete: "off", placeholder: "e.g. lock or lock.force" }),
    target: h("input", { name: "target", autocomplete: "off" }),
    since: h("input", { name: "since", type: "datetime-local" }),
    until: h("input", { name: "until", type: "datetime-local" }),
  };
  const actions = h(
    "datalist",
    { id: "audit-actions" },
    ["auth", "file", "folder", "lock", "user", "lock.checkout", "lock.checkin", "lock.force_released", "file.uploaded", "file.moved", "file.deleted"].map((a) => h("option", { value: a })),
  );
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load older");
  const summary = h("p", { class: "muted", role: "status" });
  let cursor = null;
  let shown = 0;

  const iso = (local) => (local ? new Date(local).toISOString() : undefined);
  // The filters as the server takes them: the list and the CSV export use the same.
  const filters = () => ({
    actor: inputs.actor.value.trim() || undefined,
    action: inputs.action.value.trim() || undefined,
    target: inputs.target.value.trim() || undefined,
    since: iso(inputs.since.value),
    until: iso(inputs.until.value),
  });

  const load = pagedLoads(
    more,
    (first) => api.get("/api/admin/audit", { ...filters(), cursor: first ? undefined : cursor, limit: PAGE }),
    (page, first) => {
      if (first) {
        body.replaceChildren();
        shown = 0;
      }
      for (const e of page.items) {
        body.append(
          h(
            "tr",
            { dataset: { action: e.action } },
            h("td", {}, time(e.at)),
            h("td", {}, e.actor_name ?? "—"),
            h("td", { class: "mono" }, e.action),
            h("td", {}, e.target ?? ""),
            h("td", { class: "details" }, detailFields(e.details)),
            h("td", { class: "mono" }, e.client_ip ?? ""),
          ),
        );
      }
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      replace(summary, shown ? `${shown} event${shown === 1 ? "" : "s"} shown, newest first` : "No events match.");
    },
  );

  const form = h(
    "form",
    { class: "toolbar filters", "aria-label": "Audit filters" },
    field("Who", inputs.actor),
    field("Action", inputs.action),
    field("Target", inputs.target),
    field("From", inputs.since),
    field("To", inputs.until),
    actions,
    h("button", { type: "submit", class: "primary" }, "Filter"),
    h("button", { type: "reset" }, "Clear"),
    h("button", { type: "button", onclick: exportCsv }, "Export CSV"),
  );
  async function exportCsv() {
    try {
      await downloadExport("/api/admin/audit/export", filters(), "camvault-audit.csv");
    } catch (err) {
      toast(err.message, "error");
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load(true);
  });
  form.addEventListener("reset", () => setTimeout(() => load(true)));
  more.addEventListener("click", () => load(false));
  replace(
    root,
    h("h1", {}, "Audit log"),
    form,
    h("div", { class: "table-wrap" }, h("table", { class: "audit" }, h("thead", {}, h("tr", {}, ["When", "Who", "Action", "Target", "Details", "Address"].map((t) => h("th", { scope: "col" }, t)))), body)),
    summary,
    more,
  );
  load(true);
  return () => {};
}

/** An audit row's details as labelled fields ("holder: anna"), not raw JSON. */
function detailFields(details) {
  const entries = Object.entries(details || {});
  if (!entries.length) return "";
  const shown = (value) => {
    if (value === null || value === undefined) return "—";
    if (Array.isArray(value)) return value.map(shown).join(" → ");
    if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}: ${shown(v)}`).join(", ");
    if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return new Date(value).toLocaleString();
    return String(value);
  };
  return h(
    "dl",
    { class: "detail-fields" },
    entries.map(([key, value]) => [h("dt", {}, key.replaceAll("_", " ")), h("dd", {}, shown(value))]),
  );
}
