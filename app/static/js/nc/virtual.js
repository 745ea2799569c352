// A scrolling list that builds only the rows on screen, so a million lines scroll like fifty. Rows have one fixed
// height; beyond what a browser can scroll (about 33 million pixels) the scroll position is scaled to the rows.
import { h } from "../dom.js";

const MAX_SCROLL_PX = 15_000_000;
const OVERSCAN = 8;

export class VirtualList {
  /** `renderRow(index)` returns the row's element; `rowHeight` in CSS pixels (the stylesheet agrees). */
  constructor({ count, rowHeight, renderRow, className = "", label = "" }) {
    this.count = count;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.spacer = h("div", { class: "vlist-spacer" });
    this.window = h("div", { class: "vlist-window" });
    this.element = h("div", { class: `vlist ${className}`, tabindex: 0, role: "list", "aria-label": label }, this.spacer, this.window);
    this.first = -1;
    this.last = -1;
    this.frame = 0;
    this.element.addEventListener("scroll", () => this.schedule());
    this.resizer = new ResizeObserver(() => this.schedule(true));
    this.resizer.observe(this.element);
    this.setCount(count);
  }

  setCount(count) {
    this.count = count;
    this.spacer.style.height = `${Math.min(count * this.rowHeight, MAX_SCROLL_PX)}px`;
    this.refresh();
  }

  /** Pixels of scroll per row (less than a row's height when the list is too long to scroll for real), for a
   * list `view` pixels high. */
  stride(view) {
    const real = this.count * this.rowHeight;
    if (real <= MAX_SCROLL_PX) return this.rowHeight;
    return (MAX_SCROLL_PX - view) / Math.max(1, this.count - Math.floor(view / this.rowHeight));
  }

  schedule(force = false) {
    if (force) this.first = -1;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  refresh() {
    this.first = -1;
    this.render();
  }

  render() {
    if (!this.element.isConnected) return; // rows are built once the list is in the page and has a height
    const view = this.element.clientHeight || 600;
    const scrollTop = this.element.scrollTop;
    const stride = this.stride(view);
    const top = Math.floor(scrollTop / stride);
    const first = Math.max(0, top - OVERSCAN);
    const last = Math.min(this.count, top + Math.ceil(view / this.rowHeight) + OVERSCAN);
    if (first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    const rows = [];
    for (let i = first; i < last; i += 1) rows.push(this.renderRow(i));
    this.window.replaceChildren(...rows);
    // The window sits where its first row would be; in a scaled list it follows the scroll position instead.
    const offset = scrollTop - (top - first) * this.rowHeight;
    this.window.style.transform = `translateY(${stride === this.rowHeight ? first * this.rowHeight : offset}px)`;
  }

  /** Scroll so row `index` shows (centred when it was out of sight). */
  scrollTo(index) {
    const view = this.element.clientHeight;
    const stride = this.stride(view);
    const top = this.element.scrollTop;
    const y = index * stride;
    if (y < top || y + this.rowHeight > top + view) this.element.scrollTop = Math.max(0, y - view / 2);
    this.refresh();
  }

  destroy() {
    this.resizer.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }
}
