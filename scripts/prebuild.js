'use strict';
// `npm run make-prebuild`: builds the addon with cmake-js and stores it under
// prebuilds/<platform>-<arch>/ in prebuildify's naming, tagged with the libtorch
// version and flavour it was made for (the loader matches on that). libtorch's
// own libraries are never copied. Run it once per libtorch (LIBTORCH=... for each).
const fs = require('fs');
const path = require('path');
const { buildNative } = require('./build-native');
const { prebuildDir, prebuildName } = require('./load-addon');
const { discover, readRecord } = require('./find-libtorch');

const root = path.join(__dirname, '..');

// The local build, when it was made for the libtorch discovery finds now; else a fresh build.
function buildFor() {
  const torch = discover();
  const rec = readRecord(root);
  const addon = path.join(root, 'build', 'Release', 'torch_gan.node');
  if (!process.argv.includes('--force') && rec && rec.builtFor === 'build' && rec.libDir === torch.libDir && rec.version === torch.version && fs.existsSync(addon)) {
    console.log(`torch-gan: the local build is for libtorch ${torch.version} in ${torch.libDir}; packing it (--force rebuilds)`);
    return torch;
  }
  return buildNative();
}

let torch;
try {
  torch = buildFor();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
if (torch.cxx11Abi === false) {
  console.error('torch-gan: this libtorch uses the pre-C++11 ABI; prebuilds are made for C++11-ABI libtorch only');
  process.exit(1);
}
const dir = prebuildDir(root);
fs.mkdirSync(dir, { recursive: true });
const target = path.join(dir, prebuildName(torch));
fs.copyFileSync(path.join(root, 'build', 'Release', 'torch_gan.node'), target + '.tmp');
fs.renameSync(target + '.tmp', target);
const meta = { libtorch: torch.version, cuda: torch.cuda, source: torch.source, libDir: torch.libDir, node: process.version, builtAt: new Date().toISOString() };
fs.writeFileSync(target.replace(/\.node$/, '.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(`torch-gan: prebuild written to ${path.relative(root, target)} (${(fs.statSync(target).size / 1024).toFixed(0)} KiB)`);
