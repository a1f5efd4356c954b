// What torch-gan is running on: addon, libtorch, devices, threads, BLAS.
import * as fs from 'fs';
import { N, addonInfo, FoundLibtorch } from './native';
import { invalidParameterError } from './errors';
import { nativeEnvChoices } from './native-env';

export interface Diagnostics {
  addon: { file: string; kind: 'build' | 'prebuild' };
  /** version: the libtorch loaded (compiled into the addon); loadedFrom: its library file; found: what discovery chose */
  libtorch: { version: string; cudaCompiled: boolean; loadedFrom: string | null; found: FoundLibtorch | null };
  cuda: { available: boolean; deviceCount: number };
  threads: { intraOp: number; openblas: string | undefined };
  blas: string;
  /** OPENBLAS_CORETYPE as OpenBLAS read it (undefined: its own detection by CPU model), and who set it */
  openblasCoretype: { value: string | undefined; reason: string };
  /** OpenMP's waiting: OMP_WAIT_POLICY and GOMP_SPINCOUNT as libgomp read them (undefined: its default, 300,000 spin rounds), and who set them */
  ompWait: { policy: string | undefined; spincount: string | undefined; reason: string };
  mkldnn: boolean;
  /** whether any CPU kernel substitution is on (see setFastKernels) */
  fastKernels: boolean;
  /** the substitutions on, by name (which apply depends on the libtorch version) */
  fastKernelList: string[];
  warnings: string[];
}

function linkedBlas(): string {
  for (const alt of ['/etc/alternatives/libblas.so.3-x86_64-linux-gnu', '/etc/alternatives/libblas.so.3-aarch64-linux-gnu']) {
    try {
      return fs.realpathSync(alt);
    } catch {
      // not this architecture / not Debian alternatives
    }
  }
  return 'unknown';
}

export function diagnostics(): Diagnostics {
  const info = N.libraryInfo();
  const blas = linkedBlas();
  const warnings: string[] = [...addonInfo.warnings];
  if (info.blas !== 'mkl' && /\/blas\/libblas\.so/.test(blas)) {
    warnings.push(`libtorch uses the reference BLAS (${blas}), about 4x slower: sudo apt-get install libopenblas0-pthread`);
  }
  return {
    addon: { file: addonInfo.file, kind: addonInfo.kind },
    libtorch: { version: info.torchVersion, cudaCompiled: info.cudaCompiled, loadedFrom: info.libtorchFile ?? null, found: addonInfo.found },
    cuda: { available: N.cudaIsAvailable(), deviceCount: N.cudaDeviceCount() },
    threads: { intraOp: N.getNumThreads(), openblas: process.env.OPENBLAS_NUM_THREADS },
    blas,
    openblasCoretype: { value: process.env.OPENBLAS_CORETYPE, reason: nativeEnvChoices().openblasCoretype.reason },
    ompWait: { policy: process.env.OMP_WAIT_POLICY, spincount: process.env.GOMP_SPINCOUNT, reason: nativeEnvChoices().ompWait.reason },
    mkldnn: info.mkldnn,
    fastKernels: N.fastKernelsActive(),
    fastKernelList: N.fastKernelsList(),
    warnings,
  };
}

/**
 * Turns torch-gan's CPU kernel substitutions on (the default) or off: convolutions that are
 * matrix products through linear/mm; on libtorch 1.x also transposed convolutions through oneDNN,
 * convolutions with their own double backward (1-3-channel input gradients by im2col), fused
 * instance normalisation and LeakyReLU. Which apply on which libtorch version was decided from
 * bench/kernels.ts on each (diagnostics().fastKernelList names those on). Each gives the same
 * values as libtorch's own kernel, faster (docs/benchmarks.md). Off, torch-gan runs exactly the
 * kernels PyTorch runs; TORCH_GAN_FAST_KERNELS=0 does the same from the start (=all turns every
 * substitution on, to measure them; so does setFastKernels('all')). No effect on CUDA.
 */
export function setFastKernels(enabled: boolean | 'all'): void {
  if (typeof enabled !== 'boolean' && enabled !== 'all') throw invalidParameterError('setFastKernels() enabled', "a boolean or 'all'", enabled);
  N.setFastKernels(enabled !== false, enabled === 'all');
}
