// Loads the addon (scripts/load-addon.js: a local build, else the prebuild made for
// the libtorch found at run time) and hands it the JS error class. The lowest layer:
// it imports nothing of torch-gan but errors (scripts/check-layers.js).
import * as path from 'path';
import { TorchError } from './errors';
import { configureNativeEnv } from './native-env';
import type { NativeBinding } from './binding.generated';

import type { NativeHandle } from './binding-types';

export type { NativeHandle };

// OpenBLAS (threads, kernel family) and OpenMP (wait policy) read their settings once, when
// libtorch loads them
configureNativeEnv();

// lib/ when run from source (tsx), dist/ when compiled: both sit one level below the root.
const root = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { loadAddon } = require(path.join(root, 'scripts', 'load-addon.js'));
const loaded = loadAddon(root);

/** The libtorch discovery chose (scripts/find-libtorch.js), as the loader saw it. */
export interface FoundLibtorch {
  source: string;
  version: string;
  libDir: string;
  cuda: boolean;
}

/** Where the addon came from, the libtorch discovery chose, and what differs from the request (diagnostics). */
export const addonInfo: { file: string; kind: 'build' | 'prebuild'; found: FoundLibtorch | null; warnings: string[] } = {
  file: loaded.file,
  kind: loaded.kind,
  found: loaded.torch ? { source: loaded.torch.source, version: loaded.torch.version, libDir: loaded.torch.libDir, cuda: loaded.torch.cuda } : null,
  warnings: [...loaded.warnings],
};

/**
 * The raw binding: every function takes and returns native handles, its arguments by position.
 * Its type is generated from the C++ (scripts/gen-binding.js), so a call the C++ would refuse is
 * refused by the compiler first.
 */
export const N: NativeBinding = loaded.binding;
N.setErrorClass(TorchError);

// The libtorch that runs is the one the addon's dynamic linker resolved: when it is not the one
// discovery chose (a stale build, LD_LIBRARY_PATH, a preloaded copy), say so loudly, once.
{
  const lib = N.libraryInfo();
  const found = addonInfo.found;
  if (found && lib.libtorchFile) {
    const fs = require('fs');
    const real = (p: string): string => { try { return fs.realpathSync(p); } catch { return p; } };
    const loadedDir = path.dirname(real(lib.libtorchFile));
    const versionDiffers = String(lib.torchVersion).split('.').slice(0, 2).join('.') !== found.version.split('.').slice(0, 2).join('.');
    if (loadedDir !== real(found.libDir) || versionDiffers) {
      addonInfo.warnings.push(`libtorch found: ${found.version} via ${found.source} in ${found.libDir}; libtorch loaded: ${lib.torchVersion} from ${lib.libtorchFile}`);
    }
  }
  if (addonInfo.warnings.length && require('worker_threads').isMainThread) {
    for (const w of addonInfo.warnings) process.emitWarning(w, { code: 'TORCH_GAN_LIBTORCH_MISMATCH' });
  }
}
// libtorch may pick fewer intra-op threads than there are cores; use them all
// unless the user chose (TORCH_GAN_NUM_THREADS or OMP_NUM_THREADS). The setting is
// process-wide (libtorch's), so a worker thread loading the addon leaves it as the
// main thread set it.
if (require('worker_threads').isMainThread) {
  const chosen = process.env.TORCH_GAN_NUM_THREADS ?? process.env.OMP_NUM_THREADS;
  const os = require('os');
  const n = chosen !== undefined ? Number(chosen) : (os.availableParallelism?.() ?? os.cpus().length);
  if (Number.isInteger(n) && n > 0) {
    const max = N.maxNumThreads();
    if (n > max) process.emitWarning(`${process.env.TORCH_GAN_NUM_THREADS !== undefined ? 'TORCH_GAN_NUM_THREADS' : 'OMP_NUM_THREADS'}=${chosen} is more threads than torch-gan allows (${max}); using ${max}`, { code: 'TORCH_GAN_NUM_THREADS' });
    N.setNumThreads(Math.min(n, max));
  }
}
