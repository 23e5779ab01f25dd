// The benchmarks' input files: H.264 made with the ffmpeg CLI from its test pattern (testsrc2),
// once, into the OS temp dir, and reused by later runs. Shared by bench.mjs and training-loop.mjs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function ffmpeg(args) {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/**
 * `tvl-bench-<name>.mp4` in the temp dir: `{ size: 'WxH', rate, frames, gop, bframes = 2, crf }`
 * encodes a clip (x264 veryfast, a keyframe exactly every `gop` frames); `{ concatOf, copies }`
 * stream-copies another such file `copies` times end to end (`-f concat -c copy`), as long files
 * cut and joined without re-encoding are.
 */
export function benchClip(name, spec) {
  const file = path.join(os.tmpdir(), `tvl-bench-${name}.mp4`);
  if (fs.existsSync(file)) return file;
  const tmp = `${file}.tmp.mp4`;
  const started = Date.now();
  process.stderr.write(`making ${file} with the ffmpeg CLI...`);
  if (spec.concatOf) {
    const list = `${file}.list.txt`;
    fs.writeFileSync(list, `file '${spec.concatOf}'\n`.repeat(spec.copies));
    try {
      ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', tmp]);
    } finally {
      fs.rmSync(list, { force: true });
    }
  } else {
    const { size, rate, frames, gop, bframes = 2, crf } = spec;
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${rate}`, '-frames:v', String(frames)],
      ...['-c:v', 'libx264', '-preset', 'veryfast', ...(crf ? ['-crf', String(crf)] : [])],
      ...['-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', String(bframes), '-pix_fmt', 'yuv420p', tmp],
    ]);
  }
  fs.renameSync(tmp, file);
  process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return file;
}
