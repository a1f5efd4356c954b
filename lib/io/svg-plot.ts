// Plots as SVG: line plots (loss curves: several series, optional x values, EMA smoothing) and
// scatter plots (2-D toy distributions over an optional critic-field background). SVG because a
// browser opens it, a page embeds it, its text stays text (no font of ours) and a test can read
// the drawn coordinates back. Where a PNG is needed (a toy run's sample frames, which latest.png
// and the progress GIF are made of), svgToPng rasterises the same SVG with resvg, a maintained
// renderer: one way to draw, two encodings.
//
// This file is the public entry point only; each concern lives in its own file:
//   svg-color.ts (colours, palette), svg-text.ts (XML escaping, fonts, the <svg> document),
//   svg-plot-input.ts (option checks), svg-axes.ts (ranges, ticks, layout, frame, legend),
//   svg-line-plot.ts, svg-scatter-plot.ts, svg-raster.ts (svgToPng and the save helpers).
// Named, not `export *`: the helpers the files share among themselves stay out of the public API.
export type { Color } from './svg-color';
export type { LineSeries, LinePlotOptions } from './svg-line-plot';
export type { Points, PointGroup, ScatterPlotOptions } from './svg-scatter-plot';
export { PALETTE } from './svg-color';
export { escapeXml } from './svg-text';
export { niceTicks, formatTick } from './svg-axes';
export { emaSmooth, linePlotSvg } from './svg-line-plot';
export { pointsToXY, scatterPlotSvg } from './svg-scatter-plot';
export { svgToPng, saveLinePlot, saveScatterPlot } from './svg-raster';
