// Which words of a changed line changed: the two lines as G-code words, aligned by longest common subsequence.

const TOKEN = /\([^)]*\)?|;.*|[A-Za-z]\s*[-+]?(?:\d+\.?\d*|\.\d+)|\s+|./g;
const MAX_CELLS = 40000; // longer lines are marked changed whole

/** [left pieces, right pieces], each piece [text, changed]. */
export function wordDiff(left, right) {
  const a = left.match(TOKEN) || [];
  const b = right.match(TOKEN) || [];
  if (a.length * b.length > MAX_CELLS) return [[[left, true]], [[right, true]]];
  const n = a.length;
  const m = b.length;
  const table = new Uint16Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i * (m + 1) + j] = a[i] === b[j] ? table[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1]);
    }
  }
  const keepA = new Uint8Array(n);
  const keepB = new Uint8Array(m);
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[i] === b[j]) {
      keepA[i] = 1;
      keepB[j] = 1;
      i += 1;
      j += 1;
    } else if (table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1]) i += 1;
    else j += 1;
  }
  const pieces = (tokens, keep) => {
    const out = [];
    tokens.forEach((token, i) => {
      const changed = !keep[i] && token.trim() !== "";
      const last = out[out.length - 1];
      if (last && last[1] === changed) last[0] += token;
      else out.push([token, changed]);
    });
    return out;
  };
  return [pieces(a, keepA), pieces(b, keepB)];
}
