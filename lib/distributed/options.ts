// initProcessGroup's options: given explicitly, else read from torchrun-style environment
// variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK, GLOO_SOCKET_IFNAME; under
// torchrun also TORCHELASTIC_USE_AGENT_STORE and TORCHELASTIC_RESTART_COUNT),
// each checked with an error that names the parameter or variable, what was expected and
// what was received.
import { checkOptionKeys, invalidParameterError, is } from '../errors';

export type Backend = 'gloo' | 'nccl';

export interface ProcessGroupOptions {
  /** This process's rank in [0, worldSize). Default: $RANK. */
  rank?: number;
  /** Number of processes. Default: $WORLD_SIZE. */
  worldSize?: number;
  /** Host of rank 0's rendezvous store (a TCPStore). Default: $MASTER_ADDR. */
  masterAddr?: string;
  /** Port of that store (rank 0 listens on it). Default: $MASTER_PORT. */
  masterPort?: number;
  /** Rank on this machine (which GPU to use). Default: $LOCAL_RANK, else 0. */
  localRank?: number;
  /** Bound on the rendezvous and on every collective, in ms. Default 300000 (5 min). */
  timeoutMs?: number;
  /** 'gloo' (CPU tensors) or 'nccl' (CUDA; not available in this build). Default 'gloo'. */
  backend?: Backend;
  /** Network interface Gloo binds to. Default: $GLOO_SOCKET_IFNAME, else loopback for a loopback master, else the host name's address. */
  glooInterface?: string;
  /**
   * Join a store someone else serves on masterAddr:masterPort (torchrun's agent): rank 0 does not
   * serve one, and the keys go under "/worker/attempt_$TORCHELASTIC_RESTART_COUNT" as
   * torch.distributed's do. Default: $TORCHELASTIC_USE_AGENT_STORE is 'True' (torchrun sets it).
   */
  agentStore?: boolean;
}

export interface ResolvedProcessGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  localRank: number;
  timeoutMs: number;
  backend: Backend;
  glooInterface: string;
  /** The address Gloo's device binds to ('' = libtorch's default device). */
  deviceHost: string;
  agentStore: boolean;
  /** Prefix of the store's keys ('' = none; torchrun's agent store: /worker/attempt_N). */
  storePrefix: string;
}

const KEYS = ['rank', 'worldSize', 'masterAddr', 'masterPort', 'localRank', 'timeoutMs', 'backend', 'glooInterface', 'agentStore'] as const;
export const DEFAULT_TIMEOUT_MS = 300_000;

type Env = Record<string, string | undefined>;

/** An integer option: the option if given, else the environment variable (a decimal string). */
function intOf(where: string, name: string, envName: string, options: ProcessGroupOptions, env: Env, check: (v: number) => boolean,
  expected: string, fallback?: number): number {
  const given = (options as Record<string, unknown>)[name];
  if (given !== undefined) {
    if (!is.integer(given) || !check(given as number)) throw invalidParameterError(`${where} option '${name}'`, expected, given);
    return given as number;
  }
  const raw = env[envName];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw invalidParameterError(`${where}: option '${name}' or environment variable ${envName}`, expected, raw);
  }
  const v = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || !check(v)) throw invalidParameterError(`${where}: environment variable ${envName}`, expected, raw);
  return v;
}

function isLoopback(addr: string): boolean {
  return addr === 'localhost' || addr === '::1' || /^127\.\d+\.\d+\.\d+$/.test(addr);
}

export function resolveProcessGroupOptions(options: ProcessGroupOptions = {}, env: Env = process.env, where = 'initProcessGroup()'): ResolvedProcessGroupOptions {
  checkOptionKeys(where, options, KEYS);
  const worldSize = intOf(where, 'worldSize', 'WORLD_SIZE', options, env, (v) => v >= 1, 'a positive integer (the number of processes)');
  const rank = intOf(where, 'rank', 'RANK', options, env, (v) => v >= 0 && v < worldSize, `an integer in [0, ${worldSize}) (worldSize ${worldSize})`);
  const masterPort = intOf(where, 'masterPort', 'MASTER_PORT', options, env, (v) => v >= 1 && v <= 65535, 'a TCP port in [1, 65535]');
  const localRank = intOf(where, 'localRank', 'LOCAL_RANK', options, env, (v) => v >= 0 && v < worldSize, `an integer in [0, ${worldSize})`, 0);
  let masterAddr: unknown = options.masterAddr;
  if (masterAddr !== undefined) {
    if (!is.string(masterAddr) || !/^[A-Za-z0-9.:_-]+$/.test(masterAddr)) throw invalidParameterError(`${where} option 'masterAddr'`, 'a host name or IP address', masterAddr);
  } else {
    masterAddr = env.MASTER_ADDR;
    if (!is.string(masterAddr) || !/^[A-Za-z0-9.:_-]+$/.test(masterAddr)) {
      throw invalidParameterError(`${where}: option 'masterAddr' or environment variable MASTER_ADDR`, 'a host name or IP address', masterAddr);
    }
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!is.integer(timeoutMs) || timeoutMs < 1 || timeoutMs > 86_400_000) throw invalidParameterError(`${where} option 'timeoutMs'`, 'an integer number of milliseconds in [1, 86400000]', timeoutMs);
  const backend = options.backend ?? 'gloo';
  if (!is.oneOf(backend, ['gloo', 'nccl'] as const)) throw invalidParameterError(`${where} option 'backend'`, "'gloo' or 'nccl'", backend);
  const iface = options.glooInterface ?? env.GLOO_SOCKET_IFNAME ?? '';
  if (!is.string(iface)) throw invalidParameterError(`${where} option 'glooInterface'`, 'a network interface name', iface);
  const addr = masterAddr as string;
  const agentStore = options.agentStore ?? /^(true|1)$/i.test(env.TORCHELASTIC_USE_AGENT_STORE ?? '');
  if (!is.bool(agentStore)) throw invalidParameterError(`${where} option 'agentStore'`, 'a boolean', agentStore);
  let storePrefix = '';
  if (agentStore) {
    const attempt = env.TORCHELASTIC_RESTART_COUNT ?? '0';
    if (!/^\d+$/.test(attempt)) throw invalidParameterError(`${where}: environment variable TORCHELASTIC_RESTART_COUNT`, 'a non-negative integer', attempt);
    storePrefix = `/worker/attempt_${attempt}`;
  }
  return {
    rank, worldSize, masterAddr: addr, masterPort, localRank, timeoutMs, backend, glooInterface: iface, deviceHost: iface ? '' : isLoopback(addr) ? '127.0.0.1' : '',
    agentStore, storePrefix,
  };
}
