#!/usr/bin/env node
'use strict';
// Runs the uvu suite through tsx and ends with one plain summary line
// ("tests: N passed, N failed, N skipped") for CI logs; exit code is uvu's.
const { spawn } = require('child_process');
const path = require('path');
const root = path.join(__dirname, '..');

const args = [path.join(root, 'node_modules', 'uvu', 'bin.js'), '-r', 'tsx', 'test', process.argv[2] || '\\.test\\.ts$'];
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => Number((plain.match(new RegExp(`${label}:\\s+(\\d+)`)) || [])[1] || 0);
  // uvu's Total counts the tests that ran (skipped ones are not in it): failed = Total - Passed
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  console.log(`tests: ${passed} passed, ${total - passed} failed, ${skipped} skipped`);
  process.exit(code === 0 && total > 0 ? 0 : code || 1);
});
