// The program facts under the backplot: program, cycle time, moves, extents, tools, warnings and what was not
// interpreted, with buttons that jump to the lines concerned.
import { h } from "../dom.js";
import { count, duration, feeds, length, lengthUnit, span, speeds } from "./format.js";
import { MARK_LABELS } from "./textview.js";

function lineButtons(entry, onLine) {
  const buttons = entry.lines.map((line) => h("button", { type: "button", class: "link", onclick: () => onLine(line) }, String(line)));
  const more = entry.count > entry.lines.length ? h("span", { class: "muted" }, ` and ${count(entry.count - entry.lines.length)} more`) : null;
  return h("span", { class: "nc-lines" }, buttons, more);
}

function issues(title, entries, onLine, className) {
  if (!entries.length) return null;
  return h(
    "div",
    { class: `nc-issues ${className}` },
    h("h4", {}, title),
    h(
      "ul",
      {},
      entries.map((entry) =>
        h(
          "li",
          { dataset: { kind: entry.kind } },
          h("strong", {}, MARK_LABELS[entry.kind] || entry.kind),
          ` (${count(entry.count)} line${entry.count === 1 ? "" : "s"}): ${entry.message}. Lines `,
          lineButtons(entry, onLine),
        ),
      ),
    ),
  );
}

export function factsPanel(facts, { onLine = () => {}, toolColours = new Map() } = {}) {
  const u = facts.units;
  const unit = lengthUnit(u);
  const item = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  const timed = `feeds ${duration(facts.feed_time_s)}, rapids ${duration(facts.rapid_time_s)} at ${count(facts.rapid_rate_mm_min)} mm/min, dwells ${duration(facts.dwell_time_s)}`;
  const tools = facts.tools.length
    ? h(
        "table",
        { class: "nc-tools" },
        h("caption", {}, "Tools, in order of use"),
        h("thead", {}, h("tr", {}, ["Tool", "Comment", "Feed", "Spindle", `Lowest Z (${unit})`, "Feed moves"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          facts.tools.map((t) => {
            const swatch = h("span", { class: "nc-swatch" });
            if (toolColours.has(t.number)) swatch.style.background = toolColours.get(t.number);
            return h(
              "tr",
              { dataset: { tool: t.number } },
              h("td", {}, swatch, h("button", { type: "button", class: "link", onclick: () => onLine(t.line), title: `Line ${t.line}` }, `T${t.number}`)),
              h("td", {}, t.comment ?? ""),
              h("td", { class: "num" }, feeds(t.feed, u)),
              h("td", { class: "num" }, speeds(t.spindle)),
              h("td", { class: "num" }, length(t.z_min, u)),
              h("td", { class: "num" }, count(t.feed_moves)),
            );
          }),
        ),
      )
    : h("p", { class: "muted" }, "No tool is chosen (no T word).");
  return h(
    "section",
    { class: "nc-facts", "aria-label": "Program facts" },
    h("h3", {}, "Program facts"),
    h(
      "dl",
      { class: "meta nc-fact-list" },
      item("Program", facts.program_number ? `O${facts.program_number}` : "no O number"),
      item("Estimated cycle time", h("strong", { class: "nc-cycle-time" }, duration(facts.cycle_time_s)), h("span", { class: "muted" }, ` (${timed}${facts.untimed_moves ? `; ${count(facts.untimed_moves)} feed moves not timed` : ""})`)),
      item("Moves", `${count(facts.rapid_moves)} rapid, ${count(facts.feed_moves)} feed (${count(facts.arc_moves)} arcs), ${count(facts.holes)} holes drilled, ${count(facts.machine_moves)} machine moves`),
      item("X", span(facts.extents.x, u)),
      item("Y", span(facts.extents.y, u)),
      item("Z", span(facts.extents.z, u)),
      item("Feed", feeds(facts.feed, u)),
      item("Spindle", speeds(facts.spindle)),
      item("Lines", `${count(facts.lines)}${facts.end_line ? `, the program ends at line ${count(facts.end_line)}` : ""}; units ${u === "mixed" ? "inch and mm (shown in mm)" : unit}`),
    ),
    tools,
    issues("Warnings", facts.warnings, onLine, "warnings"),
    issues("Not interpreted (marked on their lines, not guessed)", facts.uninterpreted, onLine, "uninterpreted"),
  );
}
