// What torch-gan is running on: addon, libtorch, devices, threads, BLAS.
import * as fs from 'fs';
import { N, addonInfo } from './native';
import { invalidParameterError } from './errors';

export interface Diagnostics {
  addon: { file: string; kind: 'build' | 'prebuild' };
  libtorch: { version: string; cudaCompiled: boolean };
  cuda: { available: boolean; deviceCount: number };
  threads: { intraOp: number; openblas: string | undefined };
  blas: string;
  mkldnn: boolean;
  /** whether the libtorch 1.x CPU kernel substitutions are on (see setFastKernels) */
  fastKernels: boolean;
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
  const warnings: string[] = [];
  if (/\/blas\/libblas\.so/.test(blas)) {
    warnings.push(`libtorch uses the reference BLAS (${blas}), about 4x slower: sudo apt-get install libopenblas0-pthread`);
  }
  return {
    addon: addonInfo,
    libtorch: { version: info.torchVersion, cudaCompiled: info.cudaCompiled },
    cuda: { available: N.cudaIsAvailable(), deviceCount: N.cudaDeviceCount() },
    threads: { intraOp: N.getNumThreads(), openblas: process.env.OPENBLAS_NUM_THREADS },
    blas,
    mkldnn: info.mkldnn,
    fastKernels: N.fastKernelsActive(),
    warnings,
  };
}

/**
 * Turns torch-gan's kernel substitutions for libtorch 1.x on the CPU on (the default) or off:
 * transposed convolutions computed through oneDNN, and the input gradient of convolutions with
 * 1-3 input channels through libtorch's im2col kernel. Each gives the same values as libtorch's
 * own kernel, faster (docs/benchmarks.md). Off, torch-gan runs exactly the kernels PyTorch runs;
 * the environment variable TORCH_GAN_FAST_KERNELS=0 does the same from the start. No effect on
 * libtorch 2.x or CUDA.
 */
export function setFastKernels(enabled: boolean): void {
  if (typeof enabled !== 'boolean') throw invalidParameterError('setFastKernels() enabled', 'a boolean', enabled);
  N.setFastKernels(enabled);
}
