// The file browser: one folder at a time (or a search below it), sortable, paged, live.
import { can, fileActions, lockStatus } from "../actions.js";
import { api, session } from "../api.js";
import { basename, dirname, formatSize, h, replace, time } from "../dom.js";
import { breadcrumbs, filesHref, folderPanel } from "../folders.js";
import { policy, stateBadge } from "../lifecycle.js";
import { FOLDER_EVENTS, LIFECYCLE_EVENTS, live } from "../live.js";
import { factsCells, factsHeaders } from "../nc/listing.js";
import { fileOrder, place, remember } from "../sorting.js";
import { field, pagedLoads, redrawKeepingFocus } from "../ui.js";
import { uploadPanel } from "../upload.js";
import { cardFields, columnChooser, filterChips, folderCardButton } from "../cards.js";

export { filesHref };

const PAGE = 50;
const SORTS = [
  ["name", "Name"],
  ["size", "Size"],
  ["updated", "Updated"],
];

export function renderFiles(root, params) {
  const folder = params.get("folder") || "";
  const state = { q: "", status: "", lifecycle: "", releasedOnly: false, sort: "name", order: "asc", deleted: false, cursor: null, total: 0, facts: false };
  // Data cards (cards.js): the search, card filters, card columns and sort live in the URL, so a search can be
  // bookmarked: #/files?folder=jobs&q=4711&card=customer:eq:ACME&cols=part_number,customer&sort=card.part_number
  state.q = params.get("q") || "";
  state.cards = params.getAll("card");
  state.columns = (params.get("cols") || "").split(",").filter(Boolean);
  if (params.get("sort")) state.sort = params.get("sort");
  if (params.get("order") === "desc") state.order = "desc";
  let fields = [];
  const cardValues = new Map(); // file id -> {key: value}, from the listing's `cards`
  const cardTools = h("div", { class: "card-tools" });
  const rows = new Map(); // file id -> <tr>

  const search = h("input", { type: "search", name: "q", value: state.q, placeholder: "Path, part number, customer…", autocomplete: "off" });
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "All files"),
    h("option", { value: "available" }, "Available"),
    h("option", { value: "checked_out" }, "Checked out"),
    h("option", { value: "mine" }, "Checked out by me"),
  );
  const deleted = h("input", { type: "checkbox", name: "deleted" });
  // The release lifecycle: filter by state, or see exactly what the shop floor sees (viewers always do).
  const lifecycle = h(
    "select",
    { name: "state" },
    h("option", { value: "" }, "All states"),
    h("option", { value: "wip" }, "Work in progress"),
    h("option", { value: "in_review" }, "In review"),
    h("option", { value: "released" }, "Released"),
    h("option", { value: "obsolete" }, "Obsolete"),
  );
  const releasedOnly = h("input", { type: "checkbox", name: "released_only" });
  const facts = h("input", { type: "checkbox", name: "facts" }); // NC programs' tools, cycle time, Z min
  const floorNote = h("p", { class: "floor-note", id: "floor-note" });
  const summary = h("p", { class: "muted", role: "status", id: "files-summary" });
  const folderView = folderPanel(folder, () => state.releasedOnly);
  const folders = folderView.list;
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const headers = h("tr");
  const table = h("table", { class: "files", "aria-describedby": "files-summary" }, h("thead", {}, headers), body);

  let debounce = null;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      state.q = search.value.trim();
      reload();
    }, 250);
  });
  status.addEventListener("change", () => {
    state.status = status.value;
    reload();
  });
  deleted.addEventListener("change", () => {
    state.deleted = deleted.checked;
    reload();
  });
  lifecycle.addEventListener("change", () => {
    state.lifecycle = lifecycle.value;
    reload();
  });
  releasedOnly.addEventListener("change", () => {
    state.releasedOnly = releasedOnly.checked;
    reload();
  });
  facts.addEventListener("change", () => {
    state.facts = facts.checked;
    renderHeaders();
    reload();
  });
  more.addEventListener("click", () => load(false));

  /** The URL says what is shown: replaced in place (no new history entry, no re-render). */
  function keepInUrl() {
    const query = new URLSearchParams();
    if (folder) query.set("folder", folder);
    if (state.q) query.set("q", state.q);
    for (const spec of state.cards) query.append("card", spec);
    if (state.columns.length) query.set("cols", state.columns.join(","));
    if (state.sort !== "name") query.set("sort", state.sort);
    if (state.order !== "asc") query.set("order", state.order);
    const text = query.toString();
    history.replaceState(null, "", `#/files${text ? `?${text}` : ""}`);
  }

  function drawCardTools() {
    replace(
      cardTools,
      filterChips(state.cards, fields, (next) => {
        state.cards = next;
        drawCardTools();
        reload();
      }),
      columnChooser(state.columns, fields, (next) => {
        state.columns = next;
        drawCardTools();
        renderHeaders();
        reload();
      }),
    );
  }

  function cardColumns() {
    return fields.filter((f) => state.columns.includes(f.key));
  }

  function sortHeader(key, label) {
    const active = state.sort === key;
    const sortButton = h(
      "button",
      {
        type: "button",
        class: "sort",
        onclick: () => {
          state.order = active && state.order === "asc" ? "desc" : "asc";
          state.sort = key;
          renderHeaders();
          reload();
        },
      },
      label,
      active ? (state.order === "asc" ? " ▲" : " ▼") : "",
    );
    return h("th", { scope: "col", "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : "none" }, sortButton);
  }

  function renderHeaders() {
    const cells = SORTS.map(([key, label]) => sortHeader(key, label));
    replace(
      headers,
      cells[0],
      cells[1],
      h("th", { scope: "col" }, "Version"),
      h("th", { scope: "col" }, "State"),
      cells[2],
      cardColumns().map((f) => sortHeader(`card.${f.key}`, f.label)),
      state.facts ? factsHeaders() : [],
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Actions"),
    );
  }

  function row(file) {
    const label = state.q || state.deleted ? file.path : basename(file.path);
    const tr = h(
      "tr",
      { dataset: { fileId: file.id, path: file.path, focusScope: `file:${file.id}` } },
      h("td", { class: "name" }, h("a", { href: `#/file/${file.id}`, title: file.path }, label)),
      h("td", { class: "num", dataset: { label: "Size" } }, formatSize(file.size)),
      h("td", { class: "num version", dataset: { label: "Version" } }, `v${file.version}`),
      h("td", { class: "lifecycle", dataset: { label: "State" } }, stateBadge(file)),
      h("td", { dataset: { label: "Updated" } }, time(file.updated_at), h("span", { class: "muted" }, ` by ${file.updated_by ?? "?"}`)),
      cardColumns().map((f) => h("td", { class: "card-cell", dataset: { label: f.label, card: f.key } }, cardValues.get(file.id)?.[f.key] ?? "")),
      state.facts ? factsCells(file) : [],
      h("td", { class: "status" }, lockStatus(file)),
      h("td", { class: "actions-cell" }, fileActions(file, (changed) => update(changed), { compact: true })),
    );
    if (file.lock) tr.classList.add("locked");
    return remember(tr, file);
  }

  /** Show `tr` where the current sort puts it (or leave it for a later page); true when it is shown. */
  function placeRow(tr, file) {
    if (state.sort.startsWith("card.")) {
      // The browser does not know the card order: a row stays where the server put it (new ones go last).
      if (!tr.isConnected) body.append(tr);
      return true;
    }
    return place(body, tr, file, fileOrder(state.sort, state.order), Boolean(state.cursor));
  }

  function update(file) {
    const old = rows.get(file.id);
    if (!old) return;
    if (Boolean(file.deleted_at) !== state.deleted || (state.lifecycle && file.state !== state.lifecycle)) {
      old.remove();
      rows.delete(file.id);
      return;
    }
    const fresh = remember(redrawKeepingFocus(old, () => row(file)), file); // the row kept or its new drawing
    if (placeRow(fresh, file)) {
      rows.set(file.id, fresh);
      fresh.classList.add("flash");
    } else {
      rows.delete(file.id); // it moved past the loaded pages: it comes with its page
    }
  }

  function query(cursor) {
    return {
      folder: state.deleted ? undefined : folder,
      recursive: state.q || state.cards.length ? "true" : undefined,
      q: state.q || undefined,
      status: state.status === "mine" ? "checked_out" : state.status || undefined,
      holder: state.status === "mine" ? session.user.username : undefined,
      deleted: state.deleted ? "true" : undefined,
      state: state.lifecycle || undefined,
      released_only: state.releasedOnly ? "true" : undefined,
      facts: state.facts ? "true" : undefined,
      sort: state.sort,
      order: state.order,
      limit: PAGE,
      cursor,
      // The total is counted once, with the first page ("Showing 50 of 120"); the pages after it keep it.
      count: cursor ? undefined : "true",
      card: state.cards.length ? state.cards : undefined,
    };
  }

  const load = pagedLoads(
    more,
    (first) => api.get("/api/files", query(first ? undefined : state.cursor)),
    (page, first) => {
      if (first) {
        body.replaceChildren();
        rows.clear();
      }
      for (const [id, values] of Object.entries(page.cards || {})) cardValues.set(Number(id), values);
      for (const file of page.items) {
        if (rows.has(file.id)) continue;
        const tr = row(file);
        rows.set(file.id, tr);
        body.append(tr);
      }
      state.cursor = page.next_cursor;
      if (first) state.total = page.total;
      showSummary();
      more.hidden = !page.next_cursor;
    },
  );

  function showSummary() {
    const where = state.deleted ? "deleted files" : state.q ? `matches for “${state.q}”` : "files in this folder";
    replace(summary, rows.size === 0 ? `No ${where}.` : `Showing ${rows.size} of ${state.total} ${where}.`);
  }

  const loadFolders = () => folderView.reload();

  function reload() {
    keepInUrl();
    folders.hidden = Boolean(state.q || state.deleted || state.cards.length);
    const floor = policy.floor || state.releasedOnly;
    replace(floorNote, floor ? "Released programs: the current revision of each file, as the shop floor gets it." : "");
    floorNote.hidden = !floor;
    loadFolders();
    load(true);
  }

  // Live: refresh a row in place; show new files of this folder; drop deleted ones.
  const getFile = (fileId) => api.get(`/api/files/${fileId}`, { released_only: state.releasedOnly ? "true" : undefined });
  async function refresh(fileId) {
    try {
      update(await getFile(fileId));
    } catch (err) {
      if (err.status === 404) {
        rows.get(fileId)?.remove();
        rows.delete(fileId);
      }
    }
  }
  function belongsHere(path, released) {
    // A new file is never checked out, so it cannot match those filters; deleted ones reload instead.
    if (state.deleted || (state.status && state.status !== "available")) return false;
    // A new file is work in progress: the floor's view shows it once released (file_released).
    if ((policy.floor || state.releasedOnly) && !released) return false;
    const inFolder = state.q ? path.toLowerCase().startsWith(folder ? `${folder.toLowerCase()}/` : "") : dirname(path).toLowerCase() === folder.toLowerCase();
    return inFolder && (!state.q || path.toLowerCase().includes(state.q.toLowerCase()));
  }
  async function added(message) {
    if (rows.has(message.file_id)) return refresh(message.file_id);
    const released = message.type === "file_released" || message.type === "file_reinstated";
    if (!belongsHere(message.path, released)) {
      if (!state.q && message.path.toLowerCase().startsWith(folder ? `${folder.toLowerCase()}/` : "")) loadFolders();
      return;
    }
    try {
      const file = await getFile(message.file_id);
      if (rows.has(file.id)) return update(file);
      if (state.lifecycle && file.state !== state.lifecycle) return;
      const tr = row(file);
      if (placeRow(tr, file)) {
        rows.set(file.id, tr);
        tr.classList.add("flash");
      }
      state.total += 1;
      showSummary();
    } catch {
      /* gone again already */
    }
  }
  // A file renamed or moved: drop it if it left, show it if it came, else redraw it where it sorts now.
  async function moved(message) {
    if (!rows.has(message.file_id)) return belongsHere(message.path) ? added(message) : null;
    if (state.deleted || belongsHere(message.path) || (state.q && inScope(message.path))) return refresh(message.file_id);
    rows.get(message.file_id).remove();
    rows.delete(message.file_id);
    state.total -= 1;
    showSummary();
  }
  function inScope(path) {
    return path.toLowerCase().startsWith(folder ? `${folder.toLowerCase()}/` : "");
  }
  // A folder made, moved or deleted: if it is this one (or holds it), follow it; else redraw the folder list.
  function folderChanged(message) {
    const open = folder.toLowerCase();
    const old = (message.old_path || "").toLowerCase();
    if (message.type === "folder_moved" && old && (open === old || open.startsWith(`${old}/`))) {
      location.hash = filesHref(message.path + folder.slice(old.length));
      return;
    }
    const parents = [message.path, message.old_path].filter(Boolean).map((p) => dirname(p).toLowerCase());
    if (parents.some((p) => p === open || p.startsWith(open ? `${open}/` : "")) || !open) loadFolders();
  }
  const unsubscribe = [
    live.on("file_locked", (m) => rows.has(m.file_id) && refresh(m.file_id)),
    live.on("file_unlocked", (m) => rows.has(m.file_id) && refresh(m.file_id)),
    live.on("lock_expired", (m) => rows.has(m.file_id) && refresh(m.file_id)),
    live.on("file_uploaded", added),
    live.on("file_restored", (m) => (state.deleted ? refresh(m.file_id) : added(m))),
    live.on("file_deleted", (m) => {
      if (state.deleted) return reload();
      const tr = rows.get(m.file_id);
      if (tr) {
        tr.remove();
        rows.delete(m.file_id);
        state.total -= 1;
        showSummary();
      }
    }),
    // Lifecycle transitions change a row's state; a release may add a row to the floor's view, an obsolete
    // remove one (the re-read answers 404 there).
    ...LIFECYCLE_EVENTS.map((type) =>
      live.on(type, (m) => (rows.has(m.file_id) ? refresh(m.file_id) : type === "file_released" || type === "file_reinstated" ? added(m) : null)),
    ),
    live.on("files_adopted", reload),
    live.on("card_changed", (m) => rows.has(m.file_id) && (state.columns.length || state.cards.length) && reload()),
    live.on("file_moved", moved),
    ...FOLDER_EVENTS.map((type) => live.on(type, folderChanged)),
    live.on("resync", reload),
    live.on("reconnected", reload),
  ];

  const uploader = can.write()
    ? uploadPanel(
        () => folder,
        (files) => files.forEach((f) => added({ file_id: f.id, path: f.path })),
      )
    : null;

  replace(
    root,
    breadcrumbs(folder),
    h(
      "div",
      { class: "toolbar" },
      field("Search", search),
      field("Status", status),
      policy.floor ? null : field("State", lifecycle),
      policy.floor ? null : h("label", { class: "check" }, releasedOnly, " Released only"),
      can.admin() ? h("label", { class: "check" }, deleted, " Show deleted") : null,
      h("label", { class: "check" }, facts, " Program facts"),
      folderView.newButton,
      folderCardButton(folder),
    ),
    cardTools,
    floorNote,
    uploader?.panel,
    folders,
    h("div", { class: "table-wrap" }, table),
    summary,
    more,
  );
  renderHeaders();
  cardFields()
    .then((found) => {
      fields = found;
      drawCardTools();
      renderHeaders();
    })
    .catch(() => null);
  reload();
  live.viewing(null);
  return () => {
    clearTimeout(debounce);
    unsubscribe.forEach((off) => off());
    uploader?.dispose();
  };
}
