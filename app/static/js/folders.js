// Folders in the file browser: the folders of the open folder (with Rename/move and, when empty, Delete),
// and New folder. An empty folder lives in the catalog until it is deleted; Git holds it once a file is in it.
import { can } from "./actions.js";
import { api } from "./api.js";
import { basename, h, replace } from "./dom.js";
import { confirmDialog, field, formDialog, toast } from "./ui.js";

export function filesHref(folder) {
  return folder ? `#/files?folder=${encodeURIComponent(folder)}` : "#/files";
}

function join(folder, name) {
  return folder ? `${folder}/${name}` : name;
}

/** The open folder's subfolders, live; `list` is the element to show, `newButton` the New folder button. */
/** The folders inside `folder`; `releasedOnly()` says whether the list shows the shop floor's view. */
export function folderPanel(folder, releasedOnly = () => false) {
  const list = h("ul", { class: "folders", "aria-label": "Folders" });
  const newButton = can.write() ? h("button", { type: "button", onclick: () => create() }, "New folder") : null;

  function item(f) {
    const actions = can.write()
      ? h(
          "span",
          { class: "folder-actions" },
          h("button", { type: "button", class: "link", "aria-label": `Rename or move folder ${f.name}`, onclick: () => move(f) }, "Rename"),
          f.empty ? h("button", { type: "button", class: "link danger", "aria-label": `Delete folder ${f.name}`, onclick: () => remove(f) }, "Delete") : null,
        )
      : null;
    return h(
      "li",
      { dataset: { folder: f.path, focusScope: `folder:${f.path}` } },
      h("a", { href: filesHref(f.path), class: "folder", title: f.path }, f.name),
      h("span", { class: "muted" }, f.files ? ` ${f.files} file${f.files === 1 ? "" : "s"}` : f.empty ? " empty" : " no files"),
      actions,
    );
  }

  async function reload() {
    try {
      const answer = await api.get("/api/folders", { parent: folder, released_only: releasedOnly() ? "true" : undefined });
      replace(list, answer.folders.map(item));
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async function create() {
    const name = h("input", { name: "name", required: true, maxlength: 255, autocomplete: "off" });
    const made = await formDialog({
      title: folder ? `New folder in ${folder}` : "New folder",
      body: [field("Name", name, "Letters, digits, spaces, dots and dashes; a/b makes both.")],
      submitLabel: "Create",
      submit: () => api.post("/api/folders", { path: join(folder, name.value.trim()) }),
    });
    if (!made) return;
    toast(`Folder ${made.path} created`, "success");
    await reload();
    list.querySelector(`li[data-folder="${CSS.escape(made.path)}"] a`)?.focus();
  }

  async function move(f) {
    const to = h("input", { name: "to", required: true, maxlength: 1024, value: f.path, autocomplete: "off" });
    const moved = await formDialog({
      title: `Rename or move folder ${f.name}`,
      body: [
        field("New path", to, "Change its name, or the folders before it to move it, e.g. archive/" + basename(f.path) + "."),
        h("p", { class: "muted" }, f.files ? `Its ${f.files} file${f.files === 1 ? "" : "s"} move in one commit and keep their history.` : "It holds no files."),
      ],
      submitLabel: "Rename",
      submit: () => api.post("/api/folders/move", { path: f.path, to: to.value.trim() }),
    });
    if (!moved) return;
    toast(`Folder ${moved.old_path} is now ${moved.folder.path}`, "success");
    await reload();
  }

  async function remove(f) {
    if (!(await confirmDialog("Delete folder", `Delete the empty folder ${f.path}? Its data card (folder values) goes with it.`, "Delete", true))) return;
    try {
      await api.delete("/api/folders", { path: f.path });
      toast(`Folder ${f.path} deleted`, "success");
      await reload();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  return { list, newButton, reload };
}

/** Breadcrumbs of a folder: every level a link, long names cut short with the whole path in the tooltip. */
export function breadcrumbs(folder) {
  const crumbs = [h("a", { href: filesHref(""), class: "crumb" }, "Vault")];
  let path = "";
  for (const part of folder ? folder.split("/") : []) {
    path = path ? `${path}/${part}` : part;
    crumbs.push(h("span", { class: "sep", "aria-hidden": "true" }, "/"), h("a", { href: filesHref(path), class: "crumb", title: path }, part));
  }
  return h("nav", { class: "breadcrumbs", "aria-label": "Folder", title: folder || "Vault" }, crumbs);
}
