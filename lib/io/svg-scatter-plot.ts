// Scatter plots (2-D toy distributions: point sets over an optional scalar-field background such as
// a critic's output on a grid) as SVG documents.
import { Tensor, tidy } from '../tensor';
import { checkOptionKeys, expectedError, invalidParameterError, is } from '../errors';
import { encodePng } from './png';
import type { Color, RGB } from './svg-color';
import { PALETTE, WHITE, hex, mix, parseColor } from './svg-color';
import { num, svgDocument } from './svg-text';
import { checkRange, checkSize, checkText, toNumbers } from './svg-plot-input';
import { finiteRange, layout, legend, padRange } from './svg-axes';

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
