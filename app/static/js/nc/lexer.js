// One line of G-code into a block: words, G and M codes, comments, and what cannot be interpreted.
// The server's app/nc/lexer.py reads lines by the same rules (tests/nc/test_agreement.py holds them equal).
// A G code is kept as ten times its number (G1 -> 10, G90.1 -> 901), so codes with a decimal are exact integers.

const MACRO_KEYWORDS = new Set(
  ("IF GOTO WHILE DO END THEN ELSE ELSEIF ENDIF ENDWHILE REPEAT ENDREPEAT BREAK CONTINUE " +
    "EQ NE GT LT GE LE AND OR XOR MOD SIN COS TAN ASIN ACOS ATAN SQRT ABS ROUND FIX FUP LN EXP " +
    "BIN BCD POPEN PCLOS DPRNT BPRNT").split(" "),
);
const SUBPROGRAM_KEYWORDS = new Set(["SUB", "ENDSUB", "CALL", "RETURN"]);

// Flag kinds, one name each (the facts' `uninterpreted` list and the text view's marks use them).
export const FLAG = Object.freeze({
  SUBPROGRAM: "subprogram",
  MACRO: "macro",
  VARIABLE: "variable",
  CUTTER_COMPENSATION: "cutter_compensation",
  TRANSFORM: "transform",
  UNSUPPORTED_CODE: "unsupported_code",
  OTHER_AXES: "other_axes",
  BAD_ARC: "bad_arc",
  SYNTAX: "syntax",
  AFTER_END: "after_end",
});

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)/y;
const LETTER_RUN = /[A-Za-z]+/y;

const isLetter = (c) => (c >= "A" && c <= "Z") || (c >= "a" && c <= "z");

class Block {
  constructor() {
    this.words = {}; // the last value of each letter other than G, M, N and O
    this.gcodes = [];
    this.mcodes = [];
    this.comments = [];
    this.flags = []; // [kind, message]
    this.program = null; // the digits of an O word
    this.pSeconds = false; // P written with a decimal point: seconds, not milliseconds
    this.blockDelete = false;
    this.tape = false; // a `%` line
    this.skip = false; // not run: a macro, a variable or a word that cannot be read
  }

  get comment() {
    return this.comments.length ? this.comments.join(" ") : null;
  }

  get empty() {
    return !(hasWords(this) || this.gcodes.length || this.mcodes.length || this.program !== null || this.flags.length);
  }
}

function hasWords(block) {
  for (const _ in block.words) return true;
  return false;
}

function flag(block, kind, message, skip = false) {
  block.flags.push([kind, message]);
  if (skip) block.skip = true;
}

/** Read one line (without its line ending). */
export function lex(text) {
  const block = new Block();
  const n = text.length;
  let i = 0;
  while (i < n && (text[i] === " " || text[i] === "\t")) i += 1;
  if (i < n && text[i] === "%") {
    block.tape = true;
    return block;
  }
  if (i < n && text[i] === "/") {
    block.blockDelete = true;
    i += 1;
  }
  while (i < n) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\r") {
      i += 1;
    } else if (c === "(") {
      const close = text.indexOf(")", i + 1);
      const end = close < 0 ? n : close;
      const comment = text.slice(i + 1, end).trim();
      if (comment) block.comments.push(comment);
      i = end + 1;
    } else if (c === ";") {
      const comment = text.slice(i + 1).trim();
      if (comment) block.comments.push(comment);
      break;
    } else if (isLetter(c)) {
      i = word(text, i, block);
    } else if (c === "#" || c === "=") {
      flag(block, FLAG.VARIABLE, "variables (#) are not evaluated: the line is not run", true);
      break;
    } else if (c === "[") {
      flag(block, FLAG.MACRO, "expressions ([ ]) are not evaluated: the line is not run", true);
      break;
    } else if (c === ":" && !hasWords(block) && block.gcodes.length === 0 && block.program === null) {
      NUMBER.lastIndex = i + 1; // `:1234`, the ISO spelling of O1234
      const number = NUMBER.exec(text);
      if (number === null || !/^\d+$/.test(number[0])) {
        flag(block, FLAG.SYNTAX, "':' without a program number", true);
        break;
      }
      block.program = number[0];
      i = NUMBER.lastIndex;
    } else {
      flag(block, FLAG.SYNTAX, `unexpected character ${pyRepr(c)}: the line is not run`, true);
      break;
    }
  }
  return block;
}

/** One word starting at the letter at `i`; returns where reading goes on. */
function word(text, i, block) {
  const n = text.length;
  let j = i + 1;
  if (j < n && isLetter(text[j])) {
    LETTER_RUN.lastIndex = i;
    const keyword = LETTER_RUN.exec(text)[0].toUpperCase();
    if (MACRO_KEYWORDS.has(keyword)) {
      flag(block, FLAG.MACRO, `macro statement ${keyword}: not evaluated, the line is not run`, true);
    } else if (SUBPROGRAM_KEYWORDS.has(keyword)) {
      flag(block, FLAG.SUBPROGRAM, `subprogram statement ${keyword}: not followed`, true);
    } else {
      flag(block, FLAG.SYNTAX, `unknown word ${keyword}: the line is not run`, true);
    }
    return n;
  }
  const letter = text[i].toUpperCase();
  while (j < n && (text[j] === " " || text[j] === "\t")) j += 1;
  if (j < n && (text[j] === "#" || text[j] === "[")) {
    const variable = text[j] === "#";
    flag(block, variable ? FLAG.VARIABLE : FLAG.MACRO, `${letter} takes a ${variable ? "variable" : "expression"}: the line is not run`, true);
    return n;
  }
  NUMBER.lastIndex = j;
  const number = NUMBER.exec(text);
  if (number === null) {
    if (letter === "O" && j < n && text[j] === "<") {
      flag(block, FLAG.SUBPROGRAM, "named O-word subprogram or control flow: not followed", true);
    } else {
      flag(block, FLAG.SYNTAX, `${letter} without a number: the line is not run`, true);
    }
    return n;
  }
  const digits = number[0];
  const value = Number(digits);
  if (letter === "G") {
    block.gcodes.push(Math.floor(value * 10 + 0.5));
  } else if (letter === "M") {
    block.mcodes.push(Math.floor(value + 0.5));
  } else if (letter === "N") {
    // sequence numbers only name the line
  } else if (letter === "O") {
    if (block.program === null) block.program = digits.replace(/^\+/, "");
  } else {
    block.words[letter] = value;
    if (letter === "P") block.pSeconds = digits.includes(".");
  }
  return NUMBER.lastIndex;
}

/** A character as Python's repr() shows it, so messages read the same from both parsers. */
function pyRepr(c) {
  if (c === "'") return `"'"`;
  if (c === "\\") return "'\\\\'";
  return `'${c}'`;
}
