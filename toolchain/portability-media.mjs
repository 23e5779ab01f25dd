// Makes the clips `make portability` decodes in other systems, and what each frame must be:
// one clip per codec and per file shape that has tripped decoders (B-frames without pts, streams
// cut before their first keyframe, raw elementary streams, MPEG-TS), made with the ffmpeg CLI by
// the conformance suite's own recipes, with the CLI's rgb24 decode of every frame as reference.
//   node toolchain/portability-media.mjs OUT_DIR      writes OUT_DIR/manifest.json and the files
import fs from 'node:fs';
import path from 'node:path';
import { CONFORMANCE_CASES, ffmpegFrameCodes, ffmpegRgbFrames, makeIndexedClip } from '../packages/testkit/dist/index.js';

const WANTED = [
  'H.264 in MP4 with B-frames',
  'H.264 in MKV starting with P- and B-frames before its first keyframe',
  'H.264 with B-frames in MPEG-TS',
  'raw H.264 elementary stream (.h264, no timestamps)',
  'HEVC 8-bit in MP4',
  'HEVC 10-bit in MKV',
  'VP9 in WebM',
  'AV1 in MKV',
  'MPEG-4 part 2 with B-frames in AVI (no pts)',
  'MJPEG in AVI',
];

const out = process.argv[2];
if (!out) throw new Error('usage: node toolchain/portability-media.mjs OUT_DIR');
fs.mkdirSync(out, { recursive: true });
const clips = [];
for (const name of WANTED) {
  const c = CONFORMANCE_CASES.find((k) => k.name === name);
  if (!c) throw new Error(`no conformance case named ${name}`);
  let file = makeIndexedClip(c.spec);
  if (c.derive) file = c.derive(file);
  const codes = ffmpegFrameCodes(file);
  const { width, height, frames } = ffmpegRgbFrames(file);
  const base = `${clips.length}${path.extname(file)}`;
  fs.copyFileSync(file, path.join(out, base));
  fs.writeFileSync(path.join(out, `${base}.rgb`), Buffer.concat(frames));
  // Frames the CLI presents broken (no frame number readable) must be a TVL_CORRUPT_DATA error.
  const corrupt = codes.flatMap((code, i) => (code < 0 ? [i] : []));
  clips.push({ name, file: base, reference: `${base}.rgb`, width, height, frames: frames.length, corrupt });
}
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ clips }, null, 2));
console.log(`${clips.length} clips in ${out}`);
