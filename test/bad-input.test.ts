// Wrong calls fail with a TorchError of the right code (and, for an argument at fault, its
// fields) and a message that names the parameter or the problem; the process lives on afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../lib';
import { Tensor } from '../lib';
import { assertErrorKind, isTorchError } from './helpers/errors';

const F = tg.F;
// kind: 'arg' (ERR_INVALID_ARG naming the argument) or 'torch' (ERR_TORCH*, ERR_TENSOR_DISPOSED); code: exactly this code
interface Row { what: string; call: () => unknown; kind: 'arg' | 'torch'; msg: RegExp; code?: string }

const x = () => tg.randn([1, 3, 5, 5]);
const w = () => tg.randn([4, 3, 3, 3]);
const disposed = (shape = [2]): Tensor => {
  const t = tg.ones(shape);
  t.dispose();
  return t;
};
const any = (v: unknown) => v as never;
const noCudaDevice = `cuda:${tg.cuda.deviceCount()}` as const; // one past the last GPU (cuda:0 without CUDA)

const rows: Row[] = [
  // ---- shape mismatch (libtorch's own checks, as TorchError)
  { what: 'conv2d: weight expects other channel count', call: () => F.conv2d(x(), tg.randn([4, 2, 3, 3])), kind: 'torch', msg: /expected input\[1, 3, 5, 5\] to have 2 channels, but got 3/ },
  { what: 'conv2d: bias of the wrong length', call: () => F.conv2d(x(), w(), tg.randn([5])), kind: 'torch', msg: /bias.*4 elements.*\[5\]/ },
  { what: 'conv2d: kernel larger than the input', call: () => F.conv2d(x(), tg.randn([4, 3, 7, 7])), kind: 'torch', msg: /Kernel size can't be greater than actual input size/ },
  { what: 'matmul: inner sizes differ', call: () => tg.randn([2, 3]).matmul(tg.randn([4, 5])), kind: 'torch', msg: /shapes cannot be multiplied \(2x3 and 4x5\)/ },
  { what: 'linear: in_features differ', call: () => F.linear(tg.randn([2, 3]), tg.randn([4, 5])), kind: 'torch', msg: /^linear\(\).*cannot be multiplied/ },
  { what: 'add: shapes do not broadcast', call: () => tg.randn([3]).add(tg.randn([4])), kind: 'torch', msg: /size of tensor a \(3\) must match the size of tensor b \(4\)/ },
  { what: 'layerNorm: normalizedShape does not end the input shape', call: () => F.layerNorm(tg.randn([2, 3]), [4]), kind: 'torch', msg: /normalized_shape=\[4\]/ },
  { what: 'cat: sizes differ off the cat dim', call: () => tg.cat([tg.ones([2, 3]), tg.ones([2, 4])]), kind: 'torch', msg: /Sizes of tensors must match except in dimension 0/ },
  { what: 'stack: sizes differ', call: () => tg.stack([tg.ones([2]), tg.ones([3])]), kind: 'torch', msg: /stack expects each tensor to be equal size/ },
  { what: 'view: element count differs', call: () => tg.ones([6]).view(5), kind: 'torch', msg: /shape '\[5\]' is invalid for input of size 6/ },
  { what: 'bce with logits: target shape differs', call: () => F.binaryCrossEntropyWithLogits(tg.ones([2]), tg.ones([3])), kind: 'torch', msg: /size of tensor a \(3\) must match the size of tensor b \(2\)/ },
  { what: 'split: sizes do not sum to the dim', call: () => tg.ones([4]).split([1, 2]), kind: 'torch', msg: /split_sizes to sum exactly to 4/ },
  { what: 'select: index out of range', call: () => tg.ones([3]).select(0, 10), kind: 'torch', msg: /index 10 out of range/, code: 'ERR_TORCH_INDEX' },
  { what: 'transpose: dim out of range', call: () => tg.ones([2, 2]).transpose(0, 5), kind: 'torch', msg: /Dimension out of range.*got 5/, code: 'ERR_TORCH_INDEX' },

  // ---- wrong dtype
  { what: 'conv2d: int64 input with a float weight', call: () => F.conv2d(tg.ones([1, 3, 5, 5], { dtype: 'int64' }), w()), kind: 'torch', msg: /expected scalar type Long but found Float/ },
  { what: 'gather: float index', call: () => tg.ones([2, 2]).gather(1, tg.ones([2, 2])), kind: 'arg', msg: /gather\(\): argument 'index' must be an int64 Tensor \(indices\), received a float32 Tensor/ },
  { what: 'indexSelect: float index', call: () => tg.ones([3]).indexSelect(0, tg.tensor([0, 1])), kind: 'torch', msg: /Expected dtype int32 or int64 for index/ },
  { what: 'nllLoss: float target', call: () => F.nllLoss(tg.randn([2, 3]), tg.ones([2])), kind: 'arg', msg: /nllLoss\(\): argument 'target' must be an int64 Tensor \(indices\), received a float32 Tensor/ },
  { what: 'requiresGrad on an int tensor', call: () => tg.zeros([2], { dtype: 'int64', requiresGrad: true }), kind: 'torch', msg: /Only Tensors of floating point and complex dtype can require gradients/ },
  { what: 'gradcheck: a float32 input that requires grad', call: () => tg.autograd.gradcheck((a) => a, [tg.ones([2], { requiresGrad: true })]), kind: 'arg', msg: /float64.*inputs\[0\].*float32/ },

  // ---- devices
  { what: "zeros: device 'gpu'", call: () => tg.zeros([2], { device: any('gpu') }), kind: 'arg', msg: /device.*'cpu', 'cuda' or 'cuda:N'.*'gpu'/ },
  { what: "tensor: device 'cuda:x'", call: () => tg.tensor([1], { device: any('cuda:x') }), kind: 'arg', msg: /options\.device.*'cuda:x'/ },
  { what: "to: device 'tpu'", call: () => tg.ones([2]).to(any('tpu')), kind: 'arg', msg: /device.*'tpu'/ },
  { what: `zeros on ${noCudaDevice} (no such GPU)`, call: () => tg.zeros([2], { device: noCudaDevice }), kind: 'torch', msg: /CUDA/i },
  { what: `tensor() on ${noCudaDevice} (no such GPU)`, call: () => tg.tensor([1, 2], { device: noCudaDevice }), kind: 'torch', msg: /CUDA/i },
  { what: `moving a tensor to ${noCudaDevice}`, call: () => tg.ones([2]).to(noCudaDevice), kind: 'torch', msg: /CUDA/i },

  // ---- disposed tensors (the message names the argument)
  { what: 'disposed tensor as self', call: () => disposed().add(1), kind: 'torch', msg: /add\(\): argument 'self' is a disposed Tensor/, code: 'ERR_TENSOR_DISPOSED' },
  { what: 'disposed tensor as other', call: () => tg.ones([2]).mul(disposed()), kind: 'torch', msg: /argument 'other' is a disposed Tensor/, code: 'ERR_TENSOR_DISPOSED' },
  { what: 'disposed tensor as conv2d weight', call: () => F.conv2d(x(), disposed([4, 3, 3, 3])), kind: 'torch', msg: /conv2d\(\): argument 'weight' is a disposed Tensor/ },
  { what: 'disposed tensor in a list', call: () => tg.cat([tg.ones([2]), disposed()]), kind: 'torch', msg: /argument 'tensors\[1\]' is a disposed Tensor/ },
  { what: 'disposed tensor read', call: () => disposed().data(), kind: 'torch', msg: /disposed Tensor.*keep\(\) it or clone\(\) it/ },

  // ---- non-integer dims and sizes
  { what: 'reshape to 2.5 x 2', call: () => tg.ones([4]).reshape(2.5, 2), kind: 'arg', msg: /argument 'shape\[0\]' must be an integer, received number 2\.5/ },
  { what: 'zeros([2, 1.5])', call: () => tg.zeros([2, 1.5]), kind: 'arg', msg: /argument 'shape\[1\]' must be an integer/ },
  { what: 'zeros([NaN])', call: () => tg.zeros([NaN]), kind: 'arg', msg: /'shape\[0\]' must be an integer/ },
  { what: 'transpose(0.5, 1)', call: () => tg.ones([2, 2]).transpose(0.5, 1), kind: 'arg', msg: /argument 'dim0' must be an integer/ },
  { what: 'sum over dim 0.5', call: () => tg.ones([2, 2]).sum(0.5), kind: 'arg', msg: /argument 'dim' must be an integer/ },
  { what: 'conv2d stride 1.5', call: () => F.conv2d(x(), w(), null, { stride: 1.5 }), kind: 'arg', msg: /conv2d\(\): argument 'stride' must be an integer/ },

  // ---- negative or zero sizes
  { what: 'zeros([-1])', call: () => tg.zeros([-1]), kind: 'arg', msg: /'shape\[0\]' must be a non-negative integer, received -1/ },
  { what: 'randn([2, -3])', call: () => tg.randn([2, -3]), kind: 'arg', msg: /'shape\[1\]' must be a non-negative integer, received -3/ },
  { what: 'reshape(-2, 2)', call: () => tg.ones([4]).reshape(-2, 2), kind: 'torch', msg: /invalid shape dimension -2/ },
  { what: 'conv2d stride 0', call: () => F.conv2d(x(), w(), null, { stride: 0 }), kind: 'arg', msg: /conv2d\(\): argument 'stride' must be a positive integer, received 0/ },
  { what: 'conv2d padding -1', call: () => F.conv2d(x(), w(), null, { padding: -1 }), kind: 'arg', msg: /conv2d\(\): argument 'padding' must be a non-negative integer, received -1/ },
  { what: 'chunk(0)', call: () => tg.ones([3]).chunk(0), kind: 'torch', msg: /chunks.*greater than 0/ },
  { what: 'setNumThreads(0)', call: () => tg.setNumThreads(0), kind: 'arg', msg: /argument 'n' must be a positive integer/ },
  { what: 'manualSeed(-1)', call: () => tg.manualSeed(-1), kind: 'arg', msg: /non-negative integer for seed/ },

  // ---- wrong argument types
  { what: "zeros('abc')", call: () => tg.zeros(any('abc')), kind: 'arg', msg: /argument 'shape' must be an integer or an array of integers, received string 'abc'/ },
  { what: "add('x')", call: () => tg.ones([2]).add(any('x')), kind: 'arg', msg: /add\(\): argument 'other' must be a Tensor or a number, received string 'x'/ },
  { what: 'mul({})', call: () => tg.ones([2]).mul(any({})), kind: 'arg', msg: /argument 'other' must be a Tensor or a number, received an object/ },
  // handles are BigInts (native/common.h): a forged one is refused, not taken for some live tensor
  { what: 'mul(a forged handle)', call: () => tg.ones([2]).mul(any(1n)), kind: 'arg', msg: /argument 'other' must be a Tensor or a number, received a bigint/ },
  { what: 'neg of a forged handle', call: () => tg.Tensor.prototype.neg.call(any({ _h: 4294967297n })), kind: 'arg', msg: /argument 'self' must be a Tensor, received a bigint/ },
  { what: "conv2d with a string weight", call: () => F.conv2d(x(), any('w')), kind: 'arg', msg: /conv2d\(\): argument 'weight' must be a Tensor/ },
  { what: "conv2d stride '2'", call: () => F.conv2d(x(), w(), null, { stride: any('2') }), kind: 'arg', msg: /argument 'stride' must be an integer or an array of integers/ },
  { what: "leakyRelu('a')", call: () => tg.ones([2]).leakyRelu(any('a')), kind: 'arg', msg: /argument 'negativeSlope' must be a number/ },
  { what: "full([2], 'a')", call: () => tg.full([2], any('a')), kind: 'arg', msg: /argument 'value' must be a number/ },
  { what: 'cat of a string', call: () => tg.cat(any('x')), kind: 'arg', msg: /array of Tensors for tensors/ },
  { what: 'cat with a number inside', call: () => tg.cat([tg.ones([2]), any(5)]), kind: 'arg', msg: /argument 'tensors\[1\]' must be a Tensor, received number 5/ },
  { what: 'autograd.grad with a number input', call: () => tg.autograd.grad(tg.ones([1]), [any(1)]), kind: 'arg', msg: /Tensor for inputs\[0\]/ },
  { what: 'tensor() of a plain object', call: () => tg.tensor(any({})), kind: 'arg', msg: /typed array, a number or \(nested\) arrays of numbers for data/ },
  { what: 'tensor() of a Uint16Array', call: () => tg.tensor(any(new Uint16Array(3))), kind: 'arg', msg: /argument 'data' must be a Float32Array/ },
  { what: "requiresGrad: 'yes'", call: () => tg.tensor([1], { requiresGrad: any('yes') }), kind: 'arg', msg: /boolean for tensor\(\) options\.requiresGrad/ },
  { what: 'dropout p = 1.5', call: () => F.dropout(tg.ones([2]), 1.5), kind: 'arg', msg: /probability in \[0, 1\] for p/ },
  { what: 'item() of two elements', call: () => tg.ones([2]).item(), kind: 'arg', msg: /exactly one element, this one has 2/ },

  // ---- unknown dtype strings
  { what: "dtype 'float128'", call: () => tg.tensor([1], { dtype: any('float128') }), kind: 'arg', msg: /one of float32, .*bool for tensor\(\) options\.dtype but received string 'float128'/ },
  { what: "to(..., 'complex64')", call: () => tg.ones([1]).to(undefined, any('complex64')), kind: 'arg', msg: /for dtype but received string 'complex64'/ },
  { what: "zerosLike(t, 'double')", call: () => tg.zerosLike(tg.ones([1]), any('double')), kind: 'arg', msg: /argument 'dtype' must be a dtype.*'double'/ },
  { what: "sum(..., dtype 'f32')", call: () => tg.ones([1]).sum(undefined, false, any('f32')), kind: 'arg', msg: /sum\(\): argument 'dtype' must be a dtype/ },

  // ---- bad reduction strings
  { what: "bce with logits reduction 'avg'", call: () => F.binaryCrossEntropyWithLogits(tg.ones([2]), tg.ones([2]), { reduction: any('avg') }), kind: 'arg', msg: /argument 'reduction' must be 'mean', 'sum' or 'none', received string 'avg'/ },
  { what: "mseLoss reduction 'avg'", call: () => F.mseLoss(tg.ones([2]), tg.ones([2]), any('avg')), kind: 'arg', msg: /mseLoss\(\): argument 'reduction'/ },
  { what: 'bce reduction 1', call: () => F.binaryCrossEntropy(tg.full([2], 0.5), tg.ones([2]), { reduction: any(1) }), kind: 'arg', msg: /argument 'reduction'.*received number 1/ },

  // ---- wrong option keys
  { what: "zeros option 'dtyp'", call: () => tg.zeros([2], any({ dtyp: 'float32' })), kind: 'arg', msg: /Unknown option 'dtyp' for zeros\(\)/ },
  { what: "conv2d option 'strides'", call: () => F.conv2d(x(), w(), null, any({ strides: 2 })), kind: 'arg', msg: /Unknown option 'strides' for conv2d\(\); expected one of: stride/ },
  { what: "interpolate option 'align_corners'", call: () => F.interpolate(x(), any({ size: 4, align_corners: true })), kind: 'arg', msg: /Unknown option 'align_corners'/ },
  { what: "uniform option 'foo'", call: () => tg.uniform([2], 0, 1, any({ foo: 1 })), kind: 'arg', msg: /Unknown option 'foo' for uniform\(\)/ },
  { what: "gradcheck option 'epsilon'", call: () => tg.autograd.gradcheck((a) => a, [tg.ones([1], { dtype: 'float64', requiresGrad: true })], any({ epsilon: 1 })), kind: 'arg', msg: /Unknown option 'epsilon'/ },
  { what: "interpolate mode 'bicubic'", call: () => F.interpolate(x(), { size: 4, mode: any('bicubic') }), kind: 'arg', msg: /'nearest' or 'bilinear' for mode/ },

  // ---- bad nested arrays
  { what: 'ragged nested array', call: () => tg.tensor([[1, 2], [3]]), kind: 'arg', msg: /array of length 2 \(nested arrays must be rectangular\) for data\[1\]/ },
  { what: 'a string inside', call: () => tg.tensor([1, any('a')]), kind: 'arg', msg: /number or boolean for data\[1\] but received string 'a'/ },
  { what: 'null row', call: () => tg.tensor([[1, 2], any(null)]), kind: 'arg', msg: /for data\[1\] but received null/ },
  { what: 'too deep in one place', call: () => tg.tensor(any([[1, 2], [3, [4]]])), kind: 'arg', msg: /number or boolean for data\[1\]\[1\]/ },
  { what: 'shape does not hold the data', call: () => tg.tensor([1, 2, 3], [2, 2]), kind: 'arg', msg: /shape holding 3 elements for shape/ },
  { what: 'typed array and shape disagree', call: () => tg.tensor(new Float32Array(6), [4]), kind: 'arg', msg: /'shape' holds 4 elements but 'data' has 6/ },
  { what: "index spec '1:2:3:4'", call: () => tg.ones([3]).index('1:2:3:4'), kind: 'arg', msg: /slice string.*for specs\[0\]/ },

  // ---- autograd misuse
  { what: 'grad of something that does not require grad', call: () => tg.autograd.grad(tg.ones([1]).sum(), tg.ones([1])), kind: 'torch', msg: /does not require grad/ },
  { what: 'backward of a non-scalar without a gradient', call: () => tg.ones([2], { requiresGrad: true }).mul(2).backward(), kind: 'torch', msg: /grad can be implicitly created only for scalar outputs/ },
  { what: 'in-place op on a leaf that requires grad', call: () => tg.ones([2], { requiresGrad: true }).add_(1), kind: 'torch', msg: /leaf Variable that requires grad is being used in an in-place operation/ },
  { what: 'gradOutputs of the wrong length', call: () => { const a = tg.ones([2], { requiresGrad: true }); return tg.autograd.grad(a.mul(2), a, { gradOutputs: [tg.ones([2]), tg.ones([2])] }); }, kind: 'arg', msg: /'gradOutputs' must have one entry per output \(1\), received 2/ },
  {
    what: 'second backward through a freed graph',
    call: () => { const a = tg.ones([2], { requiresGrad: true }); const y = a.mul(a).sum(); tg.autograd.grad(y, a); return tg.autograd.grad(y, a); },
    kind: 'torch', msg: /backward through the graph a second time/,
  },
];

// ---- issue #22: each of these once crashed, hung, did silent wrong work or spoke libtorch's internals
const withFastKernels = <T>(on: boolean, f: () => T): T => {
  tg.setFastKernels(on);
  try {
    return f();
  } finally {
    tg.setFastKernels(true);
  }
};
const xt = () => tg.randn([1, 2, 3, 3], { requiresGrad: true });
const wt = () => tg.randn([2, 2, 3, 3], { requiresGrad: true });
rows.push(
  { what: 'setNumThreads(1e9) (libgomp ran out of memory)', call: () => tg.setNumThreads(1e9), kind: 'arg', msg: /argument 'n' must be at most \d+ \(4 per core on \d+ cores, at least 64\), received 1000000000/ },
  { what: 'setNumThreads(5000) (hung)', call: () => tg.setNumThreads(5000), kind: 'arg', msg: /must be at most \d+ .*received 5000/ },
  { what: 'setNumThreads(Infinity)', call: () => tg.setNumThreads(Infinity), kind: 'arg', msg: /argument 'n' must be an integer, received number Infinity/ },
  { what: 'maskedFill with a float mask (filled nothing)', call: () => tg.zeros([3]).maskedFill(tg.ones([3]), 9), kind: 'arg', msg: /maskedFill\(\): argument 'mask' must be a bool Tensor .*received a float32 Tensor of shape \[3\]/ },
  ...[true, false].flatMap((on): Row[] => [
    { what: `convTranspose2d outputPadding [1, 1, 5], fast kernels ${on ? 'on' : 'off'} (once ignored the extra entry)`, call: () => withFastKernels(on, () => F.convTranspose2d(xt(), wt(), null, { stride: 2, outputPadding: any([1, 1, 5]) })), kind: 'arg', msg: /convTranspose2d\(\): argument 'outputPadding' must be an integer or an array of 1 or 2 integers .*received an array of length 3/ },
    { what: `convTranspose2d outputPadding -1, fast kernels ${on ? 'on' : 'off'}`, call: () => withFastKernels(on, () => F.convTranspose2d(xt(), wt(), null, { stride: 2, outputPadding: -1 })), kind: 'arg', msg: /argument 'outputPadding' must be a non-negative integer, received -1/ },
    { what: `convTranspose2d outputPadding 2 with stride 2, fast kernels ${on ? 'on' : 'off'}`, call: () => withFastKernels(on, () => F.convTranspose2d(xt(), wt(), null, { stride: 2, outputPadding: 2 })), kind: 'arg', msg: /'outputPadding' must be smaller than stride or dilation in each dimension, received outputPadding \[2\] with stride \[2\] and dilation \[1\]/ },
    { what: `conv2d stride [1, 1, 1], fast kernels ${on ? 'on' : 'off'}`, call: () => withFastKernels(on, () => F.conv2d(xt(), wt(), null, { stride: any([1, 1, 1]) })), kind: 'arg', msg: /conv2d\(\): argument 'stride' must be an integer or an array of 1 or 2 integers/ },
    { what: `conv2d dilation 0, fast kernels ${on ? 'on' : 'off'}`, call: () => withFastKernels(on, () => F.conv2d(xt(), wt(), null, { dilation: 0 })), kind: 'arg', msg: /argument 'dilation' must be a positive integer, received 0/ },
    { what: `conv2d groups 0, fast kernels ${on ? 'on' : 'off'}`, call: () => withFastKernels(on, () => F.conv2d(xt(), wt(), null, { groups: 0 })), kind: 'arg', msg: /argument 'groups' must be a positive integer, received 0/ },
  ]),
  { what: 'conv2d with a 3-D weight (talked about output_padding)', call: () => F.conv2d(x(), tg.randn([4, 3, 3])), kind: 'arg', msg: /conv2d\(\): argument 'weight' must be a 4-D Tensor \(outChannels, inChannels \/ groups, kernelH, kernelW\), received a float32 Tensor of shape \[4, 3, 3\]/ },
  { what: 'conv2d with a 2-D input', call: () => F.conv2d(tg.randn([3, 5]), w()), kind: 'arg', msg: /argument 'input' must be a 4-D \(N, C, H, W\) or 3-D \(C, H, W\) Tensor, received a float32 Tensor of shape \[3, 5\]/ },
  { what: `Linear.to('${noCudaDevice}') (gave the dispatcher's text)`, call: () => { const m = new tg.nn.Linear(3, 2); try { return m.to(noCudaDevice); } finally { m.dispose(); } }, kind: 'torch', msg: new RegExp(`argument 'device' is '${noCudaDevice}' but (CUDA is not available|there (is|are) \\d+ GPU)`) },
  { what: 'interpolate scaleFactor NaN (named an internal outputSize[0])', call: () => F.interpolate(x(), { scaleFactor: NaN }), kind: 'arg', msg: /positive finite number for interpolate\(\) options\.scaleFactor but received number NaN/ },
  { what: 'interpolate scaleFactor [2, Infinity]', call: () => F.interpolate(x(), { scaleFactor: [2, Infinity] }), kind: 'arg', msg: /options\.scaleFactor\[1\] but received number Infinity/ },
  { what: 'interpolate scaleFactor 0.1 (empty output)', call: () => F.interpolate(x(), { scaleFactor: 0.1 }), kind: 'arg', msg: /turns the 5x5 input into an empty 0x0 output/ },
  { what: 'interpolate size 2.5', call: () => F.interpolate(x(), { size: 2.5 }), kind: 'arg', msg: /positive integer for interpolate\(\) options\.size but received number 2\.5/ },
  { what: 'indexSelect index out of range (said "in self")', call: () => tg.ones([3]).indexSelect(0, tg.tensor([0, 7], { dtype: 'int64' })), kind: 'torch', msg: /indexSelect\(\): argument 'index' holds 7, out of range for dimension 0 of size 3 \(valid: 0 to 2\)/, code: 'ERR_TORCH_INDEX' },
  { what: 'indexSelect index -1', call: () => tg.ones([2, 3]).indexSelect(1, tg.tensor([-1], { dtype: 'int64' })), kind: 'torch', msg: /holds -1, out of range for dimension 1 of size 3/, code: 'ERR_TORCH_INDEX' },
  { what: 'topk(5) of 3 elements', call: () => tg.ones([3]).topk(5), kind: 'arg', msg: /topk\(\): argument 'k' must be in \[0, 3\] \(the size of dimension -1\), received 5/ },
  { what: "Adam.step() after model.dispose() (named grad()'s self)", call: () => { const m = new tg.nn.Linear(3, 2); const o = new tg.optim.Adam(m.parameters()); m.forward(tg.ones([1, 3])).sum().backward(); m.dispose(); return o.step(); }, kind: 'torch', msg: /^Adam\.step\(\): params\[0\] is a disposed Tensor/, code: 'ERR_TENSOR_DISPOSED' },
  { what: 'manualSeed(2**64) (said "must be an integer")', call: () => tg.manualSeed(2 ** 64), kind: 'arg', msg: /seed up to 2\^53 - 1 .*pass a bigint/ },
  { what: 'manualSeed(2n ** 64n)', call: () => tg.manualSeed(2n ** 64n), kind: 'arg', msg: /seed in \[0, 2\^64\)/ },
  { what: 'manualSeed(NaN)', call: () => tg.manualSeed(NaN), kind: 'arg', msg: /non-negative integer for seed but received number NaN/ },
  { what: 'zeros([1e20]) (said "must be an integer")', call: () => tg.zeros([1e20]), kind: 'arg', msg: /zeros\(\): argument 'shape\[0\]' must be an integer of magnitude below 2\^53 .*received 100000000000000000000/ },
  { what: 'dcganCritic for 28x28 given 32x32 (a LayerNorm shape error)', call: () => { const c = tg.gan.dcganCritic({ imageSize: 28, init: false }); try { return c.forward(tg.randn([2, 1, 32, 32])); } finally { c.dispose(); } }, kind: 'arg', msg: /a \(N, 1, 28, 28\) Tensor \(the critic was built for 1-channel 28x28 images.*received a float32 Tensor of shape \[2, 1, 32, 32\]/ },
  { what: 'a tensor nested 100,000 deep (stack overflow)', call: () => { let d: unknown = 1; for (let i = 0; i < 100_000; i++) d = [d]; return tg.tensor(d as never); }, kind: 'arg', msg: /nested arrays at most 64 deep .*for data/ },
  { what: 'permute of too few dims (said "permute(): permute(...):")', call: () => tg.ones([2, 2]).permute(0), kind: 'torch', msg: /^permute\(\): (?!.*permute\()/ },
  { what: "an int32 parameter (said \"received string 'a int32 tensor'\")", call: () => new tg.optim.Adam([tg.zeros([2], { dtype: 'int32' })]), kind: 'arg', msg: /floating-point Tensor for params\[0\] but received an int32 Tensor of shape \[2\]/ },
  { what: 'dropout p NaN', call: () => F.dropout(tg.ones([2]), NaN), kind: 'arg', msg: /probability in \[0, 1\] for p but received number NaN/ },
  { what: 'Adam lr NaN', call: () => new tg.optim.Adam([tg.ones([2], { requiresGrad: true })], { lr: NaN }), kind: 'arg', msg: /non-negative number for options lr but received number NaN/ },
);

test(`the table has at least 30 wrong calls (${rows.length})`, () => {
  assert.ok(rows.length >= 30);
});

for (const r of rows) {
  test(`${r.what}: ${r.code ?? r.kind} ${r.msg}`, () => {
    let err: unknown;
    let returned: unknown;
    try {
      returned = tg.tidy(() => r.call());
    } catch (e) {
      err = e;
    }
    assert.ok(err !== undefined, `expected a TorchError (${r.kind}), but the call returned ${String(returned)}`);
    assertErrorKind(err, r.kind, r.code);
    assert.match((err as Error).message, r.msg);
    assert.not.match((err as Error).message, /\n\s*frame #|Exception raised from/, 'no C++ backtrace in the message');
  });
}

test('after the table the process lives on and ordinary ops still work', () => {
  const a = tg.tensor([[1, 2], [3, 4]]);
  assert.equal(a.matmul(a).toArray(), [7, 10, 15, 22]);
  const y = F.conv2d(tg.ones([1, 1, 3, 3]), tg.ones([1, 1, 2, 2]));
  assert.equal(y.toArray(), [4, 4, 4, 4]);
  assert.ok(tg.autograd.isGradEnabled(), 'no failed call left grad mode off');
});

test('failed calls inside tidy() free what they made', () => {
  const before = tg.memory().tensors;
  for (const r of rows) {
    try {
      tg.tidy(() => r.call());
    } catch {
      /* expected */
    }
  }
  assert.is(tg.memory().tensors, before);
});

// ---- regressions: bugs found by this file, fixed; each test names where the fix lives.

test('a misspelt loss option is refused, not silently ignored (lib/nn/functional.ts checkOptionKeys)', () => {
  // binaryCrossEntropyWithLogits (like binaryCrossEntropy, nllLoss, crossEntropy, batchNorm,
  // instanceNorm, maxPool2d, avgPool2d) once dropped pos_weight without a word.
  assert.throws(
    () => F.binaryCrossEntropyWithLogits(tg.ones([2]), tg.ones([2]), any({ pos_weight: tg.ones([2]) })),
    isTorchError('ERR_INVALID_ARG', /Unknown option 'pos_weight'/, { received: "'pos_weight'" }),
  );
});

test('assigning a .grad of the wrong shape is refused (native/autograd.cc setGrad)', () => {
  // PyTorch: "assigned grad has data of a different size"
  const a = tg.ones([2], { requiresGrad: true });
  assert.throws(() => { a.grad = tg.ones([3]); }, /size|shape/);
});

test.run();
