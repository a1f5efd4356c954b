'use strict';
// `npm install`: use a local build or a prebuild that loads; otherwise build with
// cmake-js against the libtorch found; otherwise fail with one message listing fixes.
const path = require('path');
const root = path.join(__dirname, '..');

function loads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.TORCH_GAN_FORCE_BUILD !== '1' && loads()) {
  console.log('torch-gan: using the existing native build');
  process.exit(0);
}
try {
  require('./build-native').buildNative();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
