// DOM building from elements and text nodes only (never HTML strings): every string from the server
// becomes a text node, so a file named `<img src=x onerror=alert(1)>.nc` is shown as exactly that text.

const listening = new WeakSet(); // elements given a handler by h(): a redraw must not keep their old closures

/** h("button", {class: "primary", onclick: fn}, "Save") */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
      listening.add(el);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value; // properties such as checked, disabled, value, hidden
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** True when `node` (or, when `deep`, anything inside it) was given an event handler by h(). */
export function hasHandlers(node, deep = true) {
  if (listening.has(node)) return true;
  return deep && node instanceof Element && [...node.querySelectorAll("*")].some((el) => listening.has(el));
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function formatSize(bytes) {
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDate(iso) {
  if (!iso) return "";
  return dateFormat.format(new Date(iso));
}

/** A <time> with the exact moment as its tooltip. */
export function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "never");
  return h("time", { datetime: iso, title: new Date(iso).toISOString() }, formatDate(iso));
}

export function basename(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function dirname(path) {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}
