#!/usr/bin/env node
// The main job on a sample: generates a 1280x720 H.264 clip with the ffmpeg CLI (or takes the
// path given), opens it with TVL on the CPU, and prints what it loaded.
//   node examples/load-sample.mjs [video]
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VideoLoader } from '@tvl/core';
import '@tvl/libav';

let file = process.argv[2];
if (!file) {
  file = path.join(os.tmpdir(), 'tvl-sample-720p.mp4');
  if (!fs.existsSync(file)) {
    console.log(`generating a sample video: ${file}`);
    const r = spawnSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=1280x720:r=25',
        '-frames:v',
        '250',
        '-c:v',
        'libx264',
        '-g',
        '50',
        '-bf',
        '2',
        '-pix_fmt',
        'yuv420p',
        '-colorspace',
        'bt709',
        '-color_primaries',
        'bt709',
        '-color_trc',
        'bt709',
        file,
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) process.exit(1);
  }
}

await tf.setBackend('cpu');
const vl = await VideoLoader.open(file, { device: 'cpu' });
console.log(String(vl));
console.log(
  `  codec ${vl.info.codec} (${vl.info.profile}), ${vl.info.pixelFormat}, colour ${vl.info.colourMatrix}/${vl.info.colourRange}${vl.info.colourMatrixGuessed ? ' (guessed)' : ''}`,
);
console.log(
  `  ${vl.nFrames} frames, ${vl.frameIndex.keyframeCount} keyframes, duration ${vl.duration.toFixed(3)} s, ${vl.frameRate.toFixed(3)} fps`,
);

const request = [24, 26, 25, 200, 3, 24];
const started = performance.now();
let k = 0;
for await (const frame of vl.selectFrames(request)) {
  const mean = tf.mean(frame).dataSync()[0];
  console.log(`  frame ${request[k++]}: tensor ${frame.dtype} [${frame.shape}] mean ${mean.toFixed(4)}`);
  frame.dispose();
}
const raw = await vl.selectRawFrames([100]);
console.log(`  raw frame report: ${JSON.stringify(raw[0].report)}`);
console.log(`loaded ${request.length + 1} frames in ${(performance.now() - started).toFixed(0)} ms`);
await vl.close();
