// The file list's optional program-facts columns (the *Program facts* box): tools, estimated cycle time and lowest Z
// of the version each row shows, as the server stored them (`GET /api/files?facts=true` gives `facts_summary`; a row
// re-read after a live event has the whole `facts`, summarised here the same way). Empty for other files.
import { h } from "../dom.js";
import { count, duration, length } from "./format.js";

export const FACTS_COLUMNS = ["Tools", "Cycle time", "Z min"];

/** {tools, cycle_time_s, z_min} of a file of the listing, or null when it has no program facts. */
export function factsSummary(file) {
  if (file.facts_summary) return file.facts_summary;
  const f = file.facts;
  return f ? { tools: f.tools.length, cycle_time_s: f.cycle_time_s, z_min: f.extents.z ? f.extents.z.min : null } : null;
}

/** The header cells of the columns. */
export function factsHeaders() {
  return FACTS_COLUMNS.map((label) => h("th", { scope: "col", class: "nc-facts-col" }, label));
}

/** The row's cells (in mm: the listing has no room for units per row, the header of the file's page has). */
export function factsCells(file) {
  const s = factsSummary(file);
  const cell = (label, text) => h("td", { class: "num nc-facts-col", dataset: { label } }, text);
  if (!s && file.facts_pending) {
    // A large program's facts are computed just after its upload: say so rather than show it as having none.
    return FACTS_COLUMNS.map((label) => h("td", { class: "num nc-facts-col", dataset: { label }, title: "The server is computing this program's facts" }, "…"));
  }
  return [
    cell("Tools", s ? count(s.tools) : ""),
    cell("Cycle time", s ? duration(s.cycle_time_s) : ""),
    cell("Z min", s && s.z_min !== null ? `${length(s.z_min, "mm")} mm` : ""),
  ];
}
