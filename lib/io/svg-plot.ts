// Plots as SVG: line plots (loss curves: several series, optional x values, EMA smoothing) and
// scatter plots (2-D toy distributions over an optional critic-field background). SVG because a
// browser opens it, a page embeds it, its text stays text (no font of ours) and a test can read
// the drawn coordinates back. Where a PNG is needed (a toy run's sample frames, which latest.png
// and the progress GIF are made of), svgToPng rasterises the same SVG with resvg, a maintained
// renderer: one way to draw, two encodings.
import type * as ResvgJs from '@resvg/resvg-js';
import { Tensor, tidy } from '../tensor';
import { checkOptionKeys, expectedError, invalidParameterError, is } from '../errors';
import { encodePng } from './png';
import { writeFileAtomic } from './atomic';

/** '#rrggbb', '#rgb' or [r, g, b] with 0..255 components. */
export type Color = string | [number, number, number];
type RGB = [number, number, number];

/** matplotlib's tab10 */
export const PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

// Named colours are refused on purpose: the SVG would take them, a raster of the field could not.
function parseColor(name: string, c: Color): RGB {
  if (Array.isArray(c) && c.length === 3 && c.every((v) => is.inRange(v, 0, 255))) return [Math.round(c[0]), Math.round(c[1]), Math.round(c[2])];
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

const hex = (c: RGB): string => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
const mix = (a: RGB, b: RGB, t: number): RGB => [0, 1, 2].map((i) => Math.round(a[i] * (1 - t) + b[i] * t)) as RGB;
const WHITE: RGB = [255, 255, 255];
const GRID = '#e1e1e1';
const AXIS = '#3c3c3c';

// ---- SVG text

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// C0 controls other than tab/newline/CR, U+FFFE/U+FFFF and unpaired surrogates: XML 1.0 cannot hold them
// even as character references, and one of them makes the whole file unreadable to a browser.
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A string as SVG text or attribute value: & < > " ' as entities, characters XML cannot hold as U+FFFD. */
export function escapeXml(s: string): string {
  return s.replace(NOT_XML, '\ufffd').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A coordinate with 2 decimals: a hundredth of a pixel is below what any renderer shows, and keeps files small. */
const num = (v: number): string => String(Math.round(v * 100) / 100);

function checkText(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidParameterError(name, 'a string', v);
  return v;
}

// Font sizes and the width a label takes, for the layout only (the renderer measures the real glyphs):
// 0.6 em per character is about DejaVu Sans's and Arial's average advance.
const FONT = 12;
const TITLE_FONT = 15;
const FONT_FAMILY = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
const textWidth = (s: string, size = FONT): number => s.length * size * 0.6;

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

function toNumbers(name: string, v: unknown): ArrayLike<number> {
  if (v instanceof Tensor) {
    if (v.shape.length !== 1) throw invalidParameterError(name, 'a 1-d Tensor', v);
    return tidy(() => v.detach().to('cpu', 'float64').contiguous().data() as Float64Array);
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v;
  if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) return v;
  throw invalidParameterError(name, 'an array of numbers, a Float32Array/Float64Array or a 1-d Tensor', v);
}

function checkSize(name: string, v: unknown, min: number, max: number): number {
  if (!is.integer(v) || v < min || v > max) throw invalidParameterError(name, `an integer in [${min}, ${max}]`, v);
  return v;
}

// ---- axes

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

/** The plot area in pixels and the data-to-pixel maps (y up in data, down in SVG). */
interface PlotArea {
  x: number;
  y: number;
  w: number;
  h: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
}

interface Axes extends PlotArea {
  /** Background, grid, ticks, labels: drawn under the data. */
  under: string[];
  /** The frame: drawn over the data. */
  over: string[];
  /** The id of the clip path of the plot area (defined in `under`). */
  clip: string;
}

function layout(spec: AxesSpec): Axes {
  const { width, height } = spec;
  const [x0, x1] = spec.xRange;
  const [y0, y1] = spec.yRange;
  const yt = spec.yTicks ?? niceTicks(y0, y1, Math.max(2, Math.round(height / 60)));
  const yfmt = spec.yFormat ?? formatTick;
  const yLabels = yt.ticks.map((v) => yfmt(v, yt.step));
  const left = Math.round(8 + (spec.yLabel ? FONT + 8 : 0) + Math.max(0, ...yLabels.map((s) => textWidth(s))) + 8);
  const top = spec.title ? TITLE_FONT + 16 : 12;
  const bottom = 10 + FONT + 6 + (spec.xLabel ? FONT + 8 : 0);
  const right = 16;
  const w = Math.max(10, width - left - right), h = Math.max(10, height - top - bottom);
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * w;
  const sy = (y: number) => top + h - ((y - y0) / (y1 - y0)) * h;
  // The id names the geometry: two plots inlined in one page then share an id only when their
  // clip rectangles are the same, so neither clips the other's data wrongly.
  const clip = `tg-plot-${left}-${top}-${w}-${h}`;
  const xt = niceTicks(x0, x1, Math.max(2, Math.round(w / 90)));

  const under: string[] = [];
  under.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  under.push(`<defs><clipPath id="${clip}"><rect x="${left}" y="${top}" width="${w}" height="${h}"/></clipPath></defs>`);
  const grid = [
    ...xt.ticks.map((v) => `M${num(sx(v))} ${top}V${top + h}`),
    ...yt.ticks.map((v) => `M${left} ${num(sy(v))}H${left + w}`),
  ];
  if (grid.length) under.push(`<path class="grid" d="${grid.join('')}" stroke="${GRID}" stroke-width="1" fill="none"/>`);
  const ticks = [
    ...xt.ticks.map((v) => `M${num(sx(v))} ${top + h}v4`),
    ...yt.ticks.map((v) => `M${left} ${num(sy(v))}h-4`),
  ];
  if (ticks.length) under.push(`<path class="ticks" d="${ticks.join('')}" stroke="${AXIS}" stroke-width="1" fill="none"/>`);
  const labels: string[] = [];
  for (const v of xt.ticks) labels.push(`<text x="${num(sx(v))}" y="${top + h + 6 + FONT}" text-anchor="middle">${escapeXml(formatTick(v, xt.step))}</text>`);
  yt.ticks.forEach((v, i) => labels.push(`<text x="${left - 7}" y="${num(sy(v) + FONT * 0.35)}" text-anchor="end">${escapeXml(yLabels[i])}</text>`));
  under.push(`<g class="tick-labels" fill="#000000">${labels.join('')}</g>`);
  if (spec.title) under.push(`<text class="title" x="${num(width / 2)}" y="${6 + TITLE_FONT}" font-size="${TITLE_FONT}" text-anchor="middle">${escapeXml(spec.title)}</text>`);
  if (spec.xLabel) under.push(`<text class="x-label" x="${num(left + w / 2)}" y="${height - 6}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  if (spec.yLabel) {
    const cx = 8 + FONT, cy = num(top + h / 2);
    under.push(`<text class="y-label" x="${cx}" y="${cy}" transform="rotate(-90 ${cx} ${cy})" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  }
  const over = [`<rect class="frame" x="${left}" y="${top}" width="${w}" height="${h}" fill="none" stroke="${AXIS}" stroke-width="1"/>`];
  return { x: left, y: top, w, h, sx, sy, under, over, clip };
}

function legend(area: PlotArea, entries: { name: string; color: RGB; marker?: boolean }[]): string {
  if (entries.length === 0) return '';
  const lineH = FONT + 6;
  const w = Math.round(8 + 18 + 6 + Math.max(...entries.map((e) => textWidth(e.name))) + 8);
  const h = entries.length * lineH + 8;
  const x = area.x + area.w - w - 6;
  const y = area.y + 6;
  const rows = entries.map((e, i) => {
    const cy = y + 4 + i * lineH + lineH / 2;
    const key = e.marker
      ? `<circle cx="${x + 17}" cy="${num(cy)}" r="3" fill="${hex(e.color)}"/>`
      : `<path d="M${x + 8} ${num(cy)}h18" stroke="${hex(e.color)}" stroke-width="2"/>`;
    return `${key}<text x="${x + 32}" y="${num(cy + FONT * 0.35)}">${escapeXml(e.name)}</text>`;
  });
  return `<g class="legend"><rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#ffffff" fill-opacity="0.9" stroke="#a0a0a0"/>${rows.join('')}</g>`;
}

function svgDocument(width: number, height: number, title: string | undefined, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" font-size="${FONT}">`,
    ...(title ? [`<title>${escapeXml(title)}</title>`] : []),
    ...body.filter(Boolean),
    '</svg>',
    '',
  ].join('\n');
}

// ---- line plots

export interface LineSeries {
  /** Legend entry (series without a name are not listed). */
  name?: string;
  /** y values; NaN/Infinity leave a gap. */
  values: ArrayLike<number> | Tensor;
  /** x values (default 0, 1, 2, ...), as many as values. */
  x?: ArrayLike<number> | Tensor;
  color?: Color;
  /** Line width in pixels (default 1.5). */
  thickness?: number;
}

export interface LinePlotOptions {
  series: LineSeries[];
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range (default: the data's, padded 5%); values outside are clipped. */
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

/** TensorBoard's smoothing: an EMA debiased for its start (so the first value is itself); non-finite values stay gaps. */
export function emaSmooth(values: ArrayLike<number>, weight: number): Float64Array {
  const out = new Float64Array(values.length);
  let raw = 0;
  let debias = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) { out[i] = NaN; continue; }
    raw = weight * raw + (1 - weight) * v;
    debias = weight * debias + (1 - weight);
    out[i] = raw / debias;
  }
  return out;
}

/**
 * The indices drawn of one run of finite points. With many more points than pixel columns a
 * polyline of all of them only makes the file big: per column the first, lowest, highest and
 * last point (M4) draw the same picture.
 */
function decimate(run: number[], px: (i: number) => number, ys: ArrayLike<number>, columns: number): number[] {
  if (run.length <= 4 * columns) return run;
  const keep: number[] = [];
  let k = 0;
  while (k < run.length) {
    const col = Math.floor(px(run[k]));
    let j = k, lo = run[k], hi = run[k];
    while (j < run.length && Math.floor(px(run[j])) === col) {
      if (ys[run[j]] < ys[lo]) lo = run[j];
      if (ys[run[j]] > ys[hi]) hi = run[j];
      j++;
    }
    keep.push(...[...new Set([run[k], lo, hi, run[j - 1]])].sort((a, b) => a - b));
    k = j;
  }
  return keep;
}

/** One series as polylines (one per run of finite points) and circles (for runs of one point). */
function seriesSvg(ax: Axes, k: number, kind: string, xs: ArrayLike<number> | null, ys: ArrayLike<number>, color: RGB, width: number): string {
  const X = (i: number) => ax.sx(xs ? xs[i] : i);
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 1) {
      const i = run[0];
      out.push(`<circle cx="${num(X(i))}" cy="${num(ax.sy(ys[i]))}" r="${num(Math.max(1.5, width))}" fill="${hex(color)}"/>`);
    } else if (run.length > 1) {
      const pts = decimate(run, X, ys, ax.w).map((i) => `${num(X(i))},${num(ax.sy(ys[i]))}`);
      out.push(`<polyline points="${pts.join(' ')}"/>`);
    }
    run = [];
  };
  for (let i = 0; i < ys.length; i++) {
    if (Number.isFinite(ys[i]) && (!xs || Number.isFinite(xs[i]))) run.push(i);
    else flush();
  }
  flush();
  return `<g class="series" data-series="${k}" data-kind="${kind}" fill="none" stroke="${hex(color)}" stroke-width="${num(width)}" stroke-linejoin="round" stroke-linecap="round">${out.join('')}</g>`;
}

interface CheckedSeries { name?: string; xs: ArrayLike<number> | null; ys: ArrayLike<number>; color: RGB; thickness: number; smoothed: Float64Array | null }

/** A line plot's options checked, and its axes laid out. */
function linePlotParts(options: LinePlotOptions): { ax: Axes; series: CheckedSeries[]; width: number; height: number; title?: string } {
  checkOptionKeys('linePlotSvg()', options, LINE_KEYS);
  if (!is.plainObject(options) || !Array.isArray(options.series) || options.series.length === 0) {
    throw invalidParameterError('linePlotSvg() options.series', 'a non-empty array of {name, values, x, color}', options?.series);
  }
  const width = checkSize('linePlotSvg() options.width', options.width ?? 640, 64, 8192);
  const height = checkSize('linePlotSvg() options.height', options.height ?? 400, 48, 8192);
  const title = checkText('linePlotSvg() options.title', options.title);
  const xLabel = checkText('linePlotSvg() options.xLabel', options.xLabel);
  const yLabel = checkText('linePlotSvg() options.yLabel', options.yLabel);
  const smooth = options.smooth ?? 0;
  if (!is.number(smooth) || smooth < 0 || smooth >= 1) throw invalidParameterError('linePlotSvg() options.smooth', 'a number in [0, 1)', smooth);
  const logY = options.logY ?? false;
  if (!is.bool(logY)) throw invalidParameterError('linePlotSvg() options.logY', 'a boolean', logY);
  const series = options.series.map((s, k): CheckedSeries => {
    const where = `linePlotSvg() options.series[${k}]`;
    if (!is.plainObject(s)) throw invalidParameterError(where, 'a series {name, values, x, color, thickness}', s);
    checkOptionKeys(where, s, SERIES_KEYS);
    let ys: ArrayLike<number> = toNumbers(`${where}.values`, s.values);
    const xs = s.x === undefined ? null : toNumbers(`${where}.x`, s.x);
    if (xs && xs.length !== ys.length) throw expectedError(`${where}.x`, `${ys.length} values (as many as values)`, `${xs.length}`);
    if (logY) ys = Float64Array.from(ys, (v) => (v > 0 ? Math.log10(v) : NaN));
    const name = checkText(`${where}.name`, s.name);
    const color = parseColor(`${where}.color`, s.color ?? PALETTE[k % PALETTE.length]);
    const thickness = s.thickness ?? 1.5;
    if (!is.inRange(thickness, 0.25, 8)) throw invalidParameterError(`${where}.thickness`, 'a number in [0.25, 8]', thickness);
    return { name, ys, xs, color, thickness, smoothed: smooth > 0 ? emaSmooth(ys, smooth) : null };
  });
  let yRange: [number, number];
  if (options.yRange !== undefined) {
    yRange = checkRange('linePlotSvg() options.yRange', options.yRange);
    if (logY) {
      if (yRange[0] <= 0) throw invalidParameterError('linePlotSvg() options.yRange', 'positive bounds with logY', options.yRange);
      yRange = [Math.log10(yRange[0]), Math.log10(yRange[1])];
    }
  } else {
    yRange = padRange(finiteRange(series.map((s) => s.ys)) ?? [0, 1], 0.05);
  }
  let xRange: [number, number];
  if (options.xRange !== undefined) xRange = checkRange('linePlotSvg() options.xRange', options.xRange);
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
      // whole decades: 1e-3, 1e-2, ...
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
  const ax = layout({ width, height, title, xLabel, yLabel, xRange, yRange, yTicks, yFormat });
  return { ax, series, width, height, title };
}

/**
 * A line plot (e.g. loss curves) as an SVG document: axes, grid, tick labels, title, legend.
 * Each series is a `<g class="series" data-series="k" data-kind="line|raw|smoothed">` of polylines.
 */
export function linePlotSvg(options: LinePlotOptions): string {
  const { ax, series, width, height, title } = linePlotParts(options);
  const data = series.map((s, k) => s.smoothed
    ? seriesSvg(ax, k, 'raw', s.xs, s.ys, mix(s.color, WHITE, 0.65), 1) + seriesSvg(ax, k, 'smoothed', s.xs, s.smoothed, s.color, s.thickness)
    : seriesSvg(ax, k, 'line', s.xs, s.ys, s.color, s.thickness));
  return svgDocument(width, height, title, [
    ...ax.under,
    `<g clip-path="url(#${ax.clip})">${data.join('')}</g>`,
    ...ax.over,
    legend(ax, series.filter((s) => s.name).map((s) => ({ name: s.name as string, color: s.color }))),
  ]);
}

// ---- scatter plots

/** Points as [{x, y}], [[x, y]], an interleaved Float32Array/number[] (x0, y0, x1, y1, ...) or a Tensor (N, 2). */
export type Points = { x: number; y: number }[] | [number, number][] | Float32Array | Float64Array | number[] | Tensor;

export interface PointGroup {
  points: Points;
  color?: Color;
  /** Disc radius in pixels (default 3). */
  radius?: number;
  name?: string;
}

export interface ScatterPlotOptions {
  /** The main points (e.g. generator samples). */
  points: Points;
  /** Colour of the main points (default tab:blue). */
  color?: Color;
  /** Radius of the main points in pixels (default 1). */
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
      if (Array.isArray(q) && q.length === 2 && typeof q[0] === 'number' && typeof q[1] === 'number') { out[2 * i] = q[0]; out[2 * i + 1] = q[1]; }
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

/**
 * The field as a size x size PNG (row 0 at the top, so the field's row 0 is flipped to the bottom)
 * for an <image> stretched over the plot area: one small embedded raster instead of size² rects.
 */
function fieldPng(vals: ArrayLike<number>, size: number): Buffer {
  const fr = finiteRange([vals]) ?? [0, 1];
  const span = fr[1] - fr[0] || 1;
  const px = new Uint8Array(size * size * 3).fill(255);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const v = vals[row * size + col];
      if (!Number.isFinite(v)) continue;
      const c = mix(diverging((v - fr[0]) / span), WHITE, 0.35);
      px.set(c, ((size - 1 - row) * size + col) * 3);
    }
  }
  return encodePng(px, size, size, 3);
}

/**
 * A scatter plot (e.g. samples of a 2-D GAN against the true mode centres) as an SVG document.
 * Each point set is a `<g class="points" data-group="k">` of circles (k = 0: `points`, then `extra`);
 * points outside the range are left out.
 */
export function scatterPlotSvg(options: ScatterPlotOptions): string {
  checkOptionKeys('scatterPlotSvg()', options, SCATTER_KEYS);
  if (!is.plainObject(options)) throw invalidParameterError('scatterPlotSvg() options', 'an object {points, ...}', options);
  const width = checkSize('scatterPlotSvg() options.width', options.width ?? 400, 64, 8192);
  const height = checkSize('scatterPlotSvg() options.height', options.height ?? 400, 48, 8192);
  const title = checkText('scatterPlotSvg() options.title', options.title);
  const groups: { xy: Float64Array; color: RGB; radius: number; name?: string }[] = [];
  const mainR = options.radius ?? 1;
  if (!is.inRange(mainR, 0.25, 50)) throw invalidParameterError('scatterPlotSvg() options.radius', 'a number in [0.25, 50]', mainR);
  groups.push({
    xy: pointsToXY('scatterPlotSvg() options.points', options.points),
    color: parseColor('scatterPlotSvg() options.color', options.color ?? PALETTE[0]),
    radius: mainR,
    name: checkText('scatterPlotSvg() options.name', options.name),
  });
  if (options.extra !== undefined) {
    if (!Array.isArray(options.extra)) throw invalidParameterError('scatterPlotSvg() options.extra', 'an array of {points, color, radius, name}', options.extra);
    options.extra.forEach((g, k) => {
      const where = `scatterPlotSvg() options.extra[${k}]`;
      if (!is.plainObject(g)) throw invalidParameterError(where, 'a point set {points, color, radius, name}', g);
      checkOptionKeys(where, g, GROUP_KEYS);
      const r = g.radius ?? 3;
      if (!is.inRange(r, 0.25, 50)) throw invalidParameterError(`${where}.radius`, 'a number in [0.25, 50]', r);
      groups.push({
        xy: pointsToXY(`${where}.points`, g.points),
        color: parseColor(`${where}.color`, g.color ?? PALETTE[(k + 1) % PALETTE.length]),
        radius: r,
        name: checkText(`${where}.name`, g.name),
      });
    });
  }
  let xRange: [number, number];
  let yRange: [number, number];
  const r = options.range;
  if (r === undefined) {
    const all = finiteRange(groups.map((g) => g.xy)) ?? [-1, 1];
    xRange = yRange = padRange(all, 0.05);
  } else if (typeof r === 'number') {
    if (!is.finite(r) || r <= 0) throw invalidParameterError('scatterPlotSvg() options.range', 'a positive number, [lo, hi] or {x, y}', r);
    xRange = yRange = [-r, r];
  } else if (Array.isArray(r)) {
    xRange = yRange = checkRange('scatterPlotSvg() options.range', r);
  } else if (is.plainObject(r)) {
    xRange = checkRange('scatterPlotSvg() options.range.x', r.x);
    yRange = checkRange('scatterPlotSvg() options.range.y', r.y);
  } else throw invalidParameterError('scatterPlotSvg() options.range', 'a positive number, [lo, hi] or {x: [lo, hi], y: [lo, hi]}', r);

  const ax = layout({ width, height, title, xRange, yRange });
  const body: string[] = [...ax.under];
  if (options.field !== undefined) {
    const f = options.field;
    if (!is.plainObject(f) || !is.positiveInteger(f.size) || f.size > 4096) throw invalidParameterError('scatterPlotSvg() options.field', '{values, size} with an integer size in [1, 4096]', f);
    const vals = toNumbers('scatterPlotSvg() options.field.values', f.values);
    if (vals.length !== f.size * f.size) throw expectedError('scatterPlotSvg() options.field.values', `${f.size * f.size} values (size x size)`, `${vals.length}`);
    // optimizeSpeed: the cells stay cells, as in the old raster (resvg and browsers read the attribute;
    // a style="image-rendering:pixelated" beside it would override it in resvg, which lacks that value)
    body.push(`<image class="field" x="${ax.x}" y="${ax.y}" width="${ax.w}" height="${ax.h}" preserveAspectRatio="none" image-rendering="optimizeSpeed" href="data:image/png;base64,${fieldPng(vals, f.size).toString('base64')}"/>`);
  }
  const [xa, xb] = xRange, [ya, yb] = yRange;
  groups.forEach((g, k) => {
    const dots: string[] = [];
    for (let i = 0; i < g.xy.length; i += 2) {
      const x = g.xy[i], y = g.xy[i + 1];
      if (!(x >= xa && x <= xb && y >= ya && y <= yb)) continue; // also drops NaN
      dots.push(`<circle cx="${num(ax.sx(x))}" cy="${num(ax.sy(y))}" r="${num(g.radius)}"/>`);
    }
    body.push(`<g class="points" data-group="${k}" fill="${hex(g.color)}">${dots.join('')}</g>`);
  });
  body.push(...ax.over);
  body.push(legend(ax, groups.filter((g) => g.name).map((g) => ({ name: g.name as string, color: g.color, marker: true }))));
  return svgDocument(width, height, title, body);
}

// ---- rasterising and files

let resvg: typeof ResvgJs | undefined;
function loadResvg(): typeof ResvgJs {
  if (resvg) return resvg;
  try {
    // on first use: importing the library does not need the renderer's native binary
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    resvg = require('@resvg/resvg-js') as typeof ResvgJs;
    return resvg;
  } catch (e) {
    throw new Error(`svgToPng(): the SVG renderer @resvg/resvg-js (a dependency of torch-gan, with a prebuilt binary per platform) did not load: ${(e as Error).message}. ` +
      'Reinstall dependencies (npm install), or write the plot as .svg, which needs no renderer', { cause: e });
  }
}

/**
 * An SVG document rasterised to PNG bytes by resvg, at the SVG's own size. Text needs a system
 * font (DejaVu Sans or any sans-serif); without one the labels are missing from the PNG only.
 */
export function svgToPng(svg: string): Buffer {
  if (typeof svg !== 'string' || !svg.includes('<svg')) throw invalidParameterError('svgToPng() svg', 'an SVG document (a string with an <svg> element)', svg);
  const { Resvg } = loadResvg();
  let png: Buffer;
  try {
    png = new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, logLevel: 'off' }).render().asPng();
  } catch (e) {
    throw new Error(`svgToPng(): resvg could not render the SVG: ${(e as Error).message}`, { cause: e });
  }
  return png;
}

/** The bytes to write for `file`: the SVG text for .svg, its PNG raster for .png. */
function encodeFor(where: string, file: string, svg: () => string): Buffer | string {
  if (typeof file !== 'string') throw invalidParameterError(`${where} file`, 'a path ending in .svg or .png', file);
  if (/\.svg$/i.test(file)) return svg();
  if (/\.png$/i.test(file)) return svgToPng(svg());
  throw invalidParameterError(`${where} file`, 'a path ending in .svg (the plot) or .png (its raster)', file);
}

/** linePlotSvg written atomically to `file`: .svg as is, .png rasterised. */
export function saveLinePlot(file: string, options: LinePlotOptions): void {
  writeFileAtomic(file, encodeFor('saveLinePlot()', file, () => linePlotSvg(options)));
}

/** scatterPlotSvg written atomically to `file`: .svg as is, .png rasterised. */
export function saveScatterPlot(file: string, options: ScatterPlotOptions): void {
  writeFileAtomic(file, encodeFor('saveScatterPlot()', file, () => scatterPlotSvg(options)));
}
