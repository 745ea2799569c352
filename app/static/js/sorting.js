// Where a file row belongs in the list as the server sorts it, so a row added or changed live lands where
// the next page load would put it. The name order compares the server's `sort_key` (natural and
// case-insensitive: OP2 before OP10, bracket beside BRACKET) code point by code point, as PostgreSQL's "C"
// collation compares it; ties go by id, as the server's keyset paging does.

const fileOfRow = new WeakMap(); // <tr> -> file

export function remember(tr, file) {
  fileOfRow.set(tr, file);
  return tr;
}

function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

const KEYS = {
  name: (a, b) => byCodePoint(a.sort_key, b.sort_key),
  size: (a, b) => a.size - b.size,
  updated: (a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at),
};

/** A comparator of files for a sort ("name", "size", "updated") and order ("asc", "desc"). */
export function fileOrder(sort, order) {
  const key = KEYS[sort] || KEYS.name;
  const sign = order === "desc" ? -1 : 1;
  return (a, b) => sign * (key(a, b) || a.id - b.id);
}

/**
 * Put `tr` (a row of `file`) where `compare` says among the rows of `body`. A row that sorts after the last
 * loaded row while more pages remain is left out (it arrives with its page). Returns whether it is shown.
 */
export function place(body, tr, file, compare, morePages) {
  remember(tr, file);
  const others = [...body.children].filter((r) => r !== tr);
  const before = others.find((r) => fileOfRow.has(r) && compare(file, fileOfRow.get(r)) < 0);
  if (before) {
    if (tr.nextElementSibling !== before) body.insertBefore(tr, before);
    return true;
  }
  if (morePages) {
    tr.remove();
    return false;
  }
  if (body.lastElementChild !== tr) body.append(tr);
  return true;
}
