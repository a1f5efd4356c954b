#!/usr/bin/env node
'use strict';
// Runs the uvu suite through tsx and ends with one plain summary line
// ("tests: N passed, N failed, N skipped") for CI logs; exits non-zero when a test failed.
//
//   node scripts/run-tests.js [PATTERN] [--jobs N] [--record-durations]
//
// PATTERN selects test files as uvu does (a case-insensitive regex on the name under test/;
// default '\.test\.ts$'). With more than one job (default: the available cores, at most 2;
// or TORCH_GAN_TEST_JOBS) every file runs in its own uvu process, in lanes that take the
// longest files first (test/durations.json, refreshed by --record-durations), so the
// mostly single-threaded suite uses every core. Each file's output is printed whole when it
// ends, with its time. --jobs 1 runs them all in one process, as plain uvu does.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const uvuBin = path.join(root, 'node_modules', 'uvu', 'bin.js');
const durationsFile = path.join(root, 'test', 'durations.json');
// a file missing from the table: a middling guess, so new files neither start first nor last
const UNKNOWN_SECONDS = 5;

function fail(message) {
  console.error(`run-tests: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { pattern: '\\.test\\.ts$', jobs: undefined, record: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--record-durations') opts.record = true;
    else if (a === '--jobs' || a.startsWith('--jobs=')) {
      const v = a === '--jobs' ? argv[++i] : a.slice('--jobs='.length);
      opts.jobs = positiveInteger('--jobs', v);
    } else if (a.startsWith('--')) fail(`unknown option '${a}' (expected --jobs N or --record-durations)`);
    else opts.pattern = a;
  }
  if (opts.jobs === undefined) {
    const env = process.env.TORCH_GAN_TEST_JOBS;
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    opts.jobs = env ? positiveInteger('TORCH_GAN_TEST_JOBS', env) : Math.max(1, Math.min(2, cores));
  }
  return opts;
}

function positiveInteger(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, received '${value}'`);
  return n;
}

const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
// uvu's closing block: Total counts the tests that ran (skipped ones are not in it)
function counts(output) {
  const text = plain(output);
  const num = (label) => Number((text.match(new RegExp(`${label}:\\s+(\\d+)`)) || [])[1] || 0);
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') };
}

function summarize(c, code) {
  console.log(`tests: ${c.passed} passed, ${c.total - c.passed} failed, ${c.skipped} skipped`);
  process.exit(code === 0 && c.total > 0 ? 0 : code || 1);
}

// One uvu process over the files PATTERN selects; its output streams through.
function runOne(pattern) {
  const child = spawn(process.execPath, [uvuBin, '-r', 'tsx', 'test', pattern], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    process.stdout.write(d);
  });
  child.on('close', (code) => summarize(counts(out), code));
}

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function readDurations() {
  try {
    return JSON.parse(fs.readFileSync(durationsFile, 'utf8'));
  } catch {
    return {};
  }
}

async function runLanes(opts) {
  const { parse } = require('uvu/parse');
  const { suites } = await parse('test', opts.pattern, { cwd: root });
  if (suites.length === 0) fail(`no test file under test/ matches '${opts.pattern}'`);
  const known = readDurations();
  const expected = (name) => (typeof known[name] === 'number' ? known[name] : UNKNOWN_SECONDS);
  const queue = suites.map((s) => s.name).sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));
  const total = { total: 0, passed: 0, skipped: 0 };
  const measured = {};
  const failedFiles = [];
  const started = Date.now();

  // one thread per lane unless the caller chose: lanes of the default two threads each would
  // oversubscribe the cores, and libtorch's spinning threads then slow everything down
  const env = { ...process.env };
  if (env.TORCH_GAN_NUM_THREADS === undefined && env.OMP_NUM_THREADS === undefined) env.TORCH_GAN_NUM_THREADS = env.OMP_NUM_THREADS = '1';
  const runFile = (name) =>
    new Promise((resolve) => {
      const t0 = Date.now();
      const child = spawn(process.execPath, [uvuBin, '-r', 'tsx', 'test', `^${escapeRegex(name)}$`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code, signal) => {
        const seconds = (Date.now() - t0) / 1000;
        const c = counts(out);
        measured[name] = Math.round(seconds * 10) / 10;
        total.total += c.total;
        total.passed += c.passed;
        total.skipped += c.skipped;
        const ok = code === 0 && c.total + c.skipped > 0;
        if (!ok) failedFiles.push(`${name} (${signal ? `killed by ${signal}` : `exit ${code}`})`);
        // a file that died before uvu's summary still counts as a failure
        if (!ok && c.total === c.passed) total.total += 1;
        process.stdout.write(out);
        if (err) process.stderr.write(err);
        console.log(`-- ${name}: ${c.passed} passed, ${c.total - c.passed} failed, ${c.skipped} skipped (${seconds.toFixed(1)} s)`);
        resolve();
      });
    });

  const lane = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await runFile(name);
  };
  console.log(`run-tests: ${suites.length} files in ${opts.jobs} lanes`);
  await Promise.all(Array.from({ length: Math.min(opts.jobs, suites.length) }, lane));

  if (opts.record) {
    const merged = { ...known, ...measured };
    const sorted = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
    const tmp = `${durationsFile}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
    fs.renameSync(tmp, durationsFile);
    console.log(`run-tests: recorded ${Object.keys(measured).length} durations in ${path.relative(root, durationsFile)}`);
  }
  console.log(`run-tests: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  if (failedFiles.length) console.log(`run-tests: failed: ${failedFiles.join(', ')}`);
  summarize(total, failedFiles.length ? 1 : 0);
}

const opts = parseArgs(process.argv.slice(2));
if (opts.jobs === 1 && !opts.record) runOne(opts.pattern);
else runLanes(opts).catch((e) => fail(e.stack || String(e)));
