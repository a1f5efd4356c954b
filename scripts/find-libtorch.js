'use strict';
// The one libtorch discovery routine, shared by the build (scripts/build-native.js,
// CMakeLists.txt) and the run-time loader (lib/native.ts). Order, as in tch-rs:
//   1. LIBTORCH: a libtorch folder (include/, lib/, share/cmake/Torch)
//   2. Python's torch, when `python3 -c 'import torch'` works (its cmake prefix path)
//   3. the system (Debian/Ubuntu libtorch-dev)
// Plain CommonJS with no dependencies so it runs before anything is installed.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const SYSTEM_CMAKE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/lib/cmake/Torch',
  '/usr/local/lib/cmake/Torch',
  '/usr/local/share/cmake/Torch',
];

const FIXES = [
  'Possible solutions:',
  '  - Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas0-pthread',
  '  - Set LIBTORCH to an unpacked libtorch folder (it must hold include/, lib/ and share/cmake/Torch),',
  '    e.g. the official CPU or CUDA zip: export LIBTORCH=/opt/libtorch',
  '  - Install PyTorch for the python3 on PATH (pip install torch); its bundled libtorch is used',
].join('\n');

function readVersion(includeDir) {
  const file = path.join(includeDir, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  try {
    const text = fs.readFileSync(file, 'utf8');
    const get = (k) => (text.match(new RegExp(`#define TORCH_VERSION_${k} (\\d+)`)) || [])[1];
    const major = get('MAJOR');
    if (major === undefined) return 'unknown';
    return `${major}.${get('MINOR')}.${get('PATCH')}`;
  } catch {
    return 'unknown';
  }
}

function hasCuda(libDir) {
  try {
    return fs.readdirSync(libDir).some((f) => /^libtorch_cuda\.(so|dylib)|^torch_cuda\.dll$/.test(f));
  } catch {
    return false;
  }
}

function describe(source, cmakeDir, includeDir, libDir, extra = {}) {
  return {
    source,
    cmakePrefixPath: path.resolve(cmakeDir, '..', '..'),
    cmakeDir,
    includeDir,
    libDir,
    version: readVersion(includeDir),
    cuda: hasCuda(libDir),
    cxx11Abi: extra.cxx11Abi,
  };
}

function fromLibtorchEnv(dir) {
  const cmakeDir = path.join(dir, 'share', 'cmake', 'Torch');
  if (!fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) {
    throw new Error(
      `LIBTORCH is set to '${dir}' but ${path.join(cmakeDir, 'TorchConfig.cmake')} does not exist.\n` +
        'LIBTORCH must name an unpacked libtorch folder holding include/, lib/ and share/cmake/Torch.\n' +
        FIXES,
    );
  }
  return describe('LIBTORCH', cmakeDir, path.join(dir, 'include'), path.join(dir, 'lib'));
}

function fromPython() {
  const python = process.env.PYTHON || 'python3';
  let out;
  try {
    out = execFileSync(
      python,
      ['-c', 'import torch, os; print(torch.utils.cmake_prefix_path); print(os.path.dirname(torch.__file__)); print(int(torch.compiled_with_cxx11_abi()))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 },
    );
  } catch {
    return null;
  }
  const [prefix, torchDir, abi] = out.trim().split('\n');
  const cmakeDir = path.join(prefix, 'Torch');
  // Debian's python3-torch ships no CMake files: fall through to the system libtorch.
  if (!fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) return null;
  return describe('python', cmakeDir, path.join(torchDir, 'include'), path.join(torchDir, 'lib'), {
    cxx11Abi: abi === '1',
  });
}

function fromSystem() {
  for (const cmakeDir of SYSTEM_CMAKE_DIRS) {
    if (fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) {
      const prefix = path.resolve(cmakeDir, '..', '..', '..');
      const libDir = path.resolve(cmakeDir, '..', '..');
      const includeDir = prefix.endsWith('lib') ? path.resolve(prefix, '..', 'include') : path.join(prefix, 'include');
      const info = describe('system', cmakeDir, includeDir, libDir);
      info.cmakePrefixPath = libDir;
      return info;
    }
  }
  return null;
}

/** Finds libtorch or throws an Error whose message lists the ways to fix it. */
function findLibtorch() {
  if (process.env.LIBTORCH) return fromLibtorchEnv(process.env.LIBTORCH);
  const found = fromPython() || fromSystem();
  if (found) return found;
  const err = new Error(
    'torch-gan: libtorch was not found. Looked in: $LIBTORCH (unset), python3\'s torch (not importable or without CMake files), ' +
      `the system (${SYSTEM_CMAKE_DIRS.join(', ')}).\n` +
      FIXES,
  );
  err.code = 'LIBTORCH_NOT_FOUND';
  throw err;
}

module.exports = { findLibtorch, FIXES };

if (require.main === module) {
  try {
    const info = findLibtorch();
    if (process.argv.includes('--cmake')) process.stdout.write(`${info.cmakePrefixPath};${info.libDir}`);
    else console.log(JSON.stringify(info, null, 2));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
