// What a user can do to a file, by role and lock state, and the dialogs behind each action.
// The same buttons appear in the file list and on the file page.
import { api, download, sendForm, session } from "./api.js";
import { basename, h, time } from "./dom.js";
import { cooldownLeft, whileCooling } from "./cooldown.js";
import { checkOutAllowed, lifecycleButtons } from "./lifecycle.js";
import { confirmDialog, field, formDialog, toast } from "./ui.js";

export const can = {
  write: () => ["admin", "user"].includes(session.user?.role),
  admin: () => session.user?.role === "admin",
};

export function heldByMe(file) {
  return file.lock && file.lock.holder_id === session.user?.id;
}

/** Buttons for one file; `changed(file|null)` is called after an action changed it. */
export function fileActions(file, changed, { compact = false } = {}) {
  const name = basename(file.path);
  const button = (label, handler, cls = "") =>
    h("button", { type: "button", class: cls, "aria-label": `${label} ${name}`, onclick: handler }, label);
  const run = (fn) => async () => {
    try {
      const result = await fn();
      if (result !== null && result !== undefined) changed(result);
    } catch (err) {
      toast(err.message, "error");
    }
  };
  const buttons = [];
  if (file.deleted_at) {
    if (can.admin()) buttons.push(button("Restore", run(() => restore(file)), "primary"));
    return h("div", { class: "actions" }, buttons);
  }
  buttons.push(button("Download", run(() => download(file.id, name).then(() => null))));
  if (can.write()) {
    if (!file.lock) {
      if (checkOutAllowed(file)) {
        const checkOutButton = button("Check out", run(() => checkOut(file)), "primary");
        if (cooldownLeft(file) > 0) whileCooling(checkOutButton, file);
        buttons.push(checkOutButton);
      }
    } else if (heldByMe(file)) {
      buttons.push(button("Check in", run(() => checkIn(file)), "primary"));
      buttons.push(button("Renew", run(() => renew(file))));
      buttons.push(button("Release", run(() => release(file))));
    } else if (can.admin()) {
      buttons.push(button("Force release", run(() => forceRelease(file)), "danger"));
    }
  }
  if (can.write() && !compact) buttons.push(button("Rename / move", run(() => move(file))));
  buttons.push(...lifecycleButtons(file, button, run));
  if (can.admin() && !compact) buttons.push(button("Delete", run(() => remove(file)), "danger"));
  return h("div", { class: "actions" }, buttons);
}

async function checkOut(file) {
  const message = h("textarea", { name: "message", rows: 3, maxlength: 1000, required: true });
  const answer = await formDialog({
    title: `Check out ${basename(file.path)}`,
    body: [field("Why are you checking it out?", message, "Everyone sees this next to the lock.")],
    submitLabel: "Check out",
    submit: () => api.post(`/api/files/${file.id}/checkout`, { message: message.value }),
  });
  if (!answer) return null;
  toast(`You checked out ${file.path}`, "success");
  return answer.file;
}

/** The file's extension, lower-cased (".nc"), or "" without one. */
export function extensionOf(name) {
  const base = basename(name);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot).toLowerCase() : "";
}

/** A warning (or null) when the file chosen for a check-in is not called what the vault file is called. */
function nameWarning(chosen, file) {
  const expected = basename(file.path);
  if (!chosen || chosen.name === expected) return null;
  if (extensionOf(chosen.name) !== extensionOf(expected)) {
    return `“${chosen.name}” is not a ${extensionOf(expected)} file: it will be refused. A new version of ${expected} must have the same type.`;
  }
  return `The chosen file is called “${chosen.name}”, not “${expected}”. Check that it is the right program before checking it in.`;
}

async function checkIn(file) {
  const input = h("input", { type: "file", name: "file", accept: extensionOf(file.path) || null });
  const warning = h("p", { class: "form-warning", role: "alert", hidden: true });
  input.addEventListener("change", () => {
    const text = nameWarning(input.files[0], file);
    warning.hidden = !text;
    warning.replaceChildren(text || "");
  });
  const message = h("textarea", { name: "message", rows: 3, maxlength: 4000 });
  const keep = h("input", { type: "checkbox", name: "keep_locked" });
  const progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const answer = await formDialog({
    title: `Check in ${basename(file.path)}`,
    body: [
      h("p", {}, `Head is version ${file.version}. Choose the edited file to make version ${file.version + 1}, or leave it empty to just give the lock back.`),
      field("New content (optional)", input),
      warning,
      field("What changed?", message),
      h("label", { class: "check" }, keep, " Keep it checked out"),
      progress,
    ],
    submitLabel: "Check in",
    submit: () => {
      const form = new FormData();
      form.set("message", message.value);
      form.set("keep_locked", keep.checked ? "true" : "false");
      form.set("base_version", String(file.version));
      if (input.files[0]) form.set("file", input.files[0]);
      progress.hidden = !input.files[0];
      return sendForm(`/api/files/${file.id}/checkin`, form, (loaded, total) => {
        progress.max = total;
        progress.value = loaded;
      });
    },
  });
  if (!answer) return null;
  toast(
    answer.new_version ? `Version ${answer.head_version} of ${file.path} checked in` : `${file.path} checked in; content unchanged, no new version`,
    "success",
  );
  for (const notice of answer.warnings || []) toast(notice.message, "warning");
  return answer.file;
}

async function move(file) {
  const to = h("input", { name: "path", required: true, maxlength: 1024, value: file.path, autocomplete: "off" });
  const answer = await formDialog({
    title: `Rename or move ${basename(file.path)}`,
    body: [
      field("New path", to, "A new name, another folder (jobs/1043/…), or both. Its history, versions and lock stay with it."),
    ],
    submitLabel: "Rename / move",
    submit: () => api.post(`/api/files/${file.id}/move`, { path: to.value.trim() }),
  });
  if (!answer) return null;
  toast(`${file.path} is now ${answer.path}`, "success");
  return answer;
}

// Renew, release and force-release answer the file as it is now: nothing to fetch again.
async function renew(file) {
  const { file: renewed, lock } = await api.post(`/api/files/${file.id}/renew`);
  toast(lock.until ? `Lock renewed until ${new Date(lock.until).toLocaleString()}` : "Lock renewed", "success");
  return renewed;
}

async function release(file) {
  if (!(await confirmDialog("Undo check-out", `Give back the lock on ${file.path} without a new version?`, "Release"))) return null;
  return (await api.post(`/api/files/${file.id}/release`)).file;
}

async function forceRelease(file) {
  const text = `${file.lock.holder} checked out ${file.path} (“${file.lock.message}”). Their unsaved work will not be checked in.`;
  if (!(await confirmDialog("Force release", text, "Force release", true))) return null;
  const { file: released, lock } = await api.post(`/api/files/${file.id}/force-release`);
  toast(`Lock of ${lock.holder} on ${file.path} released`, "success");
  return released;
}

async function remove(file) {
  const force = h("input", { type: "checkbox", name: "force" });
  const answer = await formDialog({
    title: `Delete ${basename(file.path)}`,
    body: [
      h("p", {}, `${file.path} disappears from the list; its history is kept and an admin can restore it.`),
      file.lock ? h("label", { class: "check" }, force, ` It is checked out by ${file.lock.holder}: release that lock too`) : null,
    ],
    submitLabel: "Delete",
    danger: true,
    submit: () => api.delete(`/api/files/${file.id}`, { force: force.checked ? "true" : undefined }),
  });
  if (!answer) return null;
  toast(`${file.path} deleted`, "success");
  return { ...answer, deleted_at: answer.deleted_at || new Date().toISOString() };
}

async function restore(file) {
  const restored = await api.post(`/api/files/${file.id}/restore`);
  toast(`${file.path} restored`, "success");
  return restored;
}

/** "Checked out by anna since … until …" or "Available". */
export function lockStatus(file) {
  if (file.deleted_at) return h("span", { class: "badge deleted" }, "Deleted");
  if (!file.lock) return h("span", { class: "badge free" }, "Available");
  const mine = heldByMe(file);
  return h(
    "span",
    { class: `badge ${mine ? "mine" : "held"}`, title: file.lock.message },
    mine ? "Checked out by you" : `Checked out by ${file.lock.holder}`,
  );
}

export function lockDetails(file) {
  if (!file.lock) return null;
  return h(
    "dl",
    { class: "lock-details" },
    h("dt", {}, "Holder"),
    h("dd", {}, file.lock.holder),
    h("dt", {}, "Reason"),
    h("dd", {}, file.lock.message || "—"),
    h("dt", {}, "Since"),
    h("dd", {}, time(file.lock.since)),
    h("dt", {}, "Until"),
    h("dd", {}, file.lock.until ? time(file.lock.until) : "no expiry"),
  );
}
