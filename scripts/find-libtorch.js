'use strict';
// The one libtorch discovery routine, shared by the build (scripts/build-native.js,
// CMakeLists.txt), the installer and the run-time loader (scripts/load-addon.js). Order:
//   1. LIBTORCH: exactly that folder (include/, lib/, share/cmake/Torch); if it is unusable
//      discovery fails with the reason, it never falls back to another libtorch;
//   2. the system's libtorch (Debian/Ubuntu libtorch-dev);
//   3. Python's torch (python3 on PATH, or $PYTHON), when it ships CMake files.
// The system comes before Python so that activating a virtualenv with another torch does not
// change which libtorch a working install uses; to build against a venv's torch while a system
// libtorch exists, set LIBTORCH (the message of `npx torch-gan doctor` shows how).
//
// What the install found is recorded in build/libtorch.json; the loader reads that record (a
// file read and a version-header check, no Python subprocess) unless LIBTORCH is set.
// Plain CommonJS with no dependencies so it runs before anything is installed.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

// Where a system libtorch's TorchConfig.cmake may be; TORCH_GAN_SYSTEM_CMAKE_DIRS (a
// PATH-style list, empty for none) replaces the list.
const DEFAULT_SYSTEM_CMAKE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/lib/cmake/Torch',
  '/usr/local/lib/cmake/Torch',
  '/usr/local/share/cmake/Torch',
];
function systemCmakeDirs() {
  const v = process.env.TORCH_GAN_SYSTEM_CMAKE_DIRS;
  return v === undefined ? DEFAULT_SYSTEM_CMAKE_DIRS : v.split(path.delimiter).filter(Boolean);
}

/** The oldest libtorch torch-gan builds against (tested: 1.13 and 2.13). */
const MIN_VERSION = [1, 13];

const PY_TORCH_DIR = "python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'";
const FIXES = [
  'Possible solutions:',
  '  - pip (any Linux): python3 -m venv ~/torch && ~/torch/bin/pip install torch',
  `    then export LIBTORCH=$(~/torch/bin/${PY_TORCH_DIR})`,
  '  - Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas0-pthread',
  '  - Set LIBTORCH to an unpacked libtorch folder (it must hold include/, lib/ and share/cmake/Torch),',
  '    e.g. the official CPU or CUDA zip: export LIBTORCH=/opt/libtorch',
].join('\n');

const RECORD = path.join('build', 'libtorch.json');

function discoveryError(message, code = 'LIBTORCH_NOT_FOUND') {
  const err = new Error(`torch-gan: ${message}\n${FIXES}`);
  err.code = code;
  return err;
}

// 1.x keeps the version macros in torch/csrc/api/include/torch/version.h; 2.x in
// torch/headeronly/version.h (which the former then includes).
const VERSION_HEADERS = [
  ['torch', 'headeronly', 'version.h'],
  ['torch', 'csrc', 'api', 'include', 'torch', 'version.h'],
];

function readVersion(includeDir) {
  for (const parts of VERSION_HEADERS) {
    let text;
    try {
      text = fs.readFileSync(path.join(includeDir, ...parts), 'utf8');
    } catch {
      continue;
    }
    const get = (k) => (text.match(new RegExp(`#define TORCH_VERSION_${k} (\\d+)`)) || [])[1];
    if (get('MAJOR') !== undefined) return `${get('MAJOR')}.${get('MINOR')}.${get('PATCH')}`;
  }
  return null;
}

function hasCuda(libDir) {
  try {
    return fs.readdirSync(libDir).some((f) => /^libtorch_cuda\.(so|dylib)|^torch_cuda\.dll$/.test(f));
  } catch {
    return false;
  }
}

// Pre-cxx11-ABI libtorch builds say so in TORCH_CXX_FLAGS (TorchConfig.cmake / Caffe2Config.cmake).
function readCxx11Abi(cmakeDir) {
  for (const file of [path.join(cmakeDir, 'TorchConfig.cmake'), path.join(cmakeDir, '..', 'Caffe2', 'Caffe2Config.cmake')]) {
    try {
      if (/_GLIBCXX_USE_CXX11_ABI=0/.test(fs.readFileSync(file, 'utf8'))) return false;
    } catch {
      // absent file: no flag
    }
  }
  return true;
}

function versionTooOld(version) {
  const [major, minor] = version.split('.').map(Number);
  return major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]);
}

/**
 * Describes a libtorch from its CMake folder, include and lib folders; returns
 * { info } or { problem } (why it cannot be used).
 */
function describe(source, cmakeDir, includeDir, libDir) {
  if (!fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) return { problem: `${path.join(cmakeDir, 'TorchConfig.cmake')} does not exist` };
  const version = readVersion(includeDir);
  if (!version) return { problem: `no TORCH_VERSION_MAJOR in ${includeDir}/torch/headeronly/version.h or .../torch/csrc/api/include/torch/version.h` };
  if (versionTooOld(version)) return { problem: `libtorch ${version} is older than ${MIN_VERSION.join('.')}, the oldest torch-gan supports` };
  if (!fs.existsSync(libDir) || !fs.readdirSync(libDir).some((f) => /^libtorch(_cpu)?\.(so|dylib)/.test(f))) {
    return { problem: `${libDir} holds no libtorch library` };
  }
  return { info: { source, cmakeDir, includeDir, libDir, version, cuda: hasCuda(libDir), cxx11Abi: readCxx11Abi(cmakeDir) } };
}

function fromLibtorchEnv(dir) {
  const root = path.resolve(dir);
  const r = describe('LIBTORCH', path.join(root, 'share', 'cmake', 'Torch'), path.join(root, 'include'), path.join(root, 'lib'));
  if (r.problem) {
    throw discoveryError(
      `LIBTORCH is set to '${dir}', which is not a usable libtorch: ${r.problem}.\n` +
        'LIBTORCH must name an unpacked libtorch folder holding include/, lib/ and share/cmake/Torch (for a pip-installed torch:\n' +
        `the folder that ${PY_TORCH_DIR} prints). torch-gan does not fall back to another libtorch when LIBTORCH is set.`,
      'LIBTORCH_INVALID',
    );
  }
  return r.info;
}

function fromSystem(tried) {
  const dirs = systemCmakeDirs();
  for (const cmakeDir of dirs) {
    if (!fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) continue;
    const libDir = path.resolve(cmakeDir, '..', '..');
    const prefix = path.resolve(libDir, '..');
    const includeDir = path.basename(prefix) === 'lib' ? path.resolve(prefix, '..', 'include') : path.join(prefix, 'include');
    const r = describe('system', cmakeDir, includeDir, libDir);
    if (r.info) return r.info;
    tried.push(`the system (${cmakeDir}): ${r.problem}`);
  }
  if (!tried.some((t) => t.startsWith('the system'))) tried.push(`the system: no TorchConfig.cmake in ${dirs.join(', ') || '(no folders: TORCH_GAN_SYSTEM_CMAKE_DIRS is empty)'}`);
  return null;
}

function fromPython(tried) {
  const python = process.env.PYTHON || 'python3';
  let out;
  try {
    out = execFileSync(python, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch.compiled_with_cxx11_abi()))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60000,
    });
  } catch {
    tried.push(`Python (${python}): no importable torch`);
    return null;
  }
  const [torchDir, abi] = out.trim().split('\n');
  const r = describe('python', path.join(torchDir, 'share', 'cmake', 'Torch'), path.join(torchDir, 'include'), path.join(torchDir, 'lib'));
  if (r.problem) {
    // Debian's python3-torch ships no CMake files, for one.
    tried.push(`Python (${python}) torch in ${torchDir}: ${r.problem}`);
    return null;
  }
  r.info.cxx11Abi = abi === '1';
  r.info.python = python;
  return r.info;
}

/** Full discovery (may run Python). Throws an Error listing what was looked at and the fixes. */
function discover() {
  if (process.env.LIBTORCH) return fromLibtorchEnv(process.env.LIBTORCH);
  const tried = ['LIBTORCH: unset'];
  const found = fromSystem(tried) || fromPython(tried);
  if (found) return found;
  throw discoveryError(`libtorch was not found. Looked at:\n${tried.map((t) => `  - ${t}`).join('\n')}`);
}

function readRecord(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, RECORD), 'utf8'));
  } catch {
    return null;
  }
}

/** Writes what the install found (build/libtorch.json), atomically. */
function writeRecord(root, info, extra = {}) {
  const file = path.join(root, RECORD);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({ ...info, ...extra, recordedAt: new Date().toISOString() }, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/**
 * The libtorch to use. With root (the package folder) and no LIBTORCH, the install's record is
 * used when it still holds (the same version in the same folder), so loading runs no Python.
 */
function findLibtorch({ root } = {}) {
  if (!process.env.LIBTORCH && root) {
    const rec = readRecord(root);
    if (rec && rec.includeDir && rec.cmakeDir && rec.libDir) {
      const r = describe(rec.source, rec.cmakeDir, rec.includeDir, rec.libDir);
      if (r.info && r.info.version === rec.version) return { ...r.info, cxx11Abi: rec.cxx11Abi, fromRecord: true };
    }
  }
  return discover();
}

/** One line for logs: "libtorch 2.13.0 (CPU) via LIBTORCH in /x/lib". */
function describeLine(t) {
  return `libtorch ${t.version} (${t.cuda ? 'CUDA' : 'CPU'}${t.cxx11Abi === false ? ', pre-C++11 ABI' : ''}) via ${t.source} in ${t.libDir}`;
}

module.exports = { findLibtorch, discover, writeRecord, readRecord, describeLine, readVersion, FIXES };

if (require.main === module) {
  try {
    const info = findLibtorch();
    if (process.argv.includes('--cmake')) process.stdout.write(`${info.cmakeDir};${info.libDir}`);
    else console.log(JSON.stringify(info, null, 2));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
