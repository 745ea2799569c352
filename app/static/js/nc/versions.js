// Choosing a version of a file (the Program and Compare tabs).
import { api } from "../api.js";
import { h } from "../dom.js";

/** The file's newest 200 versions, each with its program facts when the server has them. */
export function versionPage(fileId) {
  return api.get(`/api/files/${fileId}/versions`, { limit: 200 });
}

/** A select of the file's versions (newest 200, or `page` when the caller read it); choosing one calls
 * `onChoose(version)`. */
export async function versionSelect(fileId, current, label, onChoose, page = null) {
  page = page || (await versionPage(fileId));
  const select = h(
    "select",
    { "aria-label": label },
    page.items.map((v) => h("option", { value: v.version, selected: v.version === current }, `v${v.version} · ${v.author}${v.message ? ` · ${v.message}` : ""}`)),
  );
  if (!page.items.some((v) => v.version === current)) select.prepend(h("option", { value: current, selected: true }, `v${current}`));
  select.addEventListener("change", () => onChoose(Number(select.value)));
  return select;
}
