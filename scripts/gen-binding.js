#!/usr/bin/env node
'use strict';
// Writes lib/binding.generated.ts, the TypeScript declaration of the native addon, from the one
// place the addon's interface is written: its registrations in native/*.cc.
//
// What it reads (the conventions are also stated in native/common.h):
//   - every op is `TG_OP(exports, "name", { body })`, directly or through a macro whose body is
//     one TG_OP (TG_UNARY("neg", ...)); its parameters are the argument accessors its body calls,
//     `Acc(info, <integer>, "name", ...)`, and nothing else: a body that reads info[i] or
//     info.Length(), calls an accessor with a computed index, or calls an unannotated function
//     with (info, <integer>, ...) is refused, so no argument escapes the declaration;
//   - an accessor is a function declared or defined right below a `// ts: <type>` comment: the
//     TypeScript type of what it accepts (a type that admits undefined makes the parameter
//     optional, `...T` takes the remaining arguments) with the name from the call's string
//     literal, or `// ts: (a: T, b?: U)` for one that reads consecutive arguments under fixed
//     names (each of which must appear as a string literal in its definition);
//   - an op returns what its return statements wrap (Wrap: a handle, WrapList: handles, a tuple
//     for a braced list, Napi::Boolean/Number/String, Undefined: void), or what a
//     `// returns: <type>` comment right above its TG_OP says; its other comment lines there
//     (but `// ---- section` headings) become the method's documentation;
//   - of each #if/#ifdef/#ifndef only the first branch is read: the build with every feature on
//     (CUDA, Gloo), whose ops the fallback branches register under the same names;
//   - the types may name what lib/binding-types.ts exports.
//
// `node scripts/gen-binding.js` rewrites the file; `--check` only says whether it is current
// (test/binding-types.test.ts does the same in memory).
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const OUT = path.join('lib', 'binding.generated.ts');
const TYPES = path.join('lib', 'binding-types.ts');
// Functions an op body may call with (info, <integer>, ...) that read no argument: they report one.
const NOT_ACCESSORS = new Set(['ThrowArg']);

class GenError extends Error {}
const fail = (where, msg) => {
  throw new GenError(`gen-binding: ${where}: ${msg}`);
};

// The text with comments and the insides of string and character literals blanked (same length,
// newlines kept), so braces, parentheses and keywords are found only in code.
function mask(src) {
  let out = '';
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      while (i < n && src[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && d === '*') {
      while (i < n && !(src[i] === '*' && src[i + 1] === '/')) {
        out += src[i] === '\n' ? '\n' : ' ';
        i++;
      }
      out += '  ';
      i += 2;
    } else if (c === '"' || c === "'") {
      out += c;
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') {
          out += ' ';
          i++;
        }
        out += src[i] === '\n' ? '\n' : ' ';
        i++;
      }
      out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const OPEN = { '(': ')', '[': ']', '{': '}' };
// The index of the bracket closing the one at `at` (in masked text).
function closing(m, at, where) {
  const stack = [];
  for (let i = at; i < m.length; i++) {
    const c = m[i];
    if (OPEN[c]) stack.push(OPEN[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) fail(where, `unbalanced '${c}'`);
      if (stack.length === 0) return i;
    }
  }
  return fail(where, 'unclosed bracket');
}

// Top-level comma-separated pieces of m[from, to) as [start, end) ranges.
function splitTop(m, from, to) {
  const parts = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < to; i++) {
    const c = m[i];
    if (OPEN[c]) depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push([start, i]);
      start = i + 1;
    }
  }
  if (to > start || parts.length) parts.push([start, to]);
  return parts;
}

// A type's top-level union members ('A | B[] | (C | D)' -> ['A', 'B[]', '(C | D)']).
function unionMembers(type) {
  const out = [];
  let depth = 0;
  let start = 0;
  let quote = null;
  for (let i = 0; i < type.length; i++) {
    const c = type[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if ('([{<'.includes(c)) depth++;
    else if (')]}>'.includes(c) && type[i - 1] !== '=') depth--;
    else if (c === '|' && depth === 0) {
      out.push(type.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(type.slice(start).trim());
  return out.filter(Boolean);
}
const union = (types) => [...new Set(types.flatMap(unionMembers))].join(' | ');

// Keeps the first branch of every #if/#ifdef/#ifndef and blanks the rest (line numbers stay).
function firstBranches(src) {
  const stack = [];
  return src
    .split('\n')
    .map((line) => {
      const d = line.match(/^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b/);
      if (d) {
        if (d[1].startsWith('if')) stack.push(true);
        else if (d[1] === 'endif') stack.pop();
        else stack[stack.length - 1] = false;
        return '';
      }
      return stack.every(Boolean) ? line : '';
    })
    .join('\n');
}

// The `//` comment lines directly above line `lineNo` (0-based), top first, without the slashes.
function commentAbove(lines, lineNo) {
  const out = [];
  for (let k = lineNo - 1; k >= 0; k--) {
    const m = lines[k].match(/^\s*\/\/ ?(.*)$/);
    if (!m) break;
    out.unshift(m[1]);
  }
  return out;
}

// A `tag:` entry of a comment block: its text (continued on lines indented by 2 or more spaces)
// and the block's other lines.
function takeTag(comment, tag) {
  const rest = [];
  let value = null;
  for (let k = 0; k < comment.length; k++) {
    const m = comment[k].match(new RegExp(`^${tag}:\\s*(.*)$`));
    if (!m) {
      rest.push(comment[k]);
      continue;
    }
    value = m[1];
    while (k + 1 < comment.length && /^\s{2,}\S/.test(comment[k + 1])) value += ' ' + comment[++k].trim();
  }
  return { value, rest };
}

// A `(a: T, b?: U)` parameter list.
function parseParamList(text, where) {
  const inner = text.trim().slice(1, -1);
  const m = mask(inner);
  return splitTop(m, 0, m.length).map(([s, e]) => {
    const p = inner.slice(s, e).trim();
    const pm = p.match(/^(\w+)(\?)?\s*:\s*([\s\S]+)$/);
    if (!pm) fail(where, `cannot read the parameter '${p}' of '${text}'`);
    return { name: pm[1], type: pm[3].trim(), optional: Boolean(pm[2]) || unionMembers(pm[3]).includes('undefined') };
  });
}

const lineOf = (text, at) => text.slice(0, at).split('\n').length - 1;

// The accessors: every function right below a `// ts:` comment in native/*.{h,cc}.
function readAccessors(files) {
  const accessors = new Map();
  for (const { rel, text } of files) {
    const lines = text.split('\n');
    const m = mask(text);
    for (let k = 0; k < lines.length; k++) {
      const first = lines[k].match(/^\s*\/\/ ts:\s*(.*)$/);
      if (!first) continue;
      // the annotation, continued on lines indented further (`//   ...`), sits right above the declaration
      let value = first[1];
      let end = k;
      while (end + 1 < lines.length && /^\s*\/\/\s{3,}\S/.test(lines[end + 1])) value += ' ' + lines[++end].replace(/^\s*\/\//, '').trim();
      if (/^\s*(\/\/|$)/.test(lines[end + 1] || '')) fail(`${rel}:${end + 2}`, 'a `// ts:` comment must sit right above an accessor declaration');
      const declAt = lines.slice(0, end + 1).join('\n').length + 1;
      const open = m.indexOf('(', declAt);
      const head = text.slice(declAt, open);
      const name = (head.match(/(\w+)\s*$/) || [])[1];
      const where = `${rel}:${end + 2}`;
      if (!name) fail(where, 'a `// ts:` comment must sit right above an accessor declaration');
      const close = closing(m, open, where);
      if (!/^\(\s*const Napi::CallbackInfo&\s*info\s*,\s*size_t\s+i\b/.test(text.slice(open, close + 1))) {
        fail(where, `accessor ${name} must take (const Napi::CallbackInfo& info, size_t i, ...)`);
      }
      const acc = { name, where };
      if (/^\(\s*\w+\??\s*:/.test(value)) {
        acc.slots = parseParamList(value, where);
        // each fixed name is one the definition reads (and so names in its errors)
        const bodyStart = m.indexOf('{', close);
        if (m.slice(close + 1, bodyStart).includes(';')) fail(where, `composite accessor ${name} must be annotated at its definition`);
        const body = text.slice(bodyStart, closing(m, bodyStart, where) + 1);
        for (const s of acc.slots) if (!body.includes(`"${s.name}"`)) fail(where, `${name} is declared to read '${s.name}' but its definition never names it`);
      } else {
        const rest = value.startsWith('...');
        const type = rest ? value.slice(3).trim() : value;
        Object.assign(acc, { type, rest, optional: !rest && unionMembers(type).includes('undefined') });
      }
      if (accessors.has(name)) fail(where, `accessor ${name} is annotated twice (also at ${accessors.get(name).where})`);
      accessors.set(name, acc);
    }
  }
  return accessors;
}

// The ops of one file, op macros expanded: [{name, body, doc (comment lines), returns (annotated), where}].
function readOps(rel, text) {
  const macros = new Map();
  // #define NAME(params) body, continuation lines joined; op macros are blanked out of the text
  text = text.replace(/^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)]*)\)((?:[^\n]*\\\n)*[^\n]*)/gm, (all, name, params, body) => {
    const joined = body.replace(/\\\n/g, '\n');
    if (!/\bTG_OP\s*\(/.test(mask(joined))) return all;
    macros.set(name, { params: params.split(',').map((p) => p.trim()), body: joined });
    return all.replace(/[^\n]/g, ' ');
  });
  const lines = text.split('\n');
  const m = mask(text);
  const ops = [];
  const callRe = /\b(\w+)\s*\(/g;
  let hit;
  while ((hit = callRe.exec(m))) {
    const [, callee] = hit;
    if (callee !== 'TG_OP' && !macros.has(callee)) continue;
    const open = hit.index + hit[0].length - 1;
    const line = lineOf(text, hit.index);
    const where = `${rel}:${line + 1}`;
    const close = closing(m, open, where);
    const args = splitTop(m, open + 1, close).map(([s, e]) => text.slice(s, e).trim());
    let call;
    if (callee === 'TG_OP') call = text.slice(hit.index, close + 1);
    else {
      const { params, body } = macros.get(callee);
      const subst = {};
      params.forEach((p, k) => {
        if (p === '...') subst.__VA_ARGS__ = args.slice(k).join(', ');
        else subst[p] = args[k];
      });
      const bm = mask(body);
      call = body.replace(/\b\w+\b/g, (w, at) => (subst[w] !== undefined && bm[at] === w[0] ? subst[w] : w)).trim();
    }
    const cm = mask(call);
    const copen = cm.indexOf('(');
    const cargs = splitTop(cm, copen + 1, closing(cm, copen, where));
    if (cargs.length !== 3) fail(where, 'TG_OP takes (exports, "name", { body })');
    const nameText = call.slice(...cargs[1]).trim();
    if (!/^"\w+"$/.test(nameText)) fail(where, `an op's name must be a string literal, found ${nameText}`);
    const { value: returns, rest: doc } = takeTag(commentAbove(lines, line), 'returns');
    ops.push({ name: nameText.slice(1, -1), body: call.slice(...cargs[2]).trim(), doc, returns, where });
    callRe.lastIndex = close;
  }
  return ops;
}

// Whether the `{` at `at` opens a lambda's body: `[...] (...) [mutable] [-> T] {`.
function isLambdaBrace(m, at) {
  let before = m.slice(0, at).trimEnd();
  before = before.replace(/->\s*[\w:<>,\s*&]+$/, '').trimEnd();
  before = before.replace(/\bmutable$/, '').trimEnd();
  if (before.endsWith(')')) {
    let depth = 0;
    let k = before.length - 1;
    for (; k >= 0; k--) {
      if (before[k] === ')') depth++;
      else if (before[k] === '(' && --depth === 0) break;
    }
    before = before.slice(0, k).trimEnd();
  }
  return before.endsWith(']');
}

// What an op's own return statements (not those of lambdas inside it) return.
function inferReturns(body, where) {
  const m = mask(body);
  const lambdaDepth = [];
  const types = [];
  for (let i = 0; i < m.length; i++) {
    const c = m[i];
    if (c === '{') lambdaDepth.push(isLambdaBrace(m, i));
    else if (c === '}') lambdaDepth.pop();
    else if (c === 'r' && /^return\b/.test(m.slice(i, i + 7)) && !/\w/.test(m[i - 1] || '') && !lambdaDepth.slice(1).some(Boolean)) {
      let depth = 0;
      let end = i + 6;
      for (; end < m.length; end++) {
        if (OPEN[m[end]]) depth++;
        else if (')]}'.includes(m[end])) depth--;
        else if (m[end] === ';' && depth === 0) break;
      }
      const expr = m.slice(i + 6, end).trim();
      const list = expr.match(/^WrapList\s*\(\s*info\.Env\(\)\s*,\s*\{/);
      if (list) {
        const open = expr.indexOf('{');
        types.push(`[${splitTop(expr, open + 1, closing(expr, open, where)).map(() => 'NativeHandle').join(', ')}]`);
      } else if (/^Wrap\s*\(/.test(expr)) types.push('NativeHandle');
      else if (/^WrapList\s*\(/.test(expr)) types.push('NativeHandle[]');
      else if (/^Napi::Boolean::New\s*\(/.test(expr)) types.push('boolean');
      else if (/^Napi::Number::New\s*\(/.test(expr)) types.push('number');
      else if (/^Napi::String::New\s*\(/.test(expr)) types.push('string');
      else if (/^info\.Env\(\)\.Undefined\(\)$/.test(expr)) types.push('void');
      else return null;
      i = end;
    }
  }
  return types.length ? union(types) : null;
}

// The parameters an op's body reads, by index.
function readParams(op, accessors) {
  const { body, where } = op;
  const m = mask(body);
  const raw = m.match(/\binfo\s*(\[|\.\s*Length\s*\()/);
  if (raw) fail(where, `${op.name} reads ${raw[1] === '[' ? 'info[i]' : 'info.Length()'} itself; read each argument through an annotated accessor (native/common.h)`);
  const byIndex = new Map();
  const checks = [];
  const callRe = /\b(\w+)\s*\(\s*info\s*,/g;
  let hit;
  while ((hit = callRe.exec(m))) {
    const fn = hit[1];
    const open = hit.index + hit[0].indexOf('(');
    const args = splitTop(m, open + 1, closing(m, open, where)).map(([s, e]) => body.slice(s, e).trim());
    const literal = /^\d+$/.test(args[1]);
    const acc = accessors.get(fn);
    if (!acc) {
      if (!literal) continue; // a helper handed info (to throw or to run), not an argument read
      if (NOT_ACCESSORS.has(fn)) {
        checks.push({ fn, index: Number(args[1]), name: args[2] });
        continue;
      }
      fail(where, `${op.name} calls ${fn}(info, ${args[1]}, ...), which has no \`// ts:\` annotation: annotate it as an accessor`);
    }
    if (!literal) fail(where, `${op.name} calls ${fn} with the index '${args[1]}': an op reads its arguments at integer literals`);
    const index = Number(args[1]);
    const slots = acc.slots
      ? acc.slots.map((s, k) => ({ ...s, index: index + k, rest: false }))
      : [{ name: (/^"(\w+)"$/.exec(args[2] || '') || [])[1], type: acc.type, optional: acc.optional, rest: acc.rest, index }];
    for (const s of slots) {
      if (!s.name) fail(where, `${op.name} calls ${fn}(info, ${index}, ...) without the parameter's name as a string literal`);
      const seen = byIndex.get(s.index);
      if (seen && seen.name !== s.name) fail(where, `${op.name} reads argument ${s.index} as both '${seen.name}' and '${s.name}'`);
      if (seen && seen.rest !== s.rest) fail(where, `${op.name} reads argument ${s.index} both as a rest parameter and as one`);
      byIndex.set(s.index, seen ? { ...seen, type: union([seen.type, s.type]), optional: seen.optional && s.optional } : s);
    }
  }
  const params = [...byIndex.values()].sort((a, b) => a.index - b.index);
  params.forEach((p, k) => {
    if (p.index !== k) fail(where, `${op.name} reads no argument ${k} (it reads ${params.map((q) => q.index).join(', ')})`);
    if (p.rest && k !== params.length - 1) fail(where, `${op.name}: the rest parameter '${p.name}' must be the last`);
  });
  for (const c of checks) {
    const p = byIndex.get(c.index);
    if (!p || `"${p.name}"` !== c.name) fail(where, `${op.name}: ${c.fn}(info, ${c.index}, ${c.name}, ...) names no parameter it reads at ${c.index}`);
  }
  return params;
}

function signature(params) {
  // `?` only where every later parameter is optional too; otherwise undefined is spelled out
  let trailing = true;
  const out = [];
  for (let k = params.length - 1; k >= 0; k--) {
    const p = params[k];
    trailing = trailing && (p.optional || p.rest);
    if (p.rest) out.unshift(`...${p.name}: ${p.type}`);
    else if (p.optional && trailing) out.unshift(`${p.name}?: ${union(unionMembers(p.type).filter((t) => t !== 'undefined'))}`);
    else if (p.optional) out.unshift(`${p.name}: ${union([p.type, 'undefined'])}`);
    else out.unshift(`${p.name}: ${p.type}`);
  }
  return out.join(', ');
}

function sources(root) {
  const dir = path.join(root, 'native');
  return fs
    .readdirSync(dir)
    .filter((f) => /\.(h|cc)$/.test(f))
    .sort()
    .map((f) => ({ rel: `native/${f}`, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/**
 * The declarations of the addon in `root` (or of `files`, [{rel, text}], when given): {text (the
 * generated file), ops ([{name, params, returns, file}])}.
 */
function generate(root = ROOT, files = sources(root)) {
  files = files.map(({ rel, text }) => ({ rel, text: firstBranches(text) }));
  const accessors = readAccessors(files);
  const ops = [];
  const seen = new Map();
  for (const { rel, text } of files) {
    if (!rel.endsWith('.cc')) continue;
    for (const op of readOps(rel, text)) {
      if (seen.has(op.name)) fail(op.where, `op ${op.name} is registered twice (also at ${seen.get(op.name)})`);
      seen.set(op.name, op.where);
      op.params = readParams(op, accessors);
      op.file = rel;
      op.returns = op.returns || inferReturns(op.body, op.where);
      if (!op.returns) fail(op.where, `${op.name}: say what it returns in a \`// returns: <type>\` comment above it (its return statements do not tell)`);
      ops.push(op);
    }
  }
  const typesText = fs.readFileSync(path.join(root, TYPES), 'utf8');
  const exported = new Set();
  for (const mm of typesText.matchAll(/^export (?:type|interface) (\w+)/gm)) exported.add(mm[1]);
  for (const mm of typesText.matchAll(/^export type \{([^}]*)\}/gm)) mm[1].split(',').forEach((s) => s.trim() && exported.add(s.trim().split(/\s+as\s+/).pop()));
  const body = [];
  let file = null;
  for (const op of ops) {
    if (op.file !== file) {
      body.push(`${file ? '\n' : ''}  // ---- ${op.file}`);
      file = op.file;
    }
    const doc = op.doc.filter((l) => l.trim() && !/^-{3,}/.test(l.trim())); // `// ---- section` headings are not docs
    if (doc.length) body.push(doc.length === 1 ? `  /** ${doc[0].replace(/\*\//g, '* /')} */` : ['  /**', ...doc.map((l) => `   * ${l.replace(/\*\//g, '* /')}`), '   */'].join('\n'));
    body.push(`  ${op.name}(${signature(op.params)}): ${op.returns};`);
  }
  const iface = body.join('\n');
  const used = [...exported].filter((t) => new RegExp(`\\b${t}\\b`).test(iface)).sort();
  const text = [
    '// GENERATED by scripts/gen-binding.js from the TG_OP registrations and the `// ts:` accessors of',
    '// native/*.cc: do not edit. `node scripts/gen-binding.js` rewrites it; test/binding-types.test.ts',
    '// fails while it is stale.',
    used.length ? `import type { ${used.join(', ')} } from './binding-types';` : null,
    '',
    '/** The native addon: one method per op, its parameters as the C++ reads them, by position. */',
    'export interface NativeBinding {',
    iface,
    '}',
    '',
  ]
    .filter((l) => l !== null)
    .join('\n');
  return { text, ops: ops.map(({ name, params, returns, file: f }) => ({ name, params, returns, file: f })) };
}

module.exports = { generate, GenError, mask, firstBranches, OUT };

if (require.main === module) {
  try {
    const { text, ops } = generate();
    const out = path.join(ROOT, OUT);
    const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : null;
    if (process.argv.includes('--check')) {
      if (current !== text) {
        console.error(`${OUT} is stale: run node scripts/gen-binding.js`);
        process.exit(1);
      }
      console.log(`${OUT} is current (${ops.length} ops)`);
    } else if (current === text) console.log(`${OUT} is current (${ops.length} ops)`);
    else {
      fs.writeFileSync(out, text);
      console.log(`wrote ${OUT} (${ops.length} ops)`);
    }
  } catch (e) {
    if (!(e instanceof GenError)) throw e;
    console.error(e.message);
    process.exit(1);
  }
}
