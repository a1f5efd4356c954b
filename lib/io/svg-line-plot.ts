// Line plots (loss curves: several series, optional x values, a log y axis, TensorBoard's EMA
// smoothing) as SVG documents.
import type { Tensor } from '../tensor';
import { checkOptionKeys, expectedError, invalidParameterError, is } from '../errors';
import type { Color, RGB } from './svg-color';
import { PALETTE, WHITE, hex, mix, parseColor } from './svg-color';
import { num, svgDocument } from './svg-text';
import { checkRange, checkSize, checkText, toNumbers } from './svg-plot-input';
import type { Axes } from './svg-axes';
import { finiteRange, layout, legend, niceTicks, padRange } from './svg-axes';

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
