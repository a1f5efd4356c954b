'use strict';
// Builds the addon with cmake-js against the libtorch that find-libtorch.js finds.
const { spawnSync } = require('child_process');
const os = require('os');
const path = require('path');
const { findLibtorch } = require('./find-libtorch');

function buildNative({ quiet = false } = {}) {
  const torch = findLibtorch();
  if (!quiet) {
    console.log(`torch-gan: building against libtorch ${torch.version} (${torch.cuda ? 'CUDA' : 'CPU'}) from ${torch.source}: ${torch.cmakeDir}`);
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'build', '--CDTORCH_CMAKE_PREFIX=' + torch.cmakePrefixPath, '--CDTORCH_LIB_DIR=' + torch.libDir,
    '--parallel', String(Math.max(1, os.cpus().length))];
  if (quiet) args.push('--log-level', 'error');
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: path.join(__dirname, '..') });
  if (r.status !== 0) throw new Error(`torch-gan: cmake-js build failed (exit ${r.status})`);
  return torch;
}

module.exports = { buildNative };

if (require.main === module) {
  try {
    buildNative();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
