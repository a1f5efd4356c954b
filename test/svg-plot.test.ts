// The SVG plots read back: every drawn coordinate against the data mapped through the axes
// (computed here from the frame and the ranges, not with the module's own maps), the escaping of
// text, the errors, and the PNG raster of resvg.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tg from '../lib';
import { linePlotSvg, scatterPlotSvg, svgToPng, saveLinePlot, saveScatterPlot, niceTicks, formatTick, emaSmooth, escapeXml } from '../lib/io/svg-plot';
import type { LinePlotOptions } from '../lib/io/svg-plot';
import { decodePng } from '../lib/io/png';
import { toyScatterPng } from '../lib/gan/toy-run';
import { parseXml, findAll, XmlElement } from './helpers/xml';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-svg-plot-'));

interface Frame { x: number; y: number; w: number; h: number }
function frameOf(svg: XmlElement): Frame {
  const [f] = findAll(svg, (e) => e.name === 'rect' && e.attrs.class === 'frame');
  assert.ok(f, 'a frame rect');
  return { x: +f.attrs.x, y: +f.attrs.y, w: +f.attrs.width, h: +f.attrs.height };
}
/** Data to pixels, as a reader of the plot expects it: x right over the frame, y up. */
function mapper(f: Frame, [x0, x1]: number[], [y0, y1]: number[]) {
  return (x: number, y: number): [number, number] => [f.x + ((x - x0) / (x1 - x0)) * f.w, f.y + f.h - ((y - y0) / (y1 - y0)) * f.h];
}
/** The polylines' points of one series, one array per polyline. */
function polylines(svg: XmlElement, k: number, kind: string): [number, number][][] {
  const [g] = findAll(svg, (e) => e.name === 'g' && e.attrs['data-series'] === String(k) && e.attrs['data-kind'] === kind);
  assert.ok(g, `series ${k} (${kind}) drawn`);
  return g.children.filter((c) => c.name === 'polyline').map((p) => p.attrs.points.trim().split(/\s+/).map((xy) => xy.split(',').map(Number) as [number, number]));
}
/** Throws unless `drawn` is exactly the points (xs[i], ys[i]) mapped by `map`, to the SVG's 0.01 px rounding. */
function expectPoints(drawn: [number, number][], xs: ArrayLike<number>, ys: ArrayLike<number>, map: (x: number, y: number) => [number, number], what: string): void {
  if (drawn.length !== ys.length) throw new Error(`${what}: ${drawn.length} points drawn, ${ys.length} expected`);
  for (let i = 0; i < ys.length; i++) {
    const [ex, ey] = map(xs[i], ys[i]);
    const [dx, dy] = drawn[i];
    if (!(Math.abs(dx - ex) <= 0.0051 && Math.abs(dy - ey) <= 0.0051)) throw new Error(`${what}: point ${i} drawn at (${dx}, ${dy}), expected (${ex.toFixed(3)}, ${ey.toFixed(3)}) for (${xs[i]}, ${ys[i]})`);
  }
}

test('line plot: every vertex of every series is its (x, y) mapped through the axes (given ranges and default ones)', () => {
  const x = [0, 10, 25, 40, 70, 100];
  const a = [0.5, 0.1, -0.3, 0.2, 0.9, 0.4];
  const b = [1.2, 0.8, 0.7, 0.3, 0.2, -0.1];
  const opts: LinePlotOptions = { series: [{ name: 'a', values: a, x }, { name: 'b', values: Float32Array.from(b), x }], xRange: [0, 100], yRange: [-1, 2], width: 500, height: 300, title: 't', xLabel: 'iteration', yLabel: 'loss' };
  const svg = parseXml(linePlotSvg(opts));
  assert.is(svg.name, 'svg');
  assert.equal([svg.attrs.width, svg.attrs.height, svg.attrs.viewBox], ['500', '300', '0 0 500 300']);
  const map = mapper(frameOf(svg), [0, 100], [-1, 2]);
  const [pa] = polylines(svg, 0, 'line');
  const [pb] = polylines(svg, 1, 'line');
  expectPoints(pa, x, a, map, 'series a');
  expectPoints(pb, x, Float32Array.from(b), map, 'series b');

  // the comparison catches one wrong point: the same SVG with one vertex moved by 0.5 px fails
  const moved = pa.map((p) => [...p] as [number, number]);
  moved[3][1] += 0.5;
  assert.throws(() => expectPoints(moved, x, a, map, 'tampered'), /point 3 drawn/);
  // and a series drawn against the other's values fails
  assert.throws(() => expectPoints(pb, x, a, map, 'swapped'), /point 0 drawn/);

  // default ranges: x the data's, y the data's padded 5% either side; x defaults to 0, 1, 2, ...
  const ys = [3, 1, 4, 1, 5, 9, 2, 6];
  const d = parseXml(linePlotSvg({ series: [{ values: ys }] }));
  assert.equal([d.attrs.width, d.attrs.height], ['640', '400'], 'default size');
  const [pd] = polylines(d, 0, 'line');
  expectPoints(pd, ys.map((_, i) => i), ys, mapper(frameOf(d), [0, 7], [1 - 0.4, 9 + 0.4]), 'default ranges');
  // a 1-d Tensor as values
  const t = parseXml(linePlotSvg({ series: [{ values: tg.tensor(ys) }] }));
  expectPoints(polylines(t, 0, 'line')[0], ys.map((_, i) => i), ys, mapper(frameOf(t), [0, 7], [0.6, 9.4]), 'tensor values');
});

test('line plot: non-finite values split the line; a lone point is a circle at its place', () => {
  const ys = [1, 2, NaN, 3, Infinity, 2, 1, 0];
  const svg = parseXml(linePlotSvg({ series: [{ values: ys }], yRange: [0, 4], xRange: [0, 7] }));
  const map = mapper(frameOf(svg), [0, 7], [0, 4]);
  const runs = polylines(svg, 0, 'line');
  assert.is(runs.length, 2);
  expectPoints(runs[0], [0, 1], [1, 2], map, 'first run');
  expectPoints(runs[1], [5, 6, 7], [2, 1, 0], map, 'last run');
  const [g] = findAll(svg, (e) => e.attrs['data-series'] === '0');
  const dots = g.children.filter((c) => c.name === 'circle');
  assert.is(dots.length, 1);
  expectPoints([[+dots[0].attrs.cx, +dots[0].attrs.cy]], [3], [3], map, 'lone point');
});

test("line plot: smoothing draws the raw values and TensorBoard's debiased EMA of them", () => {
  const ys = [4, 2, 8, 6, 1, 7, 3, 5];
  const w = 0.6;
  // TensorBoard's smoothing, written out: an EMA from 0, divided by 1 - w^(i+1)
  const expected: number[] = [];
  let acc = 0;
  ys.forEach((v, i) => { acc = w * acc + (1 - w) * v; expected.push(acc / (1 - Math.pow(w, i + 1))); });
  const ours = emaSmooth(ys, w);
  expected.forEach((v, i) => assert.ok(Math.abs(ours[i] - v) < 1e-12, `ema[${i}] ${ours[i]} vs ${v}`));
  assert.is(ours[0], 4, 'the first smoothed value is the first value');

  const svg = parseXml(linePlotSvg({ series: [{ values: ys }], smooth: w, yRange: [0, 10], xRange: [0, 7] }));
  const map = mapper(frameOf(svg), [0, 7], [0, 10]);
  const xs = ys.map((_, i) => i);
  expectPoints(polylines(svg, 0, 'raw')[0], xs, ys, map, 'raw');
  expectPoints(polylines(svg, 0, 'smoothed')[0], xs, expected, map, 'smoothed');
  assert.is(findAll(svg, (e) => e.attrs['data-kind'] === 'line').length, 0, 'with smoothing there is no plain line');
});

test('line plot: logY maps log10 of the values; yRange in data units', () => {
  const ys = [1000, 100, 10, 1, 0.1, 0.01];
  const svg = parseXml(linePlotSvg({ series: [{ values: ys }], logY: true, yRange: [0.001, 10000], xRange: [0, 5] }));
  expectPoints(polylines(svg, 0, 'line')[0], [0, 1, 2, 3, 4, 5], ys.map(Math.log10), mapper(frameOf(svg), [0, 5], [-3, 4]), 'log y');
  const labels = findAll(svg, (e) => e.name === 'text' && e.attrs['text-anchor'] === 'end').map((e) => e.text);
  assert.ok(labels.includes('1') && labels.includes('1e-2') && labels.includes('1e3'), `decade labels: ${labels}`);
});

test('line plot: a long series is thinned per pixel column to data points only, keeping each column\'s extremes', () => {
  const n = 20000;
  const ys = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 300) + ((i * 7919) % 13) / 10);
  const svg = parseXml(linePlotSvg({ series: [{ values: ys }], width: 300, height: 200 }));
  const f = frameOf(svg);
  const lo = Math.min(...ys), hi = Math.max(...ys), pad = (hi - lo) * 0.05;
  const map = mapper(f, [0, n - 1], [lo - pad, hi + pad]);
  const [pts] = polylines(svg, 0, 'line');
  assert.ok(pts.length <= 4 * (f.w + 1) && pts.length > f.w, `${pts.length} vertices for ${f.w} columns`);
  // each vertex is a data point: its x gives the index, its y must be that value
  let last = -1;
  const idx = pts.map(([px, py]) => {
    const i = Math.round(((px - f.x) / f.w) * (n - 1));
    // neighbours share a pixel x within rounding: pick the index whose value matches
    const cand = [i - 1, i, i + 1, i - 2, i + 2].filter((j) => j > last && j < n && Math.abs(map(j, ys[j])[0] - px) <= 0.0051 && Math.abs(map(j, ys[j])[1] - py) <= 0.0051);
    assert.ok(cand.length > 0, `vertex (${px}, ${py}) is no data point`);
    last = Math.min(...cand);
    return last;
  });
  assert.is(idx[0], 0);
  assert.is(idx[idx.length - 1], n - 1);
  const drawnYs = idx.map((i) => ys[i]);
  assert.is(Math.min(...drawnYs), lo, 'the lowest value is drawn');
  assert.is(Math.max(...drawnYs), hi, 'the highest value is drawn');
});

test('scatter plot: each group\'s circles are its points in range, mapped through the axes; the field is an embedded size x size PNG', () => {
  const pts = [[0.5, -0.5], [1.5, 1.9], [-1.2, 0.3], [3, 0], [NaN, 1]] as [number, number][];
  const centres = [{ x: 0, y: 0 }, { x: 1, y: 1 }];
  const field = [0, 0, 0, 1]; // row 0 at the bottom: the high value is at the top right
  const svg = parseXml(scatterPlotSvg({
    points: pts, color: '#00aa00', radius: 1.5, name: 'generated', range: 2, width: 320, height: 300,
    extra: [{ points: centres, color: [255, 0, 255], radius: 4, name: 'centres' }, { points: tg.tensor([[-1, -1]]) }],
    field: { values: field, size: 2 },
  }));
  const f = frameOf(svg);
  const map = mapper(f, [-2, 2], [-2, 2]);
  const group = (k: number) => findAll(svg, (e) => e.name === 'g' && e.attrs['data-group'] === String(k))[0];
  const circles = (k: number) => group(k).children.map((c) => [+c.attrs.cx, +c.attrs.cy] as [number, number]);
  const inRange = pts.filter(([x, y]) => Math.abs(x) <= 2 && Math.abs(y) <= 2);
  expectPoints(circles(0), inRange.map((p) => p[0]), inRange.map((p) => p[1]), map, 'generated');
  expectPoints(circles(1), [0, 1], [0, 1], map, 'centres');
  expectPoints(circles(2), [-1], [-1], map, 'tensor points');
  assert.equal([group(0).attrs.fill, group(1).attrs.fill, group(2).attrs.fill], ['#00aa00', '#ff00ff', '#2ca02c']);
  assert.is(group(0).children[0].attrs.r, '1.5');
  assert.is(group(1).children[0].attrs.r, '4');

  const [img] = findAll(svg, (e) => e.name === 'image');
  assert.equal([+img.attrs.x, +img.attrs.y, +img.attrs.width, +img.attrs.height], [f.x, f.y, f.w, f.h], 'the field covers the plot area');
  const m = /^data:image\/png;base64,(.+)$/.exec(img.attrs.href);
  assert.ok(m, 'a PNG data URI');
  const png = decodePng(Buffer.from(m![1], 'base64'));
  assert.equal([png.width, png.height], [2, 2]);
  const px = (c: number, r: number) => Array.from(png.data.subarray((r * 2 + c) * 4, (r * 2 + c) * 4 + 3));
  assert.ok(px(1, 0)[0] > px(1, 0)[2], `top right is the high value (red): ${px(1, 0)}`);
  for (const [c, r] of [[0, 0], [0, 1], [1, 1]]) assert.ok(px(c, r)[2] > px(c, r)[0], `(${c}, ${r}) is a low value (blue): ${px(c, r)}`);

  // the legend names every named group
  const legend = findAll(svg, (e) => e.attrs.class === 'legend')[0];
  assert.equal(findAll(legend, (e) => e.name === 'text').map((e) => e.text), ['generated', 'centres']);
});

test('titles, labels and legend names are escaped: the SVG parses and reads back the exact text', () => {
  const nasty = `a < b && c > "d" 'e' ]]> <script>alert(1)</script> &amp;`;
  const svgText = linePlotSvg({ series: [{ name: nasty, values: [1, 2] }], title: nasty, xLabel: `x${nasty}`, yLabel: `y${nasty}` });
  assert.not.ok(svgText.includes('<script'), 'no raw markup from the text');
  const svg = parseXml(svgText);
  const texts = findAll(svg, (e) => e.name === 'text' || e.name === 'title').map((e) => e.text);
  for (const want of [nasty, `x${nasty}`, `y${nasty}`]) assert.ok(texts.includes(want), `${JSON.stringify(want)} read back`);
  assert.is(findAll(svg, (e) => e.name === 'title')[0].text, nasty, 'the document title');
  assert.is(findAll(svg, (e) => e.name === 'script').length, 0);
  // characters XML cannot hold become U+FFFD rather than an unreadable file
  assert.is(escapeXml('bell\u0007 lone\ud800 ok\u{1f600}'), 'bell\ufffd lone\ufffd ok\u{1f600}');
  const sc = parseXml(scatterPlotSvg({ points: [[0, 0]], name: '<real & "fake">', title: 'ctl\u0001' }));
  assert.ok(findAll(sc, (e) => e.name === 'text').some((e) => e.text === '<real & "fake">'));
  assert.ok(findAll(sc, (e) => e.name === 'text').some((e) => e.text === 'ctl\ufffd'));
  // resvg's strict XML parser takes it too
  assert.equal(decodePng(svgToPng(svgText)).width, 640);
});

test('bad options are refused naming the option, what was expected and what came', () => {
  assert.throws(() => linePlotSvg({ series: [] }), /Expected a non-empty array .* for linePlotSvg\(\) options.series but received an array of length 0/);
  assert.throws(() => linePlotSvg({ series: [{ values: [1], color: 'red' }] }), /colour .* for linePlotSvg\(\) options.series\[0\].color but received string 'red'/);
  assert.throws(() => linePlotSvg({ series: [{ values: [1, 2], x: [0] }] }), /Expected 2 values \(as many as values\) for linePlotSvg\(\) options.series\[0\].x but received 1/);
  assert.throws(() => linePlotSvg({ series: [{ values: [1] }], title: 5 as unknown as string }), /Expected a string for linePlotSvg\(\) options.title but received number 5/);
  assert.throws(() => linePlotSvg({ series: [{ values: [1] }], smooth: 1 }), /\[0, 1\) for linePlotSvg\(\) options.smooth/);
  assert.throws(() => linePlotSvg({ series: [{ values: [1] }], logY: true, yRange: [0, 1] }), /positive bounds with logY/);
  assert.throws(() => linePlotSvg({ series: [{ values: ['1'] as unknown as number[] }] }), /options.series\[0\].values/);
  assert.throws(() => linePlotSvg({ series: [{ values: [1] }], colour: '#fff' } as unknown as LinePlotOptions), /Unknown option 'colour' for linePlotSvg\(\)/);
  assert.throws(() => scatterPlotSvg({ points: tg.randn([5, 3]) }), /\(N, 2\) for scatterPlotSvg\(\) options.points but received shape \[5,3\]/);
  assert.throws(() => scatterPlotSvg({ points: [], radius: 0 }), /\[0.25, 50\] for scatterPlotSvg\(\) options.radius but received number 0/);
  assert.throws(() => scatterPlotSvg({ points: [], field: { values: [1, 2, 3], size: 2 } }), /Expected 4 values \(size x size\) for scatterPlotSvg\(\) options.field.values but received 3/);
  assert.throws(() => saveLinePlot(path.join(dir, 'x.jpg'), { series: [{ values: [1] }] }), /\.svg .* for saveLinePlot\(\) file but received string '.*x.jpg'/);
  assert.throws(() => svgToPng('not svg'), /SVG document .* for svgToPng\(\) svg/);
});

test('svgToPng and the save functions: .svg is the text, .png its raster at the same size with the series colour', () => {
  const opts: LinePlotOptions = { series: [{ values: [0, 1, 0, 1], color: '#ff0000', thickness: 3 }], width: 240, height: 160, title: 'raster' };
  saveLinePlot(path.join(dir, 'l.svg'), opts);
  saveLinePlot(path.join(dir, 'l.png'), opts);
  const text = fs.readFileSync(path.join(dir, 'l.svg'), 'utf8');
  assert.is(text, linePlotSvg(opts));
  const png = decodePng(fs.readFileSync(path.join(dir, 'l.png')));
  assert.equal([png.width, png.height], [240, 160]);
  let red = 0, dark = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    const [r, g, b] = png.data.subarray(4 * i, 4 * i + 3);
    if (r > 200 && g < 60 && b < 60) red++;
    if (r < 80 && g < 80 && b < 80) dark++;
  }
  assert.ok(red > 200, `red line rasterised (${red} px)`);
  assert.ok(dark > 100, `frame and text rasterised (${dark} px)`);
  saveScatterPlot(path.join(dir, 's.png'), { points: [[0, 0]], width: 100, height: 90 });
  assert.equal([decodePng(fs.readFileSync(path.join(dir, 's.png'))).width, decodePng(fs.readFileSync(path.join(dir, 's.png'))).height], [100, 90]);
  // a toy run's sample frame
  const frame = decodePng(toyScatterPng(new Float32Array([0, 0, 1, 1]), '8gaussians', 'toy', new Float32Array(16)));
  assert.equal([frame.width, frame.height], [480, 480]);
});

test('nice ticks and tick labels', () => {
  assert.equal(niceTicks(0, 10, 5).ticks, [0, 2, 4, 6, 8, 10]);
  assert.is(niceTicks(-0.013, 0.041, 5).step, 0.01);
  assert.is(formatTick(0.30000000000000004, 0.1), '0.3');
  assert.is(formatTick(-2, 1), '-2');
  assert.is(formatTick(2e6, 1e6), '2e6');
  assert.is(formatTick(1.5e-5, 5e-6), '1.5e-5');
  assert.is(formatTick(1e-17, 0.5), '0');
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
