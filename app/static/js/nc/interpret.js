// The modal state of a control, run one line at a time: every move it makes goes to a sink.
// This is app/nc/interpreter.py line for line (tests/nc/test_agreement.py holds the two equal on the corpus);
// read that module's docstring for the model: positions in mm, axes known / homed, moves sent to sinks.
// Runs in the Web Worker (never on the page's main thread) and in the agreement test.
import { FLAG, lex } from "./lexer.js";

export const RAPID = 0;
export const FEED = 1;
export const MACHINE = 2;
export const X = 1;
export const Y = 2;
export const Z = 4;
const INCH = 25.4;
export const TAU = 2 * Math.PI;
export const HALF_PI = Math.PI / 2;
const EPS = 1e-9;
const R_TOLERANCE = 0.005;
const MAX_PECKS = 1000;

const PLANES = new Map([
  [170, [0, 1, 2]],
  [180, [2, 0, 1]],
  [190, [1, 2, 0]],
]);
const CYCLES = new Set([730, 810, 820, 830, 840, 850, 860, 870, 880, 890]);
const DWELL_CYCLES = new Set([820, 840, 870, 880, 890]);
const FEED_OUT_CYCLES = new Set([840, 850, 890]);
const HARMLESS = new Set([90, 150, 400, 430, 440, 490, 500, 501, 541, 540, 550, 560, 570, 580, 590, 610, 611, 640, 670, 690, 970, 51, 1870, 81]);
const CUTTER_COMPENSATION = new Set([410, 420, 411, 421]);
const TRANSFORMS = new Set([160, 510, 511, 520, 680, 682, 920]);
const SUBPROGRAM_GCODES = new Set([650, 660, 661]);
const SUBPROGRAM_MCODES = new Set([97, 98, 99, 198]);
const OTHER_AXES = ["A", "B", "C", "U", "V", "W"];
const UNSUPPORTED = new Map([
  [50, "high-speed machining cycle"],
  [120, "circle pocket"],
  [130, "circle pocket"],
  [320, "threading"],
  [330, "threading"],
  [700, "finishing cycle"],
  [710, "turning cycle"],
  [720, "facing cycle"],
  [740, "tapping or peck cycle"],
  [750, "grooving cycle"],
  [760, "fine boring or threading cycle"],
  [960, "constant surface speed: S is a surface speed, not rpm"],
]);

// The common line of a CAM post, read without the general lexer (see _SIMPLE in interpreter.py). Its numbers are
// whole (the lexer's own pattern), so parseFloat reads them exactly as Number() and Python's float() do; a line
// this does not match is read by the lexer, whose reading is the reference for both parsers.
const SIMPLE = new RegExp(
  "^(?:N\\d+ ?)?(?:G0?([0-3])(?![\\d.]) ?)?" +
    [..."XYZIJKRF"].map((c) => `(?:${c}([-+]?(?:\\d+\\.?\\d*|\\.\\d+)) ?)?`).join("") +
    "$",
);

export class Modal {
  constructor() {
    this.changes = 0; // counts every change of the others, so a sink can keep what it derived from them
    this.tool = null;
    this.feed = null; // mm/min (G94); mm/rev under G95; null until an F is read
    this.feedMode = 94;
    this.spindle = null;
    this.inch = false;
  }
}

/** G4 and cycle dwells: P with a decimal point is seconds, without one milliseconds; X and U are seconds. */
function dwellSeconds(block) {
  const w = block.words;
  if ("P" in w) return block.pSeconds ? w.P : w.P / 1000;
  return "X" in w ? w.X : "U" in w ? w.U : 0;
}

function formatGcode(code) {
  return `G${Math.floor(code / 10)}` + (code % 10 ? `.${code % 10}` : "");
}

/** A number for a message: at most 4 decimals, no trailing zeros (as the server's parser writes it). */
export function fmt(value) {
  const text = (value + 0).toFixed(4);
  return text.replace(/0+$/, "").replace(/\.$/, "");
}

/** A whole number word's value (see SIMPLE), exactly as parseFloat reads it. Up to 15 digits the digits make an
 * exact integer and dividing it by an exact power of ten rounds once, correctly (Clinger's fast path): the same
 * double, several times faster than parseFloat. Longer numbers go to parseFloat. */
export function wordNumber(text) {
  if (text === undefined) return null;
  const n = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 45 || first === 43) {
    negative = first === 45;
    i = 1;
  }
  let digits = 0;
  let decimals = -1;
  let value = 0;
  for (; i < n; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      decimals = 0;
    } else {
      value = value * 10 + (c - 48);
      digits += 1;
      if (decimals >= 0) decimals += 1;
    }
  }
  if (digits > 15) return parseFloat(text);
  if (decimals > 0) value /= POWERS_OF_TEN[decimals];
  return negative ? -value : value;
}
const POWERS_OF_TEN = [1];
while (POWERS_OF_TEN.length < 16) POWERS_OF_TEN.push(POWERS_OF_TEN[POWERS_OF_TEN.length - 1] * 10); // exact
const num = wordNumber;
const NO_WORDS = Object.freeze({});

export class Interpreter {
  constructor(sink, modal = new Modal()) {
    this.sink = sink;
    this.modal = modal;
    this.line = 0;
    this.pos = [0, 0, 0];
    this.known = 0;
    this.homed = 0;
    this.topZ = null;
    this.scale = 1;
    this.plane = PLANES.get(170);
    this.absolute = true;
    this.arcAbsolute = false;
    this.retractInitial = true;
    this.motion = 0;
    this.cycle = null;
    this.cycleDepth = null;
    this.cycleR = null;
    this.cycleQ = null;
    this.cycleDwell = 0;
    this.initialLevel = 0;
    this.selected = null; // [number, line, comment]
    this.loaded = null;
    this.announced = new Set();
    this.programSeen = false;
    this.ended = null;
    this.afterEndFlagged = false;
    this.nextKnown = 0;
    this.nextHomed = 0;
  }

  // -- reading ------------------------------------------------------------------------------------------------

  feedLine(raw) {
    this.line += 1;
    let text = raw;
    if (text.endsWith("\n")) text = text.slice(0, -1);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const simple = this.ended === null ? SIMPLE.exec(text) : null;
    if (simple === null) {
      this.execute(lex(text));
      return;
    }
    const g = simple[1];
    const x = num(simple[2]);
    const y = num(simple[3]);
    const z = num(simple[4]);
    const i = num(simple[5]);
    const j = num(simple[6]);
    const k = num(simple[7]);
    const r = num(simple[8]);
    const f = num(simple[9]);
    if (f !== null) {
      this.modal.feed = f * this.scale;
      this.modal.changes += 1;
    }
    if (g !== undefined) {
      this.motion = Number(g);
      this.cycle = null;
    }
    if (x !== null || y !== null || z !== null) {
      if (this.cycle === null && this.motion < 2) {
        const end = this.targetPoint(x, y, z);
        this.moveTo(this.motion, end, this.nextKnown, this.nextHomed, false); // G0 is RAPID (0), G1 is FEED (1)
      } else {
        this.motionBlock(x, y, z, i, j, k, r, NO_WORDS, false);
      }
    } else if (this.cycle === null) {
      if (this.motion >= 2 && (i !== null || j !== null || k !== null)) this.motionBlock(x, y, z, i, j, k, r, NO_WORDS, false);
    } else if (r !== null) {
      this.cycleWords(r, NO_WORDS, false);
    }
  }

  // -- one block ----------------------------------------------------------------------------------------------

  execute(block) {
    const { line, sink, modal } = this;
    if (this.ended !== null) {
      if (!block.tape && !block.empty) this.afterEnd();
      return;
    }
    for (const [kind, message] of block.flags) sink.flag(kind, line, message);
    if (block.skip || block.tape) return;
    if (block.program !== null) {
      if (!this.programSeen) {
        this.programSeen = true;
        sink.program(block.program, line);
      } else {
        sink.flag(FLAG.SUBPROGRAM, line, `another program (O${block.program}) starts here: run as if inline`);
      }
    }
    const words = block.words;
    let motion = null;
    let cycle = null;
    let cancel = false;
    let nonmodal = null;
    for (const code of block.gcodes) {
      if (code === 200 || code === 210) {
        this.scale = code === 200 ? INCH : 1;
        modal.inch = code === 200;
        modal.changes += 1;
      }
    }
    for (const code of block.gcodes) {
      if (code === 0 || code === 10 || code === 20 || code === 30) {
        motion = code / 10;
      } else if (PLANES.has(code)) {
        this.plane = PLANES.get(code);
      } else if (code === 900 || code === 910) {
        this.absolute = code === 900;
      } else if (code === 901 || code === 911) {
        this.arcAbsolute = code === 901;
      } else if (code === 930 || code === 940 || code === 950) {
        modal.feedMode = code / 10;
        modal.changes += 1;
        if (code !== 940) {
          const what = code === 930 ? "inverse time feed (G93)" : "feed per revolution (G95)";
          sink.flag(FLAG.UNSUPPORTED_CODE, line, `${what}: feed moves are not timed`);
        }
      } else if (code === 980 || code === 990) {
        this.retractInitial = code === 980;
      } else if (code === 800) {
        cancel = true;
      } else if (CYCLES.has(code)) {
        cycle = code;
      } else if (code === 40 || code === 100 || code === 280 || code === 300 || code === 530) {
        nonmodal = code; // G10 (data setting) takes axis words as data
      } else if (code === 200 || code === 210 || HARMLESS.has(code)) {
        // nothing drawn or timed changes
      } else if (CUTTER_COMPENSATION.has(code)) {
        sink.flag(FLAG.CUTTER_COMPENSATION, line, `cutter compensation (${formatGcode(code)}): the path is drawn as programmed, not offset`);
      } else if (TRANSFORMS.has(code)) {
        nonmodal = code;
        sink.flag(FLAG.TRANSFORM, line, `${formatGcode(code)} changes coordinates: not applied`);
      } else if (SUBPROGRAM_GCODES.has(code)) {
        sink.flag(FLAG.SUBPROGRAM, line, `macro call ${formatGcode(code)}: not followed`);
        return;
      } else {
        const what = UNSUPPORTED.has(code) ? ` (${UNSUPPORTED.get(code)})` : "";
        sink.flag(FLAG.UNSUPPORTED_CODE, line, `${formatGcode(code)}${what} is not interpreted`);
      }
    }
    if ("F" in words) {
      modal.feed = words.F * this.scale;
      modal.changes += 1;
    }
    if ("S" in words) {
      modal.spindle = words.S;
      modal.changes += 1;
    }
    if ("T" in words) {
      this.selected = [Math.trunc(words.T), line, block.comment];
      if (this.loaded === null) this.take(this.selected); // no M6 so far (lathes, controls without M6)
    }
    for (const code of block.mcodes) {
      if (code === 6 && this.selected !== null) {
        this.loaded = this.selected[0];
        this.take(this.selected);
      } else if (SUBPROGRAM_MCODES.has(code)) {
        sink.flag(FLAG.SUBPROGRAM, line, `subprogram M${code}: not followed`);
      }
    }
    if (nonmodal === 40) sink.dwell(line, dwellSeconds(block));
    if (motion !== null) {
      this.motion = motion;
      this.cycle = null;
    }
    if (cancel) this.cycle = null;
    if (cycle !== null) {
      if (this.cycle === null) this.initialLevel = this.pos[this.plane[2]];
      this.cycle = cycle;
    }
    const x = "X" in words ? words.X : null;
    const y = "Y" in words ? words.Y : null;
    const z = "Z" in words ? words.Z : null;
    const i = "I" in words ? words.I : null;
    const j = "J" in words ? words.J : null;
    const k = "K" in words ? words.K : null;
    const hasAxes = x !== null || y !== null || z !== null;
    if (nonmodal === 280 || nonmodal === 300) {
      this.home(x, y, z);
    } else if (nonmodal === 530) {
      if (hasAxes) this.machineCoordinates(x, y, z);
    } else if (nonmodal !== null) {
      // dwell, G10, G52, G92, G68...: their axis words are data, not a move
    } else if (hasAxes || (this.cycle === null && this.motion >= 2 && (i !== null || j !== null || k !== null))) {
      this.motionBlock(x, y, z, i, j, k, "R" in words ? words.R : null, words, block.pSeconds);
    } else if (this.cycle !== null) {
      this.cycleWords("R" in words ? words.R : null, words, block.pSeconds);
    }
    if (nonmodal !== 40) {
      const axes = OTHER_AXES.filter((letter) => letter in words);
      if (axes.length) sink.flag(FLAG.OTHER_AXES, line, `axis ${axes.join(", ")} is not drawn`);
    }
    if (block.mcodes.includes(2) || block.mcodes.includes(30)) {
      this.ended = line;
      sink.end(line);
    }
  }

  take(selected) {
    const [number, line, comment] = selected;
    this.modal.tool = number;
    this.modal.changes += 1;
    if (!this.announced.has(number)) {
      this.announced.add(number);
      this.sink.tool(number, line, comment);
    }
  }

  afterEnd() {
    if (!this.afterEndFlagged) {
      this.afterEndFlagged = true;
      this.sink.flag(FLAG.AFTER_END, this.line, `the program ended at line ${this.ended}: what follows is not run`);
    }
  }

  // -- moves --------------------------------------------------------------------------------------------------

  /** Where axis words send the tool; the known and homed masks after the move are left in `nextKnown` and
   * `nextHomed` (returned as a tuple by the Python twin; kept in fields here to spare an allocation a line). */
  targetPoint(x, y, z) {
    const s = this.scale;
    let [px, py, pz] = this.pos;
    let known = this.known;
    let homed = this.homed;
    if (this.absolute) {
      if (x !== null) {
        px = x * s;
        known |= X;
        homed &= ~X;
      }
      if (y !== null) {
        py = y * s;
        known |= Y;
        homed &= ~Y;
      }
      if (z !== null) {
        pz = z * s;
        known |= Z;
        homed &= ~Z;
      }
    } else {
      if (x !== null) {
        px = px + x * s;
        if (!(homed & X)) known |= X;
      }
      if (y !== null) {
        py = py + y * s;
        if (!(homed & Y)) known |= Y;
      }
      if (z !== null) {
        pz = pz + z * s;
        if (!(homed & Z)) known |= Z;
      }
    }
    this.nextKnown = known;
    this.nextHomed = homed;
    return [px, py, pz];
  }

  moveTo(kind, end, known, homed, peck) {
    const start = this.pos;
    this.pos = end;
    this.known = known;
    this.homed = homed;
    if (known & Z && (this.topZ === null || end[2] > this.topZ)) this.topZ = end[2];
    this.sink.segment(kind, this.line, start, end, known, peck);
  }

  motionBlock(x, y, z, i, j, k, r, words, pSeconds) {
    if (this.cycle !== null) {
      this.cycleBlock(x, y, z, r, k, words, pSeconds);
      return;
    }
    const end = this.targetPoint(x, y, z);
    const known = this.nextKnown;
    const homed = this.nextHomed;
    if (this.motion === 0) this.moveTo(RAPID, end, known, homed, false);
    else if (this.motion === 1) this.moveTo(FEED, end, known, homed, false);
    else this.arc(end, known, homed, i, j, k, r);
  }

  arc(end, known, homed, i, j, k, r) {
    const [a, b, n] = this.plane;
    const start = this.pos;
    const cw = this.motion === 2;
    const s = this.scale;
    const sa = start[a];
    const sb = start[b];
    const ea = end[a];
    const eb = end[b];
    const full = Math.abs(ea - sa) <= EPS && Math.abs(eb - sb) <= EPS;
    let ca;
    let cb;
    if (r !== null) {
      if (full) return this.straight(end, known, homed, "an R arc cannot be a full circle: drawn as a straight line");
      const rr = r * s;
      const dx = ea - sa;
      const dy = eb - sb;
      const d2 = dx * dx + dy * dy;
      const d = Math.sqrt(d2);
      let h2 = rr * rr - d2 / 4;
      if (h2 < 0) {
        if (d / 2 - Math.abs(rr) > R_TOLERANCE) return this.straight(end, known, homed, `R${fmt(r)} is less than half the chord: drawn as a straight line`);
        h2 = 0;
      }
      const h = Math.sqrt(h2);
      // Left of the chord for a counter-clockwise arc of at most 180 degrees, right for clockwise; R < 0 flips.
      let side = cw ? -1 : 1;
      if (rr < 0) side = -side;
      ca = sa + dx / 2 - (side * h * dy) / d;
      cb = sb + dy / 2 + (side * h * dx) / d;
    } else {
      const offsets = [i, j, k];
      const oa = offsets[a];
      const ob = offsets[b];
      if (oa === null && ob === null) return this.straight(end, known, homed, "G2/G3 without I, J, K or R: drawn as a straight line");
      if (this.arcAbsolute) {
        ca = oa === null ? sa : oa * s;
        cb = ob === null ? sb : ob * s;
      } else {
        ca = oa === null ? sa : sa + oa * s;
        cb = ob === null ? sb : sb + ob * s;
      }
    }
    const a0 = Math.atan2(sb - cb, sa - ca);
    let sweep;
    if (full) {
      sweep = cw ? -TAU : TAU;
    } else {
      sweep = Math.atan2(eb - cb, ea - ca) - a0;
      if (cw && sweep >= 0) sweep -= TAU;
      else if (!cw && sweep <= 0) sweep += TAU;
    }
    const r0 = Math.sqrt((sa - ca) * (sa - ca) + (sb - cb) * (sb - cb));
    const r1 = Math.sqrt((ea - ca) * (ea - ca) + (eb - cb) * (eb - cb));
    const centre = [0, 0, 0];
    centre[a] = ca;
    centre[b] = cb;
    centre[n] = start[n];
    this.pos = end;
    this.known = known;
    this.homed = homed;
    if (known & Z && (this.topZ === null || end[2] > this.topZ)) this.topZ = end[2];
    this.sink.arc(this.line, start, end, { centre, a, b, a0, sweep, r0, r1 }, known);
    return undefined;
  }

  straight(end, known, homed, message) {
    this.sink.flag(FLAG.BAD_ARC, this.line, message);
    this.moveTo(FEED, end, known, homed, false);
  }

  // -- canned cycles ------------------------------------------------------------------------------------------

  cycleWords(r, words, pSeconds) {
    const s = this.scale;
    if (r !== null) this.cycleR = r * s;
    if ("Q" in words) this.cycleQ = Math.abs(words.Q) * s;
    if ("P" in words) this.cycleDwell = pSeconds ? words.P : words.P / 1000;
  }

  cycleBlock(x, y, z, r, k, words, pSeconds) {
    const [a, b, n] = this.plane;
    const given = [x, y, z];
    const depth = given[n];
    if (depth !== null) this.cycleDepth = depth * this.scale;
    this.cycleWords(r, words, pSeconds);
    const repeats = "L" in words ? Math.trunc(words.L) : k !== null ? Math.trunc(k) : 1;
    if (this.cycleDepth === null) {
      this.sink.flag(FLAG.SYNTAX, this.line, "canned cycle without a depth: no hole drawn");
      return;
    }
    const along = [null, null, null];
    along[a] = given[a];
    along[b] = given[b];
    for (let rep = 0; rep < Math.max(repeats, 0); rep += 1) this.hole(along[0], along[1], along[2]);
  }

  hole(x, y, z) {
    const [, , n] = this.plane;
    const code = this.cycle;
    const above = this.targetPoint(x, y, z);
    const known = this.nextKnown;
    const homed = this.nextHomed;
    const startLevel = this.pos[n];
    const initial = this.initialLevel;
    const depth = this.cycleDepth;
    let rLevel;
    let bottom;
    if (this.absolute) {
      rLevel = this.cycleR === null ? startLevel : this.cycleR;
      bottom = depth;
    } else {
      rLevel = initial + (this.cycleR || 0);
      bottom = rLevel + depth;
    }
    const bit = 1 << n;
    let holeKnown;
    let holeHomed;
    if (this.absolute && this.cycleR !== null) {
      holeKnown = known | bit;
      holeHomed = homed & ~bit;
    } else {
      holeKnown = homed & bit ? known : known | bit;
      holeHomed = homed;
    }
    const clear = this.retractInitial || code === 870 ? initial : rLevel;
    const at = (level) => {
      const p = [above[0], above[1], above[2]];
      p[n] = level;
      return p;
    };
    const pos = this.pos;
    if (above[0] !== pos[0] || above[1] !== pos[1] || above[2] !== pos[2]) this.moveTo(RAPID, above, known, homed, false);
    if (rLevel !== startLevel) this.moveTo(RAPID, at(rLevel), holeKnown, holeHomed, false);
    if (code === 830 && this.cycleQ) this.pecks(rLevel, bottom, this.cycleQ, holeKnown, holeHomed, at);
    else this.moveTo(FEED, at(bottom), holeKnown, holeHomed, false);
    if (DWELL_CYCLES.has(code) && this.cycleDwell > 0) this.sink.dwell(this.line, this.cycleDwell);
    if (FEED_OUT_CYCLES.has(code)) this.moveTo(FEED, at(rLevel), holeKnown, holeHomed, false);
    if (this.pos[n] !== clear) this.moveTo(RAPID, at(clear), holeKnown, holeHomed, false);
    this.sink.hole(this.line);
  }

  /** G83: feed Q deeper, rapid out to R, rapid back to the depth reached, until the bottom. */
  pecks(rLevel, bottom, q, known, homed, at) {
    const total = Math.abs(bottom - rLevel);
    const sign = bottom > rLevel ? 1 : -1;
    if (q < total / MAX_PECKS) q = total / MAX_PECKS;
    let done = 0;
    for (;;) {
      const reached = Math.min(done + q, total);
      if (done > 0) this.moveTo(RAPID, at(rLevel + sign * done), known, homed, true);
      const last = reached >= total;
      this.moveTo(FEED, at(last ? bottom : rLevel + sign * reached), known, homed, false);
      if (last) return;
      done = reached;
      this.moveTo(RAPID, at(rLevel), known, homed, true);
    }
  }

  // -- machine moves ------------------------------------------------------------------------------------------

  /** G28/G30: through the intermediate point the axis words give, then to the reference point. */
  home(x, y, z) {
    let named;
    if (x === null && y === null && z === null) {
      named = X | Y | Z;
    } else {
      named = (x !== null ? X : 0) | (y !== null ? Y : 0) | (z !== null ? Z : 0);
      const via = this.targetPoint(x, y, z);
      const pos = this.pos;
      if (via[0] !== pos[0] || via[1] !== pos[1] || via[2] !== pos[2]) this.moveTo(MACHINE, via, this.nextKnown, this.nextHomed, false);
    }
    this.toReference(named);
  }

  /** G53: machine coordinates, which program coordinates cannot place: the axes become homed. */
  machineCoordinates(x, y, z) {
    this.toReference((x !== null ? X : 0) | (y !== null ? Y : 0) | (z !== null ? Z : 0));
  }

  toReference(named) {
    const [px, py, pz0] = this.pos;
    let pz = pz0;
    if (named & Z && this.topZ !== null) pz = this.topZ;
    const known = this.known & ~named;
    const homed = this.homed | named;
    if (pz !== pz0) this.moveTo(MACHINE, [px, py, pz], known, homed, false);
    else {
      this.known = known;
      this.homed = homed;
    }
    this.sink.machine(this.line);
  }
}

/**
 * Text arriving in pieces (a download being read), fed to an interpreter a whole line at a time. Lines end at
 * "\n" (the interpreter drops a "\r" before it); a line ending at the very end starts no further line.
 */
export class ProgramStream {
  constructor(interpreter) {
    this.interpreter = interpreter;
    this.carry = ""; // the start of a line whose end has not arrived
    this.count = 0;
  }

  push(piece) {
    const text = this.carry ? this.carry + piece : piece;
    let start = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
      this.interpreter.feedLine(text.slice(start, end));
      this.count += 1;
      start = end + 1;
    }
    this.carry = text.slice(start);
  }

  /** The last line (if it had no line ending); returns the number of lines. */
  end() {
    if (this.carry) {
      this.interpreter.feedLine(this.carry);
      this.count += 1;
      this.carry = "";
    }
    return this.count;
  }
}

/** Run a whole program through an interpreter; returns the number of lines. */
export function runProgram(text, interpreter) {
  const stream = new ProgramStream(interpreter);
  stream.push(text);
  return stream.end();
}
