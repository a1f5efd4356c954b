"""Levers for issue #17 measured in PyTorch itself (no torch-gan): the WGAN-GP iteration of the
textbook 28x28 DCGAN (bench/workloads.ts, batch 64, 5 critic steps with the double-backward
penalty + 1 generator step) with NCHW vs channels-last activations and weights, one critic
forward over real and fake together (exact with instance norm), and bf16 autocast on the CPU.
Prints ms/iteration and the losses after 12 iterations (same seed), so the levers' numerical
drift shows beside their speed. Run it alone on a quiet machine:

    OPENBLAS_NUM_THREADS=1 /work/venv213/bin/python bench/pytorch_levers.py
"""
import torch, time, sys
import torch.nn as nn
torch.set_num_threads(2); torch.manual_seed(3)
def G():
    return nn.Sequential(nn.ConvTranspose2d(100,128,4,1,0,bias=False),nn.InstanceNorm2d(128,affine=True),nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128,64,3,2,1,bias=False),nn.InstanceNorm2d(64,affine=True),nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64,32,4,2,1,bias=False),nn.InstanceNorm2d(32,affine=True),nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(32,1,4,2,1,bias=False),nn.Tanh())
def D():
    return nn.Sequential(nn.Conv2d(1,32,4,2,1,bias=False),nn.LeakyReLU(0.2),
        nn.Conv2d(32,64,4,2,1,bias=False),nn.InstanceNorm2d(64,affine=True),nn.LeakyReLU(0.2),
        nn.Conv2d(64,128,3,2,1,bias=False),nn.InstanceNorm2d(128,affine=True),nn.LeakyReLU(0.2),
        nn.Conv2d(128,1,4,1,0,bias=False),nn.Flatten())
def run(cl, bf16, iters=10, batched=False):
    torch.manual_seed(3)
    g,d=G(),D()
    mf = torch.channels_last if cl else torch.contiguous_format
    g=g.to(memory_format=mf); d=d.to(memory_format=mf)
    og=torch.optim.Adam(g.parameters(),1e-4,betas=(0.5,0.9)); od=torch.optim.Adam(d.parameters(),1e-4,betas=(0.5,0.9))
    real=torch.rand(64,1,28,28)*2-1
    real=real.contiguous(memory_format=mf)
    def it():
        for _ in range(5):
            z=torch.randn(64,100,1,1)
            with torch.autocast('cpu',dtype=torch.bfloat16,enabled=bool(bf16)):
                fake=g(z).detach()
                if batched:
                    s=d(torch.cat([real,fake])); sr,sf=s[:64],s[64:]
                else:
                    sr=d(real); sf=d(fake)
            eps=torch.rand(64,1,1,1)
            x=(eps*real+(1-eps)*fake).requires_grad_(True)
            with torch.autocast('cpu',dtype=torch.bfloat16,enabled=bool(bf16)):
                sx=d(x)
            gr,=torch.autograd.grad(sx.float().sum(),x,create_graph=True)
            gp=((gr.flatten(1).norm(dim=1)-1)**2).mean()
            loss=sf.float().mean()-sr.float().mean()+10*gp
            od.zero_grad(set_to_none=True); loss.backward(); od.step()
        z=torch.randn(64,100,1,1)
        with torch.autocast('cpu',dtype=torch.bfloat16,enabled=bool(bf16)):
            lg=-d(g(z)).float().mean()
        og.zero_grad(set_to_none=True); lg.backward(); og.step()
        return loss.item(), lg.item()
    for _ in range(2): it()
    t=time.perf_counter()
    for _ in range(iters): l=it()
    return (time.perf_counter()-t)/iters*1000, l
for name,cl,bf,b in [('fp32 nchw',0,0,0),('fp32 channels_last',1,0,0),('fp32 batched r+f',0,0,1),('bf16 autocast',0,1,0),('bf16 autocast cl',1,1,0),('fp32 nchw',0,0,0)]:
    ms,l=run(cl,bf,batched=b); print(f'{name:22s} {ms:7.1f} ms/it  losses {l[0]:.4f} {l[1]:.4f}', flush=True)
