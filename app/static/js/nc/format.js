// Numbers of program facts as a machinist reads them. Facts are in mm and mm/min; inch programs are shown in inches.

const INCH = 25.4;
const FORMATS = new Map(); // decimals -> Intl.NumberFormat (making one is the slow part of formatting)

function trim(value, decimals) {
  if (!FORMATS.has(decimals)) FORMATS.set(decimals, new Intl.NumberFormat("en-US", { maximumFractionDigits: decimals }));
  return FORMATS.get(decimals).format(Number(value.toFixed(decimals)));
}

export function lengthUnit(units) {
  return units === "inch" ? "in" : "mm";
}

/** A length or position: 12.5 (mm) or 0.4921 (in). */
export function length(mm, units) {
  if (mm === null || mm === undefined) return "–";
  return units === "inch" ? trim(mm / INCH, 4) : trim(mm, 3);
}

export function span(range, units) {
  return range ? `${length(range.min, units)} to ${length(range.max, units)} ${lengthUnit(units)}` : "–";
}

/** A feed range: 300–1200 mm/min (or in/min). */
export function feeds(range, units) {
  if (!range) return "–";
  const f = (v) => (units === "inch" ? trim(v / INCH, 2) : trim(v, 1));
  const unit = units === "inch" ? "in/min" : "mm/min";
  return range.min === range.max ? `${f(range.min)} ${unit}` : `${f(range.min)}–${f(range.max)} ${unit}`;
}

export function speeds(range) {
  if (!range) return "–";
  return range.min === range.max ? `${trim(range.min, 0)} rpm` : `${trim(range.min, 0)}–${trim(range.max, 0)} rpm`;
}

/** 7.9 s, 2 min 05 s, 1 h 02 min. */
export function duration(seconds) {
  if (seconds < 60) return `${trim(seconds, 1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m} min ${String(rest).padStart(2, "0")} s`;
}

export function count(n) {
  return trim(n, 0);
}
