/**
 * A seeded mutation fuzzer. Every clip kind of the conformance suite is damaged in six ways
 * (payload byte flips, range overwrites, truncation, chunk deletion and duplication, header
 * damage); each damaged file is read, frame by frame in a seeded order and then as one batch, by
 * a child process (fuzz-worker.js), so a crash or a hang is caught as one instead of ending the
 * run. The rules:
 *   - every call ends in a frame or a TvlError (no crash, no hang, no untyped error);
 *   - where the container is intact (payload flips), the frame count is the clean file's and no
 *     frame reads as another frame's number (frames carry their number in their pixels).
 * It also measures what no rule can demand: how many damaged frames came back as success.
 *
 *   runFuzzSuite({ backend: 'libav', backendModule: require.resolve('@tvl/libav'), files: 150 });
 *   // make fuzz: thousands, with figures (bench/fuzz.mjs)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '@tvl/core';
import { CONFORMANCE_CASES } from './conformance.js';
import { makeIndexedClip, videoPackets } from './media.js';

export type MutationKind = 'payload' | 'overwrite' | 'truncate' | 'delete' | 'duplicate' | 'header';
export const MUTATION_KINDS: MutationKind[] = ['payload', 'overwrite', 'truncate', 'delete', 'duplicate', 'header'];

export interface Mutation {
  kind: MutationKind;
  /** Only packet payloads changed: the container (and so the frame count) is intact. */
  intact: boolean;
  bytes: Buffer;
}

/** Damages `clean` one way, chosen and placed by `seed`. `packets`: the video packets' byte ranges. */
export function mutate(clean: Buffer, packets: Array<{ pos: number; size: number }>, seed: number, rawStream = false): Mutation {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const kind = MUTATION_KINDS[seed % MUTATION_KINDS.length];
  const b = Buffer.from(clean);
  // A raw elementary stream has no container: its packets are wherever start codes fall, and a
  // flipped byte can move them.
  const hasContainer = packets.length > 0 && !rawStream;
  switch (kind) {
    case 'payload': {
      // 1-8 bytes inside packet payloads, past the first 4 (NAL length fields, frame headers).
      const usable = packets.filter((p) => p.size > 8);
      for (let k = int(1, 8); k > 0 && usable.length > 0; k--) {
        const p = usable[int(0, usable.length - 1)];
        b[p.pos + int(4, p.size - 1)] ^= int(1, 255);
      }
      return { kind, intact: hasContainer, bytes: b };
    }
    case 'overwrite': {
      const len = int(16, 4096);
      const at = int(0, Math.max(0, b.length - len));
      for (let i = at; i < Math.min(b.length, at + len); i++) b[i] = int(0, 255);
      return { kind, intact: false, bytes: b };
    }
    case 'truncate':
      return { kind, intact: false, bytes: b.subarray(0, int(Math.floor(b.length * 0.1), Math.floor(b.length * 0.95))) };
    case 'delete': {
      const len = int(1, 8192);
      const at = int(0, Math.max(0, b.length - len));
      return { kind, intact: false, bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + len)]) };
    }
    case 'duplicate': {
      const len = int(1, 8192);
      const at = int(0, Math.max(0, b.length - len));
      return { kind, intact: false, bytes: Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]) };
    }
    case 'header': {
      // The first 4 KiB, and the last 4 KiB (an MP4's index may sit at the end).
      for (let k = int(1, 16); k > 0; k--) {
        const tail = rand() < 0.3;
        const i = tail ? b.length - 1 - int(0, Math.min(4095, b.length - 1)) : int(0, Math.min(4095, b.length - 1));
        b[i] ^= int(1, 255);
      }
      return { kind, intact: false, bytes: b };
    }
  }
}

/** The clean clips fuzzed: one per conformance case (leading pictures, AVI, raw streams, ...). */
export function fuzzSources(): string[] {
  return CONFORMANCE_CASES.map((c) => {
    const clip = makeIndexedClip(c.spec);
    return c.derive ? c.derive(clip) : clip;
  });
}

/** What one damaged file did (one JSON line from the worker). */
export interface FuzzFileResult {
  source: string;
  seed: number;
  kind: MutationKind;
  intact: boolean;
  /** TvlError code of open, or 'ok'. */
  open: string;
  frames: number;
  exact: number;
  /** Delivered, but not the clean file's frame (damage the decoder did not report). */
  damagedAsSuccess: number;
  errors: Record<string, number>;
  /** Broken rules, one line each. */
  problems: string[];
}

export interface FuzzSummary {
  files: number;
  byKind: Record<string, number>;
  opened: number;
  framesAsked: number;
  exact: number;
  damagedAsSuccess: number;
  /** damagedAsSuccess among intact-container files, and the frames they delivered. */
  intactDamagedAsSuccess: number;
  intactDelivered: number;
  typedErrors: Record<string, number>;
  crashes: number;
  hangs: number;
  problems: string[];
}

export interface FuzzOptions {
  /** Backend name and the absolute path of the module that registers it (require.resolve). */
  backend: string;
  backendModule: string;
  files: number;
  seed?: number;
  /** Child processes at once (default: the cores). */
  workers?: number;
  /** A worker that takes longer than this per file is a hang (default 20 s per file). */
  msPerFile?: number;
  /** Backends that conceal damage (OpenCV) cannot promise "never another frame". */
  concealsDamage?: boolean;
  onProgress?: (done: number, total: number) => void;
}

interface Job {
  source: string;
  seed: number;
}

/** The worker's exit code when the harness failed (bad module path, ...), not a file under test. */
export const HARNESS_FAILED = 3;

/** The worker's compiled JavaScript: next to this file in dist/, or in dist/ when this runs from src/ (ts-jest). */
function workerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'fuzz-worker.js'), path.resolve(here, '../dist/fuzz-worker.js')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`the fuzz worker is not built (${candidates.join(', ')}): run the build first`);
  return found;
}

/** Runs `jobs` in one child; resolves with the results it printed and how it ended. */
function runWorker(
  options: FuzzOptions,
  jobs: Job[],
  onResult: (r: FuzzFileResult) => void,
): Promise<{ done: number; crashed: boolean; hung: boolean; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [workerPath()], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TVL_FFMPEG_LOG: '' } });
    let done = 0;
    let buffered = '';
    let stderr = '';
    let hung = false;
    // A watchdog re-armed by every file reported: a file that takes longer is a hang. (The first
    // file also pays the worker's start and the clean file's reference decode.)
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, ms);
    };
    arm((options.msPerFile ?? 20000) + 20000);
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('{')) {
          done++;
          arm((options.msPerFile ?? 20000) + 5000);
          onResult(JSON.parse(line) as FuzzFileResult);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === HARNESS_FAILED && done === 0) {
        reject(new Error(`the fuzz worker failed to run:\n${stderr}`));
        return;
      }
      const crashed = !hung && (code !== 0 || signal !== null);
      if (crashed && process.env.TVL_FUZZ_VERBOSE) process.stderr.write(stderr);
      resolve({ done, crashed, hung, signal });
    });
    child.stdin.end(
      JSON.stringify({ backend: options.backend, backendModule: options.backendModule, concealsDamage: !!options.concealsDamage, jobs }),
    );
  });
}

/**
 * Fuzzes `options.files` damaged files. A worker that crashes or hangs is re-run one file per
 * process from where it stopped, so each crash and hang is pinned to its file and seed.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const sources = fuzzSources();
  const seed0 = options.seed ?? 1;
  const jobs: Job[] = Array.from({ length: options.files }, (_, k) => ({ source: sources[k % sources.length], seed: seed0 + k }));
  const summary: FuzzSummary = {
    files: 0,
    byKind: {},
    opened: 0,
    framesAsked: 0,
    exact: 0,
    damagedAsSuccess: 0,
    intactDamagedAsSuccess: 0,
    intactDelivered: 0,
    typedErrors: {},
    crashes: 0,
    hangs: 0,
    problems: [],
  };
  const add = (r: FuzzFileResult) => {
    summary.files++;
    summary.byKind[r.kind] = (summary.byKind[r.kind] ?? 0) + 1;
    if (r.open === 'ok') summary.opened++;
    else summary.typedErrors[r.open] = (summary.typedErrors[r.open] ?? 0) + 1;
    summary.framesAsked += r.frames;
    summary.exact += r.exact;
    summary.damagedAsSuccess += r.damagedAsSuccess;
    if (r.intact) {
      summary.intactDamagedAsSuccess += r.damagedAsSuccess;
      summary.intactDelivered += r.exact + r.damagedAsSuccess;
    }
    for (const [code, n] of Object.entries(r.errors)) summary.typedErrors[code] = (summary.typedErrors[code] ?? 0) + n;
    summary.problems.push(...r.problems);
    options.onProgress?.(summary.files + summary.crashes + summary.hangs, jobs.length);
  };
  const describe = (j: Job) => `${path.basename(j.source)} seed ${j.seed} (${MUTATION_KINDS[j.seed % MUTATION_KINDS.length]})`;
  // Batches of files per worker (a process start costs more than a small file), each of one
  // source: a worker decodes a clean reference once per source it meets.
  const bySource = [...jobs].sort((a, b) => sources.indexOf(a.source) - sources.indexOf(b.source) || a.seed - b.seed);
  const batches: Job[][] = [];
  for (let i = 0; i < bySource.length; i += 25) batches.push(bySource.slice(i, i + 25));
  const workers = options.workers ?? Math.max(1, os.availableParallelism());
  const next = async (): Promise<void> => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      let rest = batch;
      while (rest.length > 0) {
        const ended = await runWorker(options, rest, add);
        if (!ended.crashed && !ended.hung) break;
        // The file after the last one reported is the culprit only if it fails on its own.
        const suspect = rest[ended.done];
        const alone = await runWorker(options, [suspect], add);
        if (alone.hung) {
          summary.hangs++;
          summary.problems.push(`hang: ${describe(suspect)}`);
        } else if (alone.crashed) {
          summary.crashes++;
          summary.problems.push(`crash (${alone.signal ?? 'exit code'}): ${describe(suspect)}`);
        }
        rest = rest.slice(ended.done + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, next));
  return summary;
}

/** A jest test over a bounded slice (CI); `make fuzz` runs thousands through runFuzz. */
export function runFuzzSuite(options: FuzzOptions): void {
  describe(`fuzz: ${options.backend}`, () => {
    it(
      `${options.files} damaged files: frames or typed errors, no crash, no hang${options.concealsDamage ? '' : ', never another frame'}`,
      async () => {
        const s = await runFuzz(options);
        expect(s.problems).toEqual([]);
        expect([s.crashes, s.hangs]).toEqual([0, 0]);
        expect(s.files).toBe(options.files);
        expect(s.opened).toBeGreaterThan(options.files / 3);
      },
      Math.max(120000, options.files * 3000),
    );
  });
}

/** Used by the worker: the clean file's packets, once per source. */
export function packetRanges(source: string): Array<{ pos: number; size: number }> {
  const cache = `${source}.packets.json`;
  if (fs.existsSync(cache)) return JSON.parse(fs.readFileSync(cache, 'utf8')) as Array<{ pos: number; size: number }>;
  const packets = videoPackets(source).map(({ pos, size }) => ({ pos, size }));
  const tmp = `${cache}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(packets));
  fs.renameSync(tmp, cache);
  return packets;
}
