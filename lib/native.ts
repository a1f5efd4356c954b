// Loads the addon: a local build (build/Release), else the matching prebuild
// (prebuilds/<platform>-<arch>/), via node-gyp-build. A failure explains itself.
import * as path from 'path';
import { TorchError } from './errors';
import { setHandleFreer } from './tensor/scope';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeGypBuild: (dir: string) => any = require('node-gyp-build');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { FIXES } = require('../scripts/find-libtorch.js') as { FIXES: string };

/** The raw binding: every function takes and returns native handles. */
export type NativeHandle = { readonly __tensorHandle: unique symbol };

function packageRoot(): string {
  // lib/ when run from source (tsx), dist/ when compiled: both sit one level below the root.
  return path.resolve(__dirname, '..');
}

function load(): any {
  const root = packageRoot();
  try {
    return nodeGypBuild(root);
  } catch (e) {
    const err = e as Error;
    const missingLib = /lib(torch|c10)[^:]*\.so[^:]*: cannot open shared object file/.test(err.message);
    const noBuild = /No native build was found/.test(err.message);
    const lines = [`torch-gan: the native addon could not be loaded.`, `  cause: ${err.message.split('\n')[0]}`];
    if (missingLib) lines.push('  libtorch\'s shared libraries were not found at run time.');
    if (noBuild) lines.push('  No build/Release/torch_gan.node and no prebuild for this platform: run `npm run build` (needs cmake and a C++ compiler).');
    lines.push(FIXES);
    const wrapped = new Error(lines.join('\n'));
    (wrapped as Error & { cause?: unknown }).cause = err;
    throw wrapped;
  }
}

// OpenBLAS reads this when libtorch loads it: one BLAS thread per libtorch thread,
// so the two thread pools do not fight over the cores (4x slower and erratic otherwise).
if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';

export const N: any = load();
N.setErrorClass(TorchError);
setHandleFreer((h) => N.dispose(h));

// libtorch may pick fewer intra-op threads than there are cores; use them all
// unless the user chose (TORCH_GAN_NUM_THREADS or OMP_NUM_THREADS).
{
  const chosen = process.env.TORCH_GAN_NUM_THREADS ?? process.env.OMP_NUM_THREADS;
  const n = chosen !== undefined ? Number(chosen) : require('os').availableParallelism?.() ?? require('os').cpus().length;
  if (Number.isInteger(n) && n > 0) N.setNumThreads(n);
}
