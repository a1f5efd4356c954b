#!/usr/bin/env node
'use strict';
// Checks that lib/ imports only downward (or within its own layer):
//   native (native.ts, binding.generated.ts, binding-types.ts, errors.ts, diagnostics.ts, native-env.ts) → tensor, autograd → nn, optim
//   → io, data, metrics, distributed → gan → cli (and index.ts, the public barrel)
// Every import, export-from, require() and import() with a literal specifier counts, type-only
// imports too: a type import is still a dependency of the design, and the next edit may make it a
// value import. Imports leaving lib/ for test/, examples/ or bench/ are upward as well.
// Usage: node scripts/check-layers.js [root]   (exit 1 naming file, line and import on a violation)
// Module: checkLayers(root) / checkFiles([{ file, text }]) return the violations.
const fs = require('fs');
const path = require('path');

// Lowest first. A top-level entry of lib/ (folder or file) that is in no layer is itself an
// error: a new folder must be placed, not silently allowed everything.
const LAYERS = [
  { name: 'native', entries: ['native.ts', 'binding.generated.ts', 'binding-types.ts', 'errors.ts', 'diagnostics.ts', 'profiler.ts', 'native-env.ts'] },
  { name: 'tensor', entries: ['tensor', 'autograd'] },
  { name: 'nn', entries: ['nn', 'optim'] },
  { name: 'io', entries: ['io', 'data', 'metrics', 'distributed'] },
  { name: 'gan', entries: ['gan'] },
  { name: 'cli', entries: ['cli', 'index.ts'] },
];
// Outside lib/: what sits above every layer (it may import lib/, never the reverse).
const ABOVE_LIB = ['test', 'examples', 'bench'];

/** The layer index of a path relative to lib/ ('nn/module.ts'), or -1 when it is in no layer. */
function layerOf(rel) {
  const top = rel.split('/')[0];
  return LAYERS.findIndex((l) => l.entries.includes(top));
}

/** What a relative specifier names, relative to the root ('lib/nn/module.ts', 'lib/tensor/index.ts', 'test/x'). */
function resolveSpecifier(fromFile, spec, root, exists) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
  for (const cand of [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`, `${base}/index.js`]) {
    if (exists(path.join(root, cand)) && !isDir(path.join(root, cand))) return cand;
  }
  // not on disk (a synthetic check): the path itself tells the layer; lib itself is its barrel
  return base === 'lib' ? 'lib/index.ts' : base;
}

function isDir(p) {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// Specifiers with their positions, as the TypeScript scanner finds them (comments and strings
// are not imports). Loaded lazily so that requiring this file costs nothing until used.
function importsOf(text) {
  const ts = require('typescript');
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => ({ spec: f.fileName, line: text.slice(0, f.pos).split('\n').length }));
}

/**
 * The violations in `files` ([{ file: 'lib/x/y.ts', text }], paths relative to `root`, '/'-separated).
 * Each: { file, line, spec, message }.
 */
function checkFiles(files, root = process.cwd(), exists = fs.existsSync) {
  const out = [];
  for (const { file, text } of files) {
    const rel = file.replace(/^lib\//, '');
    const from = layerOf(rel);
    if (from < 0) {
      out.push({ file, line: 1, spec: '', message: `${file}: '${rel.split('/')[0]}' is in no layer (add it to LAYERS in scripts/check-layers.js)` });
      continue;
    }
    for (const { spec, line } of importsOf(text)) {
      if (!spec.startsWith('.')) continue; // a package or a Node built-in
      const target = resolveSpecifier(file, spec, root, exists);
      const where = `${file}:${line}`;
      if (!target.startsWith('lib/')) {
        const top = target.split('/')[0];
        if (ABOVE_LIB.includes(top)) out.push({ file, line, spec, message: `${where}: imports '${spec}' (${top}/, outside lib/ and above every layer)` });
        continue;
      }
      const to = layerOf(target.slice(4));
      if (to < 0) {
        out.push({ file, line, spec, message: `${where}: imports '${spec}' (${target}), which is in no layer` });
      } else if (to > from) {
        out.push({
          file, line, spec,
          message: `${where}: imports '${spec}' (${target}): layer ${LAYERS[from].name} must not import layer ${LAYERS[to].name}, which sits above it`,
        });
      }
    }
  }
  return out;
}

function listTs(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The violations in root/lib. */
function checkLayers(root = path.join(__dirname, '..')) {
  const files = listTs(path.join(root, 'lib')).sort().map((p) => ({
    file: path.relative(root, p).split(path.sep).join('/'),
    text: fs.readFileSync(p, 'utf8'),
  }));
  return checkFiles(files, root);
}

module.exports = { LAYERS, checkFiles, checkLayers, layerOf };

if (require.main === module) {
  const root = path.resolve(process.argv[2] || path.join(__dirname, '..'));
  const bad = checkLayers(root);
  for (const v of bad) console.error(v.message);
  if (bad.length) {
    console.error(`check-layers: ${bad.length} upward import(s)`);
    process.exit(1);
  }
  console.log('check-layers: every import in lib/ goes down or stays in its layer');
}
