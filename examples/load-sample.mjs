#!/usr/bin/env node
// The main job on a sample: generates a 1280x720 H.264 clip with the ffmpeg CLI (or takes the
// path given), opens it with TVL on the CPU, and prints what it loaded.
//   node examples/load-sample.mjs [video]
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { VideoLoader } from '@tvl/core';
import '@tvl/libav';
import { sampleVideo } from './sample-video.mjs';

const file =
  process.argv[2] ??
  sampleVideo({
    name: 'sample-720p',
    size: '1280x720',
    extraArgs: ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'],
  });

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
