// The text of a version: line numbers, G-code colours, marks on lines the parser could not interpret, search,
// jump to line; only the lines on screen exist in the page.
import { h, replace } from "../dom.js";
import { highlightLine } from "./highlight.js";
import { VirtualList } from "./virtual.js";

export const ROW_HEIGHT = 18; // px; .nc-row in nc.css has the same height
const MATCHES_COUNTED = 10000;

export const MARK_LABELS = {
  rapid_below_z0: "Rapid below Z0",
  feed_at_f0: "Feed at F0",
  subprogram: "Subprogram call",
  macro: "Macro",
  variable: "Variable",
  cutter_compensation: "Cutter compensation",
  transform: "Coordinate transform",
  unsupported_code: "Not interpreted",
  other_axes: "Axis not drawn",
  bad_arc: "Arc drawn as a line",
  syntax: "Not readable",
  after_end: "After the end",
};
const WARNINGS = new Set(["rapid_below_z0", "feed_at_f0"]);

const DECODER = new TextDecoder("utf-8");

/** A program's lines, from its bytes and where each line starts: a line is decoded when it is shown, so the page
 * never holds or decodes the whole text unless it is searched. */
export class Lines {
  constructor(buffer, lineStarts) {
    this.bytes = new Uint8Array(buffer);
    this.starts = lineStarts;
    this.count = lineStarts.length;
    this.lower = null; // the whole text in lower case, for search
    this.textStarts = null; // where each line starts in it
  }

  /** Line `line` (1-based) without its line ending. */
  get(line) {
    const start = this.starts[line - 1];
    let end = line < this.count ? this.starts[line] - 1 : this.bytes.length;
    if (end > start && this.bytes[end - 1] === 13) end -= 1;
    return DECODER.decode(this.bytes.subarray(start, end));
  }

  /** The line (1-based) holding character `offset` of the decoded text. */
  lineAt(offset) {
    const starts = this.textStarts;
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  /** Lines holding `query` (any case), in order, up to MATCHES_COUNTED. The first search decodes the text. */
  search(query) {
    if (!query) return [];
    if (this.lower === null) {
      this.lower = DECODER.decode(this.bytes).toLowerCase();
      this.textStarts = new Uint32Array(this.count);
      for (let i = 0, at = 0; i < this.count; i += 1) {
        this.textStarts[i] = at;
        at = this.lower.indexOf("\n", at) + 1;
      }
    }
    const needle = query.toLowerCase();
    const found = [];
    let at = this.lower.indexOf(needle);
    while (at >= 0 && found.length < MATCHES_COUNTED) {
      const line = this.lineAt(at);
      found.push(line);
      if (line >= this.count) break;
      at = this.lower.indexOf(needle, this.textStarts[line]);
    }
    return found;
  }
}

export class TextView {
  /** `marks`: [line, kind, message] sorted by line; `endLine`: lines after it are greyed (not run). */
  constructor({ lines, marks = [], endLine = null, onLine = () => {}, label = "Program text" }) {
    this.lines = lines;
    this.marks = new Map();
    for (const [line, kind, message] of marks) {
      if (!this.marks.has(line)) this.marks.set(line, []);
      this.marks.get(line).push([kind, message]);
    }
    this.endLine = endLine;
    this.onLine = onLine;
    this.selected = null;
    this.query = "";
    this.list = new VirtualList({ count: lines.count, rowHeight: ROW_HEIGHT, renderRow: (i) => this.row(i + 1), className: "nc-text", label });
    this.element = this.list.element;
    this.element.style.setProperty("--digits", `${String(lines.count).length + 1}ch`); // the line-number gutter
    this.element.addEventListener("click", (event) => {
      const row = event.target.closest(".nc-row");
      if (row) this.select(Number(row.dataset.line), true);
    });
    this.element.addEventListener("keydown", (event) => {
      if (this.selected === null || !["ArrowDown", "ArrowUp"].includes(event.key)) return;
      event.preventDefault();
      this.select(Math.max(1, Math.min(this.lines.count, this.selected + (event.key === "ArrowDown" ? 1 : -1))), true);
    });
  }

  row(line) {
    const text = this.lines.get(line);
    const marks = this.marks.get(line);
    const classes = ["nc-row"];
    if (line === this.selected) classes.push("selected");
    if (this.endLine !== null && line > this.endLine) classes.push("after-end");
    if (marks) classes.push(marks.some(([kind]) => WARNINGS.has(kind)) ? "warned" : "flagged");
    const title = marks ? marks.map(([kind, message]) => `${MARK_LABELS[kind] || kind}: ${message}`).join("\n") : null;
    return h(
      "div",
      { class: classes.join(" "), dataset: { line }, role: "listitem", title },
      h("span", { class: "nc-ln" }, String(line)),
      h("span", { class: "nc-mark", "aria-label": marks ? title : null }, marks ? "!" : ""),
      h("span", { class: "nc-code" }, this.pieces(text)),
    );
  }

  pieces(text) {
    const parts = highlightLine(text);
    if (!this.query) return parts;
    // A search match is outlined over the colours: split the plain text at the matches.
    const lower = text.toLowerCase();
    const needle = this.query.toLowerCase();
    if (!lower.includes(needle)) return parts;
    const out = [];
    let from = 0;
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + needle.length)) {
      out.push(text.slice(from, at), h("mark", {}, text.slice(at, at + needle.length)));
      from = at + needle.length;
    }
    out.push(text.slice(from));
    return out;
  }

  select(line, fromUser = false) {
    this.selected = line;
    this.list.scrollTo(line - 1);
    if (fromUser) this.onLine(line);
  }

  highlight(query) {
    this.query = query;
    this.list.refresh();
  }

  destroy() {
    this.list.destroy();
  }
}

/** The search box, match count, previous/next and go-to-line controls of a text view. */
export function textTools(view) {
  const search = h("input", { type: "search", placeholder: "Search the program", "aria-label": "Search the program", class: "nc-search" });
  const count = h("span", { class: "muted nc-count", role: "status" });
  const goTo = h("input", { type: "number", min: 1, max: view.lines.count, placeholder: "Line", "aria-label": "Go to line", class: "nc-goto" });
  let matches = [];
  let current = -1;
  const show = (index) => {
    if (!matches.length) return;
    current = (index + matches.length) % matches.length;
    view.select(matches[current], true);
    replace(count, `${current + 1} of ${matches.length >= MATCHES_COUNTED ? `${MATCHES_COUNTED}+` : matches.length} lines`);
  };
  const run = () => {
    const query = search.value;
    matches = view.lines.search(query);
    view.highlight(query);
    current = -1;
    if (!query) replace(count, "");
    else if (!matches.length) replace(count, "not found");
    else show(0);
  };
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (search.value !== view.query) run();
    else show(current + (event.shiftKey ? -1 : 1));
  });
  search.addEventListener("search", run);
  goTo.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const line = Math.trunc(Number(goTo.value));
    if (line >= 1 && line <= view.lines.count) view.select(line, true);
  });
  return h(
    "div",
    { class: "nc-text-tools" },
    search,
    h("button", { type: "button", "aria-label": "Previous match", onclick: () => show(current - 1) }, "↑"),
    h("button", { type: "button", "aria-label": "Next match", onclick: () => show(current + 1) }, "↓"),
    count,
    goTo,
  );
}
