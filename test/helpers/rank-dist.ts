// A rank started by `torch-gan launch` or torchrun: joins the process group from the environment
// alone (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; torchrun's agent store) and all-reduces its
// rank + 1. A failure is one line "DIST error <code> <message>" and exit code 1.
import * as tg from '../../lib';

try {
  const g = tg.distributed.initProcessGroup({ timeoutMs: 20_000 });
  const sum = tg.tidy(() => tg.distributed.allReduce(tg.tensor([g.rank + 1])).toArray()[0]);
  console.log(`DIST rank ${g.rank} of ${g.worldSize} localRank ${g.localRank} sum ${sum} (libtorch ${tg.diagnostics().libtorch.version})`);
  tg.distributed.destroyProcessGroup();
} catch (e) {
  console.log(`DIST error ${(e as { code?: string }).code} ${(e as Error).message}`);
  process.exitCode = 1;
}
