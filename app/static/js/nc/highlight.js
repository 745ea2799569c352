// G-code colouring for the text view: [class, text] pieces of one line. A light lexer of its own (the parser
// stays in the worker); it colours what the parser reads, and marks macro syntax it will not run.
import { h } from "../dom.js";

const CLASS_OF = {
  G: "g",
  M: "m",
  X: "axis",
  Y: "axis",
  Z: "axis",
  A: "axis",
  B: "axis",
  C: "axis",
  U: "axis",
  V: "axis",
  W: "axis",
  I: "arc",
  J: "arc",
  K: "arc",
  R: "arc",
  F: "feed",
  S: "speed",
  T: "tool",
  N: "seq",
  O: "prog",
};
const WORD = /^([A-Za-z])\s*([-+]?(?:\d+\.?\d*|\.\d+))/;
const LETTERS = /^[A-Za-z]+/;

export function colourLine(text) {
  const out = [];
  const push = (cls, piece) => {
    if (!piece) return;
    const last = out[out.length - 1];
    if (last && last[0] === cls) last[1] += piece;
    else out.push([cls, piece]);
  };
  const lead = text.match(/^\s*/)[0];
  push("", lead);
  let i = lead.length;
  if (text[i] === "%") {
    push("tape", text.slice(i));
    return out;
  }
  if (text[i] === "/") {
    push("delete", "/");
    i += 1;
  }
  while (i < text.length) {
    const rest = text.slice(i);
    const c = text[i];
    if (c === "(") {
      const close = text.indexOf(")", i + 1);
      const end = close < 0 ? text.length : close + 1;
      push("comment", text.slice(i, end));
      i = end;
    } else if (c === ";") {
      push("comment", rest);
      break;
    } else if (c === "#" || c === "[" || c === "]" || c === "=") {
      push("macro", c);
      i += 1;
    } else if (/[A-Za-z]/.test(c)) {
      const word = rest.match(WORD);
      const run = rest.match(LETTERS)[0];
      if (run.length > 1) {
        push("macro", run);
        i += run.length;
      } else if (word) {
        push(CLASS_OF[c.toUpperCase()] || "param", word[0]);
        i += word[0].length;
      } else {
        push("param", c);
        i += 1;
      }
    } else {
      push("", c);
      i += 1;
    }
  }
  return out;
}

/** The line as text nodes and coloured spans (class t-g, t-axis, t-comment...). */
export function highlightLine(text) {
  return colourLine(text).map(([cls, piece]) => (cls ? h("span", { class: `t-${cls}` }, piece) : piece));
}
