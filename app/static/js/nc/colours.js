// The backplot's colours, shared by the worker (which draws) and the page (legends, swatches).

// Tool colours in order of first use (the highlight's orange and the overlay's red are not among them).
export const PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const NO_TOOL = "#444444";
export const HIGHLIGHT = "#ff7f0e";
export const OVERLAY = Object.freeze({ a: "#d62728", b: "#1f77b4" }); // older version red, newer blue
export const BACKGROUND = "#ffffff";
export const MACHINE_COLOUR = "#9aa0a6";

export function toolColour(index) {
  return index === 0 ? NO_TOOL : PALETTE[(index - 1) % PALETTE.length];
}
