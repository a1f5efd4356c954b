// The settings OpenBLAS and OpenMP read when libtorch loads them (lib/native-env.ts), checked
// against the libraries' own reports in a fresh process.
//
// OPENBLAS_CORETYPE: OpenBLAS picks its kernels by CPU model and falls back to Prescott's SSE3
// kernels on a model newer than itself (Debian 12's 0.3.21 on an Emerald Rapids: 5x slower
// matrix products), so torch-gan chooses the family from the CPU's flags before libtorch loads
// OpenBLAS. Checked against OpenBLAS's own report of the core it runs (OPENBLAS_VERBOSE=2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tg from '../lib';
import { openblasCoretypeFor } from '../lib/native-env';
import { testUnless } from './helpers/skip';

const root = path.resolve(__dirname, '..');
const cpuinfo = (vendor: string, flags: string) => `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: 6\nmodel\t\t: 207\nflags\t\t: ${flags}\n\nprocessor\t: 1\n`;
const BASE = 'fpu sse sse2 ssse3 sse4_1 sse4_2 avx';

test('the family from the flags: AVX-512 -> SkylakeX, AVX2+FMA -> Haswell, else OpenBLAS decides', () => {
  assert.is(openblasCoretypeFor(cpuinfo('GenuineIntel', `${BASE} avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_tile`)), 'SKYLAKEX');
  assert.is(openblasCoretypeFor(cpuinfo('GenuineIntel', `${BASE} avx2 fma avx512f avx512dq avx512bw avx512vl`)), 'SKYLAKEX');
  // Knights Landing: AVX-512 F without BW/VL/DQ, which SkylakeX's kernels use
  assert.is(openblasCoretypeFor(cpuinfo('GenuineIntel', `${BASE} avx2 fma avx512f avx512cd`)), 'HASWELL');
  assert.is(openblasCoretypeFor(cpuinfo('GenuineIntel', `${BASE} avx2 fma`)), 'HASWELL');
  assert.is(openblasCoretypeFor(cpuinfo('GenuineIntel', BASE)), null);
  assert.is(openblasCoretypeFor(cpuinfo('AuthenticAMD', `${BASE} avx2 fma avx512f avx512dq avx512bw avx512vl`)), null, 'AMD is left to OpenBLAS');
  assert.is(openblasCoretypeFor('processor : 0\n'), null, 'no vendor or flags line');
  // "flags" must be the line's key, not a substring of another key
  assert.is(openblasCoretypeFor('vendor_id\t: GenuineIntel\nvmx flags\t: avx2 fma\n'), null);
});

// which core OpenBLAS reports, in a fresh process that loads torch-gan
function coreReported(env: NodeJS.ProcessEnv): { core: string | null; diag: { value?: string; reason: string } } {
  const probe = "require('tsx/cjs'); const tg = require('./lib'); tg.ones([2, 2]).matmul(tg.ones([2, 2])); console.log(JSON.stringify(tg.diagnostics().openblasCoretype))";
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...env, OPENBLAS_VERBOSE: '2' } });
  assert.is(r.status, 0, r.stderr);
  const core = /^Core: (\S+)/m.exec(r.stdout + r.stderr)?.[1] ?? null;
  return { core, diag: JSON.parse(r.stdout.trim().split('\n').pop()!) };
}

const cleanEnv = () => {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.TORCH_GAN_SET_ENV;
  return env;
};
const proc = (() => {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
})();
const chosenHere = openblasCoretypeFor(proc);
// whether this process mapped OpenBLAS once libtorch is loaded: pip's wheels bring MKL instead
const linkedBlas = tg.diagnostics().blas; // (loads the addon and libtorch)
const openblasLoaded = (() => {
  try {
    return /libopenblas/.test(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
})();
const openblasReason = !openblasLoaded
  ? `libtorch here does not load OpenBLAS (pip's wheels bring MKL; the system's BLAS alternative: ${linkedBlas})`
  : chosenHere === null ? 'this CPU gets no OPENBLAS_CORETYPE from torch-gan (not an Intel CPU with AVX2 and FMA)' : null;
const otest = testUnless(openblasReason);

otest('OpenBLAS runs the family torch-gan chose from this CPU\'s flags', () => {
  const { core, diag } = coreReported(cleanEnv());
  assert.is(diag.value, chosenHere!);
  assert.match(diag.reason, /chosen by torch-gan from the CPU flags/);
  assert.ok(core !== null, 'OpenBLAS reported its core');
  assert.is(core!.toUpperCase(), chosenHere!, `OpenBLAS runs ${core}`);
});

otest('a user\'s OPENBLAS_CORETYPE stands, and diagnostics says so', () => {
  const { core, diag } = coreReported({ ...cleanEnv(), OPENBLAS_CORETYPE: 'Haswell' });
  assert.is(core, 'Haswell');
  assert.is(diag.value, 'Haswell');
  assert.match(diag.reason, /OPENBLAS_CORETYPE=Haswell was set by the user/);
});

// ---------------------------------------------------------------- OpenMP's wait policy
// libgomp prints its settings at load with OMP_DISPLAY_ENV=VERBOSE; GOMP_SPINCOUNT there is the
// spin count in force: 300000 by default, 0 with OMP_WAIT_POLICY=PASSIVE.

function openmpReported(env: NodeJS.ProcessEnv): { spincount: string | null; policy: string | null; diag: { policy?: string; spincount?: string; reason: string; marker?: string } } {
  const probe = "require('tsx/cjs'); const tg = require('./lib'); console.log(JSON.stringify({ ...tg.diagnostics().ompWait, marker: process.env.TORCH_GAN_SET_ENV }))";
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...env, OMP_DISPLAY_ENV: 'VERBOSE' } });
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout + r.stderr;
  return {
    spincount: /GOMP_SPINCOUNT = '(\d+)'/.exec(out)?.[1] ?? null,
    policy: /OMP_WAIT_POLICY = '(\w+)'/.exec(out)?.[1] ?? null,
    diag: JSON.parse(r.stdout.trim().split('\n').pop()!),
  };
}

const ompEnv = (extra: Record<string, string> = {}) => {
  const env = { ...process.env, ...extra };
  for (const k of ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'TORCH_GAN_SET_ENV']) if (!(k in extra)) delete env[k];
  return env;
};
// whether libtorch's OpenMP is GNU's (libgomp: Debian's libtorch and pip's wheels on Linux)
const gompLoaded = (() => {
  try {
    return /libgomp/.test(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
})();
const gtest = testUnless(gompLoaded ? null : "libtorch here does not load GNU OpenMP (libgomp), whose report these cases read");

gtest('OMP_WAIT_POLICY unset: torch-gan sets PASSIVE, and libgomp runs with no spinning', () => {
  const { spincount, policy, diag } = openmpReported(ompEnv());
  assert.is(spincount, '0', 'libgomp spins 0 rounds');
  assert.is(policy, 'PASSIVE');
  assert.is(diag.policy, 'PASSIVE');
  assert.is(diag.spincount, undefined);
  assert.match(diag.reason, /OMP_WAIT_POLICY=PASSIVE set by torch-gan/);
});

gtest('a child process inherits torch-gan\'s settings and reports them as torch-gan\'s, not the user\'s', () => {
  const parent = openmpReported(ompEnv());
  assert.ok((parent.diag.marker ?? '').split(',').includes('OMP_WAIT_POLICY'), `the environment lists what torch-gan set (${parent.diag.marker})`);
  // the environment a torch-gan process hands its children
  const child = openmpReported(ompEnv({ OMP_WAIT_POLICY: parent.diag.policy!, TORCH_GAN_SET_ENV: parent.diag.marker! }));
  assert.is(child.spincount, '0');
  assert.match(child.diag.reason, /OMP_WAIT_POLICY=PASSIVE set by torch-gan, inherited/);
});

gtest("the user's OMP_WAIT_POLICY or GOMP_SPINCOUNT stands", () => {
  const active = openmpReported(ompEnv({ OMP_WAIT_POLICY: 'ACTIVE' }));
  assert.is(active.policy, 'ACTIVE');
  assert.ok(Number(active.spincount) > 300000, `ACTIVE spins long (${active.spincount})`);
  assert.match(active.diag.reason, /OMP_WAIT_POLICY=ACTIVE set by the user/);
  const spin = openmpReported(ompEnv({ GOMP_SPINCOUNT: '12345' }));
  assert.is(spin.spincount, '12345', 'libgomp keeps the user\'s spin count');
  assert.is(spin.diag.policy, undefined, 'OMP_WAIT_POLICY left unset');
  assert.is(spin.diag.spincount, '12345');
  assert.match(spin.diag.reason, /GOMP_SPINCOUNT=12345 set by the user/);
});

test.run();
