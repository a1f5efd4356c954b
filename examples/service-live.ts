// The live feed of examples/service.ts: the run's history so far (for GET /history and for a
// page opened mid-run) and its server-sent events (GET /events) to any number of clients.
// Plain Node (http only): the service hands it the run's events as they come.
import type * as http from 'http';

/** One step's numbers, as the page plots them. */
export interface StepPoint {
  step: number;
  criticLoss: number;
  generatorLoss: number;
  wassersteinEstimate: number;
  itPerSec: number;
}

export interface LiveEnd {
  step: number;
  reason: string;
  checkpoint: { step: number; dir: string } | null;
  error?: string;
}

export interface LiveHistory {
  /** what GET /status answers, at the time of the request */
  status: unknown;
  /** the steps so far: every step of the recent past, thinned further back (see MAX_POINTS) */
  points: StepPoint[];
  /** the latest grid the run wrote (served at GET /latest.png) */
  sample: { step: number } | null;
  checkpoint: { step: number; dir: string } | null;
  end: LiveEnd | null;
}

export interface LiveOptions {
  /** period of the keep-alive comments (proxies and browsers drop an idle stream); default 15 s */
  keepAliveMs?: number;
  /** the history keeps between this many and twice this many points; default 2000 */
  maxPoints?: number;
  /** a client whose socket does not drain this many bytes is too slow to follow: it is dropped, not buffered without bound; default 1 MiB */
  maxBuffered?: number;
}

/**
 * A long run has millions of steps; the history must stay small enough to send to a page at
 * once. Past 2·max points, every other one is dropped (the last is kept), so the history
 * holds all recent steps and a coarser picture of the older ones. The page thins the same way.
 */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= 2 * max) return points;
  return points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
}

export class LiveFeed {
  private points: StepPoint[] = [];
  private sample: { step: number } | null = null;
  private checkpoint: { step: number; dir: string } | null = null;
  private ended: LiveEnd | null = null;
  private readonly clients = new Set<http.ServerResponse>();
  private readonly timer: NodeJS.Timeout;
  private readonly maxPoints: number;
  private readonly maxBuffered: number;

  constructor(private readonly status: () => unknown, options: LiveOptions = {}) {
    this.maxPoints = options.maxPoints ?? 2000;
    this.maxBuffered = options.maxBuffered ?? 1 << 20;
    this.timer = setInterval(() => this.write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
    this.timer.unref(); // the feed never keeps the process alive
  }

  /** clients connected to GET /events now */
  get clientCount(): number {
    return this.clients.size;
  }

  history(): LiveHistory {
    return { status: this.status(), points: this.points, sample: this.sample, checkpoint: this.checkpoint, end: this.ended };
  }

  step(p: StepPoint): void {
    this.points.push(p);
    this.points = thin(this.points, this.maxPoints);
    this.send('step', p);
  }

  sampled(step: number): void {
    this.sample = { step };
    this.send('sample', this.sample);
  }

  checkpointed(c: { step: number; dir: string }): void {
    this.checkpoint = c;
    this.send('checkpoint', c);
  }

  end(e: LiveEnd): void {
    this.ended = e;
    this.send('end', e);
  }

  /** GET /events: the history first (event 'history'), then every event as it happens. */
  attach(res: http.ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // a buffering proxy (nginx) would hold the events back
    });
    // retry: how soon a browser reconnects after a drop; it then gets the history again
    res.write(`retry: 2000\n\n${frame('history', this.history())}`);
    this.clients.add(res);
    // 'close' on the response: the client went away (or the stream was ended)
    const drop = () => this.clients.delete(res);
    res.on('close', drop);
    res.on('error', drop);
  }

  /** Ends every stream and the keep-alives (the service is closing). */
  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private send(event: string, data: unknown): void {
    if (this.clients.size > 0) this.write(frame(event, data));
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.maxBuffered) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}

/** One server-sent event; JSON never holds a raw newline, so one data: line carries it. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
