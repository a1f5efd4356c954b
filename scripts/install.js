'use strict';
// `npm install`: use a local build or a prebuild that loads for the libtorch found;
// otherwise compile with cmake-js; otherwise fail with one message listing the fixes.
const path = require('path');
const root = path.join(__dirname, '..');
const { loadAddon } = require('./load-addon');

if (process.env.TORCH_GAN_FORCE_BUILD !== '1') {
  try {
    const { file, kind } = loadAddon(root);
    console.log(`torch-gan: using the ${kind === 'build' ? 'local build' : 'prebuilt binary'} ${path.relative(root, file)}`);
    process.exit(0);
  } catch {
    // nothing loads: compile below
  }
}
try {
  require('./build-native').buildNative();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
