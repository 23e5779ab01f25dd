/**
 * Damaged input is reported as typed errors, not as FFmpeg's complaints on stderr. OpenCV decodes
 * with the system's FFmpeg (not TVL's, linked into the addon) and resets its log level inside
 * every open, so TVL sets that library's level after each. The run with TVL_FFMPEG_LOG=16 (errors)
 * shows the check can see messages.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { damagedCopy, sweepSource } from '@tvl/testkit';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Runs in a child process (native stderr cannot be captured in-process), on the built package.
const readEveryFrame = `
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';
import '@tvl/opencv';
const vl = await VideoLoader.open(process.argv[1], { backend: 'opencv' });
let errors = 0;
for (let i = 0; i < vl.nFrames; i++) await vl.selectRawFrames([i]).catch(() => errors++);
await vl.close();
console.log(JSON.stringify({ errors }));
`;

function readDamaged(env: NodeJS.ProcessEnv): { stderr: string; errors: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', readEveryFrame, damagedCopy(sweepSource('mp4'), 'packets', 3)], {
    cwd: packageRoot,
    encoding: 'utf8',
    env,
  });
  expect(r.status).toBe(0);
  return { stderr: r.stderr, errors: JSON.parse(r.stdout).errors };
}

const ffmpegMessage = /\[\w+ @ 0x[0-9a-f]+\]/;

it('reading a damaged file prints nothing from FFmpeg', () => {
  const env = { ...process.env };
  delete env.TVL_FFMPEG_LOG;
  const quiet = readDamaged(env);
  expect(quiet.stderr).not.toMatch(ffmpegMessage);
  const loud = readDamaged({ ...env, TVL_FFMPEG_LOG: '16' });
  expect(loud.stderr).toMatch(ffmpegMessage);
});
