// scripts/parity/pytorch_wgan_gp.py's checkpoints and exact resume (the PyTorch side of issue #19's
// long parity runs): 12 iterations straight and 6 + --resume to 12 give the same generator bit for
// bit; a resume that contradicts the saved recipe fails naming the flag, without a traceback; the
// checkpoint pruning keeps the newest two and the multiples of --keep-every; and torch-gan loads the
// generator as evaluate does (checkSavedRunConfig, buildModels, loadSamplingGenerator).
// Tiny: a 100-image IDX file, batch 16, one thread, at nice 19. Skipped when /usr/bin/python3 has no torch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as tg from '../lib';
import { readSafetensorsHeader, loadSafetensors } from '../lib/io/safetensors';
import { latestCheckpoint } from '../lib/gan/checkpoint';
import { checkSavedRunConfig } from '../lib/gan/resume';
import { buildModels } from '../lib/gan/run-models';
import { loadSamplingGenerator } from '../lib/gan/sampling-weights';
import { writeIdxFiles } from './helpers/idx-files';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, '..', 'scripts', 'parity', 'pytorch_wgan_gp.py');
const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
if (!hasTorch) console.log(`parity-resume.test.ts: skipped — ${PYTHON} cannot import torch and numpy (${(probe.error?.message ?? probe.stderr ?? '').trim().split('\n').pop()}); apt-get install python3-torch`);
const t = hasTorch ? test : test.skip;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-parity-resume-'));
const data = path.join(writeIdxFiles(path.join(work, 'data'), 100, (i, k) => (i * 131 + k * 7 + ((i * k) % 17)) & 255), 'train-images-idx3-ubyte');

function py(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('nice', ['-n', '19', PYTHON, SCRIPT, '--threads', '1', ...args], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
}
function ok(r: SpawnSyncReturns<string>, what: string): void {
  assert.is(r.status, 0, `${what} failed (exit ${r.status}): ${r.stderr}`);
}
const recipe = ['--data', data, '--batch-size', '16', '--seed', '3', '--checkpoint-every', '2', '--keep-every', '4'];
const straight = path.join(work, 'straight');
const resumed = path.join(work, 'resumed');
const ckpt = (out: string, step: number) => path.join(out, 'checkpoints', `ckpt-${String(step).padStart(8, '0')}`);

t('12 iterations straight and 6 + --resume to 12: the same generator, bit for bit, and the same losses', () => {
  ok(py(['--iters', '12', '--out', straight, ...recipe]), 'straight run');
  ok(py(['--iters', '6', '--out', resumed, ...recipe]), 'first half');
  // the recipe flags default to the saved ones on --resume
  const r = py(['--iters', '12', '--out', resumed, '--checkpoint-every', '2', '--keep-every', '4', '--resume']);
  ok(r, 'resumed half');
  assert.match(r.stdout, /resuming from .*resume\.pt \(iteration 6\) to 12/);
  for (const step of [8, 12]) {
    const a = loadSafetensors(path.join(ckpt(straight, step), 'generator.safetensors'));
    const b = loadSafetensors(path.join(ckpt(resumed, step), 'generator.safetensors'));
    try {
      assert.equal(Object.keys(b).sort(), Object.keys(a).sort());
      for (const k of Object.keys(a)) {
        const x = a[k].data() as Float32Array;
        const y = b[k].data() as Float32Array;
        assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), `step ${step} ${k}: resumed weights differ from the straight run's`);
      }
    } finally {
      for (const v of [...Object.values(a), ...Object.values(b)]) v.dispose();
    }
  }
  // losses.jsonl: the same 12 rows (seconds aside)
  const rows = (out: string) => fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => { const o = JSON.parse(l); delete o.seconds; return o; });
  assert.equal(rows(resumed), rows(straight));
  assert.is(rows(straight).length, 12);
});

t('checkpoints: the newest two and the multiples of --keep-every are kept; latest.json and state.json name the step', () => {
  const dirs = fs.readdirSync(path.join(straight, 'checkpoints')).sort();
  assert.equal(dirs, ['ckpt-00000004', 'ckpt-00000008', 'ckpt-00000010', 'ckpt-00000012', 'latest.json', 'resume.pt']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(straight, 'checkpoints', 'latest.json'), 'utf8')), { checkpoint: 'ckpt-00000012', step: 12 });
  assert.is(JSON.parse(fs.readFileSync(path.join(ckpt(straight, 10), 'state.json'), 'utf8')).step, 10);
});

t('a resume that contradicts the saved recipe fails naming the flag, with no traceback; so does --iters below the saved step', () => {
  for (const [flag, value] of [['--seed', '4'], ['--batch-size', '32']]) {
    const r = py(['--iters', '14', '--out', resumed, flag, value, '--resume']);
    assert.is(r.status, 2, `${flag}: exit ${r.status}`);
    assert.match(r.stderr, new RegExp(`${flag} ${value} contradicts the resumed run \\(${flag} (3|16)`));
    assert.not.match(r.stderr, /Traceback/);
  }
  const low = py(['--iters', '10', '--out', resumed, '--resume']);
  assert.is(low.status, 2);
  assert.match(low.stderr, /--iters 10 is below the resumed step 12/);
  const none = py(['--iters', '10', '--out', path.join(work, 'none'), '--resume']);
  assert.is(none.status, 2);
  assert.match(none.stderr, /--resume: no resume state at/);
  assert.not.match(low.stderr + none.stderr, /Traceback/);
});

t("torch-gan loads the PyTorch generator as evaluate does (its keys, shapes and config), and it samples 1×28×28", () => {
  const root = path.join(resumed, 'checkpoints');
  const { state, dir } = latestCheckpoint(root);
  assert.is(state.step, 12);
  const config = checkSavedRunConfig(state.config, path.join(dir, 'state.json'));
  const header = readSafetensorsHeader(path.join(dir, 'generator.safetensors'));
  const shapes = Object.fromEntries(Object.entries(header.tensors).map(([k, e]) => [k, e.shape]));
  assert.equal(shapes, { '0.weight': [100, 128, 4, 4], '3.weight': [128, 64, 3, 3], '6.weight': [64, 32, 4, 4], '9.weight': [32, 1, 4, 4] });
  const { generator, critic } = buildModels({ ...config, device: 'cpu' });
  critic.dispose();
  try {
    const st = loadSamplingGenerator(root, generator);
    assert.is(st.step, 12);
    assert.is(st.weights, 'live');
    const file = loadSafetensors(path.join(dir, 'generator.safetensors'));
    try {
      for (const [k, p] of generator.namedParameters()) {
        assert.ok(file[k] !== undefined, `the file has no ${k}`);
        assert.equal(Array.from(p.data() as Float32Array), Array.from(file[k].data() as Float32Array), `${k} loaded`);
      }
    } finally {
      for (const v of Object.values(file)) v.dispose();
    }
    tg.tidy(() => {
      generator.eval();
      const x = generator.forward(tg.randn([2, 100, 1, 1]));
      assert.equal(x.shape, [2, 1, 28, 28]);
    });
  } finally {
    generator.dispose();
  }
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));
test.run();
