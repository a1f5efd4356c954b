// The typed binding: lib/binding.generated.ts is what scripts/gen-binding.js makes of native/*.cc
// today, it declares exactly the ops the loaded addon exports, and the generator refuses an op
// whose arguments or result it cannot declare. (tsc checks every call site against the file.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { N, NativeHandle } from '../lib/native';
import type { NativeBinding } from '../lib/binding.generated';

const root = path.join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const gen = require('../scripts/gen-binding.js') as {
  generate(root?: string, files?: { rel: string; text: string }[]): { text: string; ops: { name: string; params: { name: string }[]; returns: string }[] };
  GenError: new (message: string) => Error;
  OUT: string;
};

test('lib/binding.generated.ts is what scripts/gen-binding.js makes of native/*.cc now', () => {
  const { text } = gen.generate(root);
  const committed = fs.readFileSync(path.join(root, gen.OUT), 'utf8');
  assert.ok(text === committed, `${gen.OUT} is stale: run node scripts/gen-binding.js`);
});

test('every export of the loaded addon is declared, and every declared op is exported', () => {
  const declared = new Set(gen.generate(root).ops.map((o) => o.name));
  const exported = Object.keys(N).filter((k) => typeof (N as unknown as Record<string, unknown>)[k] === 'function');
  assert.equal(exported.filter((k) => !declared.has(k)), [], 'exported but not declared');
  assert.equal([...declared].filter((k) => !exported.includes(k)), [], 'declared but not exported');
  assert.ok(declared.size > 150, `${declared.size} ops`);
});

// A synthetic native/ for the generator: the accessors of the real common.h, ops given here.
const commonH = fs.readFileSync(path.join(root, 'native', 'common.h'), 'utf8');
const generateOps = (cc: string) => gen.generate(root, [{ rel: 'native/common.h', text: commonH }, { rel: 'native/x.cc', text: cc }]);
const declaration = (cc: string) => {
  const text = generateOps(cc).text;
  return text.slice(text.indexOf('// ---- native/x.cc') + 20, text.lastIndexOf('}')).trim();
};
const refuses = (cc: string, msg: RegExp) => {
  try {
    generateOps(cc);
  } catch (e) {
    assert.instance(e, gen.GenError);
    assert.match((e as Error).message, msg);
    return;
  }
  assert.unreachable(`the generator accepted:\n${cc}`);
};

test('the generator declares parameters from the accessors, results from the returns, and expands op macros', () => {
  const cc = `
#define TG_PAIR(NAME, DIM_AT) \\
  TG_OP(exports, NAME, { \\
    auto& a = TensorArg(info, 0, "self"); \\
    auto run = [&](int64_t d) { return d + 1; }; \\
    return WrapList(info.Env(), {a, a.sum(OptIntArg(info, DIM_AT, "dim").value_or(run(0)))}); \\
  })
void RegisterX(Napi::Env env, Napi::Object exports) {
  // Does one thing.
  TG_OP(exports, "one", {
    auto& a = TensorArg(info, 0, "self");
    auto dim = OptIntArg(info, 1, "dim");
    if (!dim) ThrowArg(info, 1, "dim", "given");
    return Wrap(info.Env(), a.view(IntRestArg(info, 3, "shape")).sum(BoolArg(info, 2, "keepdim")));
  });
  TG_OP(exports, "two", {
    if (BoolArg(info, 0, "flag")) return Napi::Boolean::New(info.Env(), true);
    return info.Env().Undefined();
  });
  // returns: { a: number }
  TG_OP(exports, "three", { return Obj(info); });
#ifdef SOMETHING
  TG_PAIR("four", 1);
#else
  TG_OP(exports, "four", { return Wrap(info.Env(), TensorArg(info, 0, "other")); });
#endif
}`;
  assert.is(
    declaration(cc),
    [
      '/** Does one thing. */',
      '  one(self: NativeHandle, dim: number | null | undefined, keepdim: boolean, ...shape: number[] | [number[]]): NativeHandle;',
      '  two(flag: boolean): boolean | void;',
      '  three(): { a: number };',
      '  four(self: NativeHandle, dim?: number | null): [NativeHandle, NativeHandle];',
    ].join('\n'),
  );
});

test('the generator refuses an op whose arguments or result it cannot declare', () => {
  const op = (body: string, above = '') => `void R(Napi::Env env, Napi::Object exports) {\n${above}  TG_OP(exports, "bad", { ${body} });\n}`;
  refuses(op('return Wrap(info.Env(), TensorArg(info, 0, info[1].IsNumber() ? "a" : "b"));'), /reads info\[/);
  refuses(op('if (info.Length() > 1) return info.Env().Undefined(); return Wrap(info.Env(), TensorArg(info, 0, "self"));'), /reads info\.Length/);
  refuses(op('return Wrap(info.Env(), MysteryArg(info, 0, "self"));'), /MysteryArg.*no `\/\/ ts:` annotation/);
  refuses(op('size_t k = 1; return Wrap(info.Env(), TensorArg(info, k, "self"));'), /index 'k'/);
  refuses(op('return Wrap(info.Env(), TensorArg(info, 0, name));'), /without the parameter's name/);
  refuses(op('return Wrap(info.Env(), TensorArg(info, 0, "self").add(TensorArg(info, 2, "other")));'), /reads no argument 1/);
  refuses(op('return Wrap(info.Env(), TensorArg(info, 0, "self").add(TensorArg(info, 0, "other")));'), /as both 'self' and 'other'/);
  refuses(op('TensorArg(info, 0, "self"); ThrowArg(info, 0, "input", "x");'), /names no parameter/);
  refuses(op('auto p = Napi::Promise::Deferred::New(info.Env()); return p.Promise();'), /say what it returns/);
  refuses(op('return Wrap(info.Env(), TensorArg(info, 0, "self"));') + '\n' + op('return Wrap(info.Env(), TensorArg(info, 0, "self"));'), /registered twice/);
  refuses(`// ts: number\nstatic int64_t Loose(size_t i) { return 0; }\n${op('return info.Env().Undefined();')}`, /must take \(const Napi::CallbackInfo& info, size_t i/);
  refuses(
    `// ts: (a: number, b: number)\nstatic int64_t Pair(const Napi::CallbackInfo& info, size_t i) { return IntArg(info, i, "a"); }\n${op('Pair(info, 0); return info.Env().Undefined();')}`,
    /declared to read 'b' but its definition never names it/,
  );
});

// Compile-time checks (never run): each @ts-expect-error fails the typecheck (npm test) if the
// call it marks were accepted, e.g. were N untyped again.
export function callsTheCompilerRefuses(n: NativeBinding, h: NativeHandle): void {
  // @ts-expect-error convTranspose2d takes groups (a number) before dilation (a pair)
  n.convTranspose2d(h, h, null, 1, 0, 0, [1, 1], 1);
  // @ts-expect-error a tensor where a shape goes
  n.zeros(h);
  // @ts-expect-error not an op
  n.noSuchOp(h);
  // @ts-expect-error sum's keepdim is not optional
  n.sum(h, undefined);
  // @ts-expect-error a loss reduction the C++ refuses
  n.mseLoss(h, h, 'average');
  // @ts-expect-error linalgEigh returns a pair of handles, not one
  const single: NativeHandle = n.linalgEigh(h, 'L');
  void single;
}

test.run();
