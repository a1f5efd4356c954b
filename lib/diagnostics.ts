// What torch-gan is running on: addon, libtorch, devices, threads, BLAS.
import * as fs from 'fs';
import { N, addonInfo } from './native';

export interface Diagnostics {
  addon: { file: string; kind: 'build' | 'prebuild' };
  libtorch: { version: string; cudaCompiled: boolean };
  cuda: { available: boolean; deviceCount: number };
  threads: { intraOp: number; openblas: string | undefined };
  blas: string;
  mkldnn: boolean;
  fastConvTranspose: boolean;
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
    fastConvTranspose: N.fastConvTransposeActive(),
    warnings,
  };
}
