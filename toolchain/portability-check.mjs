// Runs inside a bare Debian system where TVL's tarballs were installed with npm (see
// toolchain/portability.sh): decodes every clip of the manifest through one backend and checks
// each frame against the ffmpeg CLI's. Self-contained: only what a user would have installed.
// Prints one line per check ("ok ..." / "FAIL ...").
//   node portability-check.mjs MEDIA_DIR BACKEND [--expect-load-failure | --allow-refusal]
// --allow-refusal: a clip the backend refuses with TVL_UNSUPPORTED_CODEC (a known defect of the
// system library it wraps) passes, and the line says so; wrong frames never do.
import fs from 'node:fs';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';

const [mediaDir, backend, expectation] = process.argv.slice(2);
await import(`@tvl/${backend}`);
const { clips } = JSON.parse(fs.readFileSync(path.join(mediaDir, 'manifest.json'), 'utf8'));
let failed = 0;
const report = (ok, what) => {
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'FAIL'} ${backend}: ${what}`);
};

function meanAbsDiff(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

if (expectation === '--expect-load-failure') {
  try {
    const vl = await VideoLoader.open(path.join(mediaDir, clips[0].file), { backend, device: 'cpu' });
    await vl.close();
    report(false, 'loaded although its system libraries are missing');
  } catch (err) {
    const helpful = err.code === 'TVL_NATIVE_LOAD_FAILED' && /install/.test(err.message);
    report(helpful, `without its system libraries: ${err.code}, says what to install${helpful ? '' : `\n${err.stack}`}`);
  }
  process.exit(failed ? 1 : 0);
}

for (const clip of clips) {
  const what = `${clip.name}: ${clip.frames} frames exact`;
  try {
    const reference = fs.readFileSync(path.join(mediaDir, clip.reference));
    const size = clip.width * clip.height * 3;
    const ref = (i) => reference.subarray(i * size, (i + 1) * size);
    const vl = await VideoLoader.open(path.join(mediaDir, clip.file), { backend, device: 'cpu' });
    try {
      const problems = [];
      if (vl.nFrames !== clip.frames) problems.push(`nFrames ${vl.nFrames}, the CLI presents ${clip.frames}`);
      for (const i of clip.corrupt) {
        const err = await vl.selectRawFrames([i]).then(
          () => null,
          (e) => e,
        );
        if (err?.code !== 'TVL_CORRUPT_DATA') problems.push(`frame ${i} (broken in the CLI) gave ${err?.code ?? 'a picture'}`);
      }
      const good = Array.from({ length: clip.frames }, (_, i) => i).filter((i) => !clip.corrupt.includes(i));
      // Random order with a repeat, so every request seeks.
      const order = good
        .map((i) => [(Math.sin(i * 12.9898) * 43758.5453) % 1, i])
        .sort((a, b) => a[0] - b[0])
        .map((p) => p[1]);
      order.push(order[0]);
      const frames = await vl.selectRawFrames(order);
      frames.forEach((f, k) => {
        const i = order[k];
        const d = meanAbsDiff(f.data, ref(i));
        // Exact: near the CLI's frame i, and nearer to it than to its neighbours.
        const neighbours = [i - 1, i + 1].filter((j) => j >= 0 && j < clip.frames).map((j) => meanAbsDiff(f.data, ref(j)));
        if (!(d < 1) || neighbours.some((n) => n <= d)) problems.push(`frame ${i}: mean difference ${d.toFixed(2)} from the CLI's`);
      });
      report(problems.length === 0, problems.length === 0 ? what : `${what}: ${problems.slice(0, 3).join('; ')}`);
    } finally {
      await vl.close();
    }
  } catch (err) {
    if (expectation === '--allow-refusal' && err.code === 'TVL_UNSUPPORTED_CODEC') {
      report(true, `${clip.name}: refused (TVL_UNSUPPORTED_CODEC: ${err.message})`);
    } else {
      report(false, `${what}: ${err.code ?? ''} ${err.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
