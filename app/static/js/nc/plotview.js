// The backplot on the page: a canvas the worker draws on (transferred to it), view buttons, fit, play slider,
// and the pointer: drag to pan (to rotate in 3D, shift-drag pans there), wheel to zoom, click to pick a move.
import { h, replace } from "../dom.js";

const VIEWS = [
  ["top", "Top (XY)"],
  ["front", "Front (XZ)"],
  ["side", "Side (YZ)"],
  ["iso", "3D"],
];
const CLICK_SLOP = 4; // px a press may move and still be a click
const PLAY_SECONDS = 12; // a whole program plays in about this long

export class PlotView {
  constructor(worker, { onPick = () => {}, label = "Backplot" } = {}) {
    this.worker = worker;
    this.onPick = onPick;
    this.moveCount = 0;
    this.view = "top";
    this.playing = 0;
    this.canvas = h("canvas", { class: "nc-canvas", role: "img", "aria-label": label, dataset: { state: "loading" } });
    this.frame = h("div", { class: "nc-plot-frame" }, this.canvas);
    this.buttons = VIEWS.map(([name, text]) =>
      h("button", { type: "button", dataset: { view: name }, "aria-pressed": String(name === "top"), onclick: () => this.setView(name) }, text),
    );
    this.slider = h("input", { type: "range", min: 0, max: 0, value: 0, step: 1, "aria-label": "Play the program: moves drawn", class: "nc-slider", disabled: true });
    this.play = h("button", { type: "button", class: "nc-play", disabled: true, onclick: () => this.toggle() }, "▶ Play");
    this.legend = h("ul", { class: "nc-legend", "aria-label": "Tools" });
    this.status = h("p", { class: "nc-move muted", role: "status" });
    this.element = h(
      "section",
      { class: "nc-plot", "aria-label": label },
      h("div", { class: "nc-plot-tools" }, h("div", { class: "nc-views", role: "group", "aria-label": "View" }, this.buttons), h("button", { type: "button", onclick: () => this.worker.send({ type: "fit" }) }, "Fit"), this.play, this.slider),
      this.frame,
      this.legend,
      this.status,
    );
    this.slider.addEventListener("input", () => this.showMoves(Number(this.slider.value)));
    this.offs = [
      worker.on("drawn", (m) => {
        const c = this.canvas.dataset;
        c.frame = String(m.frame);
        c.scale = String(m.mapping.scale);
        c.ox = String(m.mapping.ox);
        c.oy = String(m.mapping.oy);
        c.centre = m.mapping.centre.join(",");
        c.view = m.mapping.view;
        c.turn = m.mapping.yaw === null ? "" : `${m.mapping.yaw.toFixed(3)},${m.mapping.pitch.toFixed(3)}`;
        if (c.state === "parsed") {
          c.state = "drawn";
          performance.mark("nc:drawn");
        }
      }),
    ];
    this.pointer();
  }

  /** Hand the canvas to the worker; from now on only the worker draws on it. */
  attach() {
    const { width, height } = this.size();
    const offscreen = this.canvas.transferControlToOffscreen();
    this.worker.send({ type: "canvas", canvas: offscreen, width, height, dpr: devicePixelRatio || 1 }, [offscreen]);
    this.resizer = new ResizeObserver(() => {
      const size = this.size();
      this.worker.send({ type: "resize", ...size, dpr: devicePixelRatio || 1 });
    });
    this.resizer.observe(this.frame);
  }

  size() {
    const box = this.canvas.getBoundingClientRect(); // inside the frame's border
    return { width: Math.max(50, Math.round(box.width)), height: Math.max(50, Math.round(box.height)) };
  }

  loaded(moveCount, tools) {
    this.moveCount = moveCount;
    this.slider.max = String(moveCount);
    this.slider.value = String(moveCount);
    this.slider.disabled = moveCount === 0;
    this.play.disabled = moveCount === 0;
    this.canvas.dataset.state = "parsed";
    this.canvas.dataset.moves = String(moveCount);
    if (tools) this.showTools(tools);
  }

  showTools(tools) {
    replace(
      this.legend,
      tools.map((t) => h("li", {}, h("span", { class: "nc-swatch", dataset: { colour: t.colour } }), t.label || `T${t.number}`)),
    );
    // Colours come from data, so they are set through the style object (allowed by the CSP), never as markup.
    for (const swatch of this.legend.querySelectorAll(".nc-swatch")) swatch.style.background = swatch.dataset.colour;
  }

  setView(name) {
    this.view = name;
    for (const button of this.buttons) button.setAttribute("aria-pressed", String(button.dataset.view === name));
    this.worker.send({ type: "view", name });
  }

  showMoves(moves) {
    this.slider.value = String(moves);
    this.worker.send({ type: "progress", moves: moves >= this.moveCount ? null : moves });
  }

  toggle() {
    if (this.playing) {
      cancelAnimationFrame(this.playing);
      this.playing = 0;
      replace(this.play, "▶ Play");
      return;
    }
    let at = Number(this.slider.value);
    if (at >= this.moveCount) at = 0;
    const step = Math.max(1, Math.ceil(this.moveCount / (PLAY_SECONDS * 60)));
    replace(this.play, "❚❚ Pause");
    const tick = () => {
      at = Math.min(this.moveCount, at + step);
      this.showMoves(at);
      this.onProgress?.(at);
      if (at >= this.moveCount) {
        this.playing = 0;
        replace(this.play, "▶ Play");
        return;
      }
      this.playing = requestAnimationFrame(tick);
    };
    this.playing = requestAnimationFrame(tick);
  }

  describe(move) {
    if (!move) {
      replace(this.status, "");
      return;
    }
    const kinds = ["Rapid", "Feed", "Machine move"];
    const at = (p) => p.map((v, i) => `${"XYZ"[i]}${Number(v.toFixed(3))}`).join(" ");
    replace(this.status, `Line ${move.line}: ${move.arc ? "Arc" : kinds[move.kind]}${move.tool !== null && move.tool !== undefined ? ` with T${move.tool}` : ""} from ${at(move.start)} to ${at(move.end)}`);
  }

  pointer() {
    let down = null;
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      down = { x: event.clientX, y: event.clientY, lastX: event.clientX, lastY: event.clientY, moved: false };
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!down) return;
      const dx = event.clientX - down.lastX;
      const dy = event.clientY - down.lastY;
      down.lastX = event.clientX;
      down.lastY = event.clientY;
      if (Math.abs(event.clientX - down.x) + Math.abs(event.clientY - down.y) > CLICK_SLOP) down.moved = true;
      if (!down.moved) return;
      if (this.view === "iso" && !event.shiftKey) this.worker.send({ type: "rotate", dx, dy });
      else this.worker.send({ type: "pan", dx, dy });
    });
    canvas.addEventListener("pointerup", (event) => {
      if (down && !down.moved) {
        const box = canvas.getBoundingClientRect();
        this.worker.send({ type: "pick", x: event.clientX - box.left, y: event.clientY - box.top });
      }
      down = null;
    });
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const box = canvas.getBoundingClientRect();
        this.worker.send({ type: "zoom", factor: Math.exp(-event.deltaY * 0.0015), x: event.clientX - box.left, y: event.clientY - box.top });
      },
      { passive: false },
    );
  }

  destroy() {
    if (this.playing) cancelAnimationFrame(this.playing);
    this.resizer?.disconnect();
    this.offs.forEach((off) => off());
  }
}
