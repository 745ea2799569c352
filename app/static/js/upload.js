// Upload panel: a picker and drag-and-drop. The files of one pick or drop go up as ONE request (one
// commit); each file still gets its own progress bar (the request's progress, split by where each file
// lies in the body) and its own error: the server names the file that caused a refusal, that file is
// marked with the reason and the others are sent again without it.
import { sendForm } from "./api.js";
import { formatSize, h, replace } from "./dom.js";
import { toast } from "./ui.js";

const REASONS = {
  409: "Already exists",
  413: "Too large",
  415: "Wrong type",
};

export function uploadPanel(getFolder, onUploaded) {
  const list = h("ul", { class: "upload-list", "aria-label": "Uploads" });
  // Not a tab stop of its own: the "Upload files…" label is the control (Enter or Space opens the picker).
  const input = h("input", { type: "file", multiple: true, id: "upload-input", class: "visually-hidden", tabindex: -1, "aria-hidden": "true" });
  const message = h("input", { type: "text", name: "message", maxlength: 4000, placeholder: "What is this upload? (optional)", autocomplete: "off" });
  const picker = h("label", { for: "upload-input", class: "button primary", tabindex: 0 }, "Upload files…");
  picker.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      input.click();
    }
  });
  input.addEventListener("change", () => {
    start([...input.files]);
    input.value = "";
  });
  const panel = h(
    "section",
    { class: "upload-panel", "aria-label": "Upload" },
    h("label", { class: "field upload-message" }, h("span", {}, "Upload message"), message),
    picker,
    input,
    h("span", { class: "muted" }, " or drop files anywhere on this page"),
    list,
  );

  let chain = Promise.resolve(); // one batch at a time, in the order they were picked or dropped

  function start(files) {
    const folder = getFolder();
    const text = message.value.trim();
    const entries = files.map((file) => {
      const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": `Progress of ${file.name}` });
      const state = h("span", { class: "upload-state" }, "waiting");
      const item = h("li", { class: "upload-item", dataset: { name: file.name } }, h("span", { class: "upload-name" }, file.name), h("span", { class: "muted" }, formatSize(file.size)), bar, state);
      list.prepend(item);
      return { file, bar, state, item };
    });
    chain = chain.then(() => send(entries, folder, text));
  }

  function fail(entry, message, status) {
    entry.item.classList.remove("active");
    entry.item.classList.add("failed");
    const reason = REASONS[status];
    replace(entry.state, reason ? `${reason}: ${message}` : message);
    entry.state.setAttribute("role", "alert");
  }

  async function send(entries, folder, text) {
    let pending = entries;
    while (pending.length) {
      const form = new FormData();
      form.set("folder", folder);
      form.set("message", text);
      for (const { file } of pending) form.append("files", file, file.name);
      // Where each file's bytes start in the body (parts are sent in order; headers are small).
      let offset = 0;
      const spans = pending.map((entry) => {
        const span = { entry, start: offset };
        offset += entry.file.size;
        return span;
      });
      for (const { item, state } of pending) {
        item.classList.add("active");
        replace(state, "uploading");
      }
      try {
        const answer = await sendForm("/api/files", form, (loaded, total) => {
          const scale = offset / (total || 1);
          for (const { entry, start } of spans) {
            entry.bar.max = entry.file.size || 1;
            entry.bar.value = Math.max(0, Math.min(entry.file.size, loaded * scale - start));
          }
        });
        answer.files.forEach((created, i) => {
          const { bar, state, item } = pending[i];
          bar.value = bar.max;
          item.classList.remove("active");
          item.classList.add("done");
          replace(state, `version ${created.version}`);
        });
        // A 0-byte file is stored, but is almost always a failed export: say so where it shows.
        for (const warning of answer.warnings || []) {
          const entry = pending.find((e) => e.file.name === warning.file);
          if (entry) {
            entry.item.classList.add("warned");
            replace(entry.state, `version 1 — ${warning.message}`);
          }
          toast(warning.message, "warning");
        }
        if (message.value.trim() === text) message.value = "";
        onUploaded(answer.files);
        return;
      } catch (err) {
        const culprit = err.file ? pending.find((e) => e.file.name === err.file) : null;
        if (!culprit) {
          for (const entry of pending) fail(entry, err.message, err.status);
          return;
        }
        fail(culprit, err.message, err.status);
        pending = pending.filter((e) => e !== culprit);
        for (const { bar } of pending) bar.value = 0;
      }
    }
  }

  // Dropping files anywhere on the browser view uploads them into the open folder.
  function onDragOver(event) {
    if (![...event.dataTransfer.types].includes("Files")) return;
    event.preventDefault();
    document.body.classList.add("dragging");
  }
  function onDragLeave(event) {
    if (event.relatedTarget === null) document.body.classList.remove("dragging");
  }
  function onDrop(event) {
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    document.body.classList.remove("dragging");
    start([...event.dataTransfer.files]);
  }
  document.addEventListener("dragover", onDragOver);
  document.addEventListener("dragleave", onDragLeave);
  document.addEventListener("drop", onDrop);
  const dispose = () => {
    document.removeEventListener("dragover", onDragOver);
    document.removeEventListener("dragleave", onDragLeave);
    document.removeEventListener("drop", onDrop);
    document.body.classList.remove("dragging");
  };
  return { panel, start, dispose };
}
