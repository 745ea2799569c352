// Drawing toolpaths on a 2D canvas (an OffscreenCanvas in the worker): views, fit, pan, zoom, rotation, picking.
// Feeds are solid, rapids dashed, machine moves (G28/G53) dotted grey; colours by tool, or by side in an overlay.
import { BACKGROUND, HIGHLIGHT, MACHINE_COLOUR, toolColour } from "./colours.js";
import { KIND } from "./geometry.js";

const MARGIN = 24; // px around the fitted drawing
const LOD = 0.5; // px: a vertex this close to the last one drawn is skipped
const PICK_RADIUS = 8; // px
const ISO = { yaw: -Math.PI / 4, pitch: Math.asin(1 / Math.sqrt(3)) };

/** A view as a linear map: screen x = a · (p - centre), screen y = b · (p - centre), before scale and offset. */
function axesOf(view) {
  if (view.name === "top") return [[1, 0, 0], [0, -1, 0]];
  if (view.name === "front") return [[1, 0, 0], [0, 0, -1]];
  if (view.name === "side") return [[0, 1, 0], [0, 0, -1]];
  const cosYaw = Math.cos(view.yaw);
  const sinYaw = Math.sin(view.yaw);
  const cosPitch = Math.cos(view.pitch);
  const sinPitch = Math.sin(view.pitch);
  // Turn about Z by the yaw, then tilt by the pitch: across the screen, and up it from the depth and Z.
  return [
    [cosYaw, -sinYaw, 0],
    [-sinYaw * sinPitch, -cosYaw * sinPitch, -cosPitch],
  ];
}

/** Screen position (before scale and offset) of a point in a view, relative to the drawing's centre. */
function projector(view, centre) {
  const [[ax, ay, az], [bx, by, bz]] = axesOf(view);
  const [cx, cy, cz] = centre;
  return (x, y, z) => [ax * (x - cx) + ay * (y - cy) + az * (z - cz), bx * (x - cx) + by * (y - cy) + bz * (z - cz)];
}

function newView(name) {
  return name === "iso" ? { name, yaw: ISO.yaw, pitch: ISO.pitch } : { name };
}

/** A plot: what is drawn (layers of geometry), how (view, scale, offset), and what is picked or highlighted. */
export class Plot {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.width = canvas.width;
    this.height = canvas.height;
    this.dpr = 1;
    this.view = newView("top");
    this.layers = []; // {geometry, colour: null (by tool) or a colour, upto}
    this.scale = 1;
    this.ox = 0;
    this.oy = 0;
    this.highlight = null; // {layer, first, last}
    this.projected = [];
  }

  resize(width, height, dpr) {
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
  }

  centre() {
    const low = [Infinity, Infinity, Infinity];
    const high = [-Infinity, -Infinity, -Infinity];
    for (const { geometry } of this.layers) {
      for (let i = 0; i < 3; i += 1) {
        low[i] = Math.min(low[i], geometry.low[i]);
        high[i] = Math.max(high[i], geometry.high[i]);
      }
    }
    if (!(low[0] <= high[0])) return { low: [0, 0, 0], high: [0, 0, 0], centre: [0, 0, 0] };
    return { low, high, centre: low.map((l, i) => (l + high[i]) / 2) };
  }

  /** Scale and offset so every vertex shows, with a margin. */
  fit() {
    const { low, high, centre } = this.centre();
    this.drawCentre = centre;
    const project = projector(this.view, centre);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const x of [low[0], high[0]]) {
      for (const y of [low[1], high[1]]) {
        for (const z of [low[2], high[2]]) {
          const [sx, sy] = project(x, y, z);
          minX = Math.min(minX, sx);
          maxX = Math.max(maxX, sx);
          minY = Math.min(minY, sy);
          maxY = Math.max(maxY, sy);
        }
      }
    }
    const spanX = Math.max(maxX - minX, 1e-6);
    const spanY = Math.max(maxY - minY, 1e-6);
    this.scale = Math.min((this.width - 2 * MARGIN) / spanX, (this.height - 2 * MARGIN) / spanY);
    if (!(this.scale > 0) || !Number.isFinite(this.scale)) this.scale = 1;
    this.ox = this.width / 2 - ((minX + maxX) / 2) * this.scale;
    this.oy = this.height / 2 - ((minY + maxY) / 2) * this.scale;
  }

  setView(name) {
    this.view = newView(name);
    this.fit();
  }

  pan(dx, dy) {
    this.ox += dx;
    this.oy += dy;
  }

  zoom(factor, x, y) {
    this.ox = x - (x - this.ox) * factor;
    this.oy = y - (y - this.oy) * factor;
    this.scale *= factor;
  }

  rotate(dx, dy) {
    if (this.view.name !== "iso") return;
    this.view.yaw -= dx * 0.01;
    this.view.pitch = Math.max(-Math.PI / 2, Math.min(Math.PI / 2, this.view.pitch + dy * 0.01));
  }

  /** Where the drawing's point (x, y, z) lands, in CSS pixels: what the tests read pixels at. */
  mapping() {
    const { name, yaw = null, pitch = null } = this.view;
    return { view: name, yaw, pitch, scale: this.scale, ox: this.ox, oy: this.oy, centre: this.drawCentre || [0, 0, 0] };
  }

  draw() {
    const { ctx } = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.width, this.height);
    if (!this.drawCentre) this.fit();
    const project = projector(this.view, this.drawCentre);
    this.projected = this.layers.map((layer) => this.drawLayer(layer, project));
    if (this.highlight) this.drawHighlight(project);
    this.drawAxes();
  }

  drawLayer(layer, project) {
    const { ctx } = this;
    const g = layer.geometry;
    const upto = Math.min(layer.upto ?? g.moveCount, g.moveCount);
    const vertCount = upto > 0 ? g.last[upto - 1] + 1 : 1;
    const sx = new Float32Array(vertCount);
    const sy = new Float32Array(vertCount);
    const verts = g.verts;
    // The view's linear map with the scale, offset and centre folded in: no allocation per vertex.
    const [[ax, ay, az], [bx, by, bz]] = axesOf(this.view).map((row) => row.map((k) => k * this.scale));
    const [cx, cy, cz] = this.drawCentre;
    const x0 = this.ox - (ax * cx + ay * cy + az * cz);
    const y0 = this.oy - (bx * cx + by * cy + bz * cz);
    for (let v = 0, i = 0; v < vertCount; v += 1, i += 3) {
      const x = verts[i];
      const y = verts[i + 1];
      const z = verts[i + 2];
      sx[v] = x0 + ax * x + ay * y + az * z;
      sy[v] = y0 + bx * x + by * y + bz * z;
    }
    const groups = new Map();
    let from = 0; // first vertex of the move: the last of the one before
    for (let m = 0; m < upto; m += 1) {
      const kind = g.kind[m];
      const key = kind * 65536 + (layer.colour ? 0 : g.tool[m]);
      let group = groups.get(key);
      if (group === undefined) {
        group = { path: new Path2D(), kind, tool: g.tool[m], lastVertex: -1, lx: 0, ly: 0 };
        groups.set(key, group);
      }
      const to = g.last[m];
      if (group.lastVertex !== from) {
        group.path.moveTo(sx[from], sy[from]);
        group.lx = sx[from];
        group.ly = sy[from];
      }
      for (let v = from + 1; v <= to; v += 1) {
        const x = sx[v];
        const y = sy[v];
        if (v === to || Math.abs(x - group.lx) + Math.abs(y - group.ly) >= LOD) {
          group.path.lineTo(x, y);
          group.lx = x;
          group.ly = y;
        }
      }
      group.lastVertex = to;
      from = to;
    }
    const order = { [KIND.MACHINE]: 0, [KIND.RAPID]: 1, [KIND.FEED]: 2 }; // feeds on top
    for (const group of [...groups.values()].sort((p, q) => order[p.kind] - order[q.kind])) {
      ctx.setLineDash(group.kind === KIND.RAPID ? [6, 4] : group.kind === KIND.MACHINE ? [1, 4] : []);
      ctx.lineWidth = group.kind === KIND.FEED ? 2 : 1;
      ctx.strokeStyle = group.kind === KIND.MACHINE ? MACHINE_COLOUR : layer.colour || toolColour(group.tool);
      ctx.stroke(group.path);
    }
    ctx.setLineDash([]);
    for (const [x, y, z, move] of g.holes) {
      if (move >= upto) continue;
      const [px, py] = project(x, y, z);
      ctx.beginPath();
      ctx.arc(this.ox + px * this.scale, this.oy + py * this.scale, 3.5, 0, 2 * Math.PI);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = layer.colour || toolColour(g.tool[move]);
      ctx.stroke();
    }
    if (upto > 0 && upto < g.moveCount) {
      const v = g.last[upto - 1];
      ctx.beginPath();
      ctx.arc(sx[v], sy[v], 5, 0, 2 * Math.PI);
      ctx.fillStyle = HIGHLIGHT;
      ctx.fill();
    }
    return { sx, sy, upto };
  }

  drawHighlight() {
    const { layer, first, last } = this.highlight;
    const g = this.layers[layer]?.geometry;
    const drawn = this.projected[layer];
    if (!g || !drawn) return;
    const { ctx } = this;
    const { sx, sy } = drawn;
    ctx.beginPath();
    const from = first === 0 ? 0 : g.last[first - 1];
    if (from >= sx.length) return;
    ctx.moveTo(sx[from], sy[from]);
    for (let v = from + 1; v <= g.last[Math.min(last, drawn.upto - 1)] && v < sx.length; v += 1) ctx.lineTo(sx[v], sy[v]);
    ctx.lineWidth = 4;
    ctx.strokeStyle = HIGHLIGHT;
    ctx.stroke();
    ctx.beginPath();
    const end = g.last[last];
    if (end < sx.length) {
      ctx.arc(sx[end], sy[end], 4, 0, 2 * Math.PI);
      ctx.fillStyle = HIGHLIGHT;
      ctx.fill();
    }
  }

  drawAxes() {
    const { ctx } = this;
    const project = projector(this.view, [0, 0, 0]);
    const x0 = 36;
    const y0 = this.height - 36;
    ctx.lineWidth = 1.5;
    ctx.font = "11px sans-serif";
    for (const [label, colour, v] of [
      ["X", "#c0392b", [1, 0, 0]],
      ["Y", "#27ae60", [0, 1, 0]],
      ["Z", "#2c6fbb", [0, 0, 1]],
    ]) {
      const [px, py] = project(v[0], v[1], v[2]);
      if (Math.abs(px) + Math.abs(py) < 0.05) continue; // seen end-on
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x0 + px * 22, y0 + py * 22);
      ctx.strokeStyle = colour;
      ctx.stroke();
      ctx.fillStyle = colour;
      ctx.fillText(label, x0 + px * 28 - 3, y0 + py * 28 + 4);
    }
  }

  /** The move nearest a point (CSS pixels) within a few pixels: [layer, move], or null. */
  pick(x, y) {
    let best = null;
    let bestDistance = PICK_RADIUS * PICK_RADIUS;
    this.layers.forEach((layer, index) => {
      const drawn = this.projected[index];
      if (!drawn) return;
      const { sx, sy, upto } = drawn;
      const g = layer.geometry;
      let from = 0;
      for (let m = 0; m < upto; m += 1) {
        const to = g.last[m];
        for (let v = from; v < to; v += 1) {
          const d = segmentDistance2(x, y, sx[v], sy[v], sx[v + 1], sy[v + 1]);
          if (d <= bestDistance) {
            bestDistance = d;
            best = [index, m];
          }
        }
        from = to;
      }
    });
    return best;
  }
}

function segmentDistance2(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  let t = length2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / length2 : 0;
  t = Math.max(0, Math.min(1, t));
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}
