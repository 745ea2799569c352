// A file's Program tab (#/file/17/program/3): the text of a version, and for NC programs the backplot and the
// program facts beside it. Also the links the file page shows for NC files. The parser runs in the worker only.
import { h, replace } from "../dom.js";
import { NcWorker, isTextVersion } from "./client.js";
import { showCompare } from "./compare.js";
import { factsPanel } from "./factsview.js";
import { PlotView } from "./plotview.js";
import { isNcPath, ncSettings } from "./settings.js";
import { Lines, TextView, textTools } from "./textview.js";
import { versionSelect } from "./versions.js";

export const NC_TABS = new Set(["program", "compare"]);

/** The Program (or Text) and Compare links of the file page's tab bar, filled in once the settings are read. */
export function ncTabLinks(file, tab) {
  const slot = h("span", { class: "nc-tab-links" });
  ncSettings()
    .then((settings) => {
      const nc = isNcPath(file.path, settings);
      replace(
        slot,
        h("a", { href: `#/file/${file.id}/program`, "aria-current": tab === "program" ? "page" : null }, nc ? "Program" : "Text"),
        nc && (file.version > 1 || tab === "compare")
          ? h("a", { href: tab === "compare" ? location.hash : `#/file/${file.id}/compare/${file.version - 1}/${file.version}`, "aria-current": tab === "compare" ? "page" : null }, "Compare")
          : null,
      );
    })
    .catch(() => replace(slot, h("a", { href: `#/file/${file.id}/program` }, "Text")));
  return slot;
}

/** A history row's links: view this version, and for NC files compare it with the one before. */
export function ncVersionLinks(file, version) {
  const slot = h("span", { class: "nc-version-links" }, h("a", { class: "button", href: `#/file/${file.id}/program/${version}` }, "View"));
  if (version > 1) {
    ncSettings()
      .then((settings) => {
        if (isNcPath(file.path, settings)) slot.append(h("a", { class: "button", href: `#/file/${file.id}/compare/${version - 1}/${version}` }, "Compare with previous"));
      })
      .catch(() => {});
  }
  return slot;
}

/** Render the Program or Compare tab into `content`; returns what to do when the page is left. */
export function renderNcTab(content, file, tab, rest) {
  const state = { disposed: false, dispose: () => {} };
  const run = tab === "compare" ? showCompare(content, file, Number(rest[0]), Number(rest[1]), state) : showProgram(content, file, rest[0] ? Number(rest[0]) : file.version, state);
  run.catch((err) => {
    if (!state.disposed) replace(content, h("p", { class: "form-error", role: "alert" }, err.message));
  });
  return () => {
    state.disposed = true;
    state.dispose();
  };
}

async function showProgram(content, file, version, state) {
  const settings = await ncSettings();
  const nc = isNcPath(file.path, settings);
  const picker = await versionSelect(file.id, version, "Version", (v) => {
    location.hash = `#/file/${file.id}/program/${v}`;
  });
  const title = h("div", { class: "nc-title" }, h("h2", {}, nc ? "Program" : "Text"), picker);
  replace(content, title, h("p", { class: "muted", role: "status" }, "Loading…"));
  if (!(await isTextVersion(file.id, version))) {
    replace(content, title, h("p", {}, `Version ${version} is not a text file: there is nothing to show here. Download it from the history.`));
    return;
  }
  if (state.disposed) return;
  const worker = new NcWorker();
  const plot = nc ? new PlotView(worker, { label: `Backplot of version ${version}` }) : null;
  const textSlot = h("div", { class: "nc-text-pane" }, h("p", { class: "muted" }, "Loading…"));
  const factsSlot = h("div", { class: "nc-facts-slot" });
  const layout = h("div", { class: nc ? "nc-program" : "nc-program text-only" }, textSlot, plot ? plot.element : null);
  replace(content, title, layout, factsSlot);
  let textView = null;
  state.dispose = () => {
    plot?.destroy();
    textView?.destroy();
    worker.terminate();
  };
  plot?.attach();
  const loaded = await worker.load("a", file.id, version, settings.rapid_rate_mm_min, nc);
  if (state.disposed) return;
  const lines = new Lines(loaded.buffer, loaded.lineStarts);
  const facts = loaded.facts;
  textView = new TextView({
    lines,
    marks: loaded.marks || [],
    endLine: facts?.end_line ?? null,
    onLine: (line) => plot && worker.send({ type: "select", line }),
  });
  replace(textSlot, textTools(textView), textView.element);
  textView.list.refresh();
  content.dataset.parsedIn = loaded.parsedIn;
  if (!plot) return;
  const comments = new Map(facts.tools.map((t) => [t.number, t.comment]));
  const tools = loaded.tools.map((t) => ({ ...t, label: comments.get(t.number) ? `T${t.number} ${comments.get(t.number)}` : `T${t.number}` }));
  plot.loaded(loaded.moveCount, tools);
  plot.canvas.dataset.parsedIn = loaded.parsedIn;
  // The facts in a task of their own: the page's main thread never works long at a stretch.
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (state.disposed) return;
  const toolColours = new Map(loaded.tools.map((t) => [t.number, t.colour]));
  replace(factsSlot, factsPanel(facts, { onLine: (line) => textView.select(line, true), toolColours }));
  worker.on("selected", (m) => plot.describe(m.move));
  worker.on("picked", (m) => {
    plot.describe(m.move);
    if (m.move) {
      textView.select(m.move.line);
      worker.send({ type: "select", line: m.move.line });
    }
  });
  worker.on("drawn", (m) => {
    if (m.line !== null && plot.playing) textView.select(m.line);
  });
}
