// The results page's generated parts, from the long runs' evaluations (scripts/results/long-run.sh):
//   docs/results/fid.svg             classifier-FID over generator iterations, every run (log scale)
//   docs/results/NAME.png            each run's latest fixed-noise grid (the last evaluated step; OWN_COUNT's step
//                                    for a run continued past its own count, OWN_COUNT)
//   docs/results.md                  each run's metric table, between <!-- table:NAME --> and <!-- /table:NAME -->,
//                                    with the training wall-clock to each row and the chunk's it/s (losses.jsonl)
//   docs/results.md                  the parity table (issue #19: the recipe in PyTorch at the same iterations,
//                                    two seeds each; scripts/results/parity-run.sh) between <!-- table:parity -->
//                                    and <!-- /table:parity -->; the parity runs are in the FID plot too
//   docs/results.md                  the summary: each main run's last evaluation beside its data set's real-vs-real
//                                    baselines, its training time and command, between <!-- table:summary --> and
//                                    <!-- /table:summary -->
//   docs/results.md                  the four losses on Fashion-MNIST side by side, FID and classifier score at the
//                                    same iterations, between <!-- table:losses --> and <!-- /table:losses -->
//   npx tsx scripts/results/report.ts RUNS_DIR
import * as fs from 'fs';
import * as path from 'path';
import { linePlotSvg } from '../../lib/io/svg-plot';
import { writeFileAtomic } from '../../lib/io/atomic';

const runs = path.resolve(process.argv[2] ?? '/work/runs/long');
const docs = path.join(__dirname, '..', '..', 'docs');
const NAMES: Record<string, string> = {
  'fashion-wgangp': 'Fashion-MNIST WGAN-GP', 'mnist-wgangp': 'MNIST WGAN-GP', 'fashion-dcgan': 'Fashion-MNIST DCGAN (BCE)',
  'fashion-dragan': 'Fashion-MNIST DRAGAN', 'fashion-wgan': 'Fashion-MNIST WGAN (clipping)',
  'mnist-wgangp-diffaug': 'MNIST WGAN-GP + DiffAugment', 'fashion-gan-r1': 'Fashion-MNIST GAN + R1 (γ 10, lazy 16)',
  'fashion-hinge-sn': 'Fashion-MNIST hinge + SN critic', 'fashion-lsgan': 'Fashion-MNIST LSGAN',
  'fashion-wgangp-bf16': 'Fashion-MNIST WGAN-GP, bf16 mixed precision',
  'mnist-wgangp-ema': 'MNIST WGAN-GP, EMA generator (0.999)', 'mnist-wgangp-ema:live': 'MNIST WGAN-GP, live generator',
};
// issue #19's parity runs (scripts/results/parity-run.sh); torch-gan's seed 1 is fashion-wgangp
const PARITY: Record<string, { label: string; color: string }> = {
  'parity-torchgan-s2': { label: 'Fashion-MNIST WGAN-GP, torch-gan seed 2', color: '#6baed6' },
  'parity-pytorch-s1': { label: 'Fashion-MNIST WGAN-GP in PyTorch, seed 1', color: '#000000' },
  'parity-pytorch-s2': { label: 'Fashion-MNIST WGAN-GP in PyTorch, seed 2', color: '#969696' },
};
// the main runs' own iteration counts (long-run.sh's ITERS): a run continued past its count keeps
// the grid and the summary row of that count on the page; the tables show every evaluation
const OWN_COUNT: Record<string, number> = { 'fashion-wgangp': 20000, 'mnist-wgangp-ema': 20000, 'fashion-dragan': 10000, 'fashion-wgan': 10000, 'fashion-dcgan': 10000 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79'];

interface Row { step: number; fid: number; kid: number; score: number; tvd: number; halves: { fid: number; score: number } }
/** A run's evaluations; NAME:live are an EMA run's evaluations of its live generator (iter-N-live.json). */
function rowsOf(key: string): Row[] {
  const [name, which] = key.split(':');
  const dir = path.join(runs, name, 'metrics');
  if (!fs.existsSync(dir)) return [];
  const pattern = which === 'live' ? /^iter-\d+-live\.json$/ : /^iter-\d+\.json$/;
  return fs.readdirSync(dir).filter((f) => pattern.test(f)).map((f) => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    return { step: m.step, fid: m.generated.fid, kid: m.generated.kid.mean, score: m.generated.score.mean, tvd: m.generated.tvd,
      halves: { fid: m.baselineHalves.fid, score: m.baselineHalves.score.mean } };
  }).sort((a, b) => a.step - b.step);
}

/**
 * Training seconds from the start to each iteration, from losses.jsonl: each (re)started train
 * process counts `seconds` from 0, so a drop starts a new segment; evaluation time is not in it.
 */
function trainingClock(name: string): Map<number, number> {
  const file = path.join(runs, name, 'losses.jsonl');
  const clock = new Map<number, number>();
  if (!fs.existsSync(file)) return clock;
  let total = 0, prev = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { iter: number; seconds: number };
    total += r.seconds >= prev ? r.seconds - prev : r.seconds;
    prev = r.seconds;
    clock.set(r.iter, total);
  }
  return clock;
}
const hours = (s: number) => (s >= 36000 ? (s / 3600).toFixed(0) : (s / 3600).toFixed(1));

const parityRuns = Object.keys(PARITY).map((name) => ({ name, rows: rowsOf(name) })).filter((r) => r.rows.length > 0);
const all = Object.keys(NAMES).map((name) => ({ name, rows: rowsOf(name) })).filter((r) => r.rows.length > 0);
fs.mkdirSync(path.join(docs, 'results'), { recursive: true });
const svg = linePlotSvg({
  title: 'classifier-FID against the test set (10,000 samples; each data set its own classifier)', xLabel: 'generator iterations', yLabel: 'FID (log scale)', logY: true, width: 720, height: 400,
  series: [
    ...all.map((r, i) => ({ name: NAMES[r.name], x: r.rows.map((q) => q.step), values: r.rows.map((q) => q.fid), color: COLORS[i % COLORS.length] })),
    ...parityRuns.map((r) => ({ name: PARITY[r.name].label, x: r.rows.map((q) => q.step), values: r.rows.map((q) => q.fid), color: PARITY[r.name].color })),
  ],
});
writeFileAtomic(path.join(docs, 'results', 'fid.svg'), svg);
let md = fs.readFileSync(path.join(docs, 'results.md'), 'utf8');
for (const r of all) {
  // the grid the page describes: the one at the run's own count when there is one, else the latest
  const gridStep = OWN_COUNT[r.name];
  const stepPng = gridStep === undefined ? undefined : path.join(runs, r.name, 'samples', `step-${String(gridStep).padStart(8, '0')}.png`);
  const png = stepPng !== undefined && fs.existsSync(stepPng) ? stepPng : path.join(runs, r.name.split(':')[0], 'latest.png');
  if (!r.name.includes(':') && fs.existsSync(png)) writeFileAtomic(path.join(docs, 'results', `${r.name}.png`), fs.readFileSync(png));
  const clock = trainingClock(r.name.split(':')[0]);
  const timing = (q: Row, i: number) => {
    const t = clock.get(q.step);
    if (t === undefined) return '| — | — |';
    const from = i === 0 ? 0 : r.rows[i - 1].step;
    const t0 = from === 0 ? 0 : clock.get(from);
    return `| ${hours(t)} | ${t0 === undefined ? '—' : ((q.step - from) / (t - t0)).toFixed(2)} |`;
  };
  const table = ['| iteration | classifier FID | KID ×1000 | classifier score | TVD (2-D PCA) | training hours | it/s |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map((q, i) => `| ${q.step.toLocaleString('en-US')} | ${q.fid.toFixed(1)} | ${q.kid.toFixed(1)} | ${q.score.toFixed(2)} | ${q.tvd.toFixed(3)} ${timing(q, i)}`)].join('\n');
  const re = new RegExp(`<!-- table:${r.name} -->[\\s\\S]*?<!-- /table:${r.name} -->`); // names hold [a-z0-9:-] only
  if (re.test(md)) md = md.replace(re, `<!-- table:${r.name} -->\n${table}\n<!-- /table:${r.name} -->`);
  const last = r.rows[r.rows.length - 1];
  console.log(`${r.name}: ${r.rows.length} evaluations, last ${last.step}: FID ${last.fid.toFixed(2)}, score ${last.score.toFixed(2)}`);
}

/**
 * The parity table: FID of torch-gan (seed 1: fashion-wgangp, seed 2) and PyTorch (seeds 1, 2) at
 * each iteration count a parity run has reached, each implementation's mean over its two seeds and
 * the ratio of the means; the verdict at the longest count all four reach (issue #19: within 10%).
 */
function parityTable(): { table: string; summary: string } {
  const cols = ['fashion-wgangp', 'parity-torchgan-s2', 'parity-pytorch-s1', 'parity-pytorch-s2'];
  const fid = new Map(cols.map((c) => [c, new Map(rowsOf(c).map((q) => [q.step, q.fid]))]));
  const steps = [...new Set(cols.slice(1).flatMap((c) => [...fid.get(c)!.keys()]))].sort((a, b) => a - b);
  const at = (c: string, k: number) => fid.get(c)!.get(k);
  const mean = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (a + b) / 2);
  const cell = (v?: number) => (v === undefined ? '—' : v.toFixed(1));
  let verdict: string | undefined;
  const lines = ['| iteration | torch-gan s1 | torch-gan s2 | PyTorch s1 | PyTorch s2 | torch-gan mean | PyTorch mean | PyTorch / torch-gan |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const k of steps) {
    const t = mean(at(cols[0], k), at(cols[1], k));
    const p = mean(at(cols[2], k), at(cols[3], k));
    const ratio = t !== undefined && p !== undefined ? p / t : undefined;
    lines.push(`| ${k.toLocaleString('en-US')} | ${cols.map((c) => cell(at(c, k))).join(' | ')} | ${cell(t)} | ${cell(p)} | ${ratio === undefined ? '—' : ratio.toFixed(3)} |`);
    if (ratio !== undefined) {
      const off = Math.abs(ratio - 1);
      verdict = `At ${k.toLocaleString('en-US')} iterations, the longest count all four runs reach: PyTorch's mean FID ${p!.toFixed(2)}, torch-gan's ${t!.toFixed(2)}, ` +
        `PyTorch / torch-gan = ${ratio.toFixed(3)}: ${(100 * off).toFixed(1)}% ${ratio >= 1 ? 'above' : 'below'} torch-gan's, ${off <= 0.1 ? 'within' : 'outside'} the 10% of issue #19.`;
    }
  }
  if (steps.length === 0) return { table: '(no parity runs evaluated yet: scripts/results/parity-run.sh)', summary: 'parity: no runs yet' };
  const table = lines.join('\n') + '\n\n' + (verdict ?? 'No iteration count has all four runs evaluated yet: no verdict.');
  return { table, summary: `parity: ${steps.length} iteration counts; ${verdict ?? 'no count with all four runs yet'}` };
}
/** FID (classifier score) of the four losses' Fashion-MNIST runs at each iteration count any of them reached. */
function lossesTable(): string {
  const cols: [string, string][] = [['fashion-wgangp', 'WGAN-GP'], ['fashion-dragan', 'DRAGAN'], ['fashion-wgan', 'WGAN (clipping)'], ['fashion-dcgan', 'DCGAN (BCE)']];
  const byStep = new Map(cols.map(([c]) => [c, new Map(rowsOf(c).map((q) => [q.step, q]))]));
  const others = cols.slice(1).flatMap(([c]) => [...byStep.get(c)!.keys()]);
  const steps = [...new Set(others)].sort((a, b) => a - b);
  const cell = (q?: Row) => (q === undefined ? '—' : `${q.fid.toFixed(1)} (${q.score.toFixed(2)})`);
  return [`| iteration | ${cols.map(([, l]) => l).join(' | ')} |`, `| ---: | ${cols.map(() => '---:').join(' | ')} |`,
    ...steps.map((k) => `| ${k.toLocaleString('en-US')} | ${cols.map(([c]) => cell(byStep.get(c)!.get(k))).join(' | ')} |`)].join('\n');
}
// the main runs of issue #19 and the command each was trained with (long-run.sh's FLAGS, in chunks of 1,000 with --resume)
const SUMMARY: [string, string, string][] = [
  ['fashion-wgangp', 'Fashion-MNIST, WGAN-GP', '--dset fashion --loss wgan-gp'],
  ['fashion-dragan', 'Fashion-MNIST, DRAGAN', '--dset fashion --loss dragan'],
  ['fashion-wgan', 'Fashion-MNIST, WGAN (clipping)', '--dset fashion --loss wgan'],
  ['fashion-dcgan', 'Fashion-MNIST, DCGAN (BCE)', '--dset fashion --loss gan'],
  ['mnist-wgangp-ema', 'MNIST (fallback), WGAN-GP + EMA', '--dset mnist --loss wgan-gp --ema-decay 0.999'],
];
/** Each main run at its own iteration count (OWN_COUNT; rows past it are not the summary's), or its last evaluation before it. */
function summaryTable(): string {
  const lines = ['| data set, loss | iterations | classifier FID | KID ×1000 | classifier score | real: half vs half (FID / score) | training hours | mean it/s | `npx torch-gan train ...` |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const [name, label, flags] of SUMMARY) {
    const rows = rowsOf(name).filter((q) => q.step <= (OWN_COUNT[name] ?? Infinity));
    if (rows.length === 0) continue;
    const last = rows[rows.length - 1];
    const t = trainingClock(name).get(last.step);
    lines.push(`| ${label} | ${last.step.toLocaleString('en-US')} | ${last.fid.toFixed(1)} | ${last.kid.toFixed(1)} | ${last.score.toFixed(2)} | ` +
      `${last.halves.fid.toFixed(2)} / ${last.halves.score.toFixed(2)} | ${t === undefined ? '—' : hours(t)} | ${t === undefined ? '—' : (last.step / t).toFixed(2)} | ` +
      `\`${flags} --iters ${last.step}\` |`);
  }
  return lines.join('\n');
}
const summaryRe = /<!-- table:summary -->[\s\S]*?<!-- \/table:summary -->/;
if (summaryRe.test(md)) md = md.replace(summaryRe, `<!-- table:summary -->\n${summaryTable()}\n<!-- /table:summary -->`);
const lossesRe = /<!-- table:losses -->[\s\S]*?<!-- \/table:losses -->/;
if (lossesRe.test(md)) md = md.replace(lossesRe, `<!-- table:losses -->\n${lossesTable()}\n<!-- /table:losses -->`);
const parity = parityTable();
const parityRe = /<!-- table:parity -->[\s\S]*?<!-- \/table:parity -->/;
if (parityRe.test(md)) md = md.replace(parityRe, `<!-- table:parity -->\n${parity.table}\n<!-- /table:parity -->`);
else console.log('docs/results.md has no <!-- table:parity --> markers: the parity table is not written');
console.log(parity.summary);
writeFileAtomic(path.join(docs, 'results.md'), md);
