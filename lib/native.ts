// Loads the addon (scripts/load-addon.js: a local build, else the prebuild made for
// the libtorch found at run time) and hands it the JS error class.
import * as path from 'path';
import { TorchError } from './errors';
import { setHandleFreer } from './tensor/scope';

/** An opaque native tensor handle. */
export type NativeHandle = { readonly __tensorHandle: unique symbol };

// OpenBLAS reads this when libtorch loads it: one BLAS thread per libtorch thread,
// so the two thread pools do not fight over the cores (4x slower and erratic otherwise).
if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';

// lib/ when run from source (tsx), dist/ when compiled: both sit one level below the root.
const root = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { loadAddon } = require(path.join(root, 'scripts', 'load-addon.js'));
const loaded = loadAddon(root);

/** Where the addon came from (diagnostics). */
export const addonInfo: { file: string; kind: 'build' | 'prebuild' } = { file: loaded.file, kind: loaded.kind };

/** The raw binding: every function takes and returns native handles. */
export const N: any = loaded.binding;
N.setErrorClass(TorchError);
// Many handles go to the binding as one BigUint64Array: it reads them as memory, not element by element.
setHandleFreer(
  (h) => N.dispose(h),
  (hs) => {
    const bits = new BigUint64Array(hs.length);
    for (let i = 0; i < hs.length; i++) bits[i] = hs[i] as bigint;
    N.disposeMany(bits);
  },
);

// libtorch may pick fewer intra-op threads than there are cores; use them all
// unless the user chose (TORCH_GAN_NUM_THREADS or OMP_NUM_THREADS). The setting is
// process-wide (libtorch's), so a worker thread loading the addon leaves it as the
// main thread set it.
if (require('worker_threads').isMainThread) {
  const chosen = process.env.TORCH_GAN_NUM_THREADS ?? process.env.OMP_NUM_THREADS;
  const os = require('os');
  const n = chosen !== undefined ? Number(chosen) : (os.availableParallelism?.() ?? os.cpus().length);
  if (Number.isInteger(n) && n > 0) N.setNumThreads(n);
}
