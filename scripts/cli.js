#!/usr/bin/env node
'use strict';
// npx torch-gan <command>: train, generate, evaluate (dist/cli/main.js) and doctor (here, so it
// works even when the addon or the compiled library does not load).
const path = require('path');
const root = path.join(__dirname, '..');
const [cmd] = process.argv.slice(2);

function doctor() {
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
}

if (cmd === 'doctor') {
  doctor();
} else {
  let cli;
  try {
    cli = require(path.join(root, 'dist', 'cli', 'main.js'));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    console.log(cli.usage());
  } else if (!cli.main(process.argv.slice(2))) {
    console.error(`torch-gan: unknown command '${cmd}'\n\n${cli.usage()}`);
    process.exit(2);
  }
}
