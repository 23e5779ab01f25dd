/**
 * The `tvl` command line:
 *   tvl info <video> [--backend NAME] [--json]
 *   tvl frames <video> <indices> --out DIR [--backend NAME] [--width W] [--height H] [--json]
 *   tvl verify <video> [--backend NAME] [--json]
 *   tvl bench <video> [--backends libav,opencv] [--json]
 * Exit codes: 0 success, 1 a TVL error (message and code on stderr) or, for verify, a file whose
 * index and decoder disagree or that is damaged, 2 a usage error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FrameState, TvlError, VideoLoader } from '@tvl/core';
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
Options: --device cpu|cuda|cuda:N (default cpu). Exit codes: 0 ok, 1 TVL error (verify: a
disagreement or damage), 2 usage.`;

interface Parsed { positional: string[]; flags: Map<string, string | true> }

function parseArgs(argv: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const name = a.slice(2);
    if (['json', 'help'].includes(name)) flags.set(name, true);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]);
    else throw new UsageError(`--${name} needs a value`);
  }
  return { positional, flags };
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
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
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
  if (bad !== undefined) throw new UsageError(`frame ${bad} is out of range: the video has ${nFrames} frames (0-${nFrames - 1})`);
  return out;
}

async function open(p: Parsed, io: Io, file: string, extra: { backend?: string; outWidth?: number; outHeight?: number; index?: 'packets' | 'decoded' } = {}) {
  const stop = busy(`${extra.index === 'decoded' ? 'decoding every frame of' : 'indexing'} ${path.basename(file)}...`, io.stderr);
  try {
    return await VideoLoader.open(file, {
      device: (p.flags.get('device') as string | undefined) ?? 'cpu',
      backend: (p.flags.get('backend') as string | undefined) ?? extra.backend,
      outWidth: extra.outWidth, outHeight: extra.outHeight, index: extra.index,
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
    idx.keyframe.forEach((k, i) => { if (k) keys.push(i); });
    const gops = keys.map((k, j) => (j + 1 < keys.length ? keys[j + 1] : vl.nFrames) - k);
    const summary = {
      path: file, backend: vl.backend, device: 'cpu',
      ...vl.info,
      nFrames: vl.nFrames, frameRate: vl.frameRate, duration: vl.duration, startTime: idx.startTime,
      variableFrameRate: idx.isVariableFrameRate, truncated: Boolean(idx.truncated),
      keyframes: keys.length,
      gop: gops.length ? { min: Math.min(...gops), mean: gops.reduce((a, b) => a + b, 0) / gops.length, max: Math.max(...gops) } : null,
    };
    if (p.flags.has('json')) { io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`); return; }
    const rows: [string, string][] = [
      ['file', file],
      ['video', `${summary.codec}${summary.profile ? ` (${summary.profile})` : ''}, ${summary.width}x${summary.height}, ${summary.pixelFormat}, ${summary.bitDepth}-bit`],
      ['container', summary.container],
      ['colour', `${summary.colourMatrix}${summary.colourMatrixGuessed ? ' (guessed)' : ''}, ${summary.colourRange} range`],
      ['rotation', `${summary.rotation}°`],
      ['frames', `${summary.nFrames}${summary.truncated ? ' (file truncated)' : ''}`],
      ['frame rate', `${summary.frameRate.toFixed(3)} fps${summary.variableFrameRate ? ', variable' : ', constant'}`],
      ['duration', `${summary.duration.toFixed(3)} s (starts at ${summary.startTime.toFixed(3)} s)`],
      ['keyframes', `${summary.keyframes}${summary.gop ? `; GOP min ${summary.gop.min}, mean ${summary.gop.mean.toFixed(1)}, max ${summary.gop.max}` : ''}`],
      ['backend', summary.backend],
    ];
    for (const [k, v] of rows) io.stdout.write(`${k.padEnd(11)} ${v}\n`);
  } finally {
    await vl.close();
  }
}

async function frames(p: Parsed, io: Io): Promise<void> {
  const [, file, spec] = p.positional;
  const outDir = p.flags.get('out');
  if (!file || !spec || typeof outDir !== 'string') throw new UsageError('tvl frames needs <video> <indices> --out DIR');
  const vl = await open(p, io, file, { outWidth: intFlag(p, 'width'), outHeight: intFlag(p, 'height') });
  try {
    const indices = parseIndices(spec, vl.nFrames);
    fs.mkdirSync(outDir, { recursive: true });
    const digits = String(vl.nFrames - 1).length;
    const bar = new Progress('frames', indices.length, io.stderr);
    const written: { index: number; pts: number; file: string }[] = [];
    // Batches of 32 keep memory bounded; each batch is one native call.
    for (let i = 0; i < indices.length; i += 32) {
      for (const f of await vl.selectRawFrames(indices.slice(i, i + 32))) {
        const name = path.join(outDir, `frame_${String(f.report.index).padStart(digits, '0')}.png`);
        fs.writeFileSync(name, encodePng(f.data, f.width, f.height));
        written.push({ index: f.report.index, pts: f.report.pts, file: name });
        bar.update(written.length);
      }
    }
    bar.done();
    if (p.flags.has('json')) io.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
    else io.stdout.write(`wrote ${written.length} PNG file${written.length === 1 ? '' : 's'} to ${outDir}\n`);
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
    a.state.forEach((s, i) => { if (s !== FrameState.ok) unusable.set(i, stateName(s)); });
    // Every frame once, in native calls of 32; a damaged frame is noted and reading goes on after it.
    const bar = new Progress('reading every frame', a.length, io.stderr);
    const damaged: number[] = [];
    let next = 0;
    while (next < a.length) {
      const chunk = Array.from({ length: Math.min(32, a.length - next) }, (_, k) => next + k).filter((i) => !unusable.has(i));
      if (chunk.length === 0) { next += 32; continue; }
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
      path: file, backend: decoded.backend,
      packetIndex: { frames: a.length, droppedLeading: a.droppedLeading, source: a.source, identity: a.identity },
      decoder: { frames: b.length },
      agree,
      firstDifferences: differing.slice(0, 10).map((i) => ({ frame: i, packetPts: a.pts[i], decoderPts: b.pts[i] })),
      demuxErrors: a.demuxErrors, truncated: a.truncated, truncatedReason: a.truncatedReason,
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
      io.stdout.write(`  index     the packet index and the decoder agree on all ${b.length} frames` +
        `${a.droppedLeading ? ` (${a.droppedLeading} leading packets are not frames: the decoder never presents them)` : ''}\n`);
    } else {
      io.stdout.write(`  index     DIFFERENT: the packet index has ${a.length} frames, the decoder presents ${b.length}\n`);
      for (const d of report.firstDifferences) io.stdout.write(`            frame ${d.frame}: the packets' pts is ${d.packetPts.toFixed(3)} s, the decoder's ${d.decoderPts.toFixed(3)} s\n`);
      io.stdout.write('            TVL numbers frames by the packet index (the default), which keeps every number across\n' +
        "            damage and refuses damaged frames; { index: 'decoded' } numbers them as this decoder presents them\n");
    }
    if (a.demuxErrors || a.truncated) io.stdout.write(`  container damaged: ${a.demuxErrors} demuxing error(s)${a.truncated ? `, the file is truncated${a.truncatedReason ? ` (${a.truncatedReason})` : ''}` : ''}\n`);
    for (const state of ['lost', 'unproven', 'corrupt']) {
      const frames = [...unusable].filter(([, s]) => s === state).map(([f]) => f);
      if (frames.length) io.stdout.write(`  ${state.padEnd(9)} ${frames.length} frame(s): ${ranges(frames)}\n`);
    }
    if (damaged.length) io.stdout.write(`  damaged   ${damaged.length} frame(s) the decoder reported damaged: ${ranges(damaged)}\n`);
    io.stdout.write(clean ? '  ok: every frame decodes exactly\n' : '  NOT OK: see above; such frames are TVL_CORRUPT_DATA errors naming them\n');
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
      t0 = performance.now();
      await vl.selectRawFrames(picks);
      const random = picks.length / ((performance.now() - t0) / 1000);
      results.push({ backend, sequentialFps: sequential, randomFps: random, framesSequential: n, framesRandom: picks.length });
    } finally {
      await vl.close();
    }
  }
  if (p.flags.has('json')) { io.stdout.write(`${JSON.stringify({ file, results }, null, 2)}\n`); return; }
  io.stdout.write(`${'backend'.padEnd(10)} ${'sequential'.padStart(14)} ${'random (16)'.padStart(14)}\n`);
  for (const r of results) io.stdout.write(`${r.backend.padEnd(10)} ${`${r.sequentialFps.toFixed(1)} fps`.padStart(14)} ${`${r.randomFps.toFixed(1)} fps`.padStart(14)}\n`);
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
    const command = parsed.positional[0];
    if (!command || parsed.flags.has('help')) { io.stdout.write(`${USAGE}\n`); return command || parsed.flags.has('help') ? 0 : 2; }
    if (command === 'info') await info(parsed, io);
    else if (command === 'frames') await frames(parsed, io);
    else if (command === 'bench') await bench(parsed, io);
    else if (command === 'verify') return (await verify(parsed, io)) ? 0 : 1;
    else throw new UsageError(`unknown command '${command}'`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`tvl: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof TvlError) {
      io.stderr.write(`tvl: error [${err.code}]: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`tvl: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 1;
  }
}

export { encodePng } from './png.js';
