/**
 * The child process of the fuzzer (fuzz.ts): reads a job list as JSON on stdin, damages each
 * source as its seed says, reads the damaged file with the backend, and prints one JSON line
 * (FuzzFileResult) per file. A crash or hang here ends only this process; the parent notices.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom, TvlError, VideoLoader } from '@tvl/core';
import { HARNESS_FAILED, mutate, packetRanges, type FuzzFileResult } from './fuzz.js';
import { meanAbsDiff, readFrameCode } from './media.js';

interface Input {
  backend: string;
  backendModule: string;
  concealsDamage: boolean;
  jobs: Array<{ source: string; seed: number }>;
}

/** A delivered frame this far (mean absolute difference, 0..255) from the clean one is damaged. */
const DAMAGED = 2;
const FRAME_CODES = ['TVL_CORRUPT_DATA', 'TVL_INEXACT_FRAME'];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const describeError = (err: unknown) =>
  err instanceof Error ? `${err.name}${err instanceof TvlError ? ` ${err.code}` : ''}: ${err.message}` : String(err);
const typed = (err: unknown): err is TvlError => err instanceof TvlError && err.code !== 'TVL_INTERNAL';

async function main(): Promise<void> {
  const input = JSON.parse(await readStdin()) as Input;
  await import(input.backendModule);
  const open = (file: string) => VideoLoader.open(file, { backend: input.backend });
  const clean = new Map<string, { frames: Uint8Array[]; codes: number[] }>();

  for (const { source, seed } of input.jobs) {
    if (!clean.has(source)) {
      const vl = await open(source);
      const all = Array.from({ length: vl.nFrames }, (_, i) => i);
      const frames: Uint8Array[] = [];
      for (const i of all) {
        // A clean file's damaged frames (an HEVC stream's leading pictures) are no reference.
        try {
          frames.push((await vl.selectRawFrames([i]))[0].data);
        } catch {
          frames.push(new Uint8Array(0));
        }
      }
      clean.set(source, {
        frames,
        codes: frames.map((f) => (f.length ? readFrameCode(f, vl.outWidth, vl.outHeight, { rotation: vl.info.rotation }) : -1)),
      });
      await vl.close();
    }
    const reference = clean.get(source)!;
    const m = mutate(fs.readFileSync(source), packetRanges(source), seed, /\.(h264|hevc)$/.test(source));
    const file = path.join(os.tmpdir(), `tvl-fuzz-${process.pid}-${seed}${path.extname(source)}`);
    fs.writeFileSync(file, m.bytes);
    const result: FuzzFileResult = {
      source: path.basename(source),
      seed,
      kind: m.kind,
      intact: m.intact,
      open: 'ok',
      frames: 0,
      exact: 0,
      damagedAsSuccess: 0,
      errors: {},
      problems: [],
    };
    const where = `${result.source} seed ${seed} (${m.kind})`;
    const judge = (i: number, data: Uint8Array | null, err: unknown, vl: VideoLoader) => {
      if (data) {
        const ref = reference.frames[i];
        if (ref && ref.length === data.length && meanAbsDiff(data, ref) < DAMAGED) result.exact++;
        else result.damagedAsSuccess++;
        if (m.intact && !input.concealsDamage) {
          const code = readFrameCode(data, vl.outWidth, vl.outHeight, { rotation: vl.info.rotation });
          if (code >= 0 && code !== reference.codes[i] && reference.codes.includes(code))
            result.problems.push(`${where}: frame ${i} came back as frame ${reference.codes.indexOf(code)}`);
        }
        return;
      }
      if (!typed(err)) {
        result.problems.push(`${where}: frame ${i}: untyped ${describeError(err)}`);
      } else {
        result.errors[err.code] = (result.errors[err.code] ?? 0) + 1;
        if (FRAME_CODES.includes(err.code) && err.frameIndex !== i)
          result.problems.push(`${where}: frame ${i}: the error names frame ${err.frameIndex}`);
      }
    };
    let vl: VideoLoader | null = null;
    try {
      vl = await open(file);
    } catch (err) {
      if (typed(err)) result.open = err.code;
      else result.problems.push(`${where}: open: untyped ${describeError(err)}`);
      if (m.intact) result.problems.push(`${where}: the container is intact but open failed: ${describeError(err)}`);
    }
    if (vl) {
      try {
        if (m.intact && vl.nFrames !== reference.frames.length)
          result.problems.push(`${where}: ${vl.nFrames} frames, the clean file has ${reference.frames.length}`);
        const rand = seededRandom(seed);
        const order = Array.from({ length: vl.nFrames }, (_, i) => i).sort(() => rand() - 0.5);
        for (const i of order) {
          result.frames++;
          try {
            judge(i, (await vl.selectRawFrames([i]))[0].data, null, vl);
          } catch (err) {
            judge(i, null, err, vl);
          }
        }
        // One batch across the file: typed errors only, and the loader still usable after errors.
        try {
          const batch = order.slice(0, 16);
          const frames = await vl.selectRawFrames(batch);
          frames.forEach((f, k) => {
            if (f.report.index !== batch[k]) result.problems.push(`${where}: batch slot ${k} is frame ${f.report.index}`);
          });
        } catch (err) {
          if (!typed(err)) result.problems.push(`${where}: batch: untyped ${describeError(err)}`);
        }
      } finally {
        await vl.close();
      }
    }
    fs.rmSync(file, { force: true });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

// Exit code 3: the harness itself failed (not the file under test); the parent stops the run.
main().catch((err) => {
  process.stderr.write(`fuzz worker: ${err instanceof Error && err.stack ? err.stack : describeError(err)}\n`);
  process.exit(HARNESS_FAILED);
});
