// The memory layout a run's networks get (policy; the mechanism is Module.toMemoryFormat).
// Channels-last (NHWC) on the CPU with libtorch 2.x and torch-gan's fused instance norm on:
// there oneDNN's convolutions run NHWC without reordering their operands and the fused kernels
// read and write NHWC, and the iteration measured 0.60-1.00x of NCHW's (docs/benchmarks.md,
// session 9). NCHW elsewhere: libtorch 1.13 measured no gain (1.01-1.03x slower), CUDA was not
// measured. TORCH_GAN_CHANNELS_LAST=1 or 0 overrides. The layout changes no values beyond
// float rounding (test/channels-last.test.ts).
import { diagnostics } from '../diagnostics';
import type { MemoryFormat } from '../tensor';
import type { AnyModule } from '../nn/module';

export function runMemoryFormat(device: string): MemoryFormat {
  const env = process.env.TORCH_GAN_CHANNELS_LAST;
  if (env === '1') return 'channelsLast';
  if (env === '0') return 'contiguous';
  if (device !== 'cpu') return 'contiguous';
  const d = diagnostics();
  const major = Number(d.libtorch.version.split('.')[0]);
  return major >= 2 && d.fastKernelList.includes('fusedInstanceNorm') ? 'channelsLast' : 'contiguous';
}

/** m laid out as runMemoryFormat(device) says (before its optimizer is made: its tensors are replaced). */
export function withRunMemoryFormat<M extends AnyModule>(m: M, device: string): M {
  const f = runMemoryFormat(device);
  return f === 'contiguous' ? m : m.toMemoryFormat(f);
}
