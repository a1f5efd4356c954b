// The live page of examples/service.ts (GET /) in a real browser, headless Chromium driven by
// playwright-core: the step counter advances, the loss curves get points, the grid loads, a
// page opened mid-run gets the history, Stop shows the checkpoint, and that checkpoint resumes
// at the next step. Needs /usr/bin/chromium (Debian's `chromium`) and playwright-core.
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { testUnless } from './helpers/skip';
import { startService, Service } from '../examples/service';
import { latestCheckpoint } from '../lib/gan/checkpoint';

const CHROMIUM = process.env.TORCH_GAN_CHROMIUM ?? '/usr/bin/chromium';
function missing(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set TORCH_GAN_CHROMIUM)`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm install: it is a devDependency)';
  }
  return null;
}
const reason = missing();
const browserTest = testUnless(reason);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-gan-livepage-'));
const out = path.join(tmp, 'run');
// small and slow enough to be still running when the page looks; a grid every 3 steps
const config = { limit: 256, batchSize: 16, baseWidth: 8, noiseDim: 16, seed: 5, sampleEvery: 3, checkpointEvery: 1000, iters: 100_000 };
const WAIT = { timeout: 90_000 }; // a shared 2-core machine: the first steps of a fresh worker are slow
const GRID = 8 * 28 + 9 * 2; // the fixed-noise 8×8 grid of 28×28 digits, padding 2

let browser: Browser | null = null;
let service: Service | null = null;
const pageErrors: string[] = [];
/** every URL a page asked for: a self-contained page asks only its own service */
const requests: string[] = [];

async function open(url: string): Promise<Page> {
  const page = await browser!.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(url);
  return page;
}
const text = async (page: Page, sel: string) => (await page.textContent(sel)) ?? '';
const stepOf = async (page: Page) => Number(await text(page, '#step'));
/** The number of points of one polyline of the chart. */
const curvePoints = (page: Page, id: string) => page.evaluate(`document.getElementById('${id}').getAttribute('points').trim().split(/\\s+/).filter(Boolean).length`) as Promise<number>;

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  for (const t = Date.now(); !ok() && Date.now() - t < ms; ) await new Promise((r) => setTimeout(r, 20));
}

test.before(async () => {
  if (reason) return;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking'] });
  service = await startService({ port: 0, out, config, log: () => undefined });
});

let stoppedAt = -1;
let shownCheckpoint = '';

browserTest('the page follows the run: step counter, loss curves, grid; a second page gets the history; Stop shows the checkpoint', async () => {
  const svc = service!;
  const page = await open(`${svc.url}/`);
  assert.is(await page.title(), 'torch-gan: live run');
  await page.waitForFunction(`Number(document.getElementById('step').textContent) >= 4`, null, WAIT);
  const s1 = await stepOf(page);
  await page.waitForFunction(`Number(document.getElementById('step').textContent) > ${s1}`, null, WAIT);
  assert.is(await page.getAttribute('#state', 'data-state'), 'running');
  assert.is(await text(page, '#iters'), '100000');
  assert.match(await text(page, '#run'), /^wgan-gp on mnist, batch 16$/);
  assert.ok(Number(await text(page, '#rate')) > 0, `it/s ${await text(page, '#rate')}`);
  assert.match(await text(page, '#eta'), /^(\d+h )?(\d+m )?\d+s$/);
  // the curves: one point per step so far, the same for the three series
  await page.waitForFunction(`document.getElementById('criticLoss').getAttribute('points').split(' ').length >= 3`, null, WAIT);
  const counts = await Promise.all(['criticLoss', 'generatorLoss', 'wassersteinEstimate'].map((id) => curvePoints(page, id)));
  assert.ok(counts[0] >= 3 && counts.every((c) => c === counts[0]), `points ${counts}`);
  // the grid written every 3 steps, loaded by the browser from GET /latest.png
  await page.waitForFunction(`(() => { const i = document.getElementById('grid'); return i.complete && i.naturalWidth > 0; })()`, null, WAIT);
  assert.equal(await page.evaluate(`[document.getElementById('grid').naturalWidth, document.getElementById('grid').naturalHeight]`), [GRID, GRID]);
  assert.match(await text(page, '#gridcap'), /^fixed-noise grid at step \d+$/);

  // a page opened mid-run starts from the history: its curve has every step done before it opened
  const before = svc.live.history().points.length;
  const late = await open(`${svc.url}/`);
  await until(() => svc.live.clientCount === 2);
  assert.is(svc.live.clientCount, 2, 'two pages, two event streams');
  // its first drawing (live steps come one by one, a few a second; the history at once)
  await late.waitForFunction(`document.getElementById('criticLoss').getAttribute('points') !== ''`, null, WAIT);
  const first = await curvePoints(late, 'criticLoss');
  assert.ok(first >= before, `the late page drew ${first} points first; ${before} steps were done before it opened`);
  await late.close();
  await until(() => svc.live.clientCount === 1);
  assert.is(svc.live.clientCount, 1, 'a closed page is no longer a client');

  await page.click('#stop');
  await page.waitForFunction(`document.getElementById('state').dataset.state === 'aborted'`, null, WAIT);
  const state = await text(page, '#state');
  const m = /^aborted at step (\d+)$/.exec(state);
  assert.ok(m, state);
  stoppedAt = Number(m![1]);
  assert.ok(stoppedAt > s1, `stopped at ${stoppedAt}, after ${s1}`);
  assert.is(await page.isDisabled('#stop'), true);
  assert.is(await stepOf(page), stoppedAt);
  const ck = /^checkpoint at step (\d+): (.+)$/.exec(await text(page, '#checkpoint'));
  assert.ok(ck, await text(page, '#checkpoint'));
  assert.is(Number(ck![1]), stoppedAt);
  shownCheckpoint = ck![2];
  assert.is(path.basename(shownCheckpoint), `ckpt-${String(stoppedAt).padStart(8, '0')}`);
  assert.equal(pageErrors, [], 'no error in the page (a 404, e.g. a favicon, would be one)');
  const elsewhere = requests.filter((u) => !u.startsWith(`${svc.url}/`));
  assert.equal(elsewhere, [], 'no request outside the service');
  assert.ok(requests.some((u) => u.startsWith(`${svc.url}/latest.png?step=`)) && requests.includes(`${svc.url}/events`), requests.join(' '));
  await page.close();
});

browserTest('the checkpoint the page showed is on disk and resumes at the next step', async () => {
  assert.ok(stoppedAt > 0, 'the previous test stopped the run');
  pageErrors.length = 0;
  const { dir, state } = latestCheckpoint(path.join(out, 'checkpoints'));
  assert.is(state.step, stoppedAt);
  assert.is(dir, shownCheckpoint);
  await service!.close(); // frees out (the run lock) for the resumed run
  service = await startService({ port: 0, out, config, resume: true, log: () => undefined });
  assert.is(service.trainer.info.resumedFrom?.step, stoppedAt);
  const page = await open(`${service.url}/`);
  await page.waitForFunction(`Number(document.getElementById('step').textContent) > ${stoppedAt + 1}`, null, WAIT);
  // the resumed run's history starts right after the checkpoint: no step lost, none redone
  const steps = service.live.history().points.map((p) => p.step);
  assert.equal(steps.slice(0, 2), [stoppedAt + 1, stoppedAt + 2]);
  assert.equal(pageErrors, [], 'no error in the page');
  await page.close();
});

test.after(async () => {
  await service?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});
test.run();
