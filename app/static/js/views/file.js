// One file: its lock, metadata and actions, and the history, diff and blame tabs.
import { fileActions, lockDetails, lockStatus } from "../actions.js";
import { api, download } from "../api.js";
import { compareForm } from "../compare.js";
import { cooldownLeft } from "../cooldown.js";
import { basename, dirname, formatSize, h, replace, time } from "../dom.js";
import { breadcrumbs } from "../folders.js";
import { policy, reviewDetails, stateBadge } from "../lifecycle.js";
import { live, VAULT_EVENTS } from "../live.js";
import { NC_TABS, ncTabLinks, ncVersionLinks, renderNcTab } from "../nc/viewer.js";
import { redrawKeepingFocus, toast } from "../ui.js";
import { cardPanel } from "../cards.js";

/** `OP10.v1.nc` for version 1 of `jobs/OP10.nc` (the server names downloads of older versions so). */
export function versionedName(path, version) {
  const name = basename(path);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)}.v${version}${name.slice(dot)}` : `${name}.v${version}`;
}

// #/file/17, #/file/17/diff/2/3, #/file/17/blame, #/file/17/blame/2, #/file/17/program/2, #/file/17/compare/2/3
export function renderFile(root, parts) {
  const fileId = Number(parts[0]);
  const tab = parts[1] || "history";
  let file = null;
  let leaveTab = () => {};
  let versions = null; // the first page of the history, for the compare form
  let text = false; // the latest version is text: the Blame tab is offered

  const header = h("section", { class: "file-header" });
  const viewers = h("p", { class: "viewers", "aria-live": "polite" });
  const content = h("section", { class: "file-tab" });
  const tabs = h("nav", { class: "tabs", "aria-label": "File views" });
  let ncLinks = null; // Program/Text and Compare, once the file is known
  // Blame is offered for text files only (it would only say so for a binary one).
  function showTabs() {
    replace(
      tabs,
      h("a", { href: `#/file/${fileId}`, "aria-current": tab === "history" ? "page" : null }, "History"),
      // The text view and the NC tabs are for text files only; a program with stored facts is text however large
      // (the kind answer stops at 4 MiB, a CAM program may be 20 MB), and so, most likely, is one whose facts the
      // server is still computing (a large program just uploaded: `facts_pending`).
      text || file?.facts || file?.facts_pending || NC_TABS.has(tab) ? ncLinks : null,
      text || tab === "blame" ? h("a", { href: `#/file/${fileId}/blame`, "aria-current": tab === "blame" ? "page" : null }, "Blame") : null,
      tab === "diff" ? h("a", { href: location.hash, "aria-current": "page" }, "Diff") : null,
    );
  }
  async function loadVersions() {
    const [page, kind] = await Promise.all([
      api.get(`/api/files/${fileId}/versions`, { limit: 50 }),
      api.get(`/api/files/${fileId}/kind`),
    ]);
    versions = page;
    text = kind.text;
    showTabs();
  }
  const card = cardPanel(fileId); // data card, history, Uses / Used by
  replace(root, header, viewers, tabs, content, card.panel); // the card below the tab: a program and its plot first

  function showHeader() {
    redrawKeepingFocus(header, () => drawHeader());
  }

  function drawHeader() {
    const folder = dirname(file.path);
    return replace(
      header,
      breadcrumbs(folder),
      h("h1", { class: "path" }, file.path),
      h(
        "p",
        {},
        lockStatus(file),
        " ",
        stateBadge(file),
        " ",
        h("span", { class: "version", id: "head-version" }, `version ${file.version}`),
      ),
      reviewDetails(file),
      lockDetails(file),
      h(
        "dl",
        { class: "meta" },
        h("dt", {}, "Size"),
        h("dd", {}, formatSize(file.size)),
        file.revision
          ? [
              h("dt", {}, "Revision"),
              h("dd", { id: "revision" }, `${file.revision.label} (version ${file.revision.version}), released `, time(file.revision.released_at), ` by ${file.revision.released_by}`),
            ]
          : null,
        h("dt", {}, "Updated"),
        h("dd", {}, time(file.updated_at), ` by ${file.updated_by ?? "?"}`),
        h("dt", {}, "Created"),
        h("dd", {}, time(file.created_at), ` by ${file.created_by ?? "?"}`),
        cooldownLeft(file) > 0 ? [h("dt", {}, "Cooldown"), h("dd", {}, "others can check it out from ", time(file.cooldown_until))] : null,
        file.deleted_at ? [h("dt", {}, "Deleted"), h("dd", {}, time(file.deleted_at), ` by ${file.deleted_by ?? "?"}`)] : null,
      ),
      fileActions(file, (changed) => {
        const versionChanged = changed.version !== file.version;
        file = changed;
        showHeader();
        if (versionChanged) loadVersions().then(() => tab === "history" && showTab());
      }),
    );
  }

  function showViewers() {
    const others = live.viewersOf(fileId);
    replace(viewers, others.length ? `Also viewing: ${others.map((u) => u.full_name || u.username).join(", ")}` : "");
  }

  async function loadFile() {
    try {
      file = await api.get(`/api/files/${fileId}`);
      showHeader();
      ncLinks = ncTabLinks(file, tab);
      showTabs();
      return true;
    } catch (err) {
      replace(header, h("h1", {}, "File not found"), h("p", {}, err.message), h("a", { href: "#/files" }, "Back to the vault"));
      return false;
    }
  }

  async function showTab() {
    try {
      if (NC_TABS.has(tab)) {
        leaveTab();
        leaveTab = renderNcTab(content, file, tab, parts.slice(2));
      } else if (tab === "diff") await showDiff(content, fileId, Number(parts[2]), Number(parts[3]), versions?.items);
      else if (tab === "blame") await showBlame(content, fileId, parts[2] ? Number(parts[2]) : undefined);
      else await showHistory(content, file, versions, text);
    } catch (err) {
      replace(content, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  }

  const changedHere = (m) => {
    if (m.file_id !== fileId) return;
    const historyChanged = ["file_uploaded", "file_released"].includes(m.type);
    loadFile().then((ok) => ok && historyChanged && loadVersions().then(() => tab === "history" && showTab()));
  };
  const unsubscribe = [
    ...VAULT_EVENTS.map((t) => live.on(t, changedHere)),
    live.on("presence", showViewers),
  ];

  showTabs();
  Promise.all([loadFile(), loadVersions().catch(() => null)]).then(([ok]) => {
    if (!ok) return;
    document.title = `${basename(file.path)} · camvault`;
    showTab();
    live.viewing(fileId);
    showViewers();
  });
  return () => {
    unsubscribe.forEach((off) => off());
    live.viewing(null);
    leaveTab();
    card.dispose();
  };
}

async function showHistory(content, file, first, text) {
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more versions");
  let cursor = null;
  async function load() {
    const page = cursor || !first ? await api.get(`/api/files/${file.id}/versions`, { cursor, limit: 50 }) : first;
    for (const [index, v] of page.items.entries()) {
      // The version before this one in the list (the floor lists released versions only).
      const older = page.items[index + 1]?.version ?? (policy.floor ? null : v.version - 1);
      body.append(
        h(
          "tr",
          { dataset: { version: v.version } },
          h("td", { class: "num" }, `v${v.version}`),
          h("td", { class: "revision" }, v.revision ?? ""),
          h("td", {}, time(v.created_at)),
          h("td", { dataset: { label: "Author" } }, v.author),
          h("td", { class: "message" }, v.message, v.path !== file.path ? h("span", { class: "muted version-path", title: v.path }, ` (as ${v.path})`) : null),
          h("td", { class: "num" }, formatSize(v.size)),
          h(
            "td",
            {},
            h(
              "div",
              { class: "actions" },
              h("button", { type: "button", "aria-label": `Download version ${v.version}`, onclick: () => download(file.id, v.version === file.version ? basename(file.path) : versionedName(v.path, v.version), v.version).catch((e) => toast(e.message, "error")) }, "Download"),
              older >= 1 ? h("a", { class: "button", href: `#/file/${file.id}/diff/${older}/${v.version}` }, "Diff with previous") : null,
              text ? h("a", { class: "button", href: `#/file/${file.id}/blame/${v.version}`, "aria-label": `Blame version ${v.version}` }, "Blame") : null,
              ncVersionLinks(file, v.version),
            ),
          ),
        ),
      );
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => load().catch((e) => toast(e.message, "error")));
  const table = h(
    "table",
    { class: "history" },
    h("caption", {}, "Versions, newest first"),
    h("thead", {}, h("tr", {}, ["Version", "Revision", "Date", "Author", "Message", "Size", ""].map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  await load();
  replace(content, compareForm(file.id, first?.items || []), h("div", { class: "table-wrap" }, table), more);
}

export async function showDiff(content, fileId, from, to, versions) {
  const diff = await api.get(`/api/files/${fileId}/diff`, { from, to });
  const title = [
    compareForm(fileId, versions || [], { from: diff.from_version, to: diff.to_version }),
    h("h2", {}, `Changes from version ${diff.from_version} to ${diff.to_version}`),
  ];
  if (diff.kind === "binary") {
    replace(
      content,
      title,
      h("p", {}, diff.identical ? "The two versions are identical." : "Binary file: the versions differ. Compare sizes and hashes:"),
      h(
        "table",
        { class: "binary-diff" },
        h("thead", {}, h("tr", {}, h("th", {}, "Version"), h("th", {}, "Size"), h("th", {}, "Blob"))),
        h("tbody", {}, diff.sides.map((s) => h("tr", {}, h("td", {}, `v${s.version}`), h("td", {}, formatSize(s.size)), h("td", { class: "mono" }, s.blob_sha)))),
      ),
    );
    return;
  }
  if (!diff.diff) {
    replace(content, title, h("p", {}, "No changes: the two versions are identical."));
    return;
  }
  const lines = diff.diff.split("\n").map((line) => {
    let cls = "ctx";
    if (line.startsWith("@@")) cls = "hunk";
    else if (line.startsWith("+++") || line.startsWith("---")) cls = "meta";
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    return h("span", { class: `line ${cls}` }, line, "\n");
  });
  replace(content, title, h("pre", { class: "diff", "aria-label": "Unified diff" }, lines));
}

async function showBlame(content, fileId, version) {
  const blame = await api.get(`/api/files/${fileId}/blame`, { version });
  let previous = null;
  const rows = blame.lines.map((line) => {
    const first = line.commit !== previous;
    previous = line.commit;
    return h(
      "tr",
      { class: first ? "group-start" : "" },
      h("td", { class: "num" }, first ? `v${line.version ?? "?"}` : ""),
      h("td", {}, first ? line.author : ""),
      h("td", {}, first ? time(line.date) : ""),
      h("td", { class: "num muted" }, String(line.line)),
      h("td", { class: "code" }, line.text),
    );
  });
  replace(
    content,
    h("h2", {}, `Blame of version ${blame.version}`),
    h("div", { class: "table-wrap" }, h("table", { class: "blame" }, h("thead", {}, h("tr", {}, ["Version", "Author", "Date", "Line", "Text"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))),
  );
}
