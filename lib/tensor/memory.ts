// What is alive: tensors and bytes per device, CUDA allocator stats when present.
import { N } from '../native';
import { invalidParameterError } from '../errors';
import { Tensor } from './tensor';

export interface MemoryInfo {
  /** live tensor handles (all devices) */
  tensors: number;
  /** bytes of live CPU tensors (views counted by their own size) */
  bytes: number;
  cpu: { tensors: number; bytes: number };
  cuda: { tensors: number; bytes: number; allocatedBytes?: number; peakAllocatedBytes?: number; reservedBytes?: number };
}

export function memory(): MemoryInfo {
  const c = N.memoryCounters();
  const cuda: MemoryInfo['cuda'] = { tensors: c.cudaTensors, bytes: c.cudaBytes };
  if (N.cudaIsAvailable()) Object.assign(cuda, N.cudaMemoryStats(0));
  return { tensors: c.tensors, bytes: c.cpuBytes, cpu: { tensors: c.tensors - c.cudaTensors, bytes: c.cpuBytes }, cuda };
}

export const cuda = {
  isAvailable: (): boolean => N.cudaIsAvailable(),
  deviceCount: (): number => N.cudaDeviceCount(),
  synchronize: (device?: number): void => N.cudaSynchronize(device),
  manualSeed: (seed: number): void => N.cudaManualSeed(seed),
  emptyCache: (): void => N.cudaEmptyCache(),
  /** The CUDA generator's state of a device (a uint8 CPU tensor), as torch.cuda.get_rng_state. */
  getRngState: (device = 0): Tensor => new Tensor(N.cudaGetRngState(device)),
  setRngState: (state: Tensor, device = 0): void => {
    if (!(state instanceof Tensor)) throw invalidParameterError('state', 'a uint8 Tensor from cuda.getRngState()', state);
    N.cudaSetRngState(device, state._h);
  },
  /** The id of the device's current stream, and waiting for that stream alone. */
  currentStream: (device = 0): number => N.cudaCurrentStream(device),
  streamSynchronize: (device = 0): void => N.cudaStreamSynchronize(device),
};

export const getNumThreads = (): number => N.getNumThreads();
/** Sets libtorch's intra-op threads: 1 to maxNumThreads() (4 per core, at least 64; OpenMP starts every one). */
export const setNumThreads = (n: number): void => N.setNumThreads(n);
/** The most threads setNumThreads() accepts on this machine. */
export const maxNumThreads = (): number => N.maxNumThreads();
