// GET / of examples/service.ts: one self-contained page (inline CSS and JS, no external asset,
// so it works offline and behind any proxy) that follows the run live through GET /events:
// progress, loss curves (SVG drawn by the page), the latest grid, the state and a Stop button.
// URLs are relative, so the page also works when the service is mounted under a path.
// The script avoids backticks and ${...}: it lives inside this template literal.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>torch-gan: live run</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .6em; }
  h1 small { color: #666; font-weight: normal; }
  progress { width: 100%; height: 1em; }
  .row { display: flex; flex-wrap: wrap; gap: 1.5em; margin-top: 1em; }
  figure { margin: 0; background: #fff; border: 1px solid #ddd; padding: .6em; }
  figcaption { color: #555; margin-top: .3em; }
  #chart { width: 600px; max-width: 90vw; height: 300px; }
  #grid { width: 300px; height: 300px; image-rendering: pixelated; background: #eee; display: block; }
  .key { display: inline-block; width: 1em; height: .25em; vertical-align: middle; margin: 0 .3em 0 .8em; }
  #state { padding: 0 .3em; border-radius: 3px; background: #ddd; }
  #state[data-state=running] { background: #cfe8cf; }
  #state[data-state=aborted], #state[data-state=done] { background: #f3e0b5; }
  #state[data-state=failed], #state[data-state=disconnected] { background: #f4c7c7; }
  #checkpoint { color: #555; word-break: break-all; }
  button { font: inherit; padding: .2em 1em; margin-right: 1em; }
</style>
</head>
<body>
<h1>torch-gan <small id="run"></small></h1>
<progress id="bar" max="1" value="0"></progress>
<p>step <b id="step">0</b> / <span id="iters">?</span> &middot; <span id="rate">-</span> it/s &middot;
  ETA <span id="eta">-</span> &middot; <span id="state" data-state="connecting">connecting</span></p>
<p><button id="stop">Stop</button><span id="checkpoint">no checkpoint yet</span></p>
<div class="row">
  <figure>
    <svg id="chart" viewBox="0 0 600 300" role="img" aria-label="loss curves">
      <line id="zero" x1="50" x2="590" stroke="#bbb" stroke-dasharray="4 3" visibility="hidden"></line>
      <rect x="50" y="10" width="540" height="260" fill="none" stroke="#ccc"></rect>
      <polyline id="criticLoss" fill="none" stroke="#d62728" stroke-width="1.5" points=""></polyline>
      <polyline id="generatorLoss" fill="none" stroke="#1f77b4" stroke-width="1.5" points=""></polyline>
      <polyline id="wassersteinEstimate" fill="none" stroke="#2ca02c" stroke-width="1.5" points=""></polyline>
      <text id="ymax" x="46" y="18" text-anchor="end" font-size="11"></text>
      <text id="ymin" x="46" y="270" text-anchor="end" font-size="11"></text>
      <text id="xmin" x="50" y="286" font-size="11"></text>
      <text id="xmax" x="590" y="286" text-anchor="end" font-size="11"></text>
    </svg>
    <figcaption><span class="key" style="background:#d62728"></span>critic loss
      <span class="key" style="background:#1f77b4"></span>generator loss
      <span class="key" style="background:#2ca02c"></span>Wasserstein estimate</figcaption>
  </figure>
  <figure>
    <img id="grid" alt="the latest sample grid">
    <figcaption id="gridcap">no grid yet</figcaption>
  </figure>
</div>
<script>
'use strict';
var $ = function (id) { return document.getElementById(id); };
var SERIES = ['criticLoss', 'generatorLoss', 'wassersteinEstimate'];
var MAX_POINTS = 2000; // as the service's history: past twice this many, every other point goes
var points = [];
var iters = 0;
var ended = null;
var drawPending = false;

function num(x) {
  if (typeof x !== 'number' || !isFinite(x)) return '-';
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4);
}
function duration(s) {
  if (!isFinite(s) || s < 0) return '-';
  var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.floor(s % 60);
  return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + r + 's';
}
function setState(name, text) {
  $('state').dataset.state = name;
  $('state').textContent = text || name;
}
function addPoint(p) {
  points.push(p);
  if (points.length > 2 * MAX_POINTS) points = points.filter(function (_, i) { return i % 2 === 0 || i === points.length - 1; });
}
function showStep(p) {
  $('step').textContent = p.step;
  $('rate').textContent = num(p.itPerSec);
  $('eta').textContent = ended ? '-' : duration((iters - p.step) / p.itPerSec);
  $('bar').value = iters > 0 ? Math.min(1, p.step / iters) : 0;
}
function draw() {
  drawPending = false;
  if (points.length === 0) return;
  var x0 = points[0].step, x1 = points[points.length - 1].step;
  var y0 = Infinity, y1 = -Infinity;
  points.forEach(function (p) {
    SERIES.forEach(function (k) { var v = p[k]; if (typeof v === 'number' && isFinite(v)) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); } });
  });
  if (!isFinite(y0)) return;
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  var X = function (s) { return (50 + (540 * (s - x0)) / (x1 - x0)).toFixed(1); };
  var Y = function (v) { return (270 - (260 * (v - y0)) / (y1 - y0)).toFixed(1); };
  SERIES.forEach(function (k) {
    var pts = [];
    points.forEach(function (p) { var v = p[k]; if (typeof v === 'number' && isFinite(v)) pts.push(X(p.step) + ',' + Y(v)); });
    $(k).setAttribute('points', pts.join(' '));
  });
  var zero = $('zero');
  zero.setAttribute('visibility', y0 < 0 && y1 > 0 ? 'visible' : 'hidden');
  zero.setAttribute('y1', Y(0));
  zero.setAttribute('y2', Y(0));
  $('ymin').textContent = num(y0);
  $('ymax').textContent = num(y1);
  $('xmin').textContent = 'step ' + x0;
  $('xmax').textContent = 'step ' + x1;
}
function scheduleDraw() {
  // at most one redraw a frame however fast the steps come (none while the tab is hidden)
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(draw);
}
function showSample(s) {
  // the step in the URL makes each new grid a new image (no stale cached one)
  $('grid').src = 'latest.png?step=' + s.step;
  $('gridcap').textContent = 'fixed-noise grid at step ' + s.step;
}
function showCheckpoint(c) {
  $('checkpoint').textContent = c ? 'checkpoint at step ' + c.step + ': ' + c.dir : 'no checkpoint yet';
}
function showEnd(e) {
  ended = e;
  $('stop').disabled = true;
  $('eta').textContent = '-';
  if (e.checkpoint) showCheckpoint(e.checkpoint);
  setState(e.reason, e.reason + ' at step ' + e.step + (e.error ? ': ' + e.error : ''));
}
function showStatus(s) {
  iters = s.iters;
  $('iters').textContent = s.iters;
  $('run').textContent = s.loss + ' on ' + s.dataset + ', batch ' + s.batchSize;
  if (!ended) setState(s.state);
}

var events = new EventSource('events');
events.addEventListener('history', function (e) {
  // sent first on every (re)connection: it replaces what the page had
  var h = JSON.parse(e.data);
  points = [];
  ended = null;
  h.points.forEach(addPoint);
  showStatus(h.status);
  if (points.length) showStep(points[points.length - 1]);
  if (h.sample) showSample(h.sample);
  showCheckpoint(h.checkpoint);
  if (h.end) showEnd(h.end);
  else $('stop').disabled = h.status.state !== 'running';
  scheduleDraw();
});
events.addEventListener('step', function (e) {
  var p = JSON.parse(e.data);
  addPoint(p);
  showStep(p);
  if (!ended && $('state').dataset.state !== 'stopping') setState('running');
  scheduleDraw();
});
events.addEventListener('sample', function (e) { showSample(JSON.parse(e.data)); });
events.addEventListener('checkpoint', function (e) { showCheckpoint(JSON.parse(e.data)); });
events.addEventListener('end', function (e) { showEnd(JSON.parse(e.data)); });
events.onerror = function () { if (!ended) setState('disconnected', 'disconnected (retrying)'); };

$('stop').onclick = function () {
  var button = this;
  button.disabled = true;
  setState('stopping', 'stopping (writing a checkpoint)');
  fetch('stop', { method: 'POST' })
    .then(function (r) { return r.json(); })
    .then(function (r) {
      if (r.error) throw new Error(r.error);
      showEnd({ reason: r.reason, step: r.step, checkpoint: r.checkpoint });
    })
    .catch(function (err) {
      setState('failed', 'stop failed: ' + err.message);
      button.disabled = false;
    });
};
</script>
</body>
</html>
`;
