import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { checkFiles, checkLayers } = require('../scripts/check-layers.js') as {
  checkFiles: (files: { file: string; text: string }[], root?: string, exists?: (p: string) => boolean) => { file: string; line: number; spec: string; message: string }[];
  checkLayers: (root?: string) => { message: string }[];
};
const root = path.join(__dirname, '..');
// Synthetic files are judged by their paths alone: nothing of them is on disk.
const none = () => false;

test('lib/ imports only downward or within its layer', () => {
  const bad = checkLayers(root);
  assert.equal(bad.map((v) => v.message), []);
});

test('an upward import fails, naming file, line and the import', () => {
  const bad = checkFiles([{ file: 'lib/tensor/x.ts', text: "import { Tensor } from './tensor';\n\nimport { Module } from '../nn/module';\n" }], root, none);
  assert.is(bad.length, 1);
  assert.is(bad[0].file, 'lib/tensor/x.ts');
  assert.is(bad[0].line, 3);
  assert.is(bad[0].spec, '../nn/module');
  assert.match(bad[0].message, /^lib\/tensor\/x\.ts:3: imports '\.\.\/nn\/module'.*layer tensor must not import layer nn/);
});

test('require(), import(), export-from and type-only imports count; comments and strings do not', () => {
  const text = [
    "// import { run } from '../gan/run';",
    "const s = \"import x from '../cli/main'\";",
    "const g = require('../gan/run');",
    "export { cli } from '../cli/main';",
    "import type { Module } from '../nn/module';",
    "async function f() { return import('../gan/worker'); }",
  ].join('\n');
  const bad = checkFiles([{ file: 'lib/tensor/y.ts', text }], root, none);
  assert.equal(bad.map((v) => [v.line, v.spec]), [[3, '../gan/run'], [4, '../cli/main'], [5, '../nn/module'], [6, '../gan/worker']]);
});

test('downward and same-layer imports pass; lib/ reaching into test/ or a folder in no layer fails', () => {
  assert.equal(checkFiles([{ file: 'lib/metrics/a.ts', text: "import '../data/random';\nimport '../io/safetensors';\nimport '../tensor';\nimport 'fs';" }], root, none), []);
  assert.equal(checkFiles([{ file: 'lib/cli/a.ts', text: "import '..';" }], root, none), []);
  const intoTest = checkFiles([{ file: 'lib/gan/a.ts', text: "import '../../test/helpers/models';" }], root, none);
  assert.match(intoTest[0].message, /outside lib\/ and above every layer/);
  const unplaced = checkFiles([{ file: 'lib/extra/a.ts', text: '' }], root, none);
  assert.match(unplaced[0].message, /'extra' is in no layer/);
  const gan = checkFiles([{ file: 'lib/gan/a.ts', text: "import { cli } from '..';" }], root, none);
  assert.match(gan[0]?.message ?? '', /layer gan must not import layer cli/, 'the barrel lib/index.ts sits with the CLI, above gan');
});

test.run();
