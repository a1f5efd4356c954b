// Dependency-free raster plots as PNG: line plots (loss curves) and scatter
// plots (2-D toy distributions). A small RGB canvas with clipped lines, discs
// and a built-in 5x7 bitmap font; good enough to read at a glance.
import { Tensor, tidy } from '../tensor';
import { checkOptionKeys, expectedError, invalidParameterError, is } from '../errors';
import { encodePng } from './png';
import { writeFileAtomic } from './atomic';
import { glyph, textWidth, GLYPH_W, GLYPH_H, ADVANCE } from './font';

/** '#rrggbb', '#rgb' or [r, g, b] with 0..255 components. */
export type Color = string | [number, number, number];
type RGB = [number, number, number];

/** matplotlib's tab10 */
export const PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function parseColor(name: string, c: Color): RGB {
  if (Array.isArray(c) && c.length === 3 && c.every((v) => is.inRange(v, 0, 255))) return [c[0] | 0, c[1] | 0, c[2] | 0];
  if (typeof c === 'string') {
    const m6 = /^#([0-9a-f]{6})$/i.exec(c);
    if (m6) {
      const v = parseInt(m6[1], 16);
      return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
    }
    const m3 = /^#([0-9a-f]{3})$/i.exec(c);
    if (m3) return [0, 1, 2].map((i) => parseInt(m3[1][i] + m3[1][i], 16)) as RGB;
  }
  throw invalidParameterError(name, "a colour '#rrggbb', '#rgb' or [r, g, b] (0..255)", c);
}

const mix = (a: RGB, b: RGB, t: number): RGB => [0, 1, 2].map((i) => Math.round(a[i] * (1 - t) + b[i] * t)) as RGB;
const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [0, 0, 0];
const GRID: RGB = [225, 225, 225];
const AXIS: RGB = [60, 60, 60];

/** An RGB raster with clipping. Coordinates: x right, y down, integer pixels. */
export class Canvas {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: RGB = WHITE) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < this.data.length; i += 3) {
      this.data[i] = background[0];
      this.data[i + 1] = background[1];
      this.data[i + 2] = background[2];
    }
  }
  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }
  fillRect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    const xa = Math.max(0, Math.round(x0)), xb = Math.min(this.width, Math.round(x0 + w));
    const ya = Math.max(0, Math.round(y0)), yb = Math.min(this.height, Math.round(y0 + h));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.set(x, y, c);
  }
  strokeRect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    this.line(x0, y0, x0 + w - 1, y0, c);
    this.line(x0, y0 + h - 1, x0 + w - 1, y0 + h - 1, c);
    this.line(x0, y0, x0, y0 + h - 1, c);
    this.line(x0 + w - 1, y0, x0 + w - 1, y0 + h - 1, c);
  }
  /** A straight line, clipped to `clip` (default: the canvas); thickness in pixels. */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1, clip?: Rect): void {
    const r = clip ?? { x: 0, y: 0, w: this.width, h: this.height };
    const cl = clipSegment(x0, y0, x1, y1, r.x, r.y, r.x + r.w - 1, r.y + r.h - 1);
    if (!cl) return;
    let [ax, ay, bx, by] = cl.map(Math.round);
    const dx = Math.abs(bx - ax), dy = -Math.abs(by - ay);
    const sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
    let err = dx + dy;
    const half = (thickness - 1) / 2;
    for (;;) {
      if (thickness <= 1) this.set(ax, ay, c);
      else this.fillRect(ax - half, ay - half, thickness, thickness, c);
      if (ax === bx && ay === by) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; ax += sx; }
      if (e2 <= dx) { err += dx; ay += sy; }
    }
  }
  /** A filled disc of radius r (r = 0: one pixel). */
  disc(cx: number, cy: number, r: number, c: RGB): void {
    cx = Math.round(cx);
    cy = Math.round(cy);
    const ri = Math.ceil(r);
    for (let y = -ri; y <= ri; y++) for (let x = -ri; x <= ri; x++) if (x * x + y * y <= r * r + r) this.set(cx + x, cy + y, c);
  }
  /** Text with its top-left corner at (x, y); `vertical` draws bottom-to-top (rotated 90° anticlockwise). */
  text(x: number, y: number, s: string, c: RGB, scale = 1, vertical = false): void {
    x = Math.round(x);
    y = Math.round(y);
    for (let k = 0; k < s.length; k++) {
      const g = glyph(s[k]);
      for (let gy = 0; gy < GLYPH_H; gy++) {
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (!g[gy * GLYPH_W + gx]) continue;
          const px = k * ADVANCE + gx;
          for (let a = 0; a < scale; a++) {
            for (let b = 0; b < scale; b++) {
              if (vertical) this.set(x + gy * scale + b, y - px * scale - a, c);
              else this.set(x + px * scale + a, y + gy * scale + b, c);
            }
          }
        }
      }
    }
  }
  toPng(): Buffer {
    return encodePng(this.data, this.width, this.height, 3);
  }
}

export interface Rect { x: number; y: number; w: number; h: number }

/** Liang-Barsky clipping of a segment to [xmin,xmax]x[ymin,ymax]; null if outside or not finite. */
function clipSegment(x0: number, y0: number, x1: number, y1: number, xmin: number, ymin: number, xmax: number, ymax: number): number[] | null {
  if (![x0, y0, x1, y1].every(Number.isFinite)) return null;
  const dx = x1 - x0, dy = y1 - y0;
  let t0 = 0, t1 = 1;
  const p = [-dx, dx, -dy, dy];
  const q = [x0 - xmin, xmax - x0, y0 - ymin, ymax - y0];
  for (let i = 0; i < 4; i++) {
    if (p[i] === 0) {
      if (q[i] < 0) return null;
    } else {
      const t = q[i] / p[i];
      if (p[i] < 0) { if (t > t1) return null; if (t > t0) t0 = t; }
      else { if (t < t0) return null; if (t < t1) t1 = t; }
    }
  }
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}

// ---- ticks and numbers

/** 'Nice' tick positions (steps 1, 2, 5 x 10^k) covering [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; step: number } {
  const span = hi - lo;
  const raw = span / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let i = first; i <= last && ticks.length < 100; i++) ticks.push(i * step);
  return { ticks, step };
}

/** A tick label: fixed decimals from the step, or exponent form (1.5e-5) for very large/small numbers. */
export function formatTick(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-6) return '0';
  const a = Math.max(Math.abs(v), step);
  if (a >= 1e6 || step < 1e-4) {
    const digits = Math.max(0, Math.min(6, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(step))));
    return v.toExponential(digits).replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(decimals, 10));
}

function finiteRange(arrays: ArrayLike<number>[]): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

function padRange([lo, hi]: [number, number], frac: number): [number, number] {
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * frac;
  return [lo - d, hi + d];
}

function checkRange(name: string, r: unknown): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !is.finite(r[0]) || !is.finite(r[1]) || !(r[1] > r[0])) {
    throw invalidParameterError(name, '[lo, hi] with finite lo < hi', r);
  }
  return [r[0], r[1]];
}

interface AxesSpec {
  width: number;
  height: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  xRange: [number, number];
  yRange: [number, number];
  /** Tick label for a y value (log axes print 10^v). */
  yFormat?: (v: number, step: number) => string;
  yTicks?: { ticks: number[]; step: number };
}

interface Axes {
  canvas: Canvas;
  plot: Rect;
  sx: (x: number) => number;
  sy: (y: number) => number;
}

/** Draws title, grid, axes, ticks and labels; returns the data-to-pixel transforms. */
function drawAxes(spec: AxesSpec): Axes {
  const { width, height } = spec;
  const canvas = new Canvas(width, height);
  const [x0, x1] = spec.xRange;
  const [y0, y1] = spec.yRange;
  const yt = spec.yTicks ?? niceTicks(y0, y1, Math.max(2, Math.round(height / 60)));
  const yfmt = spec.yFormat ?? formatTick;
  const yLabels = yt.ticks.map((v) => yfmt(v, yt.step));
  const maxYLabel = Math.max(0, ...yLabels.map((s) => textWidth(s)));
  const left = 8 + (spec.yLabel ? GLYPH_H + 8 : 0) + maxYLabel + 6;
  const top = spec.title ? 2 * GLYPH_H + 14 : 12;
  const bottom = 8 + GLYPH_H + 6 + (spec.xLabel ? GLYPH_H + 8 : 0);
  const right = 16;
  const plot: Rect = { x: left, y: top, w: Math.max(10, width - left - right), h: Math.max(10, height - top - bottom) };
  const sx = (x: number) => plot.x + ((x - x0) / (x1 - x0)) * (plot.w - 1);
  const sy = (y: number) => plot.y + plot.h - 1 - ((y - y0) / (y1 - y0)) * (plot.h - 1);

  const xt = niceTicks(x0, x1, Math.max(2, Math.round(plot.w / 90)));
  for (const v of xt.ticks) canvas.line(sx(v), plot.y, sx(v), plot.y + plot.h - 1, GRID);
  for (const v of yt.ticks) canvas.line(plot.x, sy(v), plot.x + plot.w - 1, sy(v), GRID);
  canvas.strokeRect(plot.x, plot.y, plot.w, plot.h, AXIS);
  for (const v of xt.ticks) {
    const px = Math.round(sx(v));
    canvas.line(px, plot.y + plot.h, px, plot.y + plot.h + 3, AXIS);
    const s = formatTick(v, xt.step);
    const tw = textWidth(s);
    const tx = Math.min(Math.max(px - tw / 2, 0), width - tw);
    canvas.text(tx, plot.y + plot.h + 6, s, BLACK);
  }
  yt.ticks.forEach((v, i) => {
    const py = Math.round(sy(v));
    canvas.line(plot.x - 4, py, plot.x - 1, py, AXIS);
    const s = yLabels[i];
    canvas.text(plot.x - 6 - textWidth(s), Math.min(Math.max(py - 3, 0), height - GLYPH_H), s, BLACK);
  });
  if (spec.title) {
    const tw = textWidth(spec.title, 2);
    canvas.text(Math.max(2, (width - tw) / 2), 6, spec.title, BLACK, 2);
  }
  if (spec.xLabel) {
    const tw = textWidth(spec.xLabel);
    canvas.text(plot.x + (plot.w - tw) / 2, height - GLYPH_H - 4, spec.xLabel, BLACK);
  }
  if (spec.yLabel) {
    const tw = textWidth(spec.yLabel);
    canvas.text(6, plot.y + (plot.h + tw) / 2, spec.yLabel, BLACK, 1, true);
  }
  return { canvas, plot, sx, sy };
}

function drawLegend(canvas: Canvas, plot: Rect, entries: { name: string; color: RGB; marker?: boolean }[]): void {
  if (entries.length === 0) return;
  const lineH = GLYPH_H + 5;
  const w = 8 + 16 + 4 + Math.max(...entries.map((e) => textWidth(e.name))) + 8;
  const h = entries.length * lineH + 6;
  const x = plot.x + plot.w - w - 6;
  const y = plot.y + 6;
  canvas.fillRect(x, y, w, h, WHITE);
  canvas.strokeRect(x, y, w, h, [160, 160, 160]);
  entries.forEach((e, i) => {
    const cy = y + 4 + i * lineH + Math.floor(GLYPH_H / 2);
    if (e.marker) canvas.disc(x + 16, cy, 2.5, e.color);
    else canvas.line(x + 8, cy, x + 24, cy, e.color, 2);
    canvas.text(x + 28, cy - 3, e.name, BLACK);
  });
}

function toNumbers(name: string, v: unknown): ArrayLike<number> {
  if (v instanceof Tensor) return tidy(() => v.detach().to('cpu', 'float64').contiguous().data() as Float64Array);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v;
  if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) return v;
  throw invalidParameterError(name, 'an array of numbers, a Float32Array/Float64Array or a 1-d Tensor', v);
}

function checkSize(name: string, v: unknown, min: number, max: number): number {
  if (!is.integer(v) || v < min || v > max) throw invalidParameterError(name, `an integer in [${min}, ${max}]`, v);
  return v;
}

// ---- line plots

export interface LineSeries {
  /** Legend entry (series without a name are not listed). */
  name?: string;
  /** y values; NaN/Infinity leave a gap. */
  values: ArrayLike<number> | Tensor;
  /** x values (default 0, 1, 2, ...), same length as values. */
  x?: ArrayLike<number>;
  color?: Color;
  /** Line thickness in pixels (default 1). */
  thickness?: number;
}

export interface LinePlotOptions {
  series: LineSeries[];
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range (default: the data's, padded 5%). */
  yRange?: [number, number];
  /** Fixed x range (default: the data's). */
  xRange?: [number, number];
  /** log10 y axis (non-positive values are skipped). */
  logY?: boolean;
  /**
   * Exponential moving average weight in [0, 1) as TensorBoard's smoothing: > 0 draws the raw
   * curve faintly and the smoothed one on top. Default 0.
   */
  smooth?: number;
}
const LINE_KEYS = ['series', 'width', 'height', 'title', 'xLabel', 'yLabel', 'yRange', 'xRange', 'logY', 'smooth'] as const;
const SERIES_KEYS = ['name', 'values', 'x', 'color', 'thickness'] as const;

function ema(values: ArrayLike<number>, w: number): Float64Array {
  const out = new Float64Array(values.length);
  let acc = NaN;
  let debias = 0;
  let raw = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) { out[i] = NaN; continue; }
    raw = w * raw + (1 - w) * v;
    debias = w * debias + (1 - w);
    acc = raw / debias;
    out[i] = acc;
  }
  return out;
}

/** Draws one polyline; with many more points than pixel columns, a per-column min/max envelope (M4). */
function drawSeries(ax: Axes, xs: ArrayLike<number> | null, ys: ArrayLike<number>, color: RGB, thickness: number): void {
  const { canvas, plot, sx, sy } = ax;
  const n = ys.length;
  const X = (i: number) => sx(xs ? xs[i] : i);
  if (n === 1) {
    if (Number.isFinite(ys[0])) canvas.disc(X(0), sy(ys[0]), 1.5, color);
    return;
  }
  if (n <= plot.w * 2) {
    for (let i = 1; i < n; i++) {
      if (Number.isFinite(ys[i - 1]) && Number.isFinite(ys[i])) canvas.line(X(i - 1), sy(ys[i - 1]), X(i), sy(ys[i]), color, thickness, plot);
      else if (Number.isFinite(ys[i]) && (i + 1 >= n || !Number.isFinite(ys[i + 1]))) canvas.set(X(i), sy(ys[i]), color);
    }
    return;
  }
  // bucket by pixel column
  let col = -Infinity;
  let mn = Infinity, mx = -Infinity, first = NaN, last = NaN;
  let prevLast = NaN, prevCol = NaN;
  const flush = () => {
    if (col === -Infinity || !Number.isFinite(first)) return;
    canvas.line(col, sy(mn), col, sy(mx), color, thickness, plot);
    if (Number.isFinite(prevLast)) canvas.line(prevCol, sy(prevLast), col, sy(first), color, thickness, plot);
    prevLast = last;
    prevCol = col;
  };
  for (let i = 0; i < n; i++) {
    const c = Math.round(X(i));
    const v = ys[i];
    if (c !== col) {
      flush();
      col = c;
      mn = Infinity; mx = -Infinity; first = NaN; last = NaN;
    }
    if (!Number.isFinite(v)) { flush(); prevLast = NaN; first = NaN; mn = Infinity; mx = -Infinity; continue; }
    if (!Number.isFinite(first)) first = v;
    last = v;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  flush();
}

/** A line plot (e.g. loss curves) as PNG bytes: axes, grid, numeric tick labels, title, legend. */
export function linePlotPng(options: LinePlotOptions): Buffer {
  return linePlotCanvas(options).toPng();
}

/** linePlotPng's raster, before encoding. */
export function linePlotCanvas(options: LinePlotOptions): Canvas {
  checkOptionKeys('linePlotPng()', options, LINE_KEYS);
  if (!Array.isArray(options.series) || options.series.length === 0) {
    throw invalidParameterError('linePlotPng() options.series', 'a non-empty array of {name, values, color}', options.series);
  }
  const width = checkSize('linePlotPng() options.width', options.width ?? 640, 64, 8192);
  const height = checkSize('linePlotPng() options.height', options.height ?? 400, 48, 8192);
  const smooth = options.smooth ?? 0;
  if (!is.number(smooth) || smooth < 0 || smooth >= 1) throw invalidParameterError('linePlotPng() options.smooth', 'a number in [0, 1)', smooth);
  const logY = options.logY ?? false;
  const series = options.series.map((s, k) => {
    const where = `linePlotPng() options.series[${k}]`;
    checkOptionKeys(where, s, SERIES_KEYS);
    let ys: ArrayLike<number> = toNumbers(`${where}.values`, s.values);
    const xs = s.x === undefined ? null : toNumbers(`${where}.x`, s.x);
    if (xs && xs.length !== ys.length) throw expectedError(`${where}.x`, `${ys.length} values (as many as values)`, `${xs.length}`);
    if (logY) ys = Float64Array.from(ys as ArrayLike<number>, (v) => (v > 0 ? Math.log10(v) : NaN));
    const color = parseColor(`${where}.color`, s.color ?? PALETTE[k % PALETTE.length]);
    const thickness = s.thickness ?? 1;
    if (!is.integer(thickness) || thickness < 1 || thickness > 8) throw invalidParameterError(`${where}.thickness`, 'an integer in [1, 8]', thickness);
    return { name: s.name, ys, xs, color, thickness, smoothed: smooth > 0 ? ema(ys, smooth) : null };
  });
  let yRange: [number, number];
  if (options.yRange !== undefined) {
    yRange = checkRange('linePlotPng() options.yRange', options.yRange);
    if (logY) {
      if (yRange[0] <= 0) throw invalidParameterError('linePlotPng() options.yRange', 'positive bounds with logY', options.yRange);
      yRange = [Math.log10(yRange[0]), Math.log10(yRange[1])];
    }
  } else {
    yRange = padRange(finiteRange(series.map((s) => s.ys)) ?? [0, 1], 0.05);
  }
  let xRange: [number, number];
  if (options.xRange !== undefined) xRange = checkRange('linePlotPng() options.xRange', options.xRange);
  else {
    const xr = finiteRange(series.map((s) => s.xs ?? [0, Math.max(0, s.ys.length - 1)]));
    xRange = xr ?? [0, 1];
    if (xRange[1] === xRange[0]) xRange = padRange(xRange, 0);
  }
  let yTicks: { ticks: number[]; step: number } | undefined;
  let yFormat: ((v: number, step: number) => string) | undefined;
  if (logY) {
    const span = yRange[1] - yRange[0];
    if (span >= 1.5) {
      const step = Math.max(1, Math.round(niceTicks(yRange[0], yRange[1], Math.max(2, Math.round(height / 60))).step));
      const ticks: number[] = [];
      for (let e = Math.ceil(yRange[0] / step) * step; e <= yRange[1] + 1e-9; e += step) ticks.push(e);
      yTicks = { ticks, step };
      yFormat = (v) => (v === 0 ? '1' : `1e${Math.round(v)}`);
    } else {
      yFormat = (v) => {
        const r = Math.pow(10, v);
        return r >= 1e5 || r < 1e-3 ? r.toExponential(1).replace('e+', 'e') : String(Number(r.toPrecision(2)));
      };
    }
  }
  const ax = drawAxes({ width, height, title: options.title, xLabel: options.xLabel, yLabel: options.yLabel, xRange, yRange, yTicks, yFormat });
  for (const s of series) {
    if (s.smoothed) {
      drawSeries(ax, s.xs, s.ys, mix(s.color, WHITE, 0.65), 1);
      drawSeries(ax, s.xs, s.smoothed, s.color, s.thickness);
    } else drawSeries(ax, s.xs, s.ys, s.color, s.thickness);
  }
  drawLegend(ax.canvas, ax.plot, series.filter((s) => s.name).map((s) => ({ name: s.name as string, color: s.color })));
  return ax.canvas;
}

/** linePlotPng written atomically to `file`. */
export function saveLinePlot(file: string, options: LinePlotOptions): void {
  writeFileAtomic(file, linePlotPng(options));
}

// ---- scatter plots

/** Points as [{x, y}], [[x, y]], an interleaved Float32Array/number[] (x0, y0, x1, y1, ...) or a Tensor (N, 2). */
export type Points = { x: number; y: number }[] | [number, number][] | Float32Array | Float64Array | number[] | Tensor;

export interface PointGroup {
  points: Points;
  color?: Color;
  /** Disc radius in pixels (0: single pixels). */
  radius?: number;
  name?: string;
}

export interface ScatterPlotOptions {
  /** The main points (e.g. generator samples). */
  points: Points;
  /** Colour of the main points (default tab:blue). */
  color?: Color;
  /** Radius of the main points (default 1). */
  radius?: number;
  /** Legend name for the main points. */
  name?: string;
  /** More point sets drawn on top, e.g. the true mode centres in another colour. */
  extra?: PointGroup[];
  width?: number;
  height?: number;
  title?: string;
  /**
   * Axis range: r (both axes [-r, r]), [lo, hi] (both axes) or {x: [lo, hi], y: [lo, hi]}.
   * Default: a shared range covering all points, padded 5%.
   */
  range?: number | [number, number] | { x: [number, number]; y: [number, number] };
  /**
   * A scalar field drawn as the background (e.g. the critic's output on a grid, as in the
   * WGAN-GP toy plots): values row-major, `size` x `size`, row 0 at the bottom (y = lo), column 0 at x = lo.
   */
  field?: { values: ArrayLike<number> | Tensor; size: number };
}
const SCATTER_KEYS = ['points', 'color', 'radius', 'name', 'extra', 'width', 'height', 'title', 'range', 'field'] as const;
const GROUP_KEYS = ['points', 'color', 'radius', 'name'] as const;

/** Interleaved x, y pairs from any accepted points form. */
export function pointsToXY(name: string, p: Points): Float64Array {
  if (p instanceof Tensor) {
    const s = p.shape;
    if (s.length !== 2 || s[1] !== 2) throw expectedError(name, 'a Tensor of shape (N, 2)', `shape [${s}]`);
    return tidy(() => p.detach().to('cpu', 'float64').contiguous().data() as Float64Array);
  }
  if (p instanceof Float32Array || p instanceof Float64Array) {
    if (p.length % 2 !== 0) throw expectedError(name, 'an even number of interleaved x, y values', `${p.length} values`);
    return Float64Array.from(p);
  }
  if (Array.isArray(p)) {
    if (p.length === 0) return new Float64Array(0);
    if (typeof p[0] === 'number') {
      if (p.length % 2 !== 0 || !p.every((v) => typeof v === 'number')) throw expectedError(name, 'an even number of interleaved x, y numbers', `${p.length} entries`);
      return Float64Array.from(p as number[]);
    }
    const out = new Float64Array(p.length * 2);
    (p as unknown[]).forEach((q, i) => {
      if (Array.isArray(q) && q.length === 2) { out[2 * i] = q[0]; out[2 * i + 1] = q[1]; }
      else if (q !== null && typeof q === 'object' && typeof (q as { x: unknown }).x === 'number' && typeof (q as { y: unknown }).y === 'number') {
        out[2 * i] = (q as { x: number }).x;
        out[2 * i + 1] = (q as { y: number }).y;
      } else throw invalidParameterError(`${name}[${i}]`, 'a point {x, y} or [x, y]', q);
    });
    return out;
  }
  throw invalidParameterError(name, 'points: [{x, y}], [[x, y]], interleaved numbers or a Tensor (N, 2)', p);
}

/** Diverging blue-white-red for t in [0, 1]. */
function diverging(t: number): RGB {
  const lo: RGB = [59, 76, 192], mid: RGB = [242, 242, 242], hi: RGB = [180, 4, 38];
  return t < 0.5 ? mix(lo, mid, t * 2) : mix(mid, hi, (t - 0.5) * 2);
}

/** A scatter plot (e.g. samples of a 2-D GAN against the true mode centres) as PNG bytes. */
export function scatterPlotPng(options: ScatterPlotOptions): Buffer {
  return scatterPlotCanvas(options).toPng();
}

/** scatterPlotPng's raster, before encoding. */
export function scatterPlotCanvas(options: ScatterPlotOptions): Canvas {
  checkOptionKeys('scatterPlotPng()', options, SCATTER_KEYS);
  const width = checkSize('scatterPlotPng() options.width', options.width ?? 400, 64, 8192);
  const height = checkSize('scatterPlotPng() options.height', options.height ?? 400, 48, 8192);
  const groups: { xy: Float64Array; color: RGB; radius: number; name?: string }[] = [];
  const mainR = options.radius ?? 1;
  if (!is.inRange(mainR, 0, 50)) throw invalidParameterError('scatterPlotPng() options.radius', 'a number in [0, 50]', mainR);
  groups.push({ xy: pointsToXY('scatterPlotPng() options.points', options.points), color: parseColor('scatterPlotPng() options.color', options.color ?? PALETTE[0]), radius: mainR, name: options.name });
  if (options.extra !== undefined) {
    if (!Array.isArray(options.extra)) throw invalidParameterError('scatterPlotPng() options.extra', 'an array of {points, color, radius, name}', options.extra);
    options.extra.forEach((g, k) => {
      const where = `scatterPlotPng() options.extra[${k}]`;
      checkOptionKeys(where, g, GROUP_KEYS);
      const r = g.radius ?? 3;
      if (!is.inRange(r, 0, 50)) throw invalidParameterError(`${where}.radius`, 'a number in [0, 50]', r);
      groups.push({ xy: pointsToXY(`${where}.points`, g.points), color: parseColor(`${where}.color`, g.color ?? PALETTE[(k + 1) % PALETTE.length]), radius: r, name: g.name });
    });
  }
  let xRange: [number, number];
  let yRange: [number, number];
  const r = options.range;
  if (r === undefined) {
    const all = finiteRange(groups.map((g) => g.xy)) ?? [-1, 1];
    xRange = yRange = padRange(all, 0.05);
  } else if (typeof r === 'number') {
    if (!is.finite(r) || r <= 0) throw invalidParameterError('scatterPlotPng() options.range', 'a positive number, [lo, hi] or {x, y}', r);
    xRange = yRange = [-r, r];
  } else if (Array.isArray(r)) {
    xRange = yRange = checkRange('scatterPlotPng() options.range', r);
  } else if (is.plainObject(r)) {
    xRange = checkRange('scatterPlotPng() options.range.x', r.x);
    yRange = checkRange('scatterPlotPng() options.range.y', r.y);
  } else throw invalidParameterError('scatterPlotPng() options.range', 'a positive number, [lo, hi] or {x: [lo, hi], y: [lo, hi]}', r);

  const ax = drawAxes({ width, height, title: options.title, xRange, yRange });
  const { canvas, plot, sx, sy } = ax;
  if (options.field !== undefined) {
    const f = options.field;
    if (!is.plainObject(f) || !is.positiveInteger(f.size)) throw invalidParameterError('scatterPlotPng() options.field', '{values, size} with a positive integer size', f);
    const vals = toNumbers('scatterPlotPng() options.field.values', f.values);
    if (vals.length !== f.size * f.size) throw expectedError('scatterPlotPng() options.field.values', `${f.size * f.size} values (size x size)`, `${vals.length}`);
    const fr = finiteRange([vals]) ?? [0, 1];
    const span = fr[1] - fr[0] || 1;
    for (let py = plot.y + 1; py < plot.y + plot.h - 1; py++) {
      const fy = Math.min(f.size - 1, Math.max(0, Math.floor(((plot.y + plot.h - 1 - py) / plot.h) * f.size)));
      for (let px = plot.x + 1; px < plot.x + plot.w - 1; px++) {
        const fx = Math.min(f.size - 1, Math.max(0, Math.floor(((px - plot.x) / plot.w) * f.size)));
        const v = vals[fy * f.size + fx];
        if (Number.isFinite(v)) canvas.set(px, py, mix(diverging((v - fr[0]) / span), WHITE, 0.35));
      }
    }
  }
  for (const g of groups) {
    for (let i = 0; i < g.xy.length; i += 2) {
      const x = g.xy[i], y = g.xy[i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const px = sx(x), py = sy(y);
      if (px < plot.x || px > plot.x + plot.w - 1 || py < plot.y || py > plot.y + plot.h - 1) continue;
      canvas.disc(px, py, g.radius, g.color);
    }
  }
  drawLegend(canvas, plot, groups.filter((g) => g.name).map((g) => ({ name: g.name as string, color: g.color, marker: true })));
  return canvas;
}

/** scatterPlotPng written atomically to `file`. */
export function saveScatterPlot(file: string, options: ScatterPlotOptions): void {
  writeFileAtomic(file, scatterPlotPng(options));
}
