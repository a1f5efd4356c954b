// The public ops by family, each with valid inputs and the names its errors give its tensor
// arguments: test/bad-input-ops.test.ts derives the wrong calls from this table (disposed
// tensors, wrong argument types, bad dims, bad shapes, dtypes and devices), so an op added
// here gets that coverage by construction.
import * as tg from '../../lib';
import { Tensor } from '../../lib';

const F = tg.F;

export interface TableOp {
  /** the op as its errors name it ("add(): ...") */
  op: string;
  family: 'unary' | 'binary' | 'reduction' | 'shape' | 'index' | 'in-place' | 'nn' | 'loss' | 'creation-like';
  /** the names of its tensor arguments, in call order (as the errors say them) */
  tensors: string[];
  /** valid tensor arguments */
  make: () => Tensor[];
  /** the call; its arguments may be replaced by wrong ones */
  call: (...args: Tensor[]) => unknown;
  /** the op with a dim argument, for ops that take one */
  withDim?: (dim: number) => unknown;
  /** a tensor argument that also takes a number: its type error says "a Tensor or a number" */
  numberToo?: string[];
}

const v = () => [tg.randn([2, 3])];
const vv = () => [tg.randn([2, 3]), tg.randn([2, 3])];
const img = () => [tg.randn([1, 3, 5, 5])];
const unary = (name: string, f: (t: Tensor) => unknown): TableOp => ({ op: name, family: 'unary', tensors: ['self'], make: v, call: (a) => f(a) });
const binary = (name: string, f: (a: Tensor, b: Tensor) => unknown, numberToo = true): TableOp => ({
  op: name, family: 'binary', tensors: ['self', 'other'], make: vv, call: (a, b) => f(a, b), ...(numberToo ? { numberToo: ['other'] } : {}),
});
const reduction = (name: string, f: (t: Tensor, dim?: number) => unknown): TableOp => ({
  op: name, family: 'reduction', tensors: ['self'], make: v, call: (a) => f(a, 1), withDim: (d) => f(tg.randn([2, 3]), d),
});

export const OPS: TableOp[] = [
  ...(['neg', 'abs', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'sign', 'floor', 'ceil', 'round', 'logicalNot', 'isnan', 'isfinite'] as const).map(
    (n) => unary(n, (t) => (t[n] as () => Tensor).call(t)),
  ),
  unary('leakyRelu', (t) => t.leakyRelu(0.1)),
  unary('softplus', (t) => t.softplus()),
  unary('clone', (t) => t.clone()),
  unary('detach', (t) => t.detach()),
  unary('contiguous', (t) => t.contiguous()),
  unary('to', (t) => t.to(undefined, 'float64')),
  unary('clamp', (t) => t.clamp(-1, 1)),
  unary('all', (t) => t.all()),
  unary('any', (t) => t.any()),
  ...(['add', 'sub', 'mul', 'div', 'pow', 'remainder', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const).map((n) => binary(n, (a, b) => (a[n] as (o: Tensor) => Tensor).call(a, b))),
  binary('maximum', (a, b) => a.maximum(b), false),
  binary('minimum', (a, b) => a.minimum(b), false),
  { op: 'lerp', family: 'binary', tensors: ['self', 'end'], make: vv, call: (a, b) => a.lerp(b, 0.5) },
  { op: 'matmul', family: 'binary', tensors: ['self', 'other'], make: () => [tg.randn([2, 3]), tg.randn([3, 2])], call: (a, b) => a.matmul(b) },
  { op: 'mm', family: 'binary', tensors: ['self', 'other'], make: () => [tg.randn([2, 3]), tg.randn([3, 2])], call: (a, b) => a.mm(b) },
  { op: 'outer', family: 'binary', tensors: ['self', 'other'], make: () => [tg.randn([2]), tg.randn([3])], call: (a, b) => a.outer(b) },
  reduction('sum', (t, d) => t.sum(d)),
  reduction('mean', (t, d) => t.mean(d)),
  reduction('prod', (t, d) => t.prod(d)),
  reduction('max', (t, d) => t.max(d as number)),
  reduction('min', (t, d) => t.min(d as number)),
  reduction('argmax', (t, d) => t.argmax(d)),
  reduction('argmin', (t, d) => t.argmin(d)),
  reduction('std', (t, d) => t.std(d)),
  reduction('var', (t, d) => t.var(d)),
  reduction('norm', (t, d) => t.norm(2, d)),
  reduction('cumsum', (t, d) => t.cumsum(d as number)),
  reduction('sort', (t, d) => t.sort(d)),
  reduction('topk', (t, d) => t.topk(1, d)),
  { ...reduction('softmax', (t, d) => F.softmax(t, d as number)), tensors: ['input'] },
  { ...reduction('logSoftmax', (t, d) => F.logSoftmax(t, d as number)), tensors: ['input'] },
  { op: 'reshape', family: 'shape', tensors: ['self'], make: v, call: (a) => a.reshape(3, 2) },
  { op: 'view', family: 'shape', tensors: ['self'], make: v, call: (a) => a.view(6) },
  { op: 'flatten', family: 'shape', tensors: ['self'], make: v, call: (a) => a.flatten() },
  { op: 'squeeze', family: 'shape', tensors: ['self'], make: v, call: (a) => a.squeeze(0), withDim: (d) => tg.randn([2, 3]).squeeze(d) },
  { op: 'unsqueeze', family: 'shape', tensors: ['self'], make: v, call: (a) => a.unsqueeze(0), withDim: (d) => tg.randn([2, 3]).unsqueeze(d) },
  { op: 'permute', family: 'shape', tensors: ['self'], make: v, call: (a) => a.permute(1, 0) },
  { op: 'transpose', family: 'shape', tensors: ['self'], make: v, call: (a) => a.transpose(0, 1), withDim: (d) => tg.randn([2, 3]).transpose(0, d) },
  { op: 'expand', family: 'shape', tensors: ['self'], make: () => [tg.randn([1, 3])], call: (a) => a.expand(2, 3) },
  { op: 'repeat', family: 'shape', tensors: ['self'], make: v, call: (a) => a.repeat(2, 1) },
  { op: 'flip', family: 'shape', tensors: ['self'], make: v, call: (a) => a.flip(0), withDim: (d) => tg.randn([2, 3]).flip(d) },
  { op: 'split', family: 'shape', tensors: ['self'], make: v, call: (a) => a.split(1), withDim: (d) => tg.randn([2, 3]).split(1, d) },
  { op: 'chunk', family: 'shape', tensors: ['self'], make: v, call: (a) => a.chunk(2), withDim: (d) => tg.randn([2, 3]).chunk(2, d) },
  { op: 'narrow', family: 'shape', tensors: ['self'], make: v, call: (a) => a.narrow(1, 0, 2), withDim: (d) => tg.randn([2, 3]).narrow(d, 0, 1) },
  { op: 'select', family: 'shape', tensors: ['self'], make: v, call: (a) => a.select(0, 1), withDim: (d) => tg.randn([2, 3]).select(d, 0) },
  { op: 'slice', family: 'shape', tensors: ['self'], make: v, call: (a) => a.slice(1, 0, 2), withDim: (d) => tg.randn([2, 3]).slice(d, 0, 1) },
  { op: 'cat', family: 'shape', tensors: ['tensors[0]', 'tensors[1]'], make: vv, call: (a, b) => tg.cat([a, b]), withDim: (d) => tg.cat([tg.randn([2, 3]), tg.randn([2, 3])], d) },
  { op: 'stack', family: 'shape', tensors: ['tensors[0]', 'tensors[1]'], make: vv, call: (a, b) => tg.stack([a, b]), withDim: (d) => tg.stack([tg.randn([2, 3]), tg.randn([2, 3])], d) },
  { op: 'indexSelect', family: 'index', tensors: ['self', 'index'], make: () => [tg.randn([2, 3]), tg.tensor([0, 2], { dtype: 'int64' })], call: (a, i) => a.indexSelect(1, i), withDim: (d) => tg.randn([2, 3]).indexSelect(d, tg.tensor([0], { dtype: 'int64' })) },
  { op: 'gather', family: 'index', tensors: ['self', 'index'], make: () => [tg.randn([2, 3]), tg.zeros([2, 1], { dtype: 'int64' })], call: (a, i) => a.gather(1, i), withDim: (d) => tg.randn([2, 3]).gather(d, tg.zeros([2, 1], { dtype: 'int64' })) },
  { op: 'maskedFill', family: 'index', tensors: ['self', 'mask'], make: () => [tg.randn([2, 3]), tg.ones([2, 3]).gt(0)], call: (a, m) => a.maskedFill(m, 0) },
  { op: 'where', family: 'index', tensors: ['condition', 'input', 'other'], make: () => [tg.ones([2, 3]).gt(0), tg.randn([2, 3]), tg.randn([2, 3])], call: (c, a, b) => tg.where(c, a, b), numberToo: ['input', 'other'] },
  { op: 'add_', family: 'in-place', tensors: ['self', 'other'], make: vv, call: (a, b) => a.add_(b), numberToo: ['other'] },
  { op: 'mul_', family: 'in-place', tensors: ['self', 'other'], make: vv, call: (a, b) => a.mul_(b), numberToo: ['other'] },
  { op: 'copy_', family: 'in-place', tensors: ['self', 'src'], make: vv, call: (a, b) => a.copy_(b) },
  { op: 'addcmul_', family: 'in-place', tensors: ['self', 'tensor1', 'tensor2'], make: () => [tg.randn([2]), tg.randn([2]), tg.randn([2])], call: (a, b, c) => a.addcmul_(b, c) },
  { op: 'lerp_', family: 'in-place', tensors: ['self', 'end'], make: vv, call: (a, b) => a.lerp_(b, 0.5) },
  { op: 'conv2d', family: 'nn', tensors: ['input', 'weight'], make: () => [...img(), tg.randn([4, 3, 3, 3])], call: (x, w) => F.conv2d(x, w) },
  { op: 'convTranspose2d', family: 'nn', tensors: ['input', 'weight'], make: () => [tg.randn([1, 3, 4, 4]), tg.randn([3, 2, 3, 3])], call: (x, w) => F.convTranspose2d(x, w) },
  { op: 'linear', family: 'nn', tensors: ['input', 'weight'], make: () => [tg.randn([2, 3]), tg.randn([4, 3])], call: (x, w) => F.linear(x, w) },
  { op: 'batchNorm', family: 'nn', tensors: ['input'], make: img, call: (x) => F.batchNorm(x, null, null, { training: true }) },
  { op: 'instanceNorm', family: 'nn', tensors: ['input'], make: img, call: (x) => F.instanceNorm(x) },
  { op: 'layerNorm', family: 'nn', tensors: ['input'], make: img, call: (x) => F.layerNorm(x, [5, 5]) },
  { op: 'groupNorm', family: 'nn', tensors: ['input'], make: img, call: (x) => F.groupNorm(x, 3) },
  { op: 'dropout', family: 'nn', tensors: ['input'], make: img, call: (x) => F.dropout(x, 0.5) },
  { op: 'maxPool2dWithIndices', family: 'nn', tensors: ['input'], make: img, call: (x) => F.maxPool2d(x, 2) },
  { op: 'avgPool2d', family: 'nn', tensors: ['input'], make: img, call: (x) => F.avgPool2d(x, 2) },
  { op: 'binaryCrossEntropy', family: 'loss', tensors: ['input', 'target'], make: () => [tg.full([2], 0.5), tg.ones([2])], call: (a, b) => F.binaryCrossEntropy(a, b) },
  { op: 'binaryCrossEntropyWithLogits', family: 'loss', tensors: ['input', 'target'], make: vv, call: (a, b) => F.binaryCrossEntropyWithLogits(a, b) },
  { op: 'mseLoss', family: 'loss', tensors: ['input', 'target'], make: vv, call: (a, b) => F.mseLoss(a, b) },
  { op: 'nllLoss', family: 'loss', tensors: ['input', 'target'], make: () => [tg.randn([2, 3]), tg.zeros([2], { dtype: 'int64' })], call: (a, b) => F.nllLoss(a, b) },
  { op: 'crossEntropy', family: 'loss', tensors: ['input', 'target'], make: () => [tg.randn([2, 3]), tg.zeros([2], { dtype: 'int64' })], call: (a, b) => F.crossEntropy(a, b) },
  { op: 'zerosLike', family: 'creation-like', tensors: ['input'], make: v, call: (a) => tg.zerosLike(a) },
  { op: 'randnLike', family: 'creation-like', tensors: ['input'], make: v, call: (a) => tg.randnLike(a) },
];

export interface Creation {
  name: string;
  /** the call with a shape and options */
  call: (shape: number[], options?: tg.TensorOptions) => unknown;
}

/** The creation functions that take a shape and {dtype, device, requiresGrad}. */
export const CREATIONS: Creation[] = [
  { name: 'zeros', call: (s, o) => tg.zeros(s, o) },
  { name: 'ones', call: (s, o) => tg.ones(s, o) },
  { name: 'empty', call: (s, o) => tg.empty(s, o) },
  { name: 'full', call: (s, o) => tg.full(s, 2, o) },
  { name: 'rand', call: (s, o) => tg.rand(s, o) },
  { name: 'randn', call: (s, o) => tg.randn(s, o) },
  { name: 'randint', call: (s, o) => tg.randint(0, 5, s, o) },
  { name: 'uniform', call: (s, o) => tg.uniform(s, 0, 1, o) },
  { name: 'normal', call: (s, o) => tg.normal(s, 0, 1, o) },
];
