// The NC-aware compare of two versions (#/file/17/compare/2/3): what changed in machining terms, both toolpaths
// drawn over each other (old red, new blue), and the two texts side by side with the changed words marked.
import { h, replace } from "../dom.js";
import { NcWorker, isTextVersion } from "./client.js";
import { OVERLAY } from "./colours.js";
import { ROW } from "./diff.js";
import { highlightLine } from "./highlight.js";
import { PlotView } from "./plotview.js";
import { ncSettings } from "./settings.js";
import { machiningChanges } from "./summary.js";
import { Lines, ROW_HEIGHT } from "./textview.js";
import { versionPage, versionSelect } from "./versions.js";
import { VirtualList } from "./virtual.js";
import { wordDiff } from "./words.js";

const ROW_CLASS = { [ROW.SAME]: "same", [ROW.CHANGED]: "changed", [ROW.DELETED]: "deleted", [ROW.INSERTED]: "inserted" };

export async function showCompare(content, file, from, to, state) {
  const settings = await ncSettings();
  const go = (a, b) => {
    location.hash = `#/file/${file.id}/compare/${a}/${b}`;
  };
  const versions = await versionPage(file.id);
  const fromSelect = await versionSelect(file.id, from, "Older version", (v) => go(v, to), versions);
  const toSelect = await versionSelect(file.id, to, "Newer version", (v) => go(from, v), versions);
  // The facts the server stored with each version when it was made; the worker's own parse is the fallback
  // (versions made before facts were stored and not yet reindexed, or older than the newest 200).
  const stored = [from, to].map((n) => versions.items.find((v) => v.version === n)?.facts || null);
  const title = h(
    "div",
    { class: "nc-title" },
    h("h2", {}, `Compare version ${from} with version ${to}`),
    fromSelect,
    h("span", {}, "→"),
    toSelect,
    h("button", { type: "button", onclick: () => go(to, from) }, "Swap"),
  );
  replace(content, title, h("p", { class: "muted", role: "status" }, "Loading…"));
  for (const v of [from, to]) {
    if (!(await isTextVersion(file.id, v))) {
      replace(content, title, h("p", {}, `Version ${v} is not a text file: compare it by size and hash under Diff.`));
      return;
    }
  }
  if (state.disposed) return;
  const worker = new NcWorker();
  const plot = new PlotView(worker, { label: `Backplots of versions ${from} and ${to}` });
  const summary = h("section", { class: "nc-summary", "aria-label": "What changed in machining terms" }, h("p", { class: "muted" }, "Loading…"));
  const diffSlot = h("section", { class: "nc-diff-slot", "aria-label": "Text changes" });
  replace(content, title, h("div", { class: "nc-compare" }, summary, plot.element), diffSlot);
  let list = null;
  state.dispose = () => {
    plot.destroy();
    list?.destroy();
    worker.terminate();
  };
  plot.attach();
  const fromServer = stored[0] && stored[1];
  if (fromServer) showSummary(summary, stored[0], stored[1], from, to, "server");
  const [a, b] = await Promise.all([
    worker.load("a", file.id, from, settings.rapid_rate_mm_min),
    worker.load("b", file.id, to, settings.rapid_rate_mm_min),
  ]);
  if (state.disposed) return;
  worker.send({ type: "overlay", on: true });
  plot.loaded(0, [
    { number: from, colour: OVERLAY.a, label: `version ${from} (older)` },
    { number: to, colour: OVERLAY.b, label: `version ${to} (newer)` },
  ]);
  plot.canvas.dataset.parsedIn = b.parsedIn;
  if (!fromServer) showSummary(summary, a.facts, b.facts, from, to, "browser");

  const left = new Lines(a.buffer, a.lineStarts);
  const right = new Lines(b.buffer, b.lineStarts);
  const rows = await worker.request({ type: "diff" }, "diff");
  if (state.disposed) return;
  list = new VirtualList({
    count: rows.kind.length,
    rowHeight: ROW_HEIGHT,
    className: "nc-diff",
    label: `Version ${from} and version ${to}, side by side`,
    renderRow: (i) => diffRow(rows, i, left, right),
  });
  const changes = rows.hunks.length;
  let current = -1;
  const counter = h("span", { class: "muted", role: "status" }, changes ? `${changes} changed place${changes === 1 ? "" : "s"}` : "The texts are identical.");
  const step = (by) => {
    if (!changes) return;
    current = (current + by + changes) % changes;
    list.scrollTo(rows.hunks[current]);
    replace(counter, `change ${current + 1} of ${changes}`);
  };
  replace(
    diffSlot,
    h(
      "div",
      { class: "nc-diff-tools" },
      h("h3", {}, "Text"),
      h("button", { type: "button", onclick: () => step(-1) }, "Previous change"),
      h("button", { type: "button", onclick: () => step(1) }, "Next change"),
      counter,
    ),
    h("div", { class: "nc-diff-head" }, h("span", {}, `Version ${from}`), h("span", {}, `Version ${to}`)),
    list.element,
  );
  list.refresh();
  if (changes) step(1);
}

/** The summary of what changed from facts `a` to facts `b`; `source` (server or browser) says whose they are. */
function showSummary(slot, a, b, from, to, source) {
  const rows = machiningChanges(a, b);
  slot.dataset.facts = source;
  replace(
    slot,
    h("h3", {}, "What changed in the cut"),
    rows.length
      ? h(
          "table",
          { class: "nc-changes" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), h("th", { scope: "col" }, `Version ${from}`), h("th", { scope: "col" }, `Version ${to}`))),
          h(
            "tbody",
            {},
            rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.what), h("td", {}, r.before), h("td", {}, r.after))),
          ),
        )
      : h("p", { class: "nc-no-change" }, "No change in machining terms: same tools, feeds, speeds, depths, extents and cycle time."),
  );
}

function diffRow(rows, i, left, right) {
  const type = rows.kind[i];
  const l = rows.left[i];
  const r = rows.right[i];
  let leftCode;
  let rightCode;
  if (type === ROW.CHANGED) {
    const [p, q] = wordDiff(left.get(l + 1), right.get(r + 1));
    leftCode = p.map(([text, changed]) => (changed ? h("mark", {}, text) : text));
    rightCode = q.map(([text, changed]) => (changed ? h("mark", {}, text) : text));
  } else {
    leftCode = l >= 0 ? highlightLine(left.get(l + 1)) : "";
    rightCode = r >= 0 ? highlightLine(right.get(r + 1)) : "";
  }
  return h(
    "div",
    { class: `nc-diff-row ${ROW_CLASS[type]}`, role: "listitem", dataset: { row: i } },
    h("span", { class: "nc-ln" }, l >= 0 ? String(l + 1) : ""),
    h("span", { class: "nc-code left" }, leftCode),
    h("span", { class: "nc-ln" }, r >= 0 ? String(r + 1) : ""),
    h("span", { class: "nc-code right" }, rightCode),
  );
}
