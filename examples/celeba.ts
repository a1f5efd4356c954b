// Train a GAN on a CelebA image folder (--data DIR, 64x64 RGB)
//   npx tsx examples/celeba.ts --help
import { runCli } from './cli/args';
import { trainFlags, trainRun } from './cli/train-run';

runCli("Train a GAN on a CelebA image folder (--data DIR, 64x64 RGB)\n\nUsage: npx tsx examples/celeba.ts [options]", trainFlags('celeba'), async (flags) => {
  await trainRun(flags);
});
