// The environment OpenBLAS and OpenMP read once, when libtorch loads them: set before the addon
// loads (lib/native.ts), only where the user has not set it. Part of the native layer.
import * as fs from 'fs';

/** What torch-gan chose for one setting, for diagnostics(); value null where the user's own setting stands. */
export interface EnvChoice {
  /** the value torch-gan set, or null where it set nothing */
  value: string | null;
  reason: string;
}

// the variables torch-gan set, listed in the environment itself: worker threads and child
// processes inherit both, and must not report torch-gan's values as the user's
const MARKER = 'TORCH_GAN_SET_ENV';
const setByTorchGan = (name: string): boolean => (process.env[MARKER] ?? '').split(',').includes(name);
function markSet(name: string): void {
  if (!setByTorchGan(name)) process.env[MARKER] = [process.env[MARKER], name].filter(Boolean).join(',');
}

let coretypeChoice: EnvChoice = { value: null, reason: "left to OpenBLAS's own detection by CPU model" };
let waitChoice: EnvChoice = { value: null, reason: "left to libgomp's default (spinning waits)" };

/**
 * The OpenBLAS kernel family for an Intel x86-64 CPU, from its /proc/cpuinfo flags, or null.
 *
 * OpenBLAS (built with DYNAMIC_ARCH, as Debian's is) picks its kernels by CPU model number, and
 * a model newer than the library falls back to Prescott's SSE3 kernels: on the Emerald Rapids
 * (model 207) that Debian 12's OpenBLAS 0.3.21 predates, a 512×512 fp32 matrix product runs at
 * 15 GFLOP/s on one core instead of 85. The flags say what the CPU can run, whatever its model;
 * this maps them to the kernel family OpenBLAS itself runs on the CPUs it knows (AVX-512 server
 * cores → SkylakeX, cores with AVX2 and FMA but no AVX-512 → Haswell).
 */
export function openblasCoretypeFor(cpuinfo: string): string | null {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
  const flagLine = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1];
  // AMD's Zen cores are known to OpenBLAS by family, not by model: left to its own detection
  if (vendor !== 'GenuineIntel' || flagLine === undefined) return null;
  const flags = new Set(flagLine.trim().split(/\s+/));
  const has = (...names: string[]) => names.every((n) => flags.has(n));
  // SkylakeX's fp32 and fp64 kernels are also what OpenBLAS runs on Cooper Lake and Sapphire
  // Rapids (those add bf16 ones, which libtorch does not call); 0.3.21 refuses the name COOPERLAKE
  if (has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq')) return 'SKYLAKEX';
  if (has('avx2', 'fma')) return 'HASWELL';
  return null;
}

/** Sets OPENBLAS_NUM_THREADS and OPENBLAS_CORETYPE where unset; call before libtorch loads. */
export function configureOpenblas(): void {
  // one BLAS thread per libtorch thread, so the two thread pools do not fight over the cores
  // (4x slower and erratic otherwise)
  if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';
  if (process.env.OPENBLAS_CORETYPE !== undefined && setByTorchGan('OPENBLAS_CORETYPE')) {
    coretypeChoice = { value: process.env.OPENBLAS_CORETYPE, reason: 'chosen by torch-gan from the CPU flags, inherited from the process that started this one (set OPENBLAS_CORETYPE to override)' };
    return;
  }
  if (process.env.OPENBLAS_CORETYPE !== undefined) {
    coretypeChoice = { value: null, reason: `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE} was set by the user` };
    return;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  let cpuinfo = '';
  try {
    cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return; // no /proc (a sandbox): OpenBLAS detects on its own
  }
  const coretype = openblasCoretypeFor(cpuinfo);
  if (coretype === null) return;
  // the environment of this process, which the libraries loaded next (and child processes) read
  process.env.OPENBLAS_CORETYPE = coretype;
  markSet('OPENBLAS_CORETYPE');
  coretypeChoice = { value: coretype, reason: 'chosen by torch-gan from the CPU flags (set OPENBLAS_CORETYPE to override)' };
}

/**
 * OMP_WAIT_POLICY=PASSIVE where neither it nor GOMP_SPINCOUNT is set. With libgomp's default, a
 * thread that reaches a barrier first spins 300,000 rounds (a `pause` each: milliseconds) for the
 * others; when another process holds a core, the thread it waits for is descheduled for a whole
 * time slice while it spins. On this project's 2-core machine, with one other busy process, a
 * 20-iteration WGAN-GP run at 2 threads took 147 s with the default and 10.1-11.4 s with
 * PASSIVE (sleeping waits). On a quiet machine PASSIVE costs a few percent (docs/benchmarks.md:
 * `npm run bench -- --only ts,ts-spin,py`). OMP_WAIT_POLICY is the OpenMP standard's setting,
 * so LLVM's and Intel's OpenMP runtimes read it too.
 */
export function configureOpenmp(): void {
  const { OMP_WAIT_POLICY, GOMP_SPINCOUNT } = process.env;
  if (OMP_WAIT_POLICY !== undefined && GOMP_SPINCOUNT === undefined && setByTorchGan('OMP_WAIT_POLICY')) {
    waitChoice = { value: OMP_WAIT_POLICY, reason: `OMP_WAIT_POLICY=${OMP_WAIT_POLICY} set by torch-gan, inherited from the process that started this one: waiting threads sleep instead of spinning (set OMP_WAIT_POLICY or GOMP_SPINCOUNT to override)` };
    return;
  }
  if (OMP_WAIT_POLICY !== undefined || GOMP_SPINCOUNT !== undefined) {
    const set = [OMP_WAIT_POLICY !== undefined ? `OMP_WAIT_POLICY=${OMP_WAIT_POLICY}` : '', GOMP_SPINCOUNT !== undefined ? `GOMP_SPINCOUNT=${GOMP_SPINCOUNT}` : ''].filter(Boolean).join(' and ');
    waitChoice = { value: null, reason: `${set} set by the user` };
    return;
  }
  process.env.OMP_WAIT_POLICY = 'PASSIVE';
  markSet('OMP_WAIT_POLICY');
  waitChoice = { value: 'PASSIVE', reason: "OMP_WAIT_POLICY=PASSIVE set by torch-gan: waiting threads sleep instead of spinning, which stalls when other processes share the cores (set OMP_WAIT_POLICY or GOMP_SPINCOUNT to override)" };
}

/** Both: what lib/native.ts runs before the addon loads. */
export function configureNativeEnv(): void {
  configureOpenblas();
  configureOpenmp();
}

export function nativeEnvChoices(): { openblasCoretype: EnvChoice; ompWait: EnvChoice } {
  return { openblasCoretype: coretypeChoice, ompWait: waitChoice };
}
