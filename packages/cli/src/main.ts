/**
 * The `tvl` command line:
 *   tvl info <video> [--backend NAME] [--json]
 *   tvl frames <video> <indices> --out DIR [--backend NAME] [--width W] [--height H] [--json]
 *   tvl verify <video> [--backend NAME] [--json]
 *   tvl bench <video> [--backends libav,opencv] [--json]
 *   tvl --version
 * Exit codes: 0 success, 1 a TVL error (message and code on stderr; with --json also as
 * `{ "error": { "code", "message" } }` on stdout) or, for verify, a file whose index and decoder
 * disagree or that is damaged, or for frames, frames that could not be written; 2 a usage error.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FrameState, IndexOutOfRangeError, IoError, TvlError, VideoLoader, formatDevice } from '@tvl/core';
import { closestName } from '@tvl/core/backend';
import { encodePng } from './png.js';
import { Progress, busy } from './progress.js';

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { isTTY?: boolean; write(s: string): unknown };
}

class UsageError extends Error {}

export const USAGE = `Usage:
  tvl info <video> [--backend NAME] [--json]
      metadata and frame index summary (frame count, keyframes, GOP sizes, VFR or not)
  tvl frames <video> <indices> --out DIR [--backend NAME] [--width W] [--height H] [--json]
      writes frames as PNG files; <indices> like 0,10,20-25,100-200:10 (ranges inclusive, :step)
  tvl verify <video> [--backend NAME] [--json]
      decodes every frame once: checks that the packet index and the decoder agree frame by
      frame, and lists damaged frames (exit code 1 when they disagree or the file is damaged)
  tvl bench <video> [--backends libav,opencv] [--frames N] [--json]
      sequential and random-access fps of each installed CPU backend
  tvl --version
Options: --device cpu|cuda|cuda:N (default cpu). Exit codes: 0 ok, 1 TVL error (verify: a
disagreement or damage; frames: some frames could not be written), 2 usage.`;

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Flags that take no value. */
const SWITCHES = ['json', 'help', 'version'];
/** Flags each command accepts (besides the switches). */
const COMMAND_FLAGS: Record<string, string[]> = {
  info: ['backend', 'device'],
  frames: ['backend', 'device', 'out', 'width', 'height'],
  verify: ['backend', 'device'],
  bench: ['backends', 'device', 'frames'],
};

function parseArgs(argv: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      flags.set('help', true);
      continue;
    }
    if (a === '-V' || a === '-v') {
      flags.set('version', true);
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (SWITCHES.includes(name)) flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]);
    else throw new UsageError(`--${name} needs a value`);
  }
  return { positional, flags };
}

/** Refuses flags the command does not take (a typo would otherwise be ignored), naming the one meant. */
function checkFlags(p: Parsed, command: string): void {
  const known = [...(COMMAND_FLAGS[command] ?? []), ...SWITCHES];
  for (const name of p.flags.keys()) {
    if (known.includes(name)) continue;
    const close = closestName(name, known);
    throw new UsageError(`tvl ${command} has no option --${name}${close ? ` (did you mean --${close}?)` : ''}`);
  }
}

function version(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got '${String(v)}'`);
  return n;
}

/** "0,10,20-25,100-200:10" -> indices, in order, checked against nFrames. */
export function parseIndices(spec: string, nFrames: number): number[] {
  const out: number[] = [];
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!m) throw new UsageError(`bad index '${part}': use N, A-B or A-B:STEP`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (b < a || step < 1) throw new UsageError(`bad range '${part}'`);
    for (let i = a; i <= b; i += step) out.push(i);
  }
  if (out.length === 0) throw new UsageError('no frame indices given');
  const bad = out.find((i) => i >= nFrames);
  if (bad !== undefined) {
    throw new IndexOutOfRangeError(`frame ${bad} is out of range: the video has ${nFrames} frames (0-${nFrames - 1})`, { frameIndex: bad });
  }
  return out;
}

async function open(
  p: Parsed,
  io: Io,
  file: string,
  extra: { backend?: string; outWidth?: number; outHeight?: number; index?: 'packets' | 'decoded' } = {},
) {
  const stop = busy(`${extra.index === 'decoded' ? 'decoding every frame of' : 'indexing'} ${path.basename(file)}...`, io.stderr);
  try {
    return await VideoLoader.open(file, {
      device: (p.flags.get('device') as string | undefined) ?? 'cpu',
      backend: (p.flags.get('backend') as string | undefined) ?? extra.backend,
      outWidth: extra.outWidth,
      outHeight: extra.outHeight,
      index: extra.index,
    });
  } finally {
    stop();
  }
}

async function info(p: Parsed, io: Io): Promise<void> {
  const file = p.positional[1];
  if (!file) throw new UsageError('tvl info needs a video');
  const vl = await open(p, io, file);
  try {
    const idx = vl.frameIndex;
    const keys: number[] = [];
    idx.keyframe.forEach((k, i) => {
      if (k) keys.push(i);
    });
    const gops = keys.map((k, j) => (j + 1 < keys.length ? keys[j + 1] : vl.nFrames) - k);
    const summary = {
      path: file,
      backend: vl.backend,
      device: formatDevice(vl.device),
      ...vl.info,
      nFrames: vl.nFrames,
      frameRate: vl.frameRate,
      duration: vl.duration,
      startTime: idx.startTime,
      variableFrameRate: idx.isVariableFrameRate,
      truncated: Boolean(idx.truncated),
      keyframes: keys.length,
      gop: gops.length ? { min: Math.min(...gops), mean: gops.reduce((a, b) => a + b, 0) / gops.length, max: Math.max(...gops) } : null,
    };
    if (p.flags.has('json')) {
      io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const rows: [string, string][] = [
      ['file', file],
      [
        'video',
        `${summary.codec}${summary.profile ? ` (${summary.profile})` : ''}, ${summary.width}x${summary.height}, ${summary.pixelFormat}, ${summary.bitDepth}-bit`,
      ],
      ['container', summary.container],
      ['colour', `${summary.colourMatrix}${summary.colourMatrixGuessed ? ' (guessed)' : ''}, ${summary.colourRange} range`],
      ['rotation', `${summary.rotation}°`],
      ['frames', `${summary.nFrames}${summary.truncated ? ' (file truncated)' : ''}`],
      ['frame rate', `${summary.frameRate.toFixed(3)} fps${summary.variableFrameRate ? ', variable' : ', constant'}`],
      ['duration', `${summary.duration.toFixed(3)} s (starts at ${summary.startTime.toFixed(3)} s)`],
      [
        'keyframes',
        `${summary.keyframes}${summary.gop ? `; GOP min ${summary.gop.min}, mean ${summary.gop.mean.toFixed(1)}, max ${summary.gop.max}` : ''}`,
      ],
      ['backend', `${summary.backend} (decoder: ${summary.decoder})`],
    ];
    for (const [k, v] of rows) io.stdout.write(`${k.padEnd(11)} ${v}\n`);
  } finally {
    await vl.close();
  }
}

/**
 * Makes `dir` (and its missing parents) one level at a time, after checking that the nearest
 * existing ancestor is a directory we may write in. (Node's recursive mkdir never returns for a
 * path under /proc; and a clear TVL_IO_ERROR beats a stack trace for EEXIST or EACCES.)
 */
export function prepareOutputDir(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let at = target;
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw ioError(`cannot use '${at}'`, err);
    }
    if (stat) {
      if (!stat.isDirectory()) throw new IoError(`cannot write frames to '${dir}': '${at}' exists and is not a directory`, { path: dir });
      try {
        fs.accessSync(at, fs.constants.W_OK | fs.constants.X_OK);
      } catch (err) {
        throw ioError(`cannot write frames to '${dir}': '${at}' is not writable`, err);
      }
      break;
    }
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      throw ioError(`cannot create the output directory '${d}'`, err);
    }
  }
}

function ioError(message: string, cause: unknown): IoError {
  const e = cause as NodeJS.ErrnoException;
  return new IoError(`${message}${e?.code ? ` (${e.code}: ${e.message.replace(/^\w+: /, '')})` : ''}`, { cause });
}

async function frames(p: Parsed, io: Io): Promise<boolean> {
  const [, file, spec] = p.positional;
  const outDir = p.flags.get('out');
  if (!file || !spec || typeof outDir !== 'string') throw new UsageError('tvl frames needs <video> <indices> --out DIR');
  // Before any decoding: a target we cannot write to fails at once.
  prepareOutputDir(outDir);
  const vl = await open(p, io, file, { outWidth: intFlag(p, 'width'), outHeight: intFlag(p, 'height') });
  try {
    const indices = parseIndices(spec, vl.nFrames);
    const digits = String(vl.nFrames - 1).length;
    const bar = new Progress('frames', indices.length, io.stderr);
    const written: { index: number; pts: number; file: string }[] = [];
    const failed: { index: number; code: string; message: string }[] = [];
    // Batches of 32 keep memory bounded; each batch is one native call. A frame that cannot be
    // decoded is reported and left out, and the batch is tried again without it.
    for (let i = 0; i < indices.length; i += 32) {
      let batch = indices.slice(i, i + 32);
      while (batch.length > 0) {
        try {
          for (const f of await vl.selectRawFrames(batch)) {
            const name = path.join(outDir, `frame_${String(f.report.index).padStart(digits, '0')}.png`);
            try {
              fs.writeFileSync(name, encodePng(f.data, f.width, f.height));
            } catch (err) {
              throw ioError(`cannot write '${name}'`, err);
            }
            written.push({ index: f.report.index, pts: f.report.pts, file: name });
            bar.update(written.length + failed.length);
          }
          batch = [];
        } catch (err) {
          if (!(err instanceof TvlError) || err.frameIndex === undefined || !batch.includes(err.frameIndex) || err.code === 'TVL_IO_ERROR')
            throw err;
          const bad = err.frameIndex;
          failed.push({ index: bad, code: err.code, message: err.message });
          batch = batch.filter((k) => k !== bad);
        }
      }
    }
    bar.done();
    if (p.flags.has('json')) {
      io.stdout.write(`${JSON.stringify(failed.length ? { written, failed } : written, null, 2)}\n`);
    } else {
      io.stdout.write(`wrote ${written.length} PNG file${written.length === 1 ? '' : 's'} to ${outDir}\n`);
      for (const f of failed) io.stderr.write(`tvl: frame ${f.index} not written: [${f.code}] ${f.message}\n`);
    }
    return failed.length === 0;
  } finally {
    await vl.close();
  }
}

/** Ranges of ascending frame numbers, for messages: [1,2,3,7] -> "1-3, 7". */
function ranges(frames: number[], limit = 12): string {
  const parts: string[] = [];
  for (let i = 0; i < frames.length && parts.length < limit; i++) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[j] + 1) j++;
    parts.push(j > i ? `${frames[i]}-${frames[j]}` : `${frames[i]}`);
    i = j;
  }
  return parts.join(', ') + (parts.length === limit ? ', ...' : '');
}

/**
 * tvl verify: the packet index (what open builds by default) against the decoded index (every
 * frame decoded once, `index: 'decoded'`), frame by frame; then every frame of the default index
 * is read once, to list the damaged ones. A careful user runs it once on a new dataset.
 */
async function verify(p: Parsed, io: Io): Promise<boolean> {
  const file = p.positional[1];
  if (!file) throw new UsageError('tvl verify needs a video');
  const packets = await open(p, io, file);
  let decoded: VideoLoader | null = null;
  try {
    decoded = await open(p, io, file, { index: 'decoded' });
    const a = packets.frameIndex;
    const b = decoded.frameIndex;
    // Frames agree when they have the same presentation time (to half a frame interval).
    const tolerance = 0.5 / Math.max(1, b.averageFrameRate);
    const differing: number[] = [];
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (Math.abs(a.pts[i] - b.pts[i]) > tolerance) differing.push(i);
    const stateName = (s: number) => Object.entries(FrameState).find(([, v]) => v === s)?.[0] ?? String(s);
    const unusable = new Map<number, string>();
    a.state.forEach((s, i) => {
      if (s !== FrameState.ok) unusable.set(i, stateName(s));
    });
    // Every frame once, in native calls of 32; a damaged frame is noted and reading goes on after it.
    const bar = new Progress('reading every frame', a.length, io.stderr);
    const damaged: number[] = [];
    let next = 0;
    while (next < a.length) {
      const chunk = Array.from({ length: Math.min(32, a.length - next) }, (_, k) => next + k).filter((i) => !unusable.has(i));
      if (chunk.length === 0) {
        next += 32;
        continue;
      }
      try {
        await packets.selectRawFrames(chunk);
        next = chunk[chunk.length - 1] + 1;
      } catch (err) {
        if (!(err instanceof TvlError) || err.frameIndex === undefined || err.frameIndex < next) throw err;
        damaged.push(err.frameIndex);
        next = err.frameIndex + 1;
      }
      bar.update(next);
    }
    bar.done();
    const agree = a.length === b.length && differing.length === 0;
    const report = {
      path: file,
      backend: decoded.backend,
      packetIndex: { frames: a.length, droppedLeading: a.droppedLeading, source: a.source, identity: a.identity },
      decoder: { frames: b.length },
      agree,
      firstDifferences: differing.slice(0, 10).map((i) => ({ frame: i, packetPts: a.pts[i], decoderPts: b.pts[i] })),
      demuxErrors: a.demuxErrors,
      truncated: a.truncated,
      truncatedReason: a.truncatedReason,
      unusable: [...unusable].map(([frame, state]) => ({ frame, state })),
      damaged,
    };
    const clean = agree && unusable.size === 0 && damaged.length === 0 && !a.truncated && a.demuxErrors === 0;
    if (p.flags.has('json')) {
      io.stdout.write(`${JSON.stringify({ ...report, ok: clean }, null, 2)}\n`);
      return clean;
    }
    io.stdout.write(`${file}\n`);
    if (agree) {
      io.stdout.write(
        `  index     the packet index and the decoder agree on all ${b.length} frames` +
          `${a.droppedLeading ? ` (${a.droppedLeading} leading packets are not frames: the decoder never presents them)` : ''}\n`,
      );
    } else {
      io.stdout.write(`  index     DIFFERENT: the packet index has ${a.length} frames, the decoder presents ${b.length}\n`);
      for (const d of report.firstDifferences)
        io.stdout.write(
          `            frame ${d.frame}: the packets' pts is ${d.packetPts.toFixed(3)} s, the decoder's ${d.decoderPts.toFixed(3)} s\n`,
        );
      io.stdout.write(
        '            TVL numbers frames by the packet index (the default), which keeps every number across\n' +
          "            damage and refuses damaged frames; { index: 'decoded' } numbers them as this decoder presents them\n",
      );
    }
    if (a.demuxErrors || a.truncated)
      io.stdout.write(
        `  container damaged: ${a.demuxErrors} demuxing error(s)${a.truncated ? `, the file is truncated${a.truncatedReason ? ` (${a.truncatedReason})` : ''}` : ''}\n`,
      );
    for (const state of ['lost', 'unproven', 'corrupt']) {
      const frames = [...unusable].filter(([, s]) => s === state).map(([f]) => f);
      if (frames.length) io.stdout.write(`  ${state.padEnd(9)} ${frames.length} frame(s): ${ranges(frames)}\n`);
    }
    if (damaged.length) io.stdout.write(`  damaged   ${damaged.length} frame(s) the decoder reported damaged: ${ranges(damaged)}\n`);
    io.stdout.write(
      clean ? '  ok: every frame decodes exactly\n' : '  NOT OK: see above; such frames are TVL_CORRUPT_DATA errors naming them\n',
    );
    return clean;
  } finally {
    await packets.close();
    await decoded?.close();
  }
}

async function bench(p: Parsed, io: Io): Promise<void> {
  const file = p.positional[1];
  if (!file) throw new UsageError('tvl bench needs a video');
  const wanted = String(p.flags.get('backends') ?? 'libav,opencv').split(',');
  const installed: string[] = [];
  for (const name of wanted) {
    try {
      await import(`@tvl/${name}`);
      installed.push(name);
    } catch {
      io.stderr.write(`@tvl/${name} is not installed: skipped\n`);
    }
  }
  if (installed.length === 0) throw new UsageError(`none of ${wanted.join(', ')} is installed`);
  const results = [];
  for (const backend of installed) {
    const vl = await open(p, io, file, { backend });
    try {
      const n = Math.min(vl.nFrames, intFlag(p, 'frames') ?? 300);
      const bar = new Progress(`${backend} sequential`, n, io.stderr);
      let t0 = performance.now();
      for (let i = 0; i < n; i += 16) {
        await vl.selectRawFrames(Array.from({ length: Math.min(16, n - i) }, (_, k) => i + k));
        bar.update(Math.min(n, i + 16));
      }
      bar.done();
      const sequential = n / ((performance.now() - t0) / 1000);
      let seed = 7;
      const picks = Array.from({ length: 16 }, () => (seed = (seed * 48271) % 2147483647) % vl.nFrames);
      const stopBusy = busy(`${backend} random access (${picks.length} frames)...`, io.stderr);
      t0 = performance.now();
      try {
        await vl.selectRawFrames(picks);
      } finally {
        stopBusy();
      }
      const random = picks.length / ((performance.now() - t0) / 1000);
      results.push({ backend, sequentialFps: sequential, randomFps: random, framesSequential: n, framesRandom: picks.length });
    } finally {
      await vl.close();
    }
  }
  if (p.flags.has('json')) {
    io.stdout.write(`${JSON.stringify({ file, results }, null, 2)}\n`);
    return;
  }
  io.stdout.write(`${'backend'.padEnd(10)} ${'sequential'.padStart(14)} ${'random (16)'.padStart(14)}\n`);
  for (const r of results)
    io.stdout.write(
      `${r.backend.padEnd(10)} ${`${r.sequentialFps.toFixed(1)} fps`.padStart(14)} ${`${r.randomFps.toFixed(1)} fps`.padStart(14)}\n`,
    );
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = argv.includes('--json');
  /** The error on stderr, and for --json as JSON on stdout too (scripts read stdout). */
  const fail = (code: string, message: string, usage: boolean): number => {
    io.stderr.write(`tvl: ${code === 'TVL_USAGE' ? '' : `error [${code}]: `}${message}\n${usage && !json ? `${USAGE}\n` : ''}`);
    if (json) io.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    return usage ? 2 : 1;
  };
  try {
    const parsed = parseArgs(argv);
    if (parsed.flags.has('version')) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const command = parsed.positional[0];
    if (!command || parsed.flags.has('help')) {
      io.stdout.write(`${USAGE}\n`);
      return command || parsed.flags.has('help') ? 0 : 2;
    }
    if (!(command in COMMAND_FLAGS)) {
      const close = closestName(command, Object.keys(COMMAND_FLAGS));
      throw new UsageError(`unknown command '${command}'${close ? ` (did you mean '${close}'?)` : ''}`);
    }
    checkFlags(parsed, command);
    if (command === 'info') await info(parsed, io);
    else if (command === 'frames') return (await frames(parsed, io)) ? 0 : 1;
    else if (command === 'bench') await bench(parsed, io);
    else if (command === 'verify') return (await verify(parsed, io)) ? 0 : 1;
    return 0;
  } catch (err) {
    if (err instanceof UsageError) return fail('TVL_USAGE', err.message, true);
    if (err instanceof TvlError) return fail(err.code, err.message, false);
    // Node's own errors (a file system call): their code and message, not a stack trace.
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && typeof e.message === 'string') return fail('TVL_IO_ERROR', `${e.code}: ${e.message}`, false);
    io.stderr.write(`tvl: unexpected error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (json)
      io.stdout.write(`${JSON.stringify({ error: { code: 'TVL_INTERNAL', message: String((err as Error)?.message ?? err) } }, null, 2)}\n`);
    return 1;
  }
}

export { encodePng } from './png.js';
