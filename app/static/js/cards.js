// Data cards in the browser: the card panel of a file (values, inherited marks, history, Uses / Used by),
// a folder's card, the admin's field editor, the part packet page, and the listing's card columns and
// filter chips (kept in the URL, so a search can be bookmarked).
import { can } from "./actions.js";
import { api } from "./api.js";
import { formatSize, h, replace, time } from "./dom.js";
import { stateBadge } from "./lifecycle.js";
import { live } from "./live.js";
import { confirmDialog, field, formDialog, toast } from "./ui.js";

export const FIELD_TYPES = ["text", "number", "date", "bool", "choice", "user"];
export const FILTER_OPS = [
  ["eq", "is"],
  ["in", "is one of (a|b)"],
  ["has", "contains"],
  ["gte", "at least"],
  ["lte", "at most"],
  ["empty", "is empty"],
  ["set", "is set"],
];

let fieldsCache = null;
/** The card's fields (cached until an admin changes them: `card_fields_changed`). */
export async function cardFields() {
  if (!fieldsCache) fieldsCache = api.get("/api/cards/fields").then((r) => r.items);
  return fieldsCache;
}
live.on("card_fields_changed", () => {
  fieldsCache = null;
});

/** An input for one value of a field's type; `.value` is what the API takes ("" clears). */
function valueInput(f, value, name = f.key) {
  if (f.type === "choice") {
    return h("select", { name, "aria-label": f.label }, h("option", { value: "" }, "—"), f.choices.map((c) => h("option", { value: c, selected: c === value }, c)));
  }
  if (f.type === "bool") {
    return h("select", { name, "aria-label": f.label }, h("option", { value: "" }, "—"), h("option", { value: "true", selected: value === "true" }, "yes"), h("option", { value: "false", selected: value === "false" }, "no"));
  }
  const type = { number: "text", date: "date" }[f.type] || "text";
  return h("input", { type, name, value: value ?? "", "aria-label": f.label, inputmode: f.type === "number" ? "decimal" : null, autocomplete: "off" });
}

function showValue(v) {
  if (v.value === null) return h("span", { class: "muted" }, "—");
  if (v.type === "bool") return v.value === "true" ? "yes" : "no";
  return v.value;
}

// ---------------------------------------------------------------- the file page's card panel

/** The card of a file, with its history and where-used links; returns the panel and a dispose function. */
export function cardPanel(fileId) {
  const card = h("div", { class: "card-values" });
  const links = h("div", { class: "card-links" });
  const history = h("details", { class: "card-history" }, h("summary", {}, "Card history"));
  const panel = h("section", { class: "card-panel", id: "card-panel", "aria-label": "Data card" }, h("h2", {}, "Data card"), card, history, links);

  async function loadCard() {
    try {
      const data = await api.get(`/api/files/${fileId}/card`);
      drawCard(data);
    } catch (err) {
      replace(card, h("p", { class: "form-error" }, err.message));
    }
  }

  function drawCard(data) {
    const inputs = new Map();
    const rows = data.values.map((v) => {
      const control = can.write() ? valueInput(v, v.value) : null;
      if (control) inputs.set(v.key, control);
      const mark = v.inherited_from
        ? h("span", { class: "inherited", title: `From the card of the folder ${v.inherited_from}` }, ` inherited from ${v.inherited_from}`)
        : null;
      return h(
        "tr",
        { dataset: { key: v.key } },
        h("th", { scope: "row" }, v.label, v.required_for_release ? h("span", { class: "required", title: "Required for release" }, " *") : null),
        h("td", { class: "card-value" }, control || showValue(v), mark),
      );
    });
    const missing = data.missing_for_release.length
      ? h("p", { class: "muted", id: "card-missing" }, `Needed before a release: ${data.missing_for_release.join(", ")}`)
      : null;
    const part = data.values.find((v) => v.key === "part_number")?.value;
    const packet = part ? h("a", { href: `#/packet?part_number=${encodeURIComponent(part)}`, id: "open-packet" }, `Part packet ${part}`) : null;
    const save = can.write()
      ? h("button", {
          type: "submit",
          class: "primary",
          id: "save-card",
          onclick: async (event) => {
            event.preventDefault();
            const values = {};
            for (const v of data.values) {
              const now = inputs.get(v.key).value.trim();
              const before = v.own ? v.value ?? "" : "";
              // An inherited value shown in the box is not the file's own: only a changed box becomes one.
              if (now !== before && !(v.inherited_from && now === v.value)) values[v.key] = now === "" ? null : now;
            }
            if (!Object.keys(values).length) return toast("Nothing changed on the card");
            try {
              drawCard(await api.patch(`/api/files/${fileId}/card`, { values }));
              toast("Card saved");
              loadHistory();
            } catch (err) {
              toast(err.message, "error");
            }
          },
        }, "Save card")
      : null;
    replace(card, h("form", { class: "card-form" }, h("table", { class: "card" }, h("tbody", {}, rows)), save), missing, packet);
  }

  async function loadHistory() {
    try {
      const data = await api.get(`/api/files/${fileId}/card/history`);
      const items = data.items.map((item) =>
        h(
          "li",
          { class: item.inherited_from ? "inherited" : null },
          time(item.at),
          ` ${item.user} (${item.via}): `,
          // A folder's card: the file inherits these values unless it has its own.
          item.inherited_from ? h("span", { class: "muted" }, `folder ${item.inherited_from}: `) : null,
          Object.entries(item.changes).map(([key, c], i) => [i ? "; " : "", `${key}: ${c.old ?? "—"} → ${c.new ?? "—"}`]),
        ),
      );
      replace(history, h("summary", {}, `Card history (${items.length})`), items.length ? h("ul", {}, items) : h("p", { class: "muted" }, "No changes yet."));
    } catch {
      /* the card's answer says why */
    }
  }

  async function loadLinks() {
    try {
      drawLinks(await api.get(`/api/files/${fileId}/links`));
    } catch (err) {
      replace(links, h("p", { class: "form-error" }, err.message));
    }
  }

  function linkItem(link, removable) {
    const target = link.file;
    return h(
      "li",
      { dataset: { linkId: link.id } },
      h("a", { href: `#/file/${target.id}` }, target.path),
      target.deleted ? h("span", { class: "badge deleted" }, " deleted") : [" ", stateBadge({ state: target.state })],
      link.note ? h("span", { class: "muted" }, ` — ${link.note}`) : null,
      removable && can.write()
        ? h("button", {
            type: "button",
            "aria-label": `Remove link to ${target.path}`,
            onclick: async () => {
              if (!(await confirmDialog("Remove link", `Stop recording that this file uses ${target.path}?`, "Remove"))) return;
              try {
                drawLinks(await api.delete(`/api/files/${fileId}/links/${link.id}`));
              } catch (err) {
                toast(err.message, "error");
              }
            },
          }, "Remove")
        : null,
    );
  }

  function drawLinks(data) {
    const add = can.write()
      ? h("button", {
          type: "button",
          id: "add-link",
          onclick: async () => {
            const path = h("input", { name: "target_path", required: true, placeholder: "fixtures/vise.step", autocomplete: "off" });
            const note = h("input", { name: "note", placeholder: "soft jaws, 2 parts per clamping" });
            const result = await formDialog({
              title: "This file uses…",
              body: [field("Path of the file it uses", path), field("Note", note)],
              submitLabel: "Add link",
              submit: () => api.post(`/api/files/${fileId}/links`, { target_path: path.value.trim(), note: note.value }),
            });
            if (result && result !== true) drawLinks(result);
          },
        }, "Add a file it uses")
      : null;
    replace(
      links,
      h("h3", {}, "Uses"),
      data.uses.length ? h("ul", { id: "uses" }, data.uses.map((l) => linkItem(l, true))) : h("p", { class: "muted", id: "uses" }, "Nothing recorded."),
      add,
      h("h3", {}, "Used by"),
      data.used_by.length ? h("ul", { id: "used-by" }, data.used_by.map((l) => linkItem(l, false))) : h("p", { class: "muted", id: "used-by" }, "No file records using it."),
    );
  }

  const reloadAll = () => {
    loadCard();
    loadHistory();
  };
  const offs = [
    live.on("card_changed", (m) => m.file_id === fileId && reloadAll()),
    live.on("folder_card_changed", reloadAll),
    live.on("card_fields_changed", () => setTimeout(loadCard, 0)),
    live.on("links_changed", (m) => (m.file_id === fileId || m.target_id === fileId) && loadLinks()),
  ];
  reloadAll();
  loadLinks();
  return { panel, dispose: () => offs.forEach((off) => off()) };
}

// ---------------------------------------------------------------- a folder's card

/** A button that opens the folder's card (its own values and what it inherits) in a dialog. */
export function folderCardButton(folder) {
  if (!folder) return null;
  return h("button", {
    type: "button",
    id: "folder-card",
    onclick: async () => {
      let data;
      try {
        data = await api.get("/api/folders/card", { path: folder });
      } catch (err) {
        return toast(err.message, "error");
      }
      const inputs = new Map();
      const rows = data.values.map((v) => {
        const control = can.write() ? valueInput(v, v.own ? v.value : "") : h("span", {}, v.own ? showValue(v) : "—");
        inputs.set(v.key, control);
        const hint = v.inherited_from ? `${v.value} from ${v.inherited_from}` : undefined;
        return field(v.label, control, hint);
      });
      await formDialog({
        title: `Card of the folder ${folder}`,
        body: [h("p", { class: "muted" }, "Defaults for every file below this folder; a file's own value wins."), rows],
        submitLabel: can.write() ? "Save folder card" : "Close",
        submit: async () => {
          if (!can.write()) return true;
          const values = {};
          for (const v of data.values) {
            const now = inputs.get(v.key).value.trim();
            if (now !== (v.own ? v.value : "")) values[v.key] = now === "" ? null : now;
          }
          if (Object.keys(values).length) await api.patch(`/api/folders/card?path=${encodeURIComponent(folder)}`, { values });
          return true;
        },
      });
    },
  }, "Folder card");
}

// ---------------------------------------------------------------- the admin's field editor

export function renderFields(root) {
  const body = h("tbody");
  const table = h("table", { class: "fields" }, h("thead", {}, h("tr", {}, ["Key", "Label", "Type", "Choices", "Required for release", "Applies to", ""].map((t) => h("th", { scope: "col" }, t)))), body);
  const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

  async function load() {
    fieldsCache = null;
    const fields = await cardFields();
    replace(
      body,
      fields.map((f) =>
        h(
          "tr",
          { dataset: { key: f.key } },
          h("td", { class: "mono" }, f.key),
          h("td", {}, f.label),
          h("td", {}, f.type),
          h("td", {}, f.choices.join(", ")),
          h("td", {}, f.required_for_release ? "yes" : "no"),
          h("td", {}, [...f.extensions.map((e) => `.${e}`), ...f.folders.map((d) => `${d}/`)].join(", ") || "every file"),
          h("td", {}, h("div", { class: "actions" }, h("button", { type: "button", "aria-label": `Edit ${f.key}`, onclick: () => edit(f) }, "Edit"), h("button", { type: "button", class: "danger", "aria-label": `Remove ${f.key}`, onclick: () => remove(f) }, "Remove"))),
        ),
      ),
    );
  }

  function form(f) {
    const c = {
      key: h("input", { name: "key", required: true, pattern: "[a-z][a-z0-9_]*", value: f?.key ?? "", disabled: Boolean(f) }),
      label: h("input", { name: "label", required: true, value: f?.label ?? "" }),
      type: h("select", { name: "type", disabled: Boolean(f) }, FIELD_TYPES.map((t) => h("option", { value: t, selected: f?.type === t }, t))),
      choices: h("input", { name: "choices", value: f?.choices.join(", ") ?? "", placeholder: "DMU 50, Mazak Integrex" }),
      required: h("input", { type: "checkbox", name: "required_for_release", checked: Boolean(f?.required_for_release) }),
      extensions: h("input", { name: "extensions", value: f?.extensions.join(", ") ?? "", placeholder: "nc, tap (empty: every file)" }),
      folders: h("input", { name: "folders", value: f?.folders.join(", ") ?? "", placeholder: "customers/acme (empty: everywhere)" }),
    };
    const body = [
      field("Key", c.key, "Lower-case letters, digits and _; fixed once made"),
      field("Label", c.label),
      field("Type", c.type),
      field("Choices (for choice fields), comma-separated", c.choices),
      h("label", { class: "check" }, c.required, " Required for release"),
      field("Extensions", c.extensions),
      field("Folders", c.folders),
    ];
    const values = () => ({
      label: c.label.value.trim(),
      ...(c.type.value === "choice" ? { choices: list(c.choices.value) } : {}),
      required_for_release: c.required.checked,
      extensions: list(c.extensions.value),
      folders: list(c.folders.value),
    });
    return { body, values, c };
  }

  async function add() {
    const { body: fields, values, c } = form(null);
    const made = await formDialog({
      title: "New card field",
      body: fields,
      submitLabel: "Add field",
      submit: () => api.post("/api/cards/fields", { key: c.key.value.trim(), type: c.type.value, ...values() }),
    });
    if (made) load();
  }

  async function edit(f) {
    const { body: fields, values } = form(f);
    const changed = await formDialog({ title: `Field ${f.key}`, body: fields, submitLabel: "Save", submit: () => api.patch(`/api/cards/fields/${f.key}`, values()) });
    if (changed) load();
  }

  async function remove(f) {
    if (!(await confirmDialog("Remove field", `Remove ${f.label} (${f.key}) from every card? Its values stay in the card history.`, "Remove", true))) return;
    try {
      await api.delete(`/api/cards/fields/${f.key}`);
      load();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  replace(
    root,
    h("h1", {}, "Card fields"),
    h("p", { class: "muted" }, "The data card every file carries: part number, customer, machine… Folder cards give defaults below a folder."),
    h("button", { type: "button", class: "primary", id: "add-field", onclick: add }, "Add field"),
    h("div", { class: "table-wrap" }, table),
  );
  load().catch((err) => toast(err.message, "error"));
  const off = live.on("card_fields_changed", () => load());
  return () => off();
}

// ---------------------------------------------------------------- the part packet page

/** The packet's zip through a one-minute link: the browser streams it to disk (never held in the page). */
async function downloadPacket(part) {
  const link = await api.post("/api/cards/packet/download-link", undefined, { part_number: part });
  const anchor = h("a", { href: link.url, download: `packet-${part}.zip` });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

const GROUPS = { program: "Programs", setup_sheet: "Setup sheets", model: "Models", other: "Other files" };

export function renderPacket(root, params) {
  const part = params.get("part_number") || "";
  const input = h("input", { type: "search", name: "part_number", value: part, placeholder: "4711-A", autocomplete: "off" });
  const content = h("div", { id: "packet" });
  const form = h(
    "form",
    {
      class: "toolbar",
      onsubmit: (event) => {
        event.preventDefault();
        location.hash = `#/packet?part_number=${encodeURIComponent(input.value.trim())}`;
      },
    },
    field("Part number", input),
    h("button", { type: "submit" }, "Show packet"),
  );
  replace(root, h("h1", {}, part ? `Part packet ${part}` : "Part packet"), form, content);
  if (!part) return () => {};
  api
    .get("/api/cards/packet", { part_number: part })
    .then((packet) => {
      if (!packet.files.length) return replace(content, h("p", {}, `No file carries the part number ${part}.`));
      const sections = Object.entries(GROUPS).map(([group, label]) => {
        const files = packet.files.filter((p) => p.group === group);
        if (!files.length) return null;
        return h(
          "section",
          { dataset: { group } },
          h("h2", {}, label),
          h(
            "table",
            { class: "packet" },
            h("thead", {}, h("tr", {}, ["File", "Operation", "State", "Revision", "Version", "Size"].map((t) => h("th", { scope: "col" }, t)))),
            h(
              "tbody",
              {},
              files.map((p) =>
                h(
                  "tr",
                  { dataset: { fileId: p.file.id } },
                  h("td", {}, h("a", { href: `#/file/${p.file.id}` }, p.file.path)),
                  h("td", {}, p.operation ?? ""),
                  h("td", {}, stateBadge(p.file)),
                  h("td", {}, p.file.revision?.label ?? ""),
                  h("td", { class: "num" }, `v${p.file.version}`),
                  h("td", { class: "num" }, formatSize(p.file.size)),
                ),
              ),
            ),
          ),
        );
      });
      const zip = h("button", {
        type: "button",
        class: "primary",
        id: "download-packet",
        onclick: () => downloadPacket(part).catch((e) => toast(e.message, "error")),
      }, `Download all ${packet.files.length} as zip`);
      replace(content, zip, sections);
    })
    .catch((err) => replace(content, h("p", { class: "form-error", role: "alert" }, err.message)));
  return () => {};
}

// ---------------------------------------------------------------- the listing: card columns and filter chips

/** Filter chips for the `card=key:op:value` filters (removable), and a form to add one. */
export function filterChips(filters, fields, changed) {
  const label = (spec) => {
    const [key, op, ...rest] = spec.split(":");
    const value = rest.join(":");
    const f = fields.find((x) => x.key === key);
    const opLabel = FILTER_OPS.find(([o]) => o === op)?.[1] ?? op;
    return `${f?.label ?? key} ${opLabel}${["empty", "set"].includes(op) ? "" : ` ${value}`}`;
  };
  const key = h("select", { name: "filter_field", "aria-label": "Card field" }, fields.map((f) => h("option", { value: f.key }, f.label)));
  const op = h("select", { name: "filter_op", "aria-label": "Condition" }, FILTER_OPS.map(([o, text]) => h("option", { value: o }, text)));
  const value = h("input", { name: "filter_value", "aria-label": "Value", placeholder: "value", autocomplete: "off" });
  const add = h(
    "form",
    {
      class: "filter-add",
      onsubmit: (event) => {
        event.preventDefault();
        const spec = ["empty", "set"].includes(op.value) ? `${key.value}:${op.value}` : `${key.value}:${op.value}:${value.value.trim()}`;
        value.value = "";
        changed([...filters, spec]);
      },
    },
    key,
    op,
    value,
    h("button", { type: "submit" }, "Add filter"),
  );
  const chips = filters.map((spec, i) =>
    h(
      "span",
      { class: "chip", dataset: { filter: spec } },
      label(spec),
      h("button", { type: "button", class: "chip-remove", "aria-label": `Remove filter ${label(spec)}`, onclick: () => changed(filters.filter((_, j) => j !== i)) }, "×"),
    ),
  );
  return h("div", { class: "filters", id: "card-filters" }, chips, add);
}

/** A column chooser: which card fields show as columns of the listing. */
export function columnChooser(columns, fields, changed) {
  return h(
    "details",
    { class: "column-chooser", id: "column-chooser" },
    h("summary", {}, "Columns"),
    fields.map((f) =>
      h(
        "label",
        { class: "check" },
        h("input", {
          type: "checkbox",
          name: `col_${f.key}`,
          checked: columns.includes(f.key),
          onchange: (event) => changed(event.target.checked ? [...columns, f.key] : columns.filter((c) => c !== f.key)),
        }),
        ` ${f.label}`,
      ),
    ),
  );
}
