// The Python the TensorBoard read-back tests run TensorBoard's own event reader with
// (scripts/fixtures/read_tensorboard.py): the first of $TORCH_GAN_TEST_PYTHON, CI's venv and the
// system's that imports tensorboard; or, when none does, why not (the tests then skip, saying so).
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

export const TENSORBOARD_READER = path.join(__dirname, '..', '..', 'scripts', 'fixtures', 'read_tensorboard.py');

export function findTensorBoardPython(): { py: string | null; why: string } {
  const candidates = [
    process.env.TORCH_GAN_TEST_PYTHON,
    path.join(os.homedir(), '.cache', 'torch-gan-ci', 'venv-torch2.13', 'bin', 'python'),
    '/usr/bin/python3',
    'python3',
  ].filter((p): p is string => !!p);
  const why: string[] = [];
  for (const py of [...new Set(candidates)]) {
    const r = spawnSync(py, [TENSORBOARD_READER, 'check'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { py, why: `tensorboard ${r.stdout.trim()} in ${py}` };
    why.push(`${py}: ${r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { py: null, why: `no Python with the tensorboard package (set TORCH_GAN_TEST_PYTHON, or pip install tensorboard): ${why.join('; ')}` };
}
