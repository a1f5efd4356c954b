// A process group on libtorch's c10d (TCPStore rendezvous + ProcessGroupGloo), and the
// collectives: synchronous ones wait on this thread, the *Async ones wait on a worker and
// return Promises, so the event loop keeps running. Tensors are reduced in place.
import { N, NativeHandle } from '../native';
import { invalidParameterError, is, TorchError } from '../errors';
import { Tensor, handle, wrap } from '../tensor/tensor';
import { ProcessGroupOptions, ResolvedProcessGroupOptions, resolveProcessGroupOptions } from './options';

export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';
const OPS: readonly ReduceOp[] = ['sum', 'avg', 'product', 'min', 'max'];

/** What this build can do: Gloo needs Gloo's headers at build time, NCCL a CUDA build. */
export function distributedAvailability(): { gloo: boolean; glooReason?: string; nccl: boolean; ncclReason?: string } {
  return N.distAvailable();
}

function tensorArg(where: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw invalidParameterError(`${where} tensor`, 'a Tensor', t);
  return t;
}

function opArg(where: string, opts: { op?: ReduceOp } | undefined): ReduceOp {
  if (opts !== undefined && !is.plainObject(opts)) throw invalidParameterError(`${where} options`, 'a plain object like {op}', opts);
  const op = opts?.op ?? 'sum';
  if (!is.oneOf(op, OPS)) throw invalidParameterError(`${where} option 'op'`, `one of ${OPS.map((o) => `'${o}'`).join(', ')}`, op);
  return op;
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly backend: 'gloo';
  readonly timeoutMs: number;
  private _id: number | null;

  /** @internal use initProcessGroup() */
  constructor(id: number, o: ResolvedProcessGroupOptions) {
    this._id = id;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.localRank = o.localRank;
    this.backend = 'gloo';
    this.timeoutMs = o.timeoutMs;
  }

  get destroyed(): boolean { return this._id === null; }

  private id(where: string): number {
    if (this._id === null) throw new TorchError(`${where}: the process group was destroyed`, { code: 'ERR_TORCH_DISTRIBUTED_DESTROYED' });
    return this._id;
  }

  /** Reduces `tensor` over all ranks, in place ('avg' is a sum divided by worldSize). Returns it. */
  allReduce(tensor: Tensor, opts?: { op?: ReduceOp }): Tensor {
    const op = opArg('allReduce()', opts);
    N.distAllReduce(this.id('allReduce()'), handle(tensorArg('allReduce()', tensor)), op, false);
    return tensor;
  }
  allReduceAsync(tensor: Tensor, opts?: { op?: ReduceOp }): Promise<Tensor> {
    const op = opArg('allReduceAsync()', opts);
    return (N.distAllReduce(this.id('allReduceAsync()'), handle(tensorArg('allReduceAsync()', tensor)), op, true) as Promise<void>).then(() => tensor);
  }
  /** Copies rank `root`'s `tensor` into every rank's `tensor`, in place. Returns it. */
  broadcast(tensor: Tensor, root = 0): Tensor {
    N.distBroadcast(this.id('broadcast()'), handle(tensorArg('broadcast()', tensor)), root, false);
    return tensor;
  }
  broadcastAsync(tensor: Tensor, root = 0): Promise<Tensor> {
    return (N.distBroadcast(this.id('broadcastAsync()'), handle(tensorArg('broadcastAsync()', tensor)), root, true) as Promise<void>).then(() => tensor);
  }
  /** Every rank's `tensor` (same shape and dtype everywhere), in rank order: new tensors. */
  allGather(tensor: Tensor): Tensor[] {
    return (N.distAllGather(this.id('allGather()'), handle(tensorArg('allGather()', tensor)), false) as NativeHandle[]).map(wrap);
  }
  async allGatherAsync(tensor: Tensor): Promise<Tensor[]> {
    const hs = await (N.distAllGather(this.id('allGatherAsync()'), handle(tensorArg('allGatherAsync()', tensor)), true) as Promise<NativeHandle[]>);
    return hs.map(wrap);
  }
  /** Returns once every rank has called barrier(). */
  barrier(): void { N.distBarrier(this.id('barrier()'), false); }
  barrierAsync(): Promise<void> { return N.distBarrier(this.id('barrierAsync()'), true) as Promise<void>; }

  /** Releases the group and its store. Idempotent: false when it was already destroyed. */
  destroy(): boolean {
    if (this._id === null) return false;
    const id = this._id;
    this._id = null;
    if (current === this) current = null;
    return N.distDestroy(id);
  }
}

// The default group of this thread (each worker_thread has its own).
let current: ProcessGroup | null = null;

function refuseSecond(where: string): void {
  if (current) {
    throw new TorchError(`${where}: a process group is already initialized (rank ${current.rank} of ${current.worldSize}); call destroyProcessGroup() first`, { code: 'ERR_INVALID_STATE' });
  }
}

/**
 * torchrun's agent serves the store in its own PyTorch's protocol. A libtorch 1.x client cannot
 * join a PyTorch 2.x store (seen here: the classic 2.x server resets the connection, the libuv
 * one leaves the 1.x client waiting forever), so that pairing is refused up front. PyTorch >= 2.2's agent is told
 * apart by the variable it sets, TORCH_NCCL_ASYNC_ERROR_HANDLING (1.x sets NCCL_ASYNC_ERROR_HANDLING).
 */
function checkAgentStore(where: string, o: ResolvedProcessGroupOptions, env: Record<string, string | undefined> = process.env): void {
  if (!o.agentStore) return;
  const version = String(N.libraryInfo().torchVersion);
  if (/^1\./.test(version) && env.TORCH_NCCL_ASYNC_ERROR_HANDLING !== undefined && env.NCCL_ASYNC_ERROR_HANDLING === undefined) {
    throw new TorchError(`${where}: this process was started by a PyTorch 2.x torchrun (TORCHELASTIC_USE_AGENT_STORE with TORCH_NCCL_ASYNC_ERROR_HANDLING set), ` +
      `whose agent store a libtorch ${version} client cannot join (the store protocols differ: a 2.x store resets a 1.x client or leaves it waiting forever). ` +
      `Start the ranks with npx torch-gan launch --nproc N, or with the torchrun of the PyTorch whose libtorch this addon was built on, or pass agentStore: false and a MASTER_PORT torchrun does not use`, {
      code: 'ERR_TORCH_DISTRIBUTED_UNAVAILABLE', parameter: 'TORCHELASTIC_USE_AGENT_STORE', expected: `a torchrun of libtorch ${version.split('.').slice(0, 2).join('.')}`, received: 'a PyTorch 2.x torchrun',
    });
  }
}

/**
 * Joins the process group: rank 0 serves a TCPStore on masterAddr:masterPort, every rank
 * connects, and Gloo connects the ranks pairwise. Blocks until every rank has joined or the
 * timeout passed (then a TorchError with code ERR_TORCH_DISTRIBUTED_TIMEOUT).
 */
export function initProcessGroup(options?: ProcessGroupOptions): ProcessGroup {
  refuseSecond('initProcessGroup()');
  const o = resolveProcessGroupOptions(options);
  checkAgentStore('initProcessGroup()', o);
  const id = N.distInit(o.rank, o.worldSize, o.masterAddr, o.masterPort, o.timeoutMs, o.backend, o.deviceHost, o.glooInterface, o.agentStore, o.storePrefix);
  return (current = new ProcessGroup(id, o));
}

/** initProcessGroup with the rendezvous on a worker thread: the event loop keeps running. */
export async function initProcessGroupAsync(options?: ProcessGroupOptions): Promise<ProcessGroup> {
  refuseSecond('initProcessGroupAsync()');
  const o = resolveProcessGroupOptions(options, process.env, 'initProcessGroupAsync()');
  checkAgentStore('initProcessGroupAsync()', o);
  const id = await N.distInitAsync(o.rank, o.worldSize, o.masterAddr, o.masterPort, o.timeoutMs, o.backend, o.deviceHost, o.glooInterface, o.agentStore, o.storePrefix);
  refuseSecond('initProcessGroupAsync()');
  return (current = new ProcessGroup(id, o));
}

/** Destroys the default group. Idempotent: false when there was none. */
export function destroyProcessGroup(): boolean {
  return current ? current.destroy() : false;
}

export const isInitialized = (): boolean => current !== null;

/** The default group (initProcessGroup's), or a clear error. */
export function getProcessGroup(where = 'distributed'): ProcessGroup {
  if (!current) throw new TorchError(`${where}: no process group: call initProcessGroup() first`, { code: 'ERR_INVALID_STATE' });
  return current;
}

export const getRank = (): number => getProcessGroup('getRank()').rank;
export const getWorldSize = (): number => getProcessGroup('getWorldSize()').worldSize;

export const allReduce = (t: Tensor, opts?: { op?: ReduceOp }): Tensor => getProcessGroup('allReduce()').allReduce(t, opts);
export const allReduceAsync = (t: Tensor, opts?: { op?: ReduceOp }): Promise<Tensor> => getProcessGroup('allReduceAsync()').allReduceAsync(t, opts);
export const broadcast = (t: Tensor, root = 0): Tensor => getProcessGroup('broadcast()').broadcast(t, root);
export const broadcastAsync = (t: Tensor, root = 0): Promise<Tensor> => getProcessGroup('broadcastAsync()').broadcastAsync(t, root);
export const allGather = (t: Tensor): Tensor[] => getProcessGroup('allGather()').allGather(t);
export const allGatherAsync = (t: Tensor): Promise<Tensor[]> => getProcessGroup('allGatherAsync()').allGatherAsync(t);
export const barrier = (): void => getProcessGroup('barrier()').barrier();
export const barrierAsync = (): Promise<void> => getProcessGroup('barrierAsync()').barrierAsync();
