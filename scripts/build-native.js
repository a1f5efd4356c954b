'use strict';
// Builds the addon with cmake-js against the libtorch that find-libtorch.js finds, and records
// that libtorch in build/libtorch.json for the loader. Every failure ends with torch-gan's own
// message and the ways to fix it; a failed or stale build/ is removed so the next try starts clean.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { discover, writeRecord, describeLine, FIXES } = require('./find-libtorch');

const root = path.join(__dirname, '..');
const buildDir = path.join(root, 'build');

function buildError(message, code = 'TORCH_GAN_BUILD_FAILED') {
  const err = new Error(`torch-gan: ${message}`);
  err.code = code;
  return err;
}

function onPath(tool) {
  return (process.env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, tool)));
}

const TOOL_FIXES = [
  'Possible solutions:',
  '  - Debian/Ubuntu: sudo apt-get install -y cmake g++',
  '  - use a libtorch for which this package ships a prebuilt addon (npx torch-gan doctor lists them)',
].join('\n');

// A CMake cache made for another libtorch, or a configure that never finished (no build.ninja /
// Makefile), would make cmake-js fail or silently keep the old libtorch: start over.
function removeStaleBuild(torch, dir = buildDir) {
  const cache = path.join(dir, 'CMakeCache.txt');
  if (!fs.existsSync(cache)) return null;
  const text = fs.readFileSync(cache, 'utf8');
  const cachedDir = (text.match(/^TORCH_CMAKE_DIR:[A-Z]+=(.*)$/m) || [])[1];
  const generated = ['build.ninja', 'Makefile'].some((f) => fs.existsSync(path.join(dir, f)));
  let why = null;
  if (cachedDir !== torch.cmakeDir) why = `it was configured for ${cachedDir || 'another libtorch'}`;
  else if (!generated) why = 'its last configure did not finish';
  if (why) fs.rmSync(dir, { recursive: true, force: true });
  return why;
}

function buildNative({ quiet = false } = {}) {
  const torch = discover();
  const log = (m) => quiet || console.log(m);
  log(`torch-gan: building against ${describeLine(torch)}`);
  const missing = ['cmake', 'c++'].filter((t) => !onPath(t) && !(t === 'c++' && (onPath('g++') || onPath('clang++'))));
  if (missing.length) throw buildError(`cannot compile the addon: ${missing.join(' and ')} not found on PATH.\n${TOOL_FIXES}`, 'TORCH_GAN_NO_COMPILER');
  const stale = removeStaleBuild(torch);
  if (stale) log(`torch-gan: removed the old build/ (${stale})`);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'build', `--CDTORCH_CMAKE_DIR=${torch.cmakeDir}`, `--CDTORCH_LIB_DIR=${torch.libDir}`,
    '--parallel', String(Math.max(1, os.cpus().length))];
  if (quiet) args.push('--log-level', 'error');
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  const addon = path.join(buildDir, 'Release', 'torch_gan.node');
  if (r.status !== 0 || !fs.existsSync(addon)) {
    // Never leave a half-made build behind: the next npm install / rebuild starts clean.
    fs.rmSync(buildDir, { recursive: true, force: true });
    throw buildError(
      `compiling the addon against ${describeLine(torch)} failed (cmake-js exit ${r.status}; its output is above).\n` +
        'Possible solutions:\n' +
        '  - read the first error above: a missing compiler, cmake older than 3.18, or a libtorch folder without its headers\n' +
        '  - try another libtorch: LIBTORCH=/path/to/libtorch npm rebuild torch-gan\n' +
        FIXES.split('\n').slice(1).join('\n'),
    );
  }
  writeRecord(root, torch, { builtFor: 'build' });
  reportLoaded(addon, torch, log);
  return torch;
}

// Loads the new addon in a child process and says which libtorch it actually runs on.
function reportLoaded(addon, torch, log) {
  const probe = `const m={exports:{}};process.dlopen(m,${JSON.stringify(addon)});const i=m.exports.libraryInfo();console.log(JSON.stringify(i))`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`torch-gan: WARNING: the new addon does not load: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`);
    return;
  }
  const info = JSON.parse(r.stdout.trim().split('\n').pop());
  const loadedDir = info.libtorchFile ? fs.realpathSync(path.dirname(info.libtorchFile)) : '?';
  log(`torch-gan: built; it loads libtorch ${info.torchVersion} from ${info.libtorchFile}`);
  if (loadedDir !== fs.realpathSync(torch.libDir)) {
    console.warn(`torch-gan: WARNING: built for libtorch in ${torch.libDir} but it loads ${info.libtorchFile} (LD_LIBRARY_PATH?)`);
  }
}

module.exports = { buildNative, removeStaleBuild };

if (require.main === module) {
  try {
    buildNative();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
