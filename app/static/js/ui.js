// Toasts and modal dialogs (native <dialog>: focus trapping, Escape to close, for free).
import { h, replace } from "./dom.js";

export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 5000);
}

/**
 * A modal form. `body` is a list of nodes (labelled inputs); `submit(form)` may throw an
 * ApiError, whose message is shown in the dialog, which then stays open.
 * Resolves with submit's result, or null when cancelled.
 */
export function formDialog({ title, body, submitLabel = "OK", danger = false, submit }) {
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
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function confirmDialog(title, text, submitLabel = "OK", danger = false) {
  return formDialog({ title, body: [h("p", {}, text)], submitLabel, danger, submit: async () => true });
}

/** A label wrapping its control, so clicking the text focuses the field and screen readers name it. */
export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", {}, label), control, hint ? h("small", {}, hint) : null);
}
