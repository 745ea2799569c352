// What changed between two versions in machining terms, from their program facts: tools added or removed, feed
// and spindle ranges and depth per tool, lowest and highest Z, X and Y extents, estimated cycle time, warnings
// and what could not be interpreted. Only what changed is listed.
import { duration, feeds, length, lengthUnit, span, speeds } from "./format.js";
import { MARK_LABELS } from "./textview.js";

const sameRange = (p, q) => (p === null && q === null) || (p !== null && q !== null && p.min === q.min && p.max === q.max);
const toolLabel = (t) => (t.comment ? `T${t.number} (${t.comment})` : `T${t.number}`);

/** Rows {what, before, after} for every machining fact that differs from `a` (older) to `b` (newer). */
export function machiningChanges(a, b) {
  const rows = [];
  const add = (what, before, after) => rows.push({ what, before, after });
  const toolsA = new Map(a.tools.map((t) => [t.number, t]));
  const toolsB = new Map(b.tools.map((t) => [t.number, t]));
  for (const [number, t] of toolsA) if (!toolsB.has(number)) add(`T${number} removed`, toolLabel(t), "–");
  for (const [number, t] of toolsB) if (!toolsA.has(number)) add(`T${number} added`, "–", toolLabel(t));
  for (const [number, tb] of toolsB) {
    const ta = toolsA.get(number);
    if (!ta) continue;
    if (!sameRange(ta.feed, tb.feed)) add(`T${number} feed`, feeds(ta.feed, a.units), feeds(tb.feed, b.units));
    if (!sameRange(ta.spindle, tb.spindle)) add(`T${number} spindle`, speeds(ta.spindle), speeds(tb.spindle));
    if (ta.z_min !== tb.z_min) add(`T${number} lowest Z`, `${length(ta.z_min, a.units)} ${lengthUnit(a.units)}`, `${length(tb.z_min, b.units)} ${lengthUnit(b.units)}`);
  }
  if (!a.tools.length && !b.tools.length) {
    if (!sameRange(a.feed, b.feed)) add("Feed", feeds(a.feed, a.units), feeds(b.feed, b.units));
    if (!sameRange(a.spindle, b.spindle)) add("Spindle", speeds(a.spindle), speeds(b.spindle));
  }
  const z = (f, end) => (f.extents.z ? `${length(f.extents.z[end], f.units)} ${lengthUnit(f.units)}` : "–");
  if (a.extents.z?.min !== b.extents.z?.min) add("Lowest Z", z(a, "min"), z(b, "min"));
  if (a.extents.z?.max !== b.extents.z?.max) add("Highest Z", z(a, "max"), z(b, "max"));
  for (const axis of ["x", "y"]) {
    if (!sameRange(a.extents[axis], b.extents[axis])) add(`${axis.toUpperCase()} extent`, span(a.extents[axis], a.units), span(b.extents[axis], b.units));
  }
  if (a.cycle_time_s !== b.cycle_time_s) add("Estimated cycle time", duration(a.cycle_time_s), duration(b.cycle_time_s));
  const counts = (list) => new Map(list.map((entry) => [entry.kind, entry.count]));
  for (const key of ["warnings", "uninterpreted"]) {
    const before = counts(a[key]);
    const after = counts(b[key]);
    for (const kind of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const p = before.get(kind) || 0;
      const q = after.get(kind) || 0;
      if (p !== q) add(MARK_LABELS[kind] || kind, `${p} line${p === 1 ? "" : "s"}`, `${q} line${q === 1 ? "" : "s"}`);
    }
  }
  return rows;
}
