// Upload panel: a picker and drag-and-drop, several files, one request each so every file gets
// its own progress bar and its own error (too large, wrong type, already exists).
import { sendForm } from "./api.js";
import { formatSize, h, replace } from "./dom.js";

const PARALLEL = 2;

const REASONS = {
  409: "Already exists",
  413: "Too large",
  415: "Wrong type",
};

export function uploadPanel(getFolder, onUploaded) {
  const list = h("ul", { class: "upload-list", "aria-label": "Uploads" });
  const input = h("input", { type: "file", multiple: true, id: "upload-input", class: "visually-hidden" });
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
  const panel = h("section", { class: "upload-panel", "aria-label": "Upload" }, picker, input, h("span", { class: "muted" }, " or drop files anywhere on this page"), list);

  const queue = [];
  let running = 0;

  function start(files) {
    const folder = getFolder();
    for (const file of files) {
      const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": `Progress of ${file.name}` });
      const state = h("span", { class: "upload-state" }, "waiting");
      const item = h("li", { class: "upload-item", dataset: { name: file.name } }, h("span", { class: "upload-name" }, file.name), h("span", { class: "muted" }, formatSize(file.size)), bar, state);
      list.prepend(item);
      queue.push({ file, folder, bar, state, item });
    }
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length) {
      running += 1;
      send(queue.shift()).finally(() => {
        running -= 1;
        pump();
      });
    }
  }

  async function send({ file, folder, bar, state, item }) {
    const form = new FormData();
    form.set("folder", folder);
    form.append("files", file, file.name);
    replace(state, "uploading");
    item.classList.add("active");
    try {
      const answer = await sendForm("/api/files", form, (loaded, total) => {
        bar.max = total;
        bar.value = loaded;
      });
      bar.value = bar.max;
      item.classList.add("done");
      replace(state, `version ${answer.files[0].version}`);
      onUploaded(answer.files);
    } catch (err) {
      item.classList.add("failed");
      const reason = REASONS[err.status];
      replace(state, reason ? `${reason}: ${err.message}` : err.message);
      state.setAttribute("role", "alert");
    } finally {
      item.classList.remove("active");
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
