"""Each convolution of the bench's DCGAN critic, kernel by kernel, on the PyTorch of one libtorch:
oneDNN (what libtorch picks), im2col with a matrix product per sample (_slow_conv2d_*), im2col
with ONE matrix product over the whole batch (unfold/fold + mm), and oneDNN on channels-last
tensors; forward, weight gradient and input gradient, in float32 and bfloat16. It is how the
levers of issue #17 on the convolutions themselves were measured (docs/benchmarks.md, session 9).

  python3 bench/conv_layers.py [--threads 2] [--rounds 30]
"""
import argparse
import time

import torch
import torch.nn.functional as F

LAYERS = [  # cin, cout, kernel, stride, padding, input size: the critic of bench/pytorch_bench.py
    (1, 32, 4, 2, 1, 28),
    (32, 64, 4, 2, 1, 14),
    (64, 128, 3, 2, 1, 7),
]


def timed(fn, rounds):
    for _ in range(3):
        fn()
    t = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - t) / rounds * 1e3


def one_gemm_forward(x, w, s, p):
    n, c, h, _ = x.shape
    co, _, k, _ = w.shape
    ho = (h + 2 * p - k) // s + 1
    cols = F.unfold(x, k, padding=p, stride=s).transpose(0, 1).reshape(c * k * k, n * ho * ho)
    return w.reshape(co, -1).mm(cols).view(co, n, ho, ho).transpose(0, 1).contiguous()


def one_gemm_wgrad(g, x, w, s, p):
    c, k = w.shape[1], w.shape[2]
    cols = F.unfold(x, k, padding=p, stride=s).transpose(1, 2).reshape(-1, c * k * k)
    return g.transpose(0, 1).reshape(w.shape[0], -1).mm(cols).view_as(w)


def one_gemm_igrad(g, x, w, s, p):
    n, c, h, _ = x.shape
    co, _, k, _ = w.shape
    cols = w.reshape(co, -1).t().mm(g.transpose(0, 1).reshape(co, -1))
    return F.fold(cols.view(c * k * k, n, -1).transpose(0, 1), (h, h), k, padding=p, stride=s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=30)
    ap.add_argument('--batch', type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cl = torch.channels_last
    print(f'PyTorch {torch.__version__}, {a.threads} threads, batch {a.batch}; ms per call (lower is better)')
    print('layer                dtype     pass    oneDNN  im2col/sample  im2col/one mm  oneDNN NHWC')
    for ci, co, k, s, p, hw in LAYERS:
        for dt in (torch.float32, torch.bfloat16):
            x = torch.randn(a.batch, ci, hw, hw, dtype=dt)
            w = (torch.randn(co, ci, k, k) * 0.1).to(dt)
            ho = (hw + 2 * p - k) // s + 1
            g = torch.randn(a.batch, co, ho, ho, dtype=dt)
            xc, wc, gc = x.contiguous(memory_format=cl), w.contiguous(memory_format=cl), g.contiguous(memory_format=cl)

            def cb(gg, xx, ww, mask):
                return torch.ops.aten.convolution_backward(gg, xx, ww, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
            slow_ok = dt == torch.float32  # the im2col kernels have no bfloat16 version on every libtorch
            rows = {
                'fwd': [lambda: torch.convolution(x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1),
                        (lambda: torch.ops.aten._slow_conv2d_forward(x, w, [k, k], None, [s, s], [p, p])) if slow_ok else None,
                        lambda: one_gemm_forward(x, w, s, p),
                        lambda: torch.convolution(xc, wc, None, [s, s], [p, p], [1, 1], False, [0, 0], 1)],
                'wgrad': [lambda: cb(g, x, w, [False, True, False]),
                          (lambda: torch.ops.aten._slow_conv2d_backward(g, x, w, [k, k], [s, s], [p, p], [False, True, False])) if slow_ok else None,
                          lambda: one_gemm_wgrad(g, x, w, s, p),
                          lambda: cb(gc, xc, wc, [False, True, False])],
                'igrad': [lambda: cb(g, x, w, [True, False, False]),
                          (lambda: torch.ops.aten._slow_conv2d_backward(g, x, w, [k, k], [s, s], [p, p], [True, False, False])) if slow_ok else None,
                          lambda: one_gemm_igrad(g, x, w, s, p),
                          lambda: cb(gc, xc, wc, [True, False, False])],
            }
            for name, fns in rows.items():
                ms = ['%6.2f' % timed(f, a.rounds) if f else '     -' for f in fns]
                print(f'{ci:3}->{co:3} k{k} s{s} {hw:2}px  {str(dt)[6:]:9} {name:6}  {ms[0]}  {ms[1]:>13}  {ms[2]:>13}  {ms[3]:>11}', flush=True)


if __name__ == '__main__':
    main()
