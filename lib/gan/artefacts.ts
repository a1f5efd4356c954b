// The files a training run writes in its output folder, as an observer of TrainingRun.train()
// (./run.ts), the same for the CLI, the worker and user code:
//   config.json                              the resolved RunConfig
//   samples/step-00000200.png + latest.png   8×8 grids from fixed noise (a toy run: scatter plots)
//   losses.jsonl + losses.svg                per-iteration numbers and their plot
//   progress.gif                             the grids over training
// (checkpoints/ is the loop's own: TrainOptions.checkpointRoot.) On a resumed run the loss log is
// cut back to the checkpoint's step, so it holds each iteration once.
import * as fs from 'fs';
import * as path from 'path';
import { is, TorchError } from '../errors';
import { saveLinePlot } from '../io/svg-plot';
import { writeGif } from '../io/gif';
import { SummaryWriter } from '../io/tensorboard';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic';
import type { RunConfig } from './run-config';
import type { RunObserver, TrainingRun } from './run';

export interface LossRow { iter: number; criticLoss: number; generatorLoss: number; wasserstein: number; penalty: number; gradNorm: number; seconds: number }

/** The observer that writes a run's files into `out` (see the top of this file). */
export function runArtefacts(out: string): RunObserver & { readonly rows: readonly LossRow[] } {
  const lossFile = path.join(out, 'losses.jsonl');
  let rows: LossRow[] = [];
  let opened = false;
  const t0 = Date.now();
  return {
    get rows() {
      return rows;
    },
    onStart(run: TrainingRun) {
      if (opened) return; // a later train() call on the same run continues the same files
      opened = true;
      fs.mkdirSync(path.join(out, 'samples'), { recursive: true });
      if (run.resumedFrom) {
        rows = readRows(lossFile).filter((r) => r.iter <= run.iteration);
      } else {
        for (const stale of ['losses.jsonl', 'losses.svg', 'losses.png', 'progress.gif']) fs.rmSync(path.join(out, stale), { force: true });
        rows = [];
      }
      writeFileAtomic(lossFile, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
      writeJsonAtomic(path.join(out, 'config.json'), run.config);
    },
    onStep(_run, s) {
      const row: LossRow = { iter: s.iteration, criticLoss: s.criticLoss, generatorLoss: s.generatorLoss, wasserstein: s.wassersteinEstimate, penalty: s.penalty, gradNorm: s.gradNorm, seconds: (Date.now() - t0) / 1000 };
      rows.push(row);
      fs.appendFileSync(lossFile, JSON.stringify(row) + '\n');
    },
    onSample(run, step, png) {
      writeRunArtefacts(out, step, png, run.config, rows);
    },
  };
}

/**
 * The progress GIF shows at most GIF_MAX_FRAMES grids, evenly spaced over the run (the first and
 * the last among them): each rewrite reads and encodes them all, so without a cap the memory and
 * time of every write grew with the run's length.
 */
export const GIF_MAX_FRAMES = 48;
export function gifFrames<T>(all: T[]): T[] {
  if (all.length <= GIF_MAX_FRAMES) return all;
  return Array.from({ length: GIF_MAX_FRAMES }, (_, j) => all[Math.round((j * (all.length - 1)) / (GIF_MAX_FRAMES - 1))]);
}

/** Writes a run's sample grid (samples/step-N.png, latest.png), the loss plot and the progress GIF. */
export function writeRunArtefacts(out: string, iter: number, png: Buffer, config: RunConfig, rows: LossRow[]): void {
  writeFileAtomic(path.join(out, 'samples', `step-${String(iter).padStart(8, '0')}.png`), png);
  writeFileAtomic(path.join(out, 'latest.png'), png);
  saveLinePlot(path.join(out, 'losses.svg'), {
    title: `${config.loss} on ${config.toy ?? config.dataset}`,
    xLabel: 'iteration',
    series: [
      { name: config.loss.startsWith('wgan') ? 'negative critic loss' : 'critic loss', values: rows.map((r) => (config.loss.startsWith('wgan') ? -r.criticLoss : r.criticLoss)), x: rows.map((r) => r.iter) },
      { name: 'generator loss', values: rows.map((r) => r.generatorLoss), x: rows.map((r) => r.iter) },
    ],
    smooth: 0.9,
  });
  const frames = gifFrames(fs.readdirSync(path.join(out, 'samples')).filter((n) => /^step-\d{8}\.png$/.test(n)).sort());
  writeGif(path.join(out, 'progress.gif'), frames.map((n) => fs.readFileSync(path.join(out, 'samples', n))), { delayMs: 300 });
}

/**
 * The rows of losses.jsonl. A garbled last line is a write torn by a kill (the checkpoint is what
 * counts): dropped with a warning. A garbled line before it is an error naming file and line.
 */
export function readRows(file: string, warn: (m: string) => void = (m) => process.emitWarning(m, { code: 'TORCH_GAN_TORN_LOSSES' })): LossRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const rows: LossRow[] = [];
  let last = lines.length - 1;
  while (last >= 0 && !lines[last].trim()) last--;
  for (let i = 0; i <= last; i++) {
    if (!lines[i].trim()) continue;
    let row: LossRow;
    try {
      row = JSON.parse(lines[i]) as LossRow;
      if (!is.plainObject(row) || !Number.isSafeInteger(row.iter)) throw new Error('expected a row {iter, criticLoss, ...}');
    } catch (e) {
      if (i === last) {
        warn(`${file}: dropped its last line, garbled (a write cut short, e.g. by a kill): ${(e as Error).message}`);
        break;
      }
      throw new TorchError(`${file} line ${i + 1}: not a loss row (${(e as Error).message}); the lines after it are intact, so this is not a torn write: fix or remove the line`, { code: 'ERR_DATA' });
    }
    rows.push(row);
  }
  return rows;
}

/**
 * The observer that logs a run to TensorBoard event files in `logDir` (lib/io/tensorboard.ts):
 * per step the losses, the Wasserstein estimate, the penalty, the gradient norm and it/s; per
 * sample grid the image. `tensorboard --logdir DIR` shows them.
 */
export function tensorBoardLog(logDir: string): RunObserver & { close(): void } {
  const writer = new SummaryWriter(logDir);
  let lastTime = 0;
  let lastStep = -1;
  return {
    onStep(_run, s) {
      const step = s.iteration;
      writer.addScalar('loss/critic', s.criticLoss, step);
      writer.addScalar('loss/generator', s.generatorLoss, step);
      writer.addScalar('wasserstein_estimate', s.wassersteinEstimate, step);
      writer.addScalar('penalty', s.penalty, step);
      if (Number.isFinite(s.gradNorm)) writer.addScalar('grad_norm', s.gradNorm, step);
      const now = Date.now();
      if (lastStep >= 0 && now > lastTime) writer.addScalar('iterations_per_second', ((step - lastStep) * 1000) / (now - lastTime), step);
      lastTime = now;
      lastStep = step;
    },
    onSample(_run, step, png) {
      writer.addImage('samples', png, step);
    },
    onCheckpoint() {
      writer.flush(); // what a checkpoint covers is on disk with it
    },
    onEnd() {
      writer.close();
    },
    close() {
      if (!writer.closed) writer.close();
    },
  };
}
