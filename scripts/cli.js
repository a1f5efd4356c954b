#!/usr/bin/env node
'use strict';
// npx torch-gan doctor   — what torch-gan finds and loads
const path = require('path');
const cmd = process.argv[2];
if (cmd !== 'doctor') {
  console.error(`usage: torch-gan doctor\n(received: ${cmd === undefined ? 'no command' : `'${cmd}'`})`);
  process.exit(2);
}
const root = path.join(__dirname, '..');
const { findLibtorch, describeLine } = require('./find-libtorch');
const { listPrebuilds } = require('./load-addon');
try {
  console.log(`libtorch found: ${describeLine(findLibtorch({ root }))}`);
} catch (e) {
  console.log(e.message);
}
const pre = listPrebuilds(root);
console.log(`prebuilds shipped: ${pre.map((p) => `libtorch ${p.version} ${p.cuda ? 'CUDA' : 'CPU'}`).join(', ') || 'none'}`);
let lib;
try {
  lib = require(path.join(root, 'dist', 'index.js'));
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const d = lib.diagnostics();
console.log(`libtorch loaded: ${d.libtorch.version} from ${d.libtorch.loadedFrom} (addon: ${d.addon.kind} ${d.addon.file})`);
console.log(JSON.stringify(d, null, 2));
for (const w of d.warnings) console.warn(`WARNING: ${w}`);
