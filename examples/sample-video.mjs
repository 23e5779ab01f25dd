// The examples' sample videos: testsrc2 (frame number drawn in) as H.264, made once with the
// ffmpeg CLI in the temporary folder and reused.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The path of `tvl-<name>.mp4` (size e.g. '640x360'), generated first if missing. */
export function sampleVideo({ name, size, frames = 250, gop = 50, extraArgs = [] }) {
  const file = path.join(os.tmpdir(), `tvl-${name}.mp4`);
  if (fs.existsSync(file)) return file;
  console.log(`generating a sample video: ${file}`);
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${size}:r=25`, '-frames:v', String(frames)].concat([
      '-c:v',
      'libx264',
      '-g',
      String(gop),
      '-bf',
      '2',
      '-pix_fmt',
      'yuv420p',
      ...extraArgs,
      tmp,
    ]),
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`the ffmpeg CLI could not make ${file} (is ffmpeg installed?)`);
  fs.renameSync(tmp, file);
  return file;
}
