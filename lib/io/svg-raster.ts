// An SVG plot rasterised to PNG by resvg (a maintained renderer, loaded on first use), and the
// save helpers that write a plot atomically as .svg or as its .png raster.
import type * as ResvgJs from '@resvg/resvg-js';
import { invalidParameterError } from '../errors';
import { writeFileAtomic } from './atomic';
import type { LinePlotOptions } from './svg-line-plot';
import { linePlotSvg } from './svg-line-plot';
import type { ScatterPlotOptions } from './svg-scatter-plot';
import { scatterPlotSvg } from './svg-scatter-plot';

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
