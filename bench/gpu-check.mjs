#!/usr/bin/env node
// The GPU proof for @tvl/nvdec and @tvl/nvvl (issues 4 and 6): run it on a machine with an
// NVIDIA GPU. The build machines and CI have none; their tests cover everything else.
//
//   node bench/gpu-check.mjs prepare <dir>     (where ffmpeg is: writes the clips + manifest)
//   node bench/gpu-check.mjs run <dir> [--self-test] [--json out.json]
//
// `run` needs no ffmpeg CLI: every clip and its expected frame codes come from `prepare`. It
// checks, for nvdec and nvvl on 'cuda':
//   1. conformance: every clip of core's conformance suite; every frame of a shuffled request
//      with duplicates has the right index (codes drawn in the pixels), a full sequential read,
//      and single frames after seeks to scattered places;
//   2. colour parity with @tvl/libav on natural and colour-bar clips, BT.601/709, limited/full:
//      PSNR >= 40 dB; nvvl's fused sequences against core's transforms on libav frames (max abs);
//   3. damaged data: a clip whose middle keyframe is garbage gives, for every frame, the frame
//      (PSNR >= 35 dB against libav on the undamaged clip) or TVL_CORRUPT_DATA naming it, and
//      at least one TVL_CORRUPT_DATA: NVDEC's decode status must reach the caller; and core's
//      corruption sweep on 12 seeded damaged copies (MP4 and MKV, damaged packets or bursts):
//      frames or typed errors only, never a crash, and never a clean copy of another frame;
//   4. throughput on a 1080p H.264 clip, host copy included: nvdec one loader sequential, and 1,
//      2, 4, 8 loaders at once (aggregate fps); nvvl 16-frame clips 1080p -> 224x224 normalised
//      (clips/s and frames/s), one loader and several.
// --self-test runs the same script with the CPU paths (libav for nvdec, nvvl's CPU path), to
// check the script itself where there is no GPU. Exit code: 0 all passed, 1 a check failed.
import '@tensorflow/tfjs-backend-cpu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VideoLoader } from '@tvl/core';
import '@tvl/libav';
import '@tvl/nvdec';
import { SequenceLoader } from '@tvl/nvvl';
import { PICKS, RANDOM_ACCESS_CLIP, median, minimalDecode, range, seededPicks } from './random-access.mjs';

const [command, dir, ...rest] = process.argv.slice(2);
const selfTest = rest.includes('--self-test');
const jsonOut = rest.includes('--json') ? rest[rest.indexOf('--json') + 1] : null;
if (!['prepare', 'run'].includes(command) || !dir) {
  console.error('usage: gpu-check.mjs prepare <dir> | run <dir> [--self-test] [--json out.json]');
  process.exit(2);
}

if (command === 'prepare') {
  const { CONFORMANCE_CASES, conformanceClip, makeColourClip, runFfmpeg, damagedSourceClip, damagedCopy, sweepSource } =
    await import('@tvl/testkit');
  fs.mkdirSync(dir, { recursive: true });
  process.env.TVL_TEST_MEDIA ??= dir;
  const manifest = { conformance: [], colour: [], damaged: null, sweep: [], throughput: null };
  for (const c of CONFORMANCE_CASES) {
    const { file, expected } = conformanceClip(c);
    manifest.conformance.push({ name: c.name, codec: c.spec.codec, file: copyInto(dir, file), expected, rotate: c.spec.rotate ?? 0 });
  }
  for (const source of ['natural', 'smptebars'])
    for (const matrix of ['bt601', 'bt709'])
      for (const range of ['limited', 'full']) {
        manifest.colour.push({ name: `${source} ${matrix} ${range}`, file: copyInto(dir, makeColourClip(source, matrix, range)) });
      }
  const damaged = damagedSourceClip();
  manifest.damaged = { source: copyInto(dir, damaged.source), file: copyInto(dir, damaged.file) };
  for (const container of ['mp4', 'mkv'])
    for (const mode of ['packets', 'bursts'])
      for (const seed of [1, 2, 3]) {
        const source = sweepSource(container);
        manifest.sweep.push({ source: copyInto(dir, source), file: copyInto(dir, damagedCopy(source, mode, seed)), mode, seed });
      }
  const big = path.join(dir, 'h264-1080p-gop50.mp4');
  if (!fs.existsSync(big)) {
    runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=1920x1080:r=25',
      '-frames:v',
      '500',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '30',
      '-g',
      '50',
      '-bf',
      '2',
      '-pix_fmt',
      'yuv420p',
      big,
    ]);
  }
  manifest.throughput = { file: path.basename(big), frames: 500 };
  const { benchClip } = await import('./bench-clips.mjs');
  manifest.randomAccess = { file: copyInto(dir, benchClip(RANDOM_ACCESS_CLIP.name, RANDOM_ACCESS_CLIP.spec)) };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  console.log(`prepared ${manifest.conformance.length + manifest.colour.length + manifest.sweep.length + 5} clips in ${dir}`);
  process.exit(0);
}

function copyInto(target, file) {
  const name = path.basename(file);
  if (path.resolve(path.dirname(file)) !== path.resolve(target)) fs.copyFileSync(file, path.join(target, name));
  return name;
}

const {
  psnr,
  firstDecodable,
  checkRandomAccess,
  checkSequential,
  checkSeeks,
  checkSparseAccess,
  checkExactOrCorrupt,
  FUSED_PROCESSING_CASE,
  fusedProcessingError,
  checkDamagedCopy,
} = await import('@tvl/testkit');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const clip = (name) => path.join(dir, name);
const gpu = selfTest
  ? { nvdec: { backend: 'libav', device: 'cpu' }, nvvl: { backend: 'nvvl', device: 'cpu' }, seq: 'cpu' }
  : { nvdec: { backend: 'nvdec', device: 'cuda' }, nvvl: { backend: 'nvvl', device: 'cuda' }, seq: 'cuda' };
const results = {
  date: new Date().toISOString(),
  selfTest,
  uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
  checks: [],
  throughput: {},
  randomAccess: {},
};
let failed = 0;
function record(name, ok, detail) {
  results.checks.push({ name, ok, ...detail });
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' ' + JSON.stringify(detail) : ''}`);
}

// 1. Conformance.
for (const role of ['nvdec', 'nvvl']) {
  for (const c of manifest.conformance) {
    const name = `conformance ${role}: ${c.name}`;
    try {
      const vl = await VideoLoader.open(clip(c.file), gpu[role]);
      try {
        // The same checks as the conformance suite's (@tvl/testkit checks.ts).
        const first = firstDecodable(c.expected);
        const wrong = await checkRandomAccess(vl, c.expected, first);
        const sequential = await checkSequential(vl, c.expected, first);
        const seekWrong = [...(await checkSeeks(vl, c.expected, first)), ...(await checkSparseAccess(vl, c.expected, first))];
        record(
          name,
          vl.nFrames === c.expected.length &&
            wrong.length === 0 &&
            sequential.wrong.length === 0 &&
            sequential.ended &&
            seekWrong.length === 0,
          { frames: vl.nFrames, wrong: wrong.slice(0, 5), sequentialWrong: sequential.wrong.slice(0, 5), seekWrong, backend: vl.backend },
        );
      } finally {
        await vl.close();
      }
    } catch (err) {
      // MPEG-4 part 2 and MJPEG are decoded "where the GPU can": a GPU without them must say so
      // with TVL_UNSUPPORTED_CODEC at open, which is then the expected answer, not a failure.
      const optional = ['mpeg4', 'mjpeg'].includes(c.codec) && err.code === 'TVL_UNSUPPORTED_CODEC';
      record(name, optional, { ...(optional ? { skipped: 'this GPU lacks the codec' } : {}), error: `${err.code ?? ''} ${err.message}` });
    }
  }
}

// 2. Colour parity with libav.
for (const role of ['nvdec', 'nvvl']) {
  for (const c of manifest.colour) {
    try {
      const ref = await VideoLoader.open(clip(c.file), { backend: 'libav' });
      const vl = await VideoLoader.open(clip(c.file), gpu[role]);
      try {
        const a = await ref.selectRawFrames([0, 5, 11]);
        const b = await vl.selectRawFrames([0, 5, 11]);
        const db = Math.min(...b.map((f, k) => psnr(f.data, a[k].data)));
        record(`colour ${role}: ${c.name}`, db >= 40, { minPsnrDb: Number(db.toFixed(2)) });
      } finally {
        await Promise.all([ref.close(), vl.close()]);
      }
    } catch (err) {
      record(`colour ${role}: ${c.name}`, false, { error: `${err.code ?? ''} ${err.message}` });
    }
  }
}
try {
  const natural = clip(manifest.colour.find((c) => c.name === 'natural bt709 limited').file);
  const { start, count, processing } = FUSED_PROCESSING_CASE;
  const seq = new SequenceLoader({ device: gpu.seq });
  const batch = await seq.load([{ path: natural, start, count }], processing);
  await seq.close();
  const { meanAbs, maxAbs } = await fusedProcessingError(batch.tensor, natural);
  batch.tensor.dispose();
  record('nvvl fused processing vs core transforms on libav frames', meanAbs < 0.01 && maxAbs < 0.5, {
    meanAbs: Number(meanAbs.toFixed(4)),
    maxAbs: Number(maxAbs.toFixed(4)),
    units: '0..1 before normalising',
  });
} catch (err) {
  record('nvvl fused processing vs core transforms on libav frames', false, { error: `${err.code ?? ''} ${err.message}` });
}

// 3. Damaged data: never a silent wrong frame.
for (const role of ['nvdec', 'nvvl']) {
  const name = `damaged keyframe ${role}: every frame exact or TVL_CORRUPT_DATA naming it`;
  try {
    const ref = await VideoLoader.open(clip(manifest.damaged.source), { backend: 'libav' });
    const vl = await VideoLoader.open(clip(manifest.damaged.file), gpu[role]);
    let found;
    try {
      found = await checkExactOrCorrupt(vl, async (rgb, i) => psnr(rgb, (await ref.selectRawFrames([i]))[0].data) >= 35);
    } finally {
      await Promise.all([ref.close(), vl.close()]);
    }
    const { corrupt, wrong, otherErrors } = found;
    record(name, corrupt.length > 0 && wrong.length === 0 && otherErrors.length === 0, {
      corrupt: corrupt.length,
      wrong: wrong.slice(0, 5),
      otherErrors: otherErrors.slice(0, 3),
    });
  } catch (err) {
    record(name, false, { error: `${err.code ?? ''} ${err.message}` });
  }
}

// The corruption sweep: the reference for copies with an intact container is libav's decoding
// of the undamaged source.
const sweepReferences = new Map();
async function referenceFrames(source) {
  if (!sweepReferences.has(source)) {
    const ref = await VideoLoader.open(clip(source), { backend: 'libav' });
    const frames = await ref.selectRawFrames(Array.from({ length: ref.nFrames }, (_, i) => i));
    await ref.close();
    sweepReferences.set(
      source,
      frames.map((f) => f.data),
    );
  }
  return sweepReferences.get(source);
}
for (const role of ['nvdec', 'nvvl']) {
  const name = `corruption sweep ${role}: ${manifest.sweep?.length ?? 0} damaged copies, frames or typed errors only, never another frame`;
  try {
    const problems = [];
    for (const c of manifest.sweep ?? []) {
      const reference = c.mode === 'packets' ? await referenceFrames(c.source) : undefined;
      problems.push(...(await checkDamagedCopy(clip(c.file), (f) => VideoLoader.open(f, gpu[role]), c.seed, reference, 3)));
    }
    record(name, (manifest.sweep?.length ?? 0) > 0 && problems.length === 0, { problems: problems.slice(0, 5) });
  } catch (err) {
    record(name, false, { error: `${err.code ?? ''} ${err.message}` });
  }
}

// 4. Throughput (host copy included: frames end in JS memory).
const big = clip(manifest.throughput.file);
async function sequentialFps(loaders) {
  const vls = await Promise.all(Array.from({ length: loaders }, () => VideoLoader.open(big, gpu.nvdec)));
  const start = performance.now();
  const counts = await Promise.all(
    vls.map(async (vl) => {
      // 32 frames per native call, in order: the planner continues without seeking.
      for (let at = 0; at < vl.nFrames; at += 32) {
        await vl.selectRawFrames(Array.from({ length: Math.min(32, vl.nFrames - at) }, (_, k) => at + k));
      }
      return vl.nFrames;
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(vls.map((vl) => vl.close()));
  return counts.reduce((a, b) => a + b, 0) / seconds;
}
async function clipsPerSecond(loaders, clipsEach) {
  const processing = {
    resize: { width: 256, height: 256 },
    crop: { width: 224, height: 224, random: true },
    flip: 0.5,
    normalise: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  const seqs = Array.from({ length: loaders }, () => new SequenceLoader({ device: gpu.seq }));
  await Promise.all(seqs.map((s) => s.load([{ path: big, start: 0, count: 1 }], processing).then((b) => b.tensor.dispose())));
  const start = performance.now();
  await Promise.all(
    seqs.map(async (s, l) => {
      for (let k = 0; k < clipsEach; k++) {
        const b = await s.load([{ path: big, start: ((l * 7 + k) * 37) % (manifest.throughput.frames - 16), count: 16 }], processing);
        b.tensor.dispose();
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(seqs.map((s) => s.close()));
  const clips = loaders * clipsEach;
  return { clipsPerSecond: clips / seconds, framesPerSecond: (clips * 16) / seconds };
}
for (const loaders of selfTest ? [1, 2] : [1, 2, 4, 8]) {
  try {
    const fps = await sequentialFps(loaders);
    results.throughput[`nvdec ${loaders} loader(s), 1080p rgb24`] = Number(fps.toFixed(1));
    console.log(`nvdec, ${loaders} loader(s): ${fps.toFixed(1)} fps aggregate (1080p H.264, uint8 RGB in host memory)`);
  } catch (err) {
    record(`throughput nvdec ${loaders}`, false, { error: `${err.code ?? ''} ${err.message}` });
  }
}
for (const loaders of selfTest ? [1] : [1, 4]) {
  try {
    const r = await clipsPerSecond(loaders, selfTest ? 2 : 20);
    results.throughput[`nvvl ${loaders} loader(s), 16x1080p->224 normalised`] = {
      clipsPerSecond: Number(r.clipsPerSecond.toFixed(2)),
      framesPerSecond: Number(r.framesPerSecond.toFixed(1)),
    };
    console.log(
      `nvvl, ${loaders} loader(s): ${r.clipsPerSecond.toFixed(2)} clips/s, ${r.framesPerSecond.toFixed(1)} frames/s (16 x 1080p -> 224x224 float32 normalised)`,
    );
  } catch (err) {
    record(`throughput nvvl ${loaders}`, false, { error: `${err.code ?? ''} ${err.message}` });
  }
}

// 5. CPU random access across this machine's cores (issue 20): @tvl/libav's GOP-parallel plans
// (up to one lane per thread, the threads shared out among them) on bench.mjs's 720p clip and
// its 32 random frames, and a plan of two clips, for 1, 2, 4, ... threads. Figures, not checks
// (the conformance checks above prove the frames). The bound is the minimal decode (each wanted
// GOP from its keyframe to its last wanted frame) at the straight-line decode rate with as many
// threads, which TVL measures by opening with `index: 'decoded'` (every frame decoded once,
// nothing converted): the CLI's `-f null`, which bench.mjs measures it by, is not on this machine.
async function randomAccessFigures(file, threads) {
  const open = (options = {}) => VideoLoader.open(file, { backend: 'libav', threads, ...options });
  const start = performance.now();
  const vl = await open({ index: 'decoded' });
  const decoding = vl.nFrames / ((performance.now() - start) / 1000);
  if (vl.frameIndex.fromCache) throw new Error('the frame index came from TVL_INDEX_CACHE, so nothing was decoded: unset it');
  const { frameIndex } = vl;
  await vl.close();
  const picks = seededPicks(frameIndex.length, PICKS, 42);
  const bound = minimalDecode(frameIndex, picks);
  // One call on a fresh loader each round, as a first request is: making the lanes is included.
  const oneCall = async (options, frames = picks) => {
    const times = [];
    let decoded = 0;
    for (let round = 0; round < 3; round++) {
      const fresh = await open(options);
      try {
        const start = performance.now();
        await fresh.selectRawFrames(frames);
        times.push((performance.now() - start) / 1000);
        decoded = fresh.decodeWork.framesDecoded;
      } finally {
        await fresh.close();
      }
    }
    return { fps: frames.length / median(times), decoded };
  };
  const all = await oneCall();
  // Two 16-frame clips late in two GOPs: a plan of two runs, fewer than a big machine's cores, so
  // the lane gets half of them as decoder threads (does that beat one decoder with them all?).
  const clips = [...range(200, 216), ...range(330, 346)];
  const twoClips = await oneCall({}, clips);
  const twoClipsBound = clips.length / (minimalDecode(frameIndex, clips).frames / decoding);
  const skipping = await oneCall({ backendOptions: { skipUnreferenced: true } });
  const each = await open();
  let rising;
  try {
    const start = performance.now();
    for (const i of [...picks].sort((a, b) => a - b)) await each.selectRawFrames([i]);
    rising = PICKS / ((performance.now() - start) / 1000);
  } finally {
    await each.close();
  }
  const boundFps = PICKS / (bound.frames / decoding);
  return { decoding, boundFps, bound, all, skipping, rising, twoClips, twoClipsBound };
}
if (manifest.randomAccess) {
  const file = clip(manifest.randomAccess.file);
  const cores = os.availableParallelism();
  const threadCounts = selfTest
    ? [1, 2]
    : [...new Set([1, 2, 4, 8, 16, Math.min(cores, 16)])].filter((t) => t <= cores).sort((a, b) => a - b);
  console.log(`libav random access, ${cores} cores (${PICKS} random frames of a 1280x720 60 fps H.264 clip, GOP 120, B-frames):`);
  let oneThread;
  for (const threads of threadCounts) {
    try {
      const r = await randomAccessFigures(file, threads);
      oneThread ??= r.all.fps;
      const f = (x) => Number(x.toFixed(1));
      results.randomAccess[`${threads} threads`] = {
        decodeFps: f(r.decoding),
        boundFps: f(r.boundFps),
        oneCallFps: f(r.all.fps),
        oneCallOfBound: Number((r.all.fps / r.boundFps).toFixed(2)),
        oneCallOfOneThread: Number((r.all.fps / oneThread).toFixed(2)),
        framesDecoded: r.all.decoded,
        minimalFrames: r.bound.frames,
        skipUnreferencedFps: f(r.skipping.fps),
        skipUnreferencedDecoded: r.skipping.decoded,
        risingOneCallEachFps: f(r.rising),
        risingOfOneCall: Number((r.rising / r.all.fps).toFixed(2)),
        twoClipsFps: f(r.twoClips.fps),
        twoClipsOfBound: Number((r.twoClips.fps / r.twoClipsBound).toFixed(2)),
      };
      console.log(
        `  ${threads} thread(s): decoding ${f(r.decoding)} fps; one call ${f(r.all.fps)} fps ` +
          `(${(r.all.fps / r.boundFps).toFixed(2)}x the bound of ${f(r.boundFps)}, ${(r.all.fps / oneThread).toFixed(2)}x 1 thread, ` +
          `${r.all.decoded} frames decoded for ${r.bound.frames} needed); skipUnreferenced ${f(r.skipping.fps)} fps ` +
          `(${r.skipping.decoded} decoded); one call each, rising, ${f(r.rising)} fps (${(r.rising / r.all.fps).toFixed(2)}x one call); ` +
          `two 16-frame clips in one call ${f(r.twoClips.fps)} fps (${(r.twoClips.fps / r.twoClipsBound).toFixed(2)}x their bound)`,
      );
    } catch (err) {
      record(`random access libav ${threads} threads`, false, { error: `${err.code ?? ''} ${err.message}` });
    }
  }
}

if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2));
console.log(`${results.checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
