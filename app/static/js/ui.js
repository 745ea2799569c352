// Notices and modal dialogs (native <dialog>: focus trapping for free; Escape and focus return made sure of).
import { h, hasHandlers, replace } from "./dom.js";

// Notices sit in their own strip under the header, in the page's flow: they never cover a button. At most
// MAX_NOTICES show (newest first), each for a few seconds; a navigation clears them.
const MAX_NOTICES = 3;
const LIFETIME = { error: 8000, warning: 8000 };
const groups = new Map(); // key -> {item, timer}

function region() {
  return document.getElementById("toasts");
}

/**
 * Show a notice. With a `key`, a notice already showing under that key is updated in place and kept
 * longer (a burst of events becomes one notice: "anna uploaded 4 files").
 */
export function toast(message, kind = "info", key = null) {
  const area = region();
  const lifetime = LIFETIME[kind] || 5000;
  const existing = key ? groups.get(key) : null;
  if (existing && existing.item.isConnected) {
    replace(existing.item, message);
    clearTimeout(existing.timer);
    existing.timer = setTimeout(() => dismiss(key, existing.item), lifetime);
    area.prepend(existing.item);
    return existing.item;
  }
  const role = kind === "error" || kind === "warning" ? "alert" : "status";
  const item = h("div", { class: `toast ${kind}`, role }, message);
  area.prepend(item);
  const entry = { item, timer: setTimeout(() => dismiss(key, item), lifetime) };
  if (key) groups.set(key, entry);
  while (area.children.length > MAX_NOTICES) area.lastElementChild.remove();
  return item;
}

/** True while a notice under `key` is showing (its group still takes events). */
export function noticeOpen(key) {
  return Boolean(groups.get(key)?.item.isConnected);
}

function dismiss(key, item) {
  item.remove();
  if (key && groups.get(key)?.item === item) groups.delete(key);
}

/** Remove every notice (on navigation: they were about the page being left). */
export function clearNotices() {
  for (const { timer } of groups.values()) clearTimeout(timer);
  groups.clear();
  region()?.replaceChildren();
}

/**
 * A modal form. `body` is a list of nodes (labelled inputs); `submit(form)` may throw an
 * ApiError, whose message is shown in the dialog, which then stays open.
 * Resolves with submit's result, or null when cancelled (Cancel or Escape). When it closes, focus goes
 * back to the control that opened it, or, if an action re-drew that control, to its successor (the same
 * label in the same row), else to the row or the page.
 */
export function formDialog({ title, body, submitLabel = "OK", danger = false, submit }) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const submitButton = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h(
      "form",
      { method: "dialog", class: "dialog-form" },
      h("h2", {}, title),
      body,
      error,
      h("div", { class: "dialog-buttons" }, cancel, submitButton),
    );
    const dialog = h("dialog", { "aria-label": title }, form);
    let result = null;
    cancel.addEventListener("click", () => dialog.close());
    // The browser's own Escape handling can be skipped (no user activation yet): close it ourselves.
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        dialog.close();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submitButton.disabled = true;
      error.hidden = true;
      try {
        result = (await submit(form)) ?? true;
        dialog.close();
      } catch (err) {
        replace(error, err.message || String(err));
        error.hidden = false;
      } finally {
        submitButton.disabled = false;
      }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
      returnFocus(opener);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function focusTrail(opener) {
  if (!(opener instanceof HTMLElement) || opener === document.body) return null;
  const scope = opener.closest("[data-focus-scope]");
  return { opener, scope: scope?.dataset.focusScope ?? null, label: opener.getAttribute("aria-label") || opener.textContent };
}

function returnFocus(opener) {
  const trail = focusTrail(opener);
  if (!trail) return;
  // After the caller's reaction to the answer (a row drawn again), which runs before this timer fires.
  setTimeout(() => {
    if (document.querySelector("dialog[open]")) return; // another dialog took over
    if (trail.opener.isConnected) {
      trail.opener.focus();
      return;
    }
    const scope = trail.scope ? document.querySelector(`[data-focus-scope="${CSS.escape(trail.scope)}"]`) : null;
    if (!focusSuccessor(scope, trail.label)) document.getElementById("main")?.focus({ preventScroll: true });
  }, 0);
}

/** Focus the control in `scope` labelled `label`, else its first button or control; false if there is none. */
export function focusSuccessor(scope, label) {
  const controls = scope ? [...scope.querySelectorAll("button, a[href], input, select, textarea")] : [];
  const same = controls.find((c) => (c.getAttribute("aria-label") || c.textContent) === label);
  const next = same || controls.find((c) => c.tagName === "BUTTON") || controls[0];
  next?.focus();
  return Boolean(next);
}

/**
 * Show what `draw()` returns in place of `old` (a row drawn again after a change, live or not) without losing the
 * keyboard's place: if focus was inside, it moves to the same control in the new drawing. Returns the element now
 * shown: `old` itself when only some of its children had to change.
 */
export function redrawKeepingFocus(old, draw) {
  const focused = old.contains(document.activeElement) ? document.activeElement : null;
  const label = focused ? focused.getAttribute("aria-label") || focused.textContent : null;
  const fresh = draw();
  let shown = fresh;
  if (fresh !== old) {
    if (patchInPlace(old, fresh)) shown = old;
    else old.replaceWith(fresh);
  }
  if (focused && !focused.isConnected) focusSuccessor(shown, label);
  return shown;
}

/**
 * The loads of one paged list, with its "Load more" button. `load(true)` starts the list again (a new search, a
 * live reload): an answer still on its way for an earlier start is dropped, whichever answers last. `load(false)`
 * adds the next page, and does nothing while a load is on its way: its cursor belongs to the rows shown, the
 * filters to the start on its way. `fetchPage(first)` asks for the page; `show(page, first)` draws it, only when
 * it is still the newest.
 */
export function pagedLoads(more, fetchPage, show) {
  let generation = 0;
  return async function load(first) {
    if (!first && more.disabled) return;
    const mine = first ? ++generation : generation;
    more.disabled = true;
    try {
      const page = await fetchPage(first);
      if (mine === generation) show(page, first);
    } catch (err) {
      toast(err.message, "error");
    } finally {
      if (mine === generation) more.disabled = false;
    }
  };
}

/**
 * Make `old` show what `fresh` shows by swapping only the children that differ, and true when that was possible.
 * A live refresh often redraws a row that changed in one cell or not at all; swapping the whole row would pull
 * the link under a pointer away between its mousedown and mouseup, and the click would be lost. A child that
 * carries handlers is always swapped, since its old closures hold the old data.
 */
function patchInPlace(old, fresh) {
  if (old.tagName !== fresh.tagName || hasHandlers(old, false) || hasHandlers(fresh, false)) return false;
  const before = [...old.childNodes];
  const after = [...fresh.childNodes];
  if (before.length !== after.length) return false;
  for (const name of old.getAttributeNames()) if (!fresh.hasAttribute(name)) old.removeAttribute(name);
  for (const name of fresh.getAttributeNames()) old.setAttribute(name, fresh.getAttribute(name));
  before.forEach((child, i) => {
    if (!child.isEqualNode(after[i]) || hasHandlers(after[i])) child.replaceWith(after[i]);
  });
  return true;
}

export function confirmDialog(title, text, submitLabel = "OK", danger = false) {
  return formDialog({ title, body: [h("p", {}, text)], submitLabel, danger, submit: async () => true });
}

/** A label wrapping its control, so clicking the text focuses the field and screen readers name it. */
export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", {}, label), control, hint ? h("small", {}, hint) : null);
}
