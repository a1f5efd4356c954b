// Data-parallel helpers over a process group: gradients all-reduced in flat buckets (one
// collective per bucket, then copied back), and parameters broadcast from one rank.
// The robust pattern for losses with gradient penalties: every process computes its whole loss
// (penalty included) on its shard, runs a plain backward, then allReduceGradients averages the
// gradients; for a loss that is a mean over the batch this equals the full batch's gradient.
import { checkOptionKeys, invalidParameterError, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { cat, zerosLike } from '../tensor/creation';
import { dispose } from '../tensor/scope';
import { Module } from '../nn/module';
import { ProcessGroup, getProcessGroup } from './group';

export interface AllReduceGradientsOptions {
  /** Divide the sum by the world size (default true). */
  average?: boolean;
  /** Bucket size in MiB: gradients are flattened into buckets of about this size (default 25). */
  bucketMB?: number;
  /** Default: the group of initProcessGroup(). */
  group?: ProcessGroup;
}

type Params = Tensor[] | Module<any[], any>;

function paramsOf(where: string, params: Params): Tensor[] {
  if (params instanceof Module) return params.parameters();
  if (!Array.isArray(params)) throw invalidParameterError(`${where} params`, 'a Module or an array of Tensors', params);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw invalidParameterError(`${where} params[${i}]`, 'a Tensor', p);
  });
  return params;
}

function resolve(where: string, options: AllReduceGradientsOptions | undefined) {
  checkOptionKeys(where, options, ['average', 'bucketMB', 'group']);
  const average = options?.average ?? true;
  if (!is.bool(average)) throw invalidParameterError(`${where} option 'average'`, 'a boolean', average);
  const bucketMB = options?.bucketMB ?? 25;
  if (!is.finite(bucketMB) || bucketMB <= 0) throw invalidParameterError(`${where} option 'bucketMB'`, 'a positive number of MiB', bucketMB);
  const group = options?.group ?? getProcessGroup(where);
  if (!(group instanceof ProcessGroup)) throw invalidParameterError(`${where} option 'group'`, 'a ProcessGroup', group);
  return { average, bucketBytes: bucketMB * 1024 * 1024, group };
}

interface Bucket { grads: Tensor[]; flat: Tensor }

/**
 * The gradients of `params` in buckets of one dtype each, in parameter order (the same on every
 * rank). A parameter that requires grad but has none gets a zero gradient, so every rank sends
 * the same layout; parameters that do not require grad are skipped.
 */
function buckets(where: string, params: Tensor[], bucketBytes: number): Bucket[] {
  const open = new Map<string, { grads: Tensor[]; bytes: number }>();
  const out: Bucket[] = [];
  const close = (key: string) => {
    const b = open.get(key);
    if (!b || b.grads.length === 0) return;
    const flats = b.grads.map((g) => g.reshape(-1));
    out.push({ grads: b.grads, flat: cat(flats) });
    dispose(flats);
    open.delete(key);
  };
  params.forEach((p, i) => {
    if (!p.requiresGrad) return;
    let g = p.grad;
    if (g === null) {
      const z = zerosLike(p);
      p.grad = z;
      z.dispose();
      g = p.grad as Tensor;
    }
    if (g.device !== 'cpu') throw invalidParameterError(`${where} params[${i}].grad`, 'a CPU Tensor (the Gloo backend)', `a ${g.device} Tensor`);
    const key = g.dtype;
    const b = open.get(key) ?? { grads: [], bytes: 0 };
    open.set(key, b);
    b.grads.push(g);
    b.bytes += g.numel() * elementBytes(g.dtype);
    if (b.bytes >= bucketBytes) close(key);
  });
  for (const key of [...open.keys()]) close(key);
  return out;
}

function elementBytes(dtype: string): number {
  return dtype === 'float64' || dtype === 'int64' ? 8 : dtype === 'float16' || dtype === 'bfloat16' || dtype === 'int16' ? 2 : dtype === 'int8' || dtype === 'uint8' || dtype === 'bool' ? 1 : 4;
}

function copyBack(b: Bucket, average: boolean, worldSize: number): void {
  if (average && worldSize > 1) b.flat.div_(worldSize);
  let offset = 0;
  for (const g of b.grads) {
    const n = g.numel();
    const part = b.flat.narrow(0, offset, n);
    const shaped = part.view(g.shape);
    g.copy_(shaped);
    dispose([part, shaped]);
    offset += n;
  }
}

/** All-reduces (by default averages) the gradients of `params` in place; returns the number of buckets (collectives). */
export function allReduceGradients(params: Params, options?: AllReduceGradientsOptions): number {
  const where = 'allReduceGradients()';
  const { average, bucketBytes, group } = resolve(where, options);
  const bs = buckets(where, paramsOf(where, params), bucketBytes);
  try {
    for (const b of bs) {
      group.allReduce(b.flat, { op: 'sum' });
      copyBack(b, average, group.worldSize);
    }
  } finally {
    for (const b of bs) dispose([b.flat, ...b.grads]);
  }
  return bs.length;
}

/** allReduceGradients with every bucket in flight at once and the waits off the event loop. */
export async function allReduceGradientsAsync(params: Params, options?: AllReduceGradientsOptions): Promise<number> {
  const where = 'allReduceGradientsAsync()';
  const { average, bucketBytes, group } = resolve(where, options);
  const bs = buckets(where, paramsOf(where, params), bucketBytes);
  try {
    const pending = bs.map((b) => group.allReduceAsync(b.flat, { op: 'sum' }));
    await Promise.all(pending.map((p) => p.catch((e) => e)));  // let every wait finish before freeing
    for (const p of pending) await p;
    for (const b of bs) copyBack(b, average, group.worldSize);
  } finally {
    for (const b of bs) dispose([b.flat, ...b.grads]);
  }
  return bs.length;
}

/** Copies rank `root`'s parameters (and buffers, unless {buffers: false}) into every rank's, in place. */
export function broadcastParameters(module: Params, options: { root?: number; buffers?: boolean; group?: ProcessGroup } = {}): void {
  const where = 'broadcastParameters()';
  checkOptionKeys(where, options, ['root', 'buffers', 'group']);
  const root = options.root ?? 0;
  const group = options.group ?? getProcessGroup(where);
  if (!is.nonNegativeInteger(root) || root >= group.worldSize) throw invalidParameterError(`${where} option 'root'`, `a rank in [0, ${group.worldSize})`, root);
  const tensors = paramsOf(where, module);
  const withBuffers = options.buffers ?? true;
  const all = module instanceof Module && withBuffers ? [...tensors, ...module.buffers()] : tensors;
  for (const t of all) group.broadcast(t, root);
}
