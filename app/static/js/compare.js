// Compare any two versions of a file: two pickers and a button that opens the diff of that pair.
import { h } from "./dom.js";
import { field } from "./ui.js";

/** A small form over `versions` (newest first, as the history lists them); `from`/`to` preselect a pair. */
export function compareForm(fileId, versions, { from, to } = {}) {
  if (versions.length < 2) return null;
  const options = (selected) =>
    versions.map((v) => h("option", { value: String(v.version), selected: v.version === selected }, `v${v.version}`));
  const newest = versions[0].version;
  const left = h("select", { name: "from" }, options(from ?? versions[1].version));
  const right = h("select", { name: "to" }, options(to ?? newest));
  const form = h(
    "form",
    { class: "toolbar compare", "aria-label": "Pick two versions" },
    field("Compare version", left),
    field("with version", right),
    h("button", { type: "submit" }, "Compare"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const [a, b] = [Number(left.value), Number(right.value)].sort((x, y) => x - y);
    location.hash = `#/file/${fileId}/diff/${a}/${b}`;
  });
  return form;
}
