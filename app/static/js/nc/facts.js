// Program facts, as the server computes them (app/nc/facts.py, same fields and meaning; the agreement test
// compares them on the corpus). Lengths in mm, feeds in mm/min, times in seconds.
import { HALF_PI, Interpreter, MACHINE, Modal, RAPID, TAU, Z, fmt, runProgram } from "./interpret.js";

const FACTS_VERSION = 1;
const DEFAULT_RAPID_RATE_MM_MIN = 10000;
const LINES_KEPT = 100;
const FOLD = 4096;

const round = (value, digits) => Number(value.toFixed(digits));
const mm = (value) => round(value, 6);
const sec = (value) => round(value, 3);

class Span {
  constructor() {
    this.low = Infinity;
    this.high = -Infinity;
  }

  add(value) {
    if (value < this.low) this.low = value;
    if (value > this.high) this.high = value;
  }

  range() {
    return this.low <= this.high ? { min: mm(this.low), max: mm(this.high) } : null;
  }
}

/** Distinct lines of one kind (lines arrive in order), with the first message. */
class LineLog {
  constructor(message) {
    this.count = 0;
    this.last = 0;
    this.lines = [];
    this.message = message;
  }

  add(line) {
    if (line !== this.last) {
      this.last = line;
      this.count += 1;
      if (this.lines.length < LINES_KEPT) this.lines.push(line);
    }
  }
}

class Tool {
  constructor(line, comment) {
    this.line = line;
    this.comment = comment;
    this.feed = new Span();
    this.spindle = new Span();
    this.zLow = Infinity;
    this.feedMoves = 0;
  }
}

/** (axis, value) pairs of the arc's extreme points along its plane's axes (see arc_extremes in facts.py). */
function arcExtremes(arc) {
  const out = [];
  const turn = Math.abs(arc.sweep);
  for (let quarter = 0; quarter < 4; quarter += 1) {
    const angle = quarter * HALF_PI;
    let delta = (arc.sweep > 0 ? angle - arc.a0 : arc.a0 - angle) % TAU;
    if (delta < 0) delta += TAU;
    if (delta <= turn) {
      const radius = arc.r0 + (arc.r1 - arc.r0) * (delta / turn);
      if (quarter % 2 === 0) out.push([arc.a, arc.centre[arc.a] + (quarter === 0 ? radius : -radius)]);
      else out.push([arc.b, arc.centre[arc.b] + (quarter === 1 ? radius : -radius)]);
    }
  }
  return out;
}

export class FactsSink {
  constructor(modal, rapidRate) {
    this.modal = modal;
    this.rapidRate = rapidRate;
    this.axes = [new Span(), new Span(), new Span()];
    this.points = [];
    this.feed = new Span();
    this.spindle = new Span();
    this.tools = new Map();
    this.rapidMoves = 0;
    this.feedMoves = 0;
    this.arcMoves = 0;
    this.machineMoves = 0;
    this.holes = 0;
    this.untimedMoves = 0;
    this.rapidDistance = 0;
    this.feedDistance = 0;
    this.feedTime = 0;
    this.dwellTime = 0;
    this.inchMoves = 0;
    this.mmMoves = 0;
    this.warnings = new Map();
    this.flags = new Map();
    this.programNumber = null;
    this.endLine = null;
    this.seen = -1;
    this.current = null;
    this.inch = false;
    this.secondsPerMm = null;
    this.ranged = false;
    this.onWarning = null;
  }

  segment(kind, line, start, end, known, peck) {
    if (kind === MACHINE) return;
    if (this.seen !== this.modal.changes) this.settle();
    const dx = end[0] - start[0];
    const dy = end[1] - start[1];
    const dz = end[2] - start[2];
    const length = Math.sqrt(dx * dx + dy * dy + dz * dz);
    if (known === 7) {
      this.points.push(end);
      if (this.points.length >= FOLD) this.fold();
    } else {
      this.reach(end, known);
    }
    if (kind === RAPID) {
      this.rapidMoves += 1;
      this.rapidDistance += length;
      if (this.inch) this.inchMoves += 1;
      else this.mmMoves += 1;
      if (end[2] < 0 && known & Z && end[2] <= start[2] && !peck) this.warn("rapid_below_z0", line, `rapid move to Z${fmt(end[2])} mm, below Z0`);
    } else {
      this.feedMove(line, length, known & Z ? end[2] : null);
    }
  }

  arc(line, start, end, arc, known) {
    if (this.seen !== this.modal.changes) this.settle();
    this.reach(end, known);
    let zLow = known & Z ? end[2] : null;
    for (const [axis, value] of arcExtremes(arc)) {
      if (known & (1 << axis)) {
        this.axes[axis].add(value);
        if (axis === 2 && (zLow === null || value < zLow)) zLow = value;
      }
    }
    const n = 3 - arc.a - arc.b;
    const rise = end[n] - start[n];
    const flat = (Math.abs(arc.sweep) * (arc.r0 + arc.r1)) / 2;
    this.arcMoves += 1;
    this.feedMove(line, Math.sqrt(flat * flat + rise * rise), zLow);
  }

  dwell(line, seconds) {
    if (seconds > 0) this.dwellTime += seconds;
  }

  hole() {
    this.holes += 1;
  }

  machine() {
    this.machineMoves += 1;
  }

  tool(number, line, comment) {
    if (!this.tools.has(number)) {
      this.tools.set(number, new Tool(line, comment));
      this.seen = -1;
    }
  }

  flag(kind, line, message) {
    let log = this.flags.get(kind);
    if (log === undefined) {
      log = new LineLog(message);
      this.flags.set(kind, log);
    }
    log.add(line);
  }

  program(number) {
    this.programNumber = number;
  }

  end(line) {
    this.endLine = line;
  }

  settle() {
    const modal = this.modal;
    this.seen = modal.changes;
    this.current = modal.tool !== null ? this.tools.get(modal.tool) || null : null;
    this.inch = modal.inch;
    const f = modal.feed;
    this.secondsPerMm = modal.feedMode === 94 && f !== null && f > 0 ? 60 / f : null;
    this.ranged = false;
  }

  fold() {
    const points = this.points;
    for (let axis = 0; axis < 3; axis += 1) {
      let low = Infinity;
      let high = -Infinity;
      for (const p of points) {
        if (p[axis] < low) low = p[axis];
        if (p[axis] > high) high = p[axis];
      }
      if (points.length) {
        this.axes[axis].add(low);
        this.axes[axis].add(high);
      }
    }
    this.points = [];
  }

  reach(end, known) {
    for (let axis = 0; axis < 3; axis += 1) if (known & (1 << axis)) this.axes[axis].add(end[axis]);
  }

  feedMove(line, length, z) {
    this.feedMoves += 1;
    this.feedDistance += length;
    if (this.inch) this.inchMoves += 1;
    else this.mmMoves += 1;
    const tool = this.current;
    if (tool !== null) {
      tool.feedMoves += 1;
      if (z !== null && z < tool.zLow) tool.zLow = z;
    }
    if (this.secondsPerMm !== null) {
      this.feedTime += length * this.secondsPerMm;
    } else {
      this.untimedMoves += 1;
      if (this.modal.feedMode === 94) this.warn("feed_at_f0", line, this.modal.feed !== null ? "feed move at F0" : "feed move before any F");
    }
    if (!this.ranged) {
      this.ranged = true;
      const modal = this.modal;
      if (modal.feedMode === 94 && modal.feed !== null) {
        this.feed.add(modal.feed);
        if (tool !== null) tool.feed.add(modal.feed);
      }
      const s = modal.spindle;
      if (s !== null && s > 0) {
        this.spindle.add(s);
        if (tool !== null) tool.spindle.add(s);
      }
    }
  }

  warn(kind, line, message) {
    let log = this.warnings.get(kind);
    if (log === undefined) {
      log = new LineLog(message);
      this.warnings.set(kind, log);
    }
    if (this.onWarning && log.last !== line) this.onWarning(kind, line, message); // every line, for the text view
    log.add(line);
  }

  /** The facts, with the server's field names (the JSON form of app/nc/facts.py's ProgramFacts). */
  facts(lines) {
    this.fold();
    const rapidTime = (this.rapidDistance / this.rapidRate) * 60;
    const logs = (map) =>
      [...map.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([kind, log]) => ({ kind, count: log.count, lines: log.lines, message: log.message }));
    return {
      facts_version: FACTS_VERSION,
      program_number: this.programNumber,
      units: this.inchMoves && this.mmMoves ? "mixed" : this.inchMoves ? "inch" : "mm",
      lines,
      end_line: this.endLine,
      tools: [...this.tools.entries()].map(([number, t]) => ({
        number,
        comment: t.comment,
        line: t.line,
        feed: t.feed.range(),
        spindle: t.spindle.range(),
        z_min: t.zLow < Infinity ? mm(t.zLow) : null,
        feed_moves: t.feedMoves,
      })),
      feed: this.feed.range(),
      spindle: this.spindle.range(),
      extents: { x: this.axes[0].range(), y: this.axes[1].range(), z: this.axes[2].range() },
      rapid_moves: this.rapidMoves,
      feed_moves: this.feedMoves,
      arc_moves: this.arcMoves,
      machine_moves: this.machineMoves,
      holes: this.holes,
      rapid_distance_mm: mm(this.rapidDistance),
      feed_distance_mm: mm(this.feedDistance),
      rapid_time_s: sec(rapidTime),
      feed_time_s: sec(this.feedTime),
      dwell_time_s: sec(this.dwellTime),
      cycle_time_s: sec(rapidTime + this.feedTime + this.dwellTime),
      untimed_moves: this.untimedMoves,
      rapid_rate_mm_min: this.rapidRate,
      warnings: logs(this.warnings),
      uninterpreted: logs(this.flags),
    };
  }
}

/** Sends every move to two sinks (facts and geometry in one pass). */
export class TeeSink {
  constructor(first, second) {
    this.first = first;
    this.second = second;
  }

  segment(kind, line, start, end, known, peck) {
    this.first.segment(kind, line, start, end, known, peck);
    this.second.segment(kind, line, start, end, known, peck);
  }

  arc(line, start, end, arc, known) {
    this.first.arc(line, start, end, arc, known);
    this.second.arc(line, start, end, arc, known);
  }
}
for (const method of ["dwell", "hole", "machine", "tool", "flag", "program", "end"]) {
  TeeSink.prototype[method] = function tee(...args) {
    this.first[method](...args);
    this.second[method](...args);
  };
}

/** The facts of a program's text (the browser's twin of program_facts). */
export function programFacts(text, { rapidRate = DEFAULT_RAPID_RATE_MM_MIN } = {}) {
  const modal = new Modal();
  const sink = new FactsSink(modal, rapidRate);
  const lines = runProgram(text, new Interpreter(sink, modal));
  return sink.facts(lines);
}
