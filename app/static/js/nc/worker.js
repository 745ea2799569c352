// The NC viewer's Web Worker: fetches a program, parses it (facts and geometry in one pass), draws the backplot
// on an OffscreenCanvas, picks moves, and diffs two versions. The page's main thread never loads the parser:
// a 20 MB program is parsed and drawn here while the tab stays responsive.
import { matchLines, lineIds, sideBySide } from "./diff.js";
import { FactsSink, TeeSink } from "./facts.js";
import { GeometrySink, KIND, movesOf } from "./geometry.js";
import { Interpreter, Modal, ProgramStream } from "./interpret.js";
import { OVERLAY, PALETTE } from "./colours.js";
import { Plot } from "./render.js";

const MARKS_KEPT = 50000;
const programs = {}; // side ("a", or "b" in a compare) -> {text, lineStarts, geometry, facts}
let plot = null;
let overlay = false;
let progress = null; // moves drawn while playing; null: all
let frame = 0;
let scheduled = false;

const post = (message, transfer = []) => self.postMessage(message, transfer);

/** A program's lines without their endings, as the parser read them. */
function linesOf(program) {
  const lines = program.text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}

/** A program parsed while it downloads: facts, geometry and the lines to mark, in one pass. */
class Parser {
  constructor(rapidRate) {
    const modal = new Modal();
    this.facts = new FactsSink(modal, rapidRate);
    this.geometry = new GeometrySink(modal);
    this.marks = this.geometry.marks;
    this.facts.onWarning = (kind, line, message) => this.marks.push([line, kind, message]);
    this.stream = new ProgramStream(new Interpreter(new TeeSink(this.facts, this.geometry), modal));
  }

  end() {
    const lines = this.stream.end();
    this.marks.sort((p, q) => p[0] - q[0]);
    return { facts: this.facts.facts(lines), geometry: this.geometry.result(), marks: this.marks.slice(0, MARKS_KEPT) };
  }
}

/** The body's bytes in one buffer, and its text (pieces decoded as they arrive) fed to `parser` meanwhile. */
async function read(response, parser) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  const chunks = [];
  const pieces = [];
  let size = 0;
  const take = (text) => {
    pieces.push(text);
    parser?.stream.push(text);
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    take(decoder.decode(value, { stream: true }));
  }
  take(decoder.decode());
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes, text: pieces.join("") };
}

/** The byte offset where each line starts (after a UTF-8 byte-order mark, which the decoder drops). A \n byte is
 * never part of a longer UTF-8 character, so these are the lines the parser reads from the decoded text. */
function lineStartsOf(bytes) {
  let starts = new Uint32Array(1 << 16);
  let count = 0;
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let at = bom; at < bytes.length; ) {
    if (count === starts.length) {
      const bigger = new Uint32Array(starts.length * 2);
      bigger.set(starts);
      starts = bigger;
    }
    starts[count++] = at;
    const end = bytes.indexOf(10, at);
    at = end < 0 ? bytes.length : end + 1;
  }
  return starts.slice(0, count);
}

async function load({ side, url, token, rapidRate, nc = true }) {
  const started = performance.now();
  const response = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      /* not JSON */
    }
    throw Object.assign(new Error(typeof detail === "string" ? detail : JSON.stringify(detail)), { status: response.status });
  }
  // A program is parsed as it arrives, so reading the network and parsing overlap.
  const parser = nc ? new Parser(rapidRate) : null;
  const { bytes, text } = await read(response, parser);
  const buffer = bytes.buffer;
  // The page gets the bytes (transferred, not copied) and where lines start, and decodes only the lines it shows.
  const lineStarts = lineStartsOf(bytes);
  if (!nc) {
    post({ type: "loaded", side, buffer, lineStarts, parsedIn: self.constructor.name }, [buffer, lineStarts.buffer]);
    return;
  }
  const parsed = parser.end();
  programs[side] = { text, ...parsed };
  const parsedAt = performance.now();
  if (plot) {
    plot.layers = layers();
    plot.drawCentre = null;
    plot.fit();
    schedule();
  }
  post(
    {
      type: "loaded",
      side,
      buffer,
      lineStarts,
      facts: parsed.facts,
      marks: parsed.marks,
      moveCount: parsed.geometry.moveCount,
      tools: parsed.geometry.toolNumbers.slice(1).map((number, i) => ({ number, colour: PALETTE[i % PALETTE.length] })),
      // Where the parse ran, for the tests and for anyone wondering: a worker scope, never the page.
      parsedIn: self.constructor.name,
      loadMs: parsedAt - started, // fetched and parsed
    },
    [buffer, lineStarts.buffer],
  );
}

function layers() {
  if (overlay && programs.a && programs.b) {
    return [
      { geometry: programs.a.geometry, colour: OVERLAY.a, upto: null },
      { geometry: programs.b.geometry, colour: OVERLAY.b, upto: null },
    ];
  }
  const program = programs.a;
  return program ? [{ geometry: program.geometry, colour: null, upto: progress }] : [];
}

function schedule() {
  if (scheduled || !plot) return;
  scheduled = true;
  const draw = () => {
    scheduled = false;
    const started = performance.now();
    plot.layers.forEach((layer) => {
      if (!overlay) layer.upto = progress;
    });
    plot.draw();
    frame += 1;
    const shown = programs.a && progress !== null && progress > 0 ? programs.a.geometry.line[progress - 1] : null;
    post({ type: "drawn", frame, ms: performance.now() - started, mapping: plot.mapping(), line: shown });
  };
  if (typeof self.requestAnimationFrame === "function") self.requestAnimationFrame(draw);
  else setTimeout(draw, 0);
}

/** What a move is, for the page to show: its line, kind, tool, start and end. */
function describe(side, move) {
  const g = programs[side].geometry;
  const from = move === 0 ? 0 : g.last[move - 1];
  const to = g.last[move];
  const point = (v) => [g.verts[3 * v], g.verts[3 * v + 1], g.verts[3 * v + 2]];
  const arc = g.kind[move] === KIND.FEED && to - from > 1; // arcs are drawn with several vertices
  return { side, move, line: g.line[move], kind: g.kind[move], arc, tool: g.toolNumbers[g.tool[move]], start: point(from), end: point(to) };
}

const handlers = {
  canvas({ canvas, width, height, dpr }) {
    plot = new Plot(canvas);
    plot.resize(width, height, dpr);
    plot.layers = layers();
    schedule();
  },
  async load(message) {
    await load(message);
  },
  resize({ width, height, dpr }) {
    plot.resize(width, height, dpr);
    plot.fit();
    schedule();
  },
  view({ name }) {
    plot.setView(name);
    schedule();
  },
  fit() {
    plot.fit();
    schedule();
  },
  pan({ dx, dy }) {
    plot.pan(dx, dy);
    schedule();
  },
  zoom({ factor, x, y }) {
    plot.zoom(factor, x, y);
    schedule();
  },
  rotate({ dx, dy }) {
    plot.rotate(dx, dy);
    schedule();
  },
  progress({ moves }) {
    progress = moves;
    schedule();
  },
  overlay({ on }) {
    overlay = on;
    plot.layers = layers();
    plot.drawCentre = null;
    plot.fit();
    schedule();
  },
  select({ side = "a", line }) {
    const program = programs[side];
    const range = program ? movesOf(program.geometry, line) : null;
    plot.highlight = range ? { layer: overlay && side === "b" ? 1 : 0, first: range[0], last: range[1] } : null;
    schedule();
    post({ type: "selected", line, move: range ? describe(side, range[0]) : null, moves: range });
  },
  pick({ x, y }) {
    const hit = plot.pick(x, y);
    if (hit === null) {
      post({ type: "picked", move: null });
      return;
    }
    const side = overlay && hit[0] === 1 ? "b" : "a";
    post({ type: "picked", move: describe(side, hit[1]) });
  },
  diff() {
    const table = new Map();
    const a = linesOf(programs.a);
    const b = linesOf(programs.b);
    const rows = sideBySide(matchLines(lineIds(a, table), lineIds(b, table)), a.length, b.length);
    post({ ...rows, type: "diff" }, [rows.left.buffer, rows.right.buffer, rows.kind.buffer, rows.hunks.buffer]);
  },
};

self.addEventListener("message", async (event) => {
  const message = event.data;
  try {
    await handlers[message.type](message);
  } catch (err) {
    post({ type: "error", request: message.type, side: message.side, status: err.status || 0, message: String(err.message || err) });
  }
});
