// The toolpath as flat typed arrays, for drawing and picking: a sink of the interpreter (runs in the worker).
// Vertices form one polyline: move i runs from the last vertex of move i-1 (vertex 0, the origin, for the
// first) to vertex `last[i]`; arcs add a vertex every few degrees.
import { MACHINE, RAPID } from "./interpret.js";

export const KIND = Object.freeze({ RAPID, FEED: 1, MACHINE });
const ARC_TOLERANCE = 0.01; // mm between an arc and its chords
const MAX_ARC_STEPS = 360;

function grow(array, size) {
  if (size <= array.length) return array;
  const bigger = new array.constructor(Math.max(size, array.length * 2));
  bigger.set(array);
  return bigger;
}

export class GeometrySink {
  constructor(modal) {
    this.modal = modal;
    this.verts = new Float64Array(3 * 4096);
    this.vertCount = 1; // vertex 0: the origin, where the tool starts
    this.kindOf = new Uint8Array(4096);
    this.lineOf = new Uint32Array(4096);
    this.toolOf = new Uint16Array(4096); // index into toolNumbers (0: no tool chosen yet)
    this.lastOf = new Uint32Array(4096);
    this.moveCount = 0;
    this.toolIndex = new Map();
    this.toolNumbers = [null];
    this.holes = []; // [x, y, z, move] of each drilled hole's bottom
    this.marks = []; // [line, kind, message]: what the text view marks
    this.low = [Infinity, Infinity, Infinity];
    this.high = [-Infinity, -Infinity, -Infinity];
    this.bottom = null; // the deepest point of the hole being drilled
  }

  /** A vertex of the path; the bounds (for fitting the view) hold every vertex but the starting origin. */
  vertex(x, y, z) {
    const i = this.vertCount++;
    if (3 * i + 3 > this.verts.length) this.verts = grow(this.verts, 3 * i + 3);
    this.verts[3 * i] = x;
    this.verts[3 * i + 1] = y;
    this.verts[3 * i + 2] = z;
    if (x < this.low[0]) this.low[0] = x;
    if (y < this.low[1]) this.low[1] = y;
    if (z < this.low[2]) this.low[2] = z;
    if (x > this.high[0]) this.high[0] = x;
    if (y > this.high[1]) this.high[1] = y;
    if (z > this.high[2]) this.high[2] = z;
  }

  move(kind, line) {
    const i = this.moveCount++;
    if (i >= this.kindOf.length) {
      const size = i + 1;
      this.kindOf = grow(this.kindOf, size);
      this.lineOf = grow(this.lineOf, size);
      this.toolOf = grow(this.toolOf, size);
      this.lastOf = grow(this.lastOf, size);
    }
    this.kindOf[i] = kind;
    this.lineOf[i] = line;
    this.toolOf[i] = this.currentTool();
    this.lastOf[i] = this.vertCount - 1;
  }

  currentTool() {
    const number = this.modal.tool;
    if (number === null) return 0;
    let index = this.toolIndex.get(number);
    if (index === undefined) {
      index = this.toolNumbers.length;
      this.toolIndex.set(number, index);
      this.toolNumbers.push(number);
    }
    return index;
  }

  segment(kind, line, start, end) {
    this.vertex(end[0], end[1], end[2]);
    this.move(kind, line);
    if (kind === KIND.FEED) this.bottom = end;
  }

  arc(line, start, end, arc) {
    const { centre, a, b, a0, sweep, r0, r1 } = arc;
    const n = 3 - a - b;
    const radius = Math.max(r0, r1);
    const step = radius > ARC_TOLERANCE ? 2 * Math.acos(1 - ARC_TOLERANCE / radius) : Math.PI / 2;
    const steps = Math.min(MAX_ARC_STEPS, Math.max(1, Math.ceil(Math.abs(sweep) / Math.min(step, Math.PI / 18))));
    const p = [0, 0, 0];
    for (let s = 1; s < steps; s += 1) {
      const t = s / steps;
      const angle = a0 + sweep * t;
      const r = r0 + (r1 - r0) * t;
      p[a] = centre[a] + r * Math.cos(angle);
      p[b] = centre[b] + r * Math.sin(angle);
      p[n] = start[n] + (end[n] - start[n]) * t;
      this.vertex(p[0], p[1], p[2]);
    }
    this.vertex(end[0], end[1], end[2]);
    this.move(KIND.FEED, line);
  }

  hole() {
    if (this.bottom !== null) this.holes.push([this.bottom[0], this.bottom[1], this.bottom[2], this.moveCount - 1]);
    this.bottom = null;
  }

  flag(kind, line, message) {
    this.marks.push([line, kind, message]);
  }

  dwell() {}

  machine() {}

  tool() {}

  program() {}

  end() {}

  /** Plain arrays and typed arrays, ready to post (the typed arrays' buffers can be transferred). */
  result() {
    return {
      verts: this.verts.slice(0, 3 * this.vertCount),
      kind: this.kindOf.slice(0, this.moveCount),
      line: this.lineOf.slice(0, this.moveCount),
      tool: this.toolOf.slice(0, this.moveCount),
      last: this.lastOf.slice(0, this.moveCount),
      moveCount: this.moveCount,
      toolNumbers: this.toolNumbers,
      holes: this.holes,
      low: this.low,
      high: this.high,
    };
  }
}

/** The first move made by `line` (1-based), or -1; moves are in line order. */
function firstMoveOf(geometry, line) {
  const lines = geometry.line;
  let lo = 0;
  let hi = geometry.moveCount;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid] < line) lo = mid + 1;
    else hi = mid;
  }
  return lo < geometry.moveCount && lines[lo] === line ? lo : -1;
}

/** The moves of one line: [first, last] (inclusive), or null when it made none. */
export function movesOf(geometry, line) {
  const first = firstMoveOf(geometry, line);
  if (first < 0) return null;
  let last = first;
  while (last + 1 < geometry.moveCount && geometry.line[last + 1] === line) last += 1;
  return [first, last];
}
