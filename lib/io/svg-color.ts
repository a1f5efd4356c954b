// Colours of the SVG plots: the accepted forms checked and parsed once to [r, g, b], so that the
// SVG attributes and the raster of a scatter plot's field are made from the same numbers.
import { invalidParameterError, is } from '../errors';

/** '#rrggbb', '#rgb' or [r, g, b] with 0..255 components. */
export type Color = string | [number, number, number];
export type RGB = [number, number, number];

/** matplotlib's tab10 */
export const PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

// Named colours are refused on purpose: the SVG would take them, a raster of the field could not.
export function parseColor(name: string, c: Color): RGB {
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

export const hex = (c: RGB): string => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
export const mix = (a: RGB, b: RGB, t: number): RGB => [0, 1, 2].map((i) => Math.round(a[i] * (1 - t) + b[i] * t)) as RGB;
export const WHITE: RGB = [255, 255, 255];
