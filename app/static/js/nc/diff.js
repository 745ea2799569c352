// Line diff of two programs for the side-by-side compare (runs in the worker).
// Lines that occur once on each side anchor the alignment (patience diff; most G-code lines carry coordinates and
// are unique), and Myers' linear-space algorithm aligns the stretches between anchors. A stretch whose alignment
// would cost too much is shown as replaced rather than freezing the worker.

export const ROW = Object.freeze({ SAME: 0, CHANGED: 1, DELETED: 2, INSERTED: 3 });
const WORK_LIMIT = 2e7; // Myers steps (d x width) per stretch before giving up on aligning it
const SMALL = 64; // stretches this short go straight to Myers

/** Integer ids for lines, the same id for equal lines on both sides. */
export function lineIds(lines, table) {
  const ids = new Int32Array(lines.length);
  for (let i = 0; i < lines.length; i += 1) {
    let id = table.get(lines[i]);
    if (id === undefined) {
      id = table.size;
      table.set(lines[i], id);
    }
    ids[i] = id;
  }
  return ids;
}

/** Matched index pairs [a0, b0, a1, b1, ...] of a longest-enough common subsequence of two id arrays. */
export function matchLines(a, b) {
  const out = [];
  align(a, 0, a.length, b, 0, b.length, out);
  return out;
}

/** Match the common head of two stretches (pushed to `out`) and find their common tail; the caller aligns what is
 * left, then pushes the tail (`pushTail`). */
function trim(a, aLo, aHi, b, bLo, bHi, out) {
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) {
    out.push(aLo, bLo);
    aLo += 1;
    bLo += 1;
  }
  let tail = 0;
  while (aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) {
    aHi -= 1;
    bHi -= 1;
    tail += 1;
  }
  return [aLo, aHi, bLo, bHi, tail];
}

function pushTail(aHi, bHi, tail, out) {
  for (let i = 0; i < tail; i += 1) out.push(aHi + i, bHi + i);
}

function align(a, aFrom, aTo, b, bFrom, bTo, out) {
  const [aLo, aHi, bLo, bHi, tail] = trim(a, aFrom, aTo, b, bFrom, bTo, out);
  if (aLo < aHi && bLo < bHi) {
    const anchors = aHi - aLo > SMALL && bHi - bLo > SMALL ? uniqueAnchors(a, aLo, aHi, b, bLo, bHi) : [];
    if (anchors.length) {
      let pa = aLo;
      let pb = bLo;
      for (let i = 0; i < anchors.length; i += 2) {
        align(a, pa, anchors[i], b, pb, anchors[i + 1], out);
        out.push(anchors[i], anchors[i + 1]);
        pa = anchors[i] + 1;
        pb = anchors[i + 1] + 1;
      }
      align(a, pa, aHi, b, pb, bHi, out);
    } else {
      myers(a, aLo, aHi, b, bLo, bHi, out);
    }
  }
  pushTail(aHi, bHi, tail, out);
}

/** Lines found exactly once on each side, in an order increasing on both (longest increasing subsequence). */
function uniqueAnchors(a, aLo, aHi, b, bLo, bHi) {
  const count = new Map(); // id -> [count in a, index in a, count in b, index in b]
  for (let i = aLo; i < aHi; i += 1) {
    const c = count.get(a[i]);
    if (c === undefined) count.set(a[i], [1, i, 0, -1]);
    else c[0] += 1;
  }
  for (let j = bLo; j < bHi; j += 1) {
    const c = count.get(b[j]);
    if (c !== undefined) {
      c[2] += 1;
      c[3] = j;
    }
  }
  const pairs = [];
  for (let i = aLo; i < aHi; i += 1) {
    const c = count.get(a[i]);
    if (c[0] === 1 && c[2] === 1) pairs.push(i, c[3]);
  }
  // Patience sorting over the b indices (pairs are in a order).
  const n = pairs.length / 2;
  const tails = []; // index into pairs of the smallest tail of each length
  const previous = new Int32Array(n);
  for (let p = 0; p < n; p += 1) {
    const bj = pairs[2 * p + 1];
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[2 * tails[mid] + 1] < bj) lo = mid + 1;
      else hi = mid;
    }
    previous[p] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = p;
  }
  const chain = [];
  for (let p = tails.length ? tails[tails.length - 1] : -1; p >= 0; p = previous[p]) chain.push(pairs[2 * p], pairs[2 * p + 1]);
  const ordered = [];
  for (let i = chain.length - 2; i >= 0; i -= 2) ordered.push(chain[i], chain[i + 1]);
  return ordered;
}

function myers(a, aFrom, aTo, b, bFrom, bTo, out) {
  const [aLo, aHi, bLo, bHi, tail] = trim(a, aFrom, aTo, b, bFrom, bTo, out);
  if (aLo < aHi && bLo < bHi) {
    const snake = middleSnake(a, aLo, aHi, b, bLo, bHi);
    if (snake !== null) {
      const [x, y, u, v] = snake;
      myers(a, aLo, x, b, bLo, y, out);
      for (let i = 0; i < u - x; i += 1) out.push(x + i, y + i);
      myers(a, u, aHi, b, v, bHi, out);
    }
  }
  pushTail(aHi, bHi, tail, out);
}

/** Myers (1986), the middle snake of an optimal edit path: [x, y, u, v] in absolute indices, or null when
 * finding it would cost more than WORK_LIMIT (the stretch is then shown as replaced). */
function middleSnake(a, aLo, aHi, b, bLo, bHi) {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const delta = n - m;
  const odd = (delta & 1) !== 0;
  const max = Math.ceil((n + m) / 2);
  const limit = Math.min(max, Math.max(16, Math.floor(WORK_LIMIT / (n + m))));
  const offset = max + 1;
  const forward = new Int32Array(2 * max + 3);
  const backward = new Int32Array(2 * max + 3);
  for (let d = 0; d <= limit; d += 1) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && forward[offset + k - 1] < forward[offset + k + 1]) ? forward[offset + k + 1] : forward[offset + k - 1] + 1;
      let y = x - k;
      const x0 = x;
      const y0 = y;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x += 1;
        y += 1;
      }
      forward[offset + k] = x;
      if (odd && k >= delta - (d - 1) && k <= delta + (d - 1) && x + backward[offset + delta - k] >= n) {
        return [aLo + x0, bLo + y0, aLo + x, bLo + y];
      }
    }
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && backward[offset + k - 1] < backward[offset + k + 1]) ? backward[offset + k + 1] : backward[offset + k - 1] + 1;
      let y = x - k;
      const x0 = x;
      const y0 = y;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) {
        x += 1;
        y += 1;
      }
      backward[offset + k] = x;
      if (!odd && delta - k >= -d && delta - k <= d && x + forward[offset + delta - k] >= n) {
        return [aLo + n - x, bLo + m - y, aLo + n - x0, bLo + m - y0];
      }
    }
  }
  return null;
}

/** Side-by-side rows from matched pairs: within each gap, deleted and inserted lines pair up as changed rows.
 * Returns {left, right, kind} (Int32Array line indices, -1 for none; Uint8Array of ROW) and the rows where
 * changes start (`hunks`). */
export function sideBySide(pairs, aCount, bCount) {
  const left = [];
  const right = [];
  const kind = [];
  const hunks = [];
  let i = 0;
  let j = 0;
  const gap = (aEnd, bEnd) => {
    if (i < aEnd || j < bEnd) hunks.push(kind.length);
    while (i < aEnd || j < bEnd) {
      const hasA = i < aEnd;
      const hasB = j < bEnd;
      left.push(hasA ? i : -1);
      right.push(hasB ? j : -1);
      kind.push(hasA && hasB ? ROW.CHANGED : hasA ? ROW.DELETED : ROW.INSERTED);
      if (hasA) i += 1;
      if (hasB) j += 1;
    }
  };
  for (let p = 0; p < pairs.length; p += 2) {
    gap(pairs[p], pairs[p + 1]);
    left.push(i);
    right.push(j);
    kind.push(ROW.SAME);
    i += 1;
    j += 1;
  }
  gap(aCount, bCount);
  return { left: Int32Array.from(left), right: Int32Array.from(right), kind: Uint8Array.from(kind), hunks: Int32Array.from(hunks) };
}
