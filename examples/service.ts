// A small HTTP service that trains a GAN in the background (a TrainingWorker: the
// training runs in a worker thread, so this process's event loop stays free) and keeps
// answering while it trains:
//   GET  /status        JSON: state, step, iters, losses, it/s, last checkpoint
//   GET  /samples.png   an image grid from the generator as it is now (?n=64&seed=0);
//                       ?source=checkpoint: from the latest checkpoint, by a GeneratorSampler
//   POST /stop          stops training between two steps, writes a checkpoint, answers with it
//   GET  /              the live page: progress, loss curves, the latest grid, a Stop button
//   GET  /events        server-sent events: 'history' (so far) first, then 'step', 'sample',
//                       'checkpoint', 'end'; GET /history: the same history as JSON
//   GET  /latest.png    the latest fixed-noise grid the run wrote (404 before the first)
//
//   npx tsx examples/service.ts --port 8080 --iters 2000 --out generated-service
//   npx tsx examples/service.ts --port 0 --config '{"limit": 1024, "baseWidth": 16}'
//   open http://127.0.0.1:8080/ for the live page;
//   curl localhost:8080/status; curl -o grid.png localhost:8080/samples.png; curl -X POST localhost:8080/stop
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { givenFlags, isUsageError, runCli, usageError } from 'torch-gan';
import { TrainingWorker, GeneratorSampler, gan } from 'torch-gan';
import type { RunSpec } from 'torch-gan';
import { LiveFeed } from './service-live';
import { PAGE_HTML } from './service-page';
type RunEvents = gan.RunEvents;
type RunEnd = gan.RunEnd;
const RUN_DSETS = gan.RUN_DATASETS;

export interface ServiceOptions {
  /** 0: a free port (default 8080) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** training configuration (RunSpec: the CLI flags in camelCase) */
  config?: RunSpec;
  /** output folder (checkpoints, sample grids); default 'generated-service' */
  out?: string;
  /** continue from the checkpoint in out */
  resume?: boolean;
  /** progress lines; default console.log */
  log?: (line: string) => void;
  /** period of GET /events' keep-alive comments; default 15 s */
  keepAliveMs?: number;
}

export interface Service {
  url: string;
  server: http.Server;
  trainer: TrainingWorker;
  /** the live feed behind GET /events and GET /history */
  live: LiveFeed;
  /** resolves when training has ended (done or stopped) */
  training: Promise<RunEnd>;
  /** stops training (checkpoint written) */
  stop(): Promise<RunEnd>;
  /** stops training, closes the workers and the server */
  close(): Promise<void>;
}

const MAX_SAMPLES = 256;
const ROUTES = ['/', '/status', '/events', '/history', '/samples.png', '/latest.png', '/stop'];

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body, null, 1) + '\n');
  res.writeHead(status, { 'content-type': type, 'content-length': data.length, 'cache-control': 'no-store' });
  res.end(data);
}

function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || v < min || v > max) throw usageError(`?${name} expects an integer in [${min}, ${max}], received '${raw}'`, { parameter: `?${name}`, expected: `an integer in [${min}, ${max}]`, received: `'${raw}'` });
  return v;
}

/** Starts the trainer and the HTTP server; training begins at once. */
export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const log = options.log ?? ((l: string) => console.log(l));
  const out = path.resolve(options.out ?? 'generated-service');
  const trainer = await TrainingWorker.start(options.config ?? {}, { out, ...(options.resume ? { resume: true } : {}) });
  const cfg = trainer.config;
  log(`data: ${trainer.info.dataSource}`);
  log(`training ${cfg.loss} on ${cfg.dataset} (${cfg.iters} iterations of batch ${cfg.batchSize}, precision ${cfg.precision ?? 'fp32'}) in a worker thread; output in ${out}`);

  const statusBody = () => ({ ...trainer.status(), loss: cfg.loss, dataset: cfg.dataset, batchSize: cfg.batchSize, out });
  const live = new LiveFeed(statusBody, options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {});
  let latestGrid: Buffer | null = null;

  const ac = new AbortController();
  const events: RunEvents = trainer.run({ signal: ac.signal });
  let lastLog = 0;
  const training = (async (): Promise<RunEnd> => {
    for await (const ev of events) {
      if (ev.type === 'step') {
        const { criticLoss, generatorLoss, wassersteinEstimate } = ev.stats;
        live.step({ step: ev.step, criticLoss, generatorLoss, wassersteinEstimate, itPerSec: ev.itPerSec });
      } else if (ev.type === 'sample') {
        latestGrid = ev.png;
        live.sampled(ev.step);
      } else if (ev.type === 'checkpoint') live.checkpointed({ step: ev.step, dir: ev.dir });
      else if (ev.type === 'end') live.end({ step: ev.step, reason: ev.reason, checkpoint: trainer.status().lastCheckpoint });
      if (ev.type === 'step' && (Date.now() - lastLog > 5000 || ev.step === trainer.status().iters)) {
        lastLog = Date.now();
        log(`step ${ev.step}/${trainer.status().iters}  ${ev.itPerSec.toFixed(2)} it/s  D ${ev.stats.criticLoss.toFixed(4)}  G ${ev.stats.generatorLoss.toFixed(4)}`);
      } else if (ev.type === 'checkpoint') log(`checkpoint ${ev.dir}`);
      else if (ev.type === 'end') {
        log(`training ${ev.reason} at step ${ev.step}`);
        return ev;
      }
    }
    return events.finished;
  })();
  training.catch((e) => {
    log(`training failed: ${(e as Error).message}`);
    live.end({ step: trainer.status().step, reason: 'failed', checkpoint: trainer.status().lastCheckpoint, error: (e as Error).message });
  });

  let sampler: GeneratorSampler | null = null;
  let samplerLoading: Promise<GeneratorSampler> | null = null;
  const checkpointSampler = async (): Promise<GeneratorSampler> => {
    const latest = trainer.status().lastCheckpoint;
    if (!latest) throw Object.assign(new Error('no checkpoint yet'), { status: 409 });
    samplerLoading ??= GeneratorSampler.load(path.join(out, 'checkpoints')).catch((e) => {
      samplerLoading = null;
      throw e;
    });
    sampler = await samplerLoading;
    if (sampler.step < latest.step) await sampler.reload();
    return sampler;
  };

  const stop = async (): Promise<RunEnd> => {
    ac.abort();
    return training;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    const fail = (e: unknown) => {
      const err = e as Error & { status?: number; code?: string };
      const status = isUsageError(err) ? 400 : err.status ?? 500;
      if (!res.headersSent) send(res, status, { error: err.message, ...(err.code ? { code: err.code } : {}) });
      else res.destroy();
    };
    try {
      switch (route) {
        case 'GET /status':
          return send(res, 200, statusBody());
        case 'GET /':
          return send(res, 200, Buffer.from(PAGE_HTML), 'text/html; charset=utf-8');
        case 'GET /events':
          return live.attach(res);
        case 'GET /history':
          return send(res, 200, live.history());
        case 'GET /latest.png':
          if (!latestGrid) return send(res, 404, { error: 'no grid written yet (one every sampleEvery steps)' });
          return send(res, 200, latestGrid, 'image/png');
        case 'GET /samples.png': {
          const n = intParam(url, 'n', 64, 1, MAX_SAMPLES);
          const seed = intParam(url, 'seed', 0, 0, 2 ** 31 - 1);
          const source = url.searchParams.get('source') ?? 'trainer';
          if (source !== 'trainer' && source !== 'checkpoint') throw usageError(`?source expects trainer or checkpoint, received '${source}'`, { parameter: '?source', expected: 'trainer or checkpoint', received: `'${source}'` });
          const png = source === 'trainer' ? trainer.sampleAsync(n, { seed }) : checkpointSampler().then((s) => s.sampleAsync(n, { seed }));
          png.then((b) => send(res, 200, b, 'image/png'), fail);
          return;
        }
        case 'POST /stop': {
          stop().then((end) => send(res, 200, { stopped: true, reason: end.reason, step: end.step, checkpoint: trainer.status().lastCheckpoint }), fail);
          return;
        }
        default:
          if (ROUTES.includes(url.pathname)) return send(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
          return send(res, 404, { error: `no route ${url.pathname}; try GET /, GET /status, GET /events, GET /history, GET /samples.png, GET /latest.png, POST /stop` });
      }
    } catch (e) {
      fail(e);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await stop().catch(() => undefined);
      live.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([trainer.close(), (samplerLoading ?? Promise.resolve(null)).then((s) => s?.close(), () => undefined)]);
    })());
  return { url, server, trainer, live, training, stop, close };
}

if (require.main === module) {
  const flags = {
    port: { type: 'int', min: 0, max: 65535, default: 8080, help: 'port (0: a free one; the URL is printed)' },
    host: { type: 'string', default: '127.0.0.1', help: 'address to listen on (0.0.0.0: all interfaces)' },
    iters: { type: 'int', min: 1, help: 'training iterations (default 1000)' },
    dataset: { type: 'choice', choices: RUN_DSETS, default: 'mnist', aliases: ['--dset'], help: 'data set' },
    out: { type: 'string', default: 'generated-service', help: 'output folder (checkpoints, sample grids)' },
    resume: { type: 'bool', default: false, help: 'continue from the latest checkpoint in --out' },
    config: { type: 'string', help: 'any other training options as JSON, e.g. \'{"loss": "dragan", "limit": 1024}\' (the CLI flags in camelCase)' },
  } as const;
  runCli('Train a GAN in the background and serve its samples over HTTP\n\nUsage: npx tsx examples/service.ts [options]', flags, async (f) => {
    let extra: RunSpec = {};
    if (f.config !== undefined) {
      try {
        extra = JSON.parse(f.config as string) as RunSpec;
      } catch (e) {
        throw usageError(`--config expects JSON, ${(e as Error).message}`, { parameter: '--config', expected: 'JSON', received: String(f.config) });
      }
    }
    // on --resume the checkpoint decides: only what this command line gives is compared with it
    const given = givenFlags(f);
    const config: RunSpec = { ...extra, ...(!f.resume || given.has('dataset') ? { dataset: f.dataset as RunSpec['dataset'] } : {}), ...(f.iters !== undefined ? { iters: f.iters as number } : {}) };
    if (f.resume && !fs.existsSync(path.join(path.resolve(f.out as string), 'checkpoints', 'latest.json'))) {
      throw usageError(`--resume: no checkpoint in ${path.resolve(f.out as string)}/checkpoints`);
    }
    // a configuration that cannot run (ERR_RUN_CONFIG) is reported by runCli as a usage error (exit 2)
    const service: Service = await startService({ port: f.port as number, host: f.host as string, out: f.out as string, resume: f.resume as boolean, config });
    console.log(`listening on ${service.url}  (live page: ${service.url}/; GET /status, GET /events, GET /samples.png, POST /stop)`);
    // Every signal is handled for the life of the process (process.on, not once): a second
    // SIGTERM during the final checkpoint must not kill it halfway (SIGKILL still can).
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        console.log(`${signal}: already stopping; the final checkpoint is being written (SIGKILL would cut it short)`);
        return;
      }
      stopping = true;
      console.log(`${signal}: stopping (checkpoint), then exiting`);
      service.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}
