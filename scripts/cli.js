#!/usr/bin/env node
'use strict';
// npx torch-gan doctor   — what torch-gan finds and loads
const path = require('path');
const cmd = process.argv[2];
if (cmd !== 'doctor') {
  console.error(`usage: torch-gan doctor\n(received: ${cmd === undefined ? 'no command' : `'${cmd}'`})`);
  process.exit(2);
}
const { findLibtorch } = require('./find-libtorch');
try {
  const t = findLibtorch();
  console.log(`libtorch found: ${t.version} (${t.cuda ? 'CUDA' : 'CPU'}) via ${t.source} in ${t.libDir}`);
} catch (e) {
  console.log(e.message);
}
let lib;
try {
  lib = require(path.join(__dirname, '..', 'dist', 'index.js'));
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const d = lib.diagnostics();
console.log(JSON.stringify(d, null, 2));
for (const w of d.warnings) console.warn(`warning: ${w}`);
