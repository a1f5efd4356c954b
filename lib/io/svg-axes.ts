// The axes of a plot: data ranges, 'nice' ticks and their labels, the layout of the plot area with
// its grid, tick labels, title, axis labels and frame, and the legend drawn inside it.
import type { RGB } from './svg-color';
import { hex } from './svg-color';
import { FONT, TITLE_FONT, escapeXml, num, textWidth } from './svg-text';

const GRID = '#e1e1e1';
const AXIS = '#3c3c3c';

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

export function finiteRange(arrays: ArrayLike<number>[]): [number, number] | null {
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

export function padRange([lo, hi]: [number, number], frac: number): [number, number] {
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * frac;
  return [lo - d, hi + d];
}

export interface AxesSpec {
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
export interface PlotArea {
  x: number;
  y: number;
  w: number;
  h: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
}

export interface Axes extends PlotArea {
  /** Background, grid, ticks, labels: drawn under the data. */
  under: string[];
  /** The frame: drawn over the data. */
  over: string[];
  /** The id of the clip path of the plot area (defined in `under`). */
  clip: string;
}

export function layout(spec: AxesSpec): Axes {
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

export function legend(area: PlotArea, entries: { name: string; color: RGB; marker?: boolean }[]): string {
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
