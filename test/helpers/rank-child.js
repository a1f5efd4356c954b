// A rank of test/launch.test.ts (plain JS: no libtorch, quick to start). argv[2] is the scenario.
'use strict';
const rank = Number(process.env.RANK);
const scenario = process.argv[2];
const keys = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'TORCH_GAN_NUM_THREADS'];
const env = Object.fromEntries(keys.map((k) => [k, process.env[k]]));

if (scenario === 'env') {
  console.log(`ENV ${JSON.stringify(env)}`);
  console.log('two\nlines');
  process.stdout.write('no newline at the end');
  console.error(`to stderr from ${rank}`);
} else if (scenario === 'fail') {
  // rank 1 fails; the others wait to be stopped and say so
  if (rank === 1) setTimeout(() => { console.error('rank 1 fails now'); process.exit(3); }, 300);
  else {
    process.on('SIGTERM', () => { console.log(`rank ${rank} got SIGTERM`); process.exit(0); });
    setInterval(() => {}, 1000);
    console.log('ready');
  }
} else if (scenario === 'stubborn') {
  // rank 0 ignores SIGTERM: the launcher must SIGKILL it after --kill-grace
  if (rank === 1) setTimeout(() => process.exit(5), 300);
  else {
    process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
    setInterval(() => {}, 1000);
  }
} else if (scenario === 'signal') {
  // every rank counts the SIGINTs it gets, then exits 0 (a graceful stop)
  let n = 0;
  process.on('SIGINT', () => {
    n++;
    setTimeout(() => { console.log(`got SIGINT x${n}`); process.exit(0); }, 300);
  });
  setInterval(() => {}, 1000);
  console.log('ready');
}
