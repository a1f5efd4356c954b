// DataParallel: the data-parallel policy over a process group, as GanTrainer (lib/gan) uses it
// through its narrow TrainerDataParallel interface (rank/worldSize, syncGradients, allReduceSum),
// and as an engine uses it to start a run: synchronize() checks that every rank built the same
// networks, then copies rank 0's parameters, buffers and random generator state everywhere.
//
// The pattern is stylegan2-ada's, not DDP's autograd hooks (which misbehave with the penalties'
// createGraph): each rank computes its whole loss on its shard (penalty included), runs a plain
// backward, then syncGradients averages the gradients in flat buckets before the optimizer step.
// For losses that are means over the batch this is the global batch's gradient.
import { TorchError, describe, is } from '../errors';
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { getRngState, setRngState } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd';
import { Module } from '../nn/module';
import { ProcessGroup, getProcessGroup } from './group';
import { allReduceGradients } from './gradients';

export interface DataParallelOptions {
  /** Default: the group of initProcessGroup(). */
  group?: ProcessGroup;
  /** Gradient bucket size in MiB (default 25): one all-reduce per bucket. */
  bucketMB?: number;
}

export interface SynchronizeOptions {
  /** Also copy rank 0's CPU random generator state (default true): every rank then draws the same numbers. */
  rng?: boolean;
  /** Also copy rank 0's buffers (BatchNorm running statistics, spectral norm's u, v; default true). */
  buffers?: boolean;
}

type AnyModule = Module<any[], any>;

function argError(parameter: string, expected: string, received: unknown): TorchError {
  const r = describe(received);
  return new TorchError(`Expected ${expected} for ${parameter} but received ${r}`, { code: 'ERR_INVALID_ARG', parameter, expected, received: r });
}

/** 32-bit FNV-1a of a string: the same on every rank for the same text. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

interface Layout { tensors: number; elements: number; hash: number; text: string }

function layoutOf(modules: AnyModule[], buffers: boolean): Layout {
  let tensors = 0;
  let elements = 0;
  const parts: string[] = [];
  modules.forEach((m, i) => {
    const named = [...m.namedParameters(), ...(buffers ? m.namedBuffers() : [])];
    for (const [name, t] of named) {
      tensors++;
      elements += t.numel();
      parts.push(`${i}/${name}:${t.dtype}[${t.shape.join(',')}]`);
    }
  });
  const text = parts.join(';');
  return { tensors, elements, hash: fnv1a(text), text };
}

export class DataParallel {
  readonly group: ProcessGroup;
  readonly bucketMB: number;

  constructor(options: DataParallelOptions = {}) {
    const where = 'DataParallel()';
    if (!is.plainObject(options)) throw argError(`${where} options`, 'a plain object like {group, bucketMB}', options);
    for (const k of Object.keys(options)) {
      if (k !== 'group' && k !== 'bucketMB') throw new TorchError(`Unknown option '${k}' for ${where}; expected one of: group, bucketMB`, { code: 'ERR_INVALID_ARG', parameter: k });
    }
    const group = options.group ?? getProcessGroup(where);
    if (!(group instanceof ProcessGroup)) throw argError(`${where} option 'group'`, 'a ProcessGroup (from initProcessGroup())', group);
    const bucketMB = options.bucketMB ?? 25;
    if (!is.finite(bucketMB) || bucketMB <= 0) throw argError(`${where} option 'bucketMB'`, 'a positive number of MiB', bucketMB);
    this.group = group;
    this.bucketMB = bucketMB;
  }

  /**
   * What this rank's collectives cost so far (syncGradients and allReduceSum; synchronize() not
   * counted): their count, the elements they reduced and the wall time spent in them, including
   * the wait for slower ranks. Reset it by assigning zeros.
   */
  readonly traffic = { collectives: 0, elements: 0, ms: 0 };

  get rank(): number { return this.group.rank; }
  get worldSize(): number { return this.group.worldSize; }
  /** This process's shard of every global batch: GanTrainer's option dataParallel reads it. */
  get shard(): { rank: number; worldSize: number } { return { rank: this.group.rank, worldSize: this.group.worldSize }; }

  /** "the other ranks" in words, for error messages: which peer a failure can come from. */
  private peers(): string {
    const others = [...Array(this.worldSize).keys()].filter((r) => r !== this.rank);
    return others.length === 1 ? `rank ${others[0]}` : `one of ranks ${others.join(', ')}`;
  }

  /** Re-throws a collective's failure with what DataParallel was doing and which peer it can be. */
  private fail(what: string, e: unknown): never {
    const code = (e as { code?: string })?.code ?? 'ERR_TORCH_DISTRIBUTED';
    const msg = (e as Error)?.message ?? String(e);
    const hint = code === 'ERR_TORCH_DISTRIBUTED_PEER'
      ? `; the peer (${this.peers()}) exited or closed its connection: the run cannot go on, restart every rank (from the last checkpoint)`
      : code === 'ERR_TORCH_DISTRIBUTED_TIMEOUT'
        ? `; the peer (${this.peers()}) did not take part within the group's timeout of ${this.group.timeoutMs} ms (stalled, killed without closing its connection, or the ranks are out of step)`
        : '';
    throw new TorchError(`DataParallel.${what} on rank ${this.rank} of ${this.worldSize}: ${msg}${hint}`, { code, cause: e });
  }

  /**
   * Averages the gradients of `params` (or a module's parameters) over the ranks, in place, in
   * flat buckets of one dtype (one all-reduce each). Parameters that do not require grad are
   * skipped; one that requires grad but has none gets a zero gradient (every rank sends the same
   * layout). Returns the number of buckets.
   */
  syncGradients(params: Tensor[] | AnyModule): number {
    return this.counted('syncGradients()', () => {
      const buckets = allReduceGradients(params, { group: this.group, bucketMB: this.bucketMB, average: true });
      let elements = 0;
      for (const p of params instanceof Module ? params.parameters() : params) if (p.requiresGrad) elements += p.numel();
      return { result: buckets, collectives: buckets, elements };
    });
  }

  /** Sums `t` (a dense contiguous CPU tensor) over the ranks, in place. Returns it. */
  allReduceSum(t: Tensor): Tensor {
    return this.counted('allReduceSum()', () => {
      this.group.allReduce(t, { op: 'sum' });
      return { result: t, collectives: 1, elements: t.numel() };
    });
  }

  /** Runs a collective, adds its count, size and wall time to `traffic`, and re-throws a failure with fail(). */
  private counted<T>(what: string, run: () => { result: T; collectives: number; elements: number }): T {
    const t0 = performance.now();
    try {
      const r = run();
      this.traffic.collectives += r.collectives;
      this.traffic.elements += r.elements;
      return r.result;
    } catch (e) {
      if (e instanceof TypeError) throw e;
      this.fail(what, e);
    } finally {
      this.traffic.ms += performance.now() - t0;
    }
  }

  /**
   * Starts a run in step: checks that every rank holds the same networks (names, shapes and
   * dtypes of every parameter and buffer; a mismatch is ERR_DATA_PARALLEL_MISMATCH naming the
   * rank and what differs), then copies rank 0's parameters (and buffers) into every rank's, and
   * rank 0's random generator state (options.rng, default true), so noise and penalty draws agree.
   */
  synchronize(modules: AnyModule | AnyModule[], options: SynchronizeOptions = {}): void {
    const where = 'DataParallel.synchronize()';
    const list = Array.isArray(modules) ? modules : [modules];
    list.forEach((m, i) => {
      if (!(m instanceof Module)) throw argError(`${where} modules[${i}]`, 'a Module', m);
    });
    if (!is.plainObject(options)) throw argError(`${where} options`, 'a plain object like {rng, buffers}', options);
    for (const k of Object.keys(options)) {
      if (k !== 'rng' && k !== 'buffers') throw new TorchError(`Unknown option '${k}' for ${where}; expected one of: rng, buffers`, { code: 'ERR_INVALID_ARG', parameter: k });
    }
    const rng = options.rng ?? true;
    const buffers = options.buffers ?? true;
    if (!is.bool(rng)) throw argError(`${where} option 'rng'`, 'a boolean', rng);
    if (!is.bool(buffers)) throw argError(`${where} option 'buffers'`, 'a boolean', buffers);
    const mine = layoutOf(list, buffers);
    let all: number[][];
    try {
      all = tidy(() => this.group.allGather(tensor([mine.tensors, mine.elements, mine.hash], { dtype: 'int64' })).map((t) => t.toArray()));
    } catch (e) {
      this.fail('synchronize()', e);
    }
    const [t0, e0, h0] = all[0];
    for (let r = 1; r < all.length; r++) {
      const [t, e, h] = all[r];
      if (t !== t0 || e !== e0 || h !== h0) {
        const detail = t !== t0 || e !== e0
          ? `rank ${r} has ${t} tensors of ${e} elements, rank 0 ${t0} tensors of ${e0} elements`
          : `rank ${r}'s parameter names, shapes or dtypes differ from rank 0's (same count and size)`;
        throw new TorchError(`${where}: the ranks built different networks: ${detail}; every rank must build the same models with the same options${this.rank === r || this.rank === 0 ? ` (this rank's: ${mine.text.slice(0, 300)}${mine.text.length > 300 ? '...' : ''})` : ''}`, {
          code: 'ERR_DATA_PARALLEL_MISMATCH', parameter: 'modules', expected: `rank 0's layout (${t0} tensors, ${e0} elements)`, received: `rank ${r}'s (${t} tensors, ${e} elements)`,
        });
      }
    }
    try {
      // Gloo sends memory as it lies: a channels-last tensor goes through an NCHW copy, so ranks
      // agree on the values whatever layout each one's networks have
      const send = (t: Tensor): void => {
        if (t.isContiguous()) {
          this.group.broadcast(t, 0);
          return;
        }
        tidy(() => {
          const dense = t.contiguous();
          this.group.broadcast(dense, 0);
          noGrad(() => t.copy_(dense));
        });
      };
      for (const m of list) {
        for (const p of m.parameters()) send(p);
        if (buffers) for (const b of m.buffers()) send(b);
      }
      if (rng) {
        tidy(() => {
          const s = getRngState().contiguous();
          this.group.broadcast(s, 0);
          setRngState(s);
        });
      }
    } catch (e) {
      if (e instanceof TypeError) throw e;
      this.fail('synchronize()', e);
    }
  }
}
