// Training checkpoints that survive a crash at any moment.
// Layout of a checkpoint root:
//   latest.json                 -> {"checkpoint": "ckpt-00000200", "step": 200}
//   ckpt-00000200/generator.safetensors   (PyTorch loads it: safetensors.torch.load_file)
//   ckpt-00000200/critic.safetensors
//   ckpt-00000200/generator_ema.safetensors (when a GeneratorEma's shadow is given)
//   ckpt-00000200/opt_g.safetensors, opt_d.safetensors
//   ckpt-00000200/rng.safetensors         (the generators' states: 'cpu', and 'cuda:N' with CUDA)
//   ckpt-00000200/state.json              (step, run config, loader state, ...)
// A checkpoint folder is written under a temporary name and renamed into place;
// latest.json is replaced atomically last. A kill at any point leaves the previous
// checkpoint intact and latest.json pointing at a complete folder.
import * as fs from 'fs';
import * as path from 'path';
import { invalidParameterError, is, TorchError } from '../errors';
import { getRngState, setRngState } from '../tensor/creation';
import { cuda } from '../tensor/memory';
import type { Tensor } from '../tensor/tensor';
import { AnyModule } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { loadSafetensors, saveSafetensors } from '../io/safetensors';
import { loadModule, loadOptimizer, saveModule, saveOptimizer } from '../io/state';
import { fsyncDir, writeJsonAtomic } from '../io/atomic';

export interface CheckpointModels {
  generator: AnyModule;
  critic?: AnyModule;
  /** the averaged generator (GeneratorEma's module), saved as generator_ema.safetensors */
  generatorEma?: AnyModule;
  optG?: Optimizer<object>;
  optD?: Optimizer<object>;
}

export interface CheckpointState {
  step: number;
  /** the run's configuration (JSON), e.g. the CLI flags and model options */
  config: Record<string, unknown>;
  /** anything else JSON that a resume needs (loader position, loss history length, ...) */
  extra?: Record<string, unknown>;
}

/** A checkpoint that is incomplete or inconsistent (ERR_CHECKPOINT), naming the file or folder and the problem. */
export function checkpointError(where: string, problem: string): TorchError {
  return new TorchError(`checkpoint ${where}: ${problem}`, { code: 'ERR_CHECKPOINT' });
}

const LATEST = 'latest.json';
const folderName = (step: number) => `ckpt-${String(step).padStart(8, '0')}`;

/** Writes a complete checkpoint for `state.step`, then points latest.json at it. Returns its folder. */
export function saveCheckpoint(root: string, models: CheckpointModels, state: CheckpointState, options: { keep?: number } = {}): string {
  if (!is.string(root) || root === '') throw invalidParameterError('root', 'a folder path', root);
  if (!is.nonNegativeInteger(state.step)) throw invalidParameterError('state.step', 'a non-negative integer', state.step);
  const keep = options.keep ?? 2;
  fs.mkdirSync(root, { recursive: true });
  const name = folderName(state.step);
  const final = path.join(root, name);
  const tmp = path.join(root, `.${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    const configJson = JSON.stringify(state.config);
    saveModule(models.generator, path.join(tmp, 'generator.safetensors'), { format: 'pt', 'torch-gan.config': configJson });
    if (models.critic) saveModule(models.critic, path.join(tmp, 'critic.safetensors'), { format: 'pt' });
    if (models.generatorEma) saveModule(models.generatorEma, path.join(tmp, 'generator_ema.safetensors'), { format: 'pt', 'torch-gan.config': configJson });
    if (models.optG) saveOptimizer(models.optG, path.join(tmp, 'opt_g.safetensors'));
    if (models.optD) saveOptimizer(models.optD, path.join(tmp, 'opt_d.safetensors'));
    // this environment's generators: the CPU one and, with CUDA, each device's ('cuda:0', ...)
    const rng: Record<string, Tensor> = { cpu: getRngState() };
    try {
      if (cuda.isAvailable()) for (let d = 0; d < cuda.deviceCount(); d++) rng[`cuda:${d}`] = cuda.getRngState(d);
      saveSafetensors(path.join(tmp, 'rng.safetensors'), rng);
    } finally {
      for (const t of Object.values(rng)) t.dispose();
    }
    writeJsonAtomic(path.join(tmp, 'state.json'), { ...state, savedAt: new Date().toISOString(), format: 1 });
    fsyncDir(tmp);
    if (fs.existsSync(final)) fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
    fsyncDir(root);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  writeJsonAtomic(path.join(root, LATEST), { checkpoint: name, step: state.step });
  pruneOld(root, name, keep);
  return final;
}

function pruneOld(root: string, current: string, keep: number): void {
  const all = fs
    .readdirSync(root)
    .filter((f) => /^ckpt-\d{8}$/.test(f))
    .sort();
  const stale = all.filter((f) => f !== current).slice(0, Math.max(0, all.length - keep));
  for (const f of stale) fs.rmSync(path.join(root, f), { recursive: true, force: true });
}

/** The folder latest.json points at, checked to be complete. */
export function latestCheckpoint(root: string): { dir: string; state: CheckpointState } {
  const latestFile = path.join(root, LATEST);
  if (!fs.existsSync(root)) throw checkpointError(root, 'no such folder');
  let dir: string;
  if (fs.existsSync(latestFile)) {
    let latest: { checkpoint?: unknown };
    try {
      latest = JSON.parse(fs.readFileSync(latestFile, 'utf8'));
    } catch (e) {
      throw checkpointError(latestFile, `not valid JSON (${(e as Error).message})`);
    }
    if (!is.string(latest.checkpoint) || !/^ckpt-\d{8}$/.test(latest.checkpoint)) {
      throw checkpointError(latestFile, `expected {"checkpoint": "ckpt-NNNNNNNN"}, received ${JSON.stringify(latest)}`);
    }
    dir = path.join(root, latest.checkpoint);
  } else if (fs.existsSync(path.join(root, 'state.json'))) {
    dir = root; // a checkpoint folder given directly
  } else {
    throw checkpointError(root, `no ${LATEST} and no state.json: not a torch-gan checkpoint folder (was the run started with --checkpoint-every?)`);
  }
  const stateFile = path.join(dir, 'state.json');
  if (!fs.existsSync(stateFile)) throw checkpointError(dir, 'state.json is missing: the checkpoint is incomplete');
  let state: CheckpointState;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw checkpointError(stateFile, `not valid JSON (${(e as Error).message})`);
  }
  if (!is.nonNegativeInteger(state.step) || !is.plainObject(state.config)) {
    throw checkpointError(stateFile, 'expected {step, config, ...}');
  }
  return { dir, state };
}

/**
 * Loads the latest checkpoint of `root` into the given models and optimizers
 * (same architecture), restores the RNG, and returns the saved state.
 * With only a generator, loads just the generator (for sampling).
 */
export function loadCheckpoint(root: string, models: CheckpointModels, options: { restoreRng?: boolean } = {}): CheckpointState & { dir: string } {
  const { dir, state } = latestCheckpoint(root);
  const need = (file: string) => {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) throw checkpointError(dir, `${file} is missing`);
    return p;
  };
  loadModule(models.generator, need('generator.safetensors'));
  if (models.critic) loadModule(models.critic, need('critic.safetensors'));
  if (models.generatorEma) loadModule(models.generatorEma, need('generator_ema.safetensors'));
  if (models.optG) loadOptimizer(models.optG, need('opt_g.safetensors'));
  if (models.optD) loadOptimizer(models.optD, need('opt_d.safetensors'));
  if (options.restoreRng ?? true) {
    const t = loadSafetensors(need('rng.safetensors'));
    try {
      const file = path.join(dir, 'rng.safetensors');
      if (!t.cpu) throw checkpointError(file, "no 'cpu' tensor (the CPU generator's state)");
      const now = getRngState();
      const [size, dtype] = [now.numel(), now.dtype];
      now.dispose();
      if (t.cpu.dtype !== dtype || t.cpu.numel() !== size) {
        throw checkpointError(file, `'cpu' must be a ${dtype} tensor of ${size} bytes (libtorch's CPU generator state), received a ${t.cpu.dtype} tensor of ${t.cpu.numel()} elements`);
      }
      setRngState(t.cpu);
      // CUDA generators where both the checkpoint and this process have the device (a CPU-only
      // resume of a CUDA run restores the CPU stream alone)
      const devices = cuda.isAvailable() ? cuda.deviceCount() : 0;
      for (const [key, state] of Object.entries(t)) {
        const m = /^cuda:(\d+)$/.exec(key);
        if (m && Number(m[1]) < devices) cuda.setRngState(state, Number(m[1]));
      }
    } finally {
      for (const v of Object.values(t)) v.dispose();
    }
  }
  return { ...state, dir };
}
