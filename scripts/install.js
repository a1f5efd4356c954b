'use strict';
// `npm install`: use a local build or a prebuild that loads for the libtorch found;
// otherwise compile with cmake-js; otherwise fail with one message listing the fixes.
// What was chosen is recorded in build/libtorch.json, which the loader reads at run time.
const path = require('path');
const root = path.join(__dirname, '..');
const { loadAddon } = require('./load-addon');
const { writeRecord, describeLine } = require('./find-libtorch');

function fail(e) {
  console.error(e.message);
  process.exit(1);
}

if (process.env.TORCH_GAN_FORCE_BUILD !== '1') {
  let loaded = null;
  try {
    loaded = loadAddon(root);
  } catch (e) {
    if (e.code === 'LIBTORCH_INVALID') fail(e);
    // nothing loads: compile below
  }
  if (loaded) {
    const { file, kind, torch, warnings } = loaded;
    if (kind === 'prebuild') writeRecord(root, torch, { builtFor: 'prebuild', prebuild: path.relative(root, file) });
    console.log(`torch-gan: using the ${kind === 'build' ? 'local build' : 'prebuilt binary'} ${path.relative(root, file)}` +
      (torch ? ` for ${describeLine(torch)}` : ''));
    for (const w of warnings) console.warn(`torch-gan: WARNING: ${w}`);
    process.exit(0);
  }
}
try {
  require('./build-native').buildNative();
} catch (e) {
  fail(e);
}
