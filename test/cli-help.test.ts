// `torch-gan <command> --help`: two aligned columns that never run together, within 80 columns,
// generated from the flag specs (every flag listed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { helpText, FlagSpecs } from '../lib/cli/args';
import { trainFlags } from '../lib/cli/train-run';
import { evaluateFlags } from '../lib/cli/evaluate';
import { generateFlags } from '../lib/cli/generate';
import { usage } from '../lib/cli/main';

const commands: [string, FlagSpecs][] = [['train', trainFlags('mnist')], ['generate', generateFlags], ['evaluate', evaluateFlags as unknown as FlagSpecs]];

for (const [name, specs] of commands) {
  test(`${name} --help: every line fits 80 columns, every flag is listed with its values apart from its text`, () => {
    const text = helpText(`Usage: npx torch-gan ${name} [options]`, specs);
    for (const line of text.split('\n')) assert.ok(line.length <= 80, `longer than 80 columns: '${line}'`);
    for (const [flag, spec] of Object.entries(specs)) {
      const values = spec.type === 'choice' ? ` ${spec.choices!.join('|')}` : '';
      const line = text.split('\n').find((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}`);
      assert.ok(line, `--${flag} is listed`);
      // the flag (and its values) then either the end of the line or two or more spaces and the text
      const head = `  --${flag}${values}`;
      assert.ok(line!.startsWith(head), `--${flag}: '${line}'`);
      const rest = line!.slice(head.length);
      assert.ok(rest === '' || /^ (N|X|VALUE)?( {2,}\S|$)/.test(rest) || /^ {2,}\S/.test(rest), `--${flag}: name and text run together: '${line}'`);
      // the seeds' spellings of the flag and of its values are listed in its entry (its lines up to the next flag)
      const lines = text.split('\n');
      const at = lines.indexOf(line!);
      let end = at + 1;
      while (end < lines.length && lines[end].startsWith(' '.repeat(32))) end++;
      const entry = lines.slice(at, end).map((l) => l.trim()).join(' ');
      for (const a of spec.aliases ?? []) assert.ok(entry.includes(`also ${a}`) || entry.includes(`, ${a}`), `--${flag}: alias ${a} is not listed: '${entry}'`);
      for (const [a, v] of Object.entries(spec.valueAliases ?? {})) assert.ok(entry.includes(`${a} (= ${v})`), `--${flag}: value alias ${a} is not listed: '${entry}'`);
    }
  });
}

test('a long description wraps under its column; a short name keeps its text on the same line', () => {
  const specs: FlagSpecs = { n: { type: 'int', help: 'a '.repeat(60).trim() } };
  const lines = helpText('t', specs).split('\n');
  const at = lines.findIndex((l) => l.startsWith('  --n N'));
  assert.match(lines[at], /^ {2}--n N {2,}a a/);
  assert.match(lines[at + 1], /^ {32}a a/);
});

test('the command list names every command in aligned columns', () => {
  const u = usage();
  for (const c of ['train', 'generate', 'evaluate', 'doctor']) assert.match(u, new RegExp(`^  ${c} +\\S`, 'm'));
});

test.run();
