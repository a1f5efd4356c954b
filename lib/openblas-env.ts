// The environment OpenBLAS reads once, when libtorch loads it: set before the addon loads
// (lib/native.ts), only where the user has not set it. Part of the native layer.
import * as fs from 'fs';

/** What torch-gan chose for OpenBLAS, for diagnostics(); null where the user's own setting stands. */
export interface OpenblasChoice {
  coretype: string | null;
  reason: string;
}

let choice: OpenblasChoice = { coretype: null, reason: "left to OpenBLAS's own detection by CPU model" };

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
  if (process.env.OPENBLAS_CORETYPE !== undefined) {
    choice = { coretype: null, reason: `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE} was set by the user` };
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
  choice = { coretype, reason: 'chosen by torch-gan from the CPU flags (set OPENBLAS_CORETYPE to override)' };
}

export function openblasChoice(): OpenblasChoice {
  return choice;
}
