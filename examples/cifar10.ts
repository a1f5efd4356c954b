// Train a GAN on CIFAR-10 binary batches (--data ./cifar-10-batches-bin, 32x32 RGB)
//   npx tsx examples/cifar10.ts --help
import { runCli } from './cli/args';
import { trainFlags, trainRun } from './cli/train-run';

runCli("Train a GAN on CIFAR-10 binary batches (--data ./cifar-10-batches-bin, 32x32 RGB)\n\nUsage: npx tsx examples/cifar10.ts [options]", trainFlags('cifar10'), async (flags) => {
  await trainRun(flags);
});
