'use strict';
// Finds and loads the native addon; shared by the run-time loader (lib/native.ts)
// and `npm install` (scripts/install.js). Order:
//   1. a local build: build/Release/torch_gan.node (made for the libtorch in build/libtorch.json)
//   2. a prebuild for this platform made for the libtorch found
//      (prebuilds/<platform>-<arch>/torch-gan.napi.<libc>.libtorch<MAJOR>_<MINOR>-<cpu|cuda>.node;
//      node-gyp-build's naming scheme, with one extra tag; node-gyp-build itself is not used)
// When LIBTORCH names another libtorch than the local build was made for, a prebuild for
// LIBTORCH's version is preferred; if none fits, the build loads with a warning saying so.
// libtorch is located by the same routine as the build (scripts/find-libtorch.js), from the
// install's record when it still holds, so loading runs no Python.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { findLibtorch, readRecord, writeRecord, describeLine, FIXES } = require('./find-libtorch');

const ADDON = 'torch_gan.node';

function libc() {
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  return report && report.header && report.header.glibcVersionRuntime ? 'glibc' : 'musl';
}

function majorMinor(version) {
  return String(version).split('.').slice(0, 2).join('.');
}

function flavourTag(torch) {
  const [major, minor] = String(torch.version).split('.');
  return `libtorch${major}_${minor}-${torch.cuda ? 'cuda' : 'cpu'}`;
}

function prebuildName(torch) {
  return `torch-gan.napi.${libc()}.${flavourTag(torch)}.node`;
}

function prebuildDir(root) {
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
}

/** Lists prebuilds for this platform with the libtorch flavour they were made for. */
function listPrebuilds(root) {
  let files = [];
  try {
    files = fs.readdirSync(prebuildDir(root)).filter((f) => f.endsWith('.node'));
  } catch {
    return [];
  }
  return files.map((file) => {
    const m = file.match(/\.libtorch(\d+)_(\d+)-(cpu|cuda)\./);
    return { file: path.join(prebuildDir(root), file), version: m ? `${m[1]}.${m[2]}` : null, cuda: m ? m[3] === 'cuda' : false };
  });
}

// A prebuild's rpath points where libtorch was at build time. When libtorch is
// elsewhere here (LIBTORCH, a Python wheel), load its libraries first, by path and
// globally, so the addon's dependencies resolve by soname. RTLD_NODELETE keeps
// them loaded although process.dlopen closes what registers no Node module.
function preloadLibtorch(libDir) {
  const RTLD_NODELETE = 0x1000;
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const name of ['libgomp.so.1', 'libc10.so', 'libtorch_cpu.so', 'libc10_cuda.so', 'libtorch_cuda.so', 'libtorch.so']) {
    const file = path.join(libDir, name);
    if (!fs.existsSync(file)) continue;
    try {
      process.dlopen({ exports: {} }, file, flags);
    } catch (e) {
      if (!/did not self-register|Module did not/.test(String(e && e.message))) throw e;
    }
  }
}

function requireAddon(file) {
  const m = { exports: {} };
  process.dlopen(m, file, os.constants.dlopen.RTLD_NOW);
  return m.exports;
}

function sameDir(a, b) {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return a === b;
  }
}

function tryPrebuild(root, torch, tried) {
  const want = majorMinor(torch.version);
  const prebuilds = listPrebuilds(root);
  const fits = torch.cxx11Abi === false ? [] : prebuilds.filter((p) => p.version === want && p.cuda === torch.cuda);
  for (const p of fits) {
    try {
      preloadLibtorch(torch.libDir);
      const binding = requireAddon(p.file);
      rememberChoice(root, torch, p.file);
      return { binding, file: p.file, kind: 'prebuild', torch, warnings: [] };
    } catch (e) {
      tried.push(`${p.file}: ${firstLine(e)}`);
    }
  }
  if (!fits.length) {
    const have = prebuilds.map((p) => `libtorch ${p.version} ${p.cuda ? 'CUDA' : 'CPU'}`).join(', ') || 'none';
    const abi = torch.cxx11Abi === false ? ' (this libtorch uses the pre-C++11 ABI; prebuilds need the C++11 ABI)' : '';
    tried.push(`prebuilds for ${process.platform}-${process.arch}: ${have}; none for ${describeLine(torch)}${abi}`);
  }
  return null;
}

// An install made with --ignore-scripts has no record yet: keep what discovery found, so the
// next process (or worker) loads without discovery's Python subprocess. A read-only package
// folder just means discovery runs again next time.
function rememberChoice(root, torch, file) {
  if (torch.fromRecord || process.env.LIBTORCH) return;
  try {
    writeRecord(root, torch, { builtFor: 'prebuild', prebuild: path.relative(root, file) });
  } catch {
    // not writable: fine
  }
}

/**
 * Loads the addon. Returns { binding, file, kind: 'build'|'prebuild', torch, warnings }:
 * torch is the libtorch discovery chose (null if none was found), warnings say where what
 * loads differs from what was asked for.
 * Throws an Error that lists what was tried and the possible solutions.
 */
function loadAddon(root) {
  const tried = [];
  let torch = null;
  try {
    torch = findLibtorch({ root });
  } catch (e) {
    tried.push(`libtorch: ${firstLine(e)}`);
    if (e.code === 'LIBTORCH_INVALID') throw e; // LIBTORCH set and unusable: never fall back
  }
  const local = path.join(root, 'build', 'Release', ADDON);
  const record = readRecord(root);
  const warnings = [];
  if (fs.existsSync(local) && process.env.TORCH_GAN_PREBUILDS_ONLY !== '1') {
    const builtFor = record && record.libDir;
    const mismatch = torch && builtFor && !sameDir(builtFor, torch.libDir);
    if (mismatch) {
      // The user asked for another libtorch than the build links: a fitting prebuild wins.
      const pre = tryPrebuild(root, torch, tried);
      if (pre) return pre;
      warnings.push(`${process.env.LIBTORCH ? 'LIBTORCH names' : 'discovery found'} ${describeLine(torch)}, but the local build ${local} ` +
        `was made for libtorch ${record.version} in ${record.libDir}, which is what runs. To use the other: npm rebuild torch-gan`);
    }
    try {
      return { binding: requireAddon(local), file: local, kind: 'build', torch: record && !mismatch ? { ...torch, ...record } : torch, warnings };
    } catch (e) {
      tried.push(`${local}: ${firstLine(e)}`);
    }
  } else tried.push(`${local}: not built`);

  if (torch) {
    const pre = tryPrebuild(root, torch, tried);
    if (pre) return pre;
  }
  const err = new Error(
    ['torch-gan: the native addon could not be loaded. Tried:', ...tried.map((t) => `  - ${t}`),
      'To build it for the libtorch you have: npm rebuild torch-gan (needs cmake and a C++ compiler).', FIXES].join('\n'),
  );
  err.code = 'TORCH_GAN_LOAD_FAILED';
  throw err;
}

function firstLine(e) {
  const lines = String((e && e.message) || e).split('\n');
  return lines[0].replace(/^torch-gan: /, '') + (lines[1] && /^\s+- /.test(lines[1]) ? ` ${lines.slice(1).filter((l) => /^\s+- /.test(l)).map((l) => l.trim()).join(' ')}` : '');
}

module.exports = { loadAddon, listPrebuilds, prebuildName, prebuildDir, flavourTag };
