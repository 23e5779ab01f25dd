import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFORMANCE_CASES, clipLosingPackets, damagedSourceClip, decodeImageRgb, makeIndexedClip, readFrameCode } from '@tvl/testkit';
import '@tvl/libav';
import { main, parseIndices } from '../src/main.js';
import { encodePng } from '../src/png.js';

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

const clip = () => makeIndexedClip({ codec: 'h264', container: 'mkv', frames: 50, gop: 12, vfr: true });

it('parses indices and ranges with steps', () => {
  expect(parseIndices('0,10,20-23,30-40:5', 50)).toEqual([0, 10, 20, 21, 22, 23, 30, 35, 40]);
  expect(() => parseIndices('60', 50)).toThrow(/out of range/);
  expect(() => parseIndices('a-b', 50)).toThrow(/bad index/);
});

it('encodes PNGs that decode back to the same pixels', () => {
  const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
  const file = path.join(os.tmpdir(), 'tvl-png-test.png');
  fs.writeFileSync(file, encodePng(rgb, 5, 3));
  expect(Array.from(decodeImageRgb(file))).toEqual(Array.from(rgb));
});

it('tvl info summarises the stream and its frame index, as text or JSON', async () => {
  const text = await run('info', clip());
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/frames\s+50/);
  expect(text.stdout).toMatch(/variable/);
  const json = await run('info', clip(), '--json');
  const summary = JSON.parse(json.stdout);
  expect(summary).toMatchObject({ nFrames: 50, keyframes: 5, variableFrameRate: true, codec: 'h264', backend: 'libav' });
  expect(summary.gop).toEqual({ min: 2, mean: 10, max: 12 });
});

it('tvl frames writes the requested frames as PNG files', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-frames-'));
  const r = await run('frames', clip(), '3,17,40-42', '--out', out, '--json');
  expect(r.code).toBe(0);
  const written = JSON.parse(r.stdout) as { index: number; file: string }[];
  expect(written.map((w) => w.index)).toEqual([3, 17, 40, 41, 42]);
  for (const w of written) {
    const rgb = decodeImageRgb(w.file);
    expect(readFrameCode(rgb, 160, 120)).toBe(w.index);
  }
});

it('tvl bench reports fps per installed backend', async () => {
  const r = await run('bench', clip(), '--backends', 'libav,nosuch', '--frames', '20', '--json');
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/@tvl\/nosuch is not installed/);
  const { results } = JSON.parse(r.stdout);
  expect(results.map((x: { backend: string }) => x.backend)).toEqual(['libav']);
  expect(results[0].sequentialFps).toBeGreaterThan(0);
});

it('exit codes: 2 for usage errors, 1 with the error code for TVL errors', async () => {
  expect((await run()).code).toBe(2);
  expect((await run('--help')).code).toBe(0);
  const outOfRange = await run('frames', clip(), '999', '--out', os.tmpdir());
  expect(outOfRange.code).toBe(1);
  expect(outOfRange.stderr).toMatch(/\[TVL_INDEX_OUT_OF_RANGE\].*out of range/);
  const missing = await run('info', '/nonexistent/video.mp4');
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/\[TVL_FILE_NOT_FOUND\]/);
});

it('--version prints the version; unknown flags and commands are usage errors naming the one meant', async () => {
  const version = await run('--version');
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  expect((await run('-V')).stdout).toBe(version.stdout);
  const flag = await run('info', clip(), '--bakend', 'libav');
  expect(flag.code).toBe(2);
  expect(flag.stderr).toMatch(/no option --bakend \(did you mean --backend\?\)/);
  const command = await run('infos', clip());
  expect(command.code).toBe(2);
  expect(command.stderr).toMatch(/unknown command 'infos' \(did you mean 'info'\?\)/);
  expect((await run('info', clip(), '--width', '3')).code).toBe(2); // frames' flag, not info's
  expect((await run('info', clip(), '--backend=libav')).code).toBe(0);
});

it('--json prints errors as JSON on stdout too', async () => {
  const missing = await run('info', '/nonexistent/video.mp4', '--json');
  expect(missing.code).toBe(1);
  expect(JSON.parse(missing.stdout)).toEqual({ error: { code: 'TVL_FILE_NOT_FOUND', message: expect.any(String) } });
  const usage = await run('info', '--json');
  expect(usage.code).toBe(2);
  expect(JSON.parse(usage.stdout).error.code).toBe('TVL_USAGE');
});

it('frames: an output target that cannot be written fails at once with TVL_IO_ERROR, no stack trace', async () => {
  const started = Date.now();
  const proc = await run('frames', clip(), '1', '--out', '/proc/tvl-frames');
  expect(proc.code).toBe(1);
  expect(proc.stderr).toMatch(/\[TVL_IO_ERROR\]: cannot create the output directory '\/proc\/tvl-frames'/);
  expect(Date.now() - started).toBeLessThan(10_000);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-frames-')), 'a-file');
  fs.writeFileSync(file, '');
  const notDir = await run('frames', clip(), '1', '--out', path.join(file, 'sub'));
  expect(notDir.code).toBe(1);
  expect(notDir.stderr).toMatch(/\[TVL_IO_ERROR\].*is not a directory/);
  expect(notDir.stderr).not.toMatch(/\s+at /);
});

it('frames: a damaged frame is reported and the others are written (exit code 1)', async () => {
  const { file } = damagedSourceClip();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-frames-'));
  // Every frame: the damaged GOP's frames fail, the rest are written.
  const r = await run('frames', file, '0-99', '--out', out, '--json');
  expect(r.code).toBe(1);
  const { written, failed } = JSON.parse(r.stdout) as { written: { index: number }[]; failed: { index: number; code: string }[] };
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.every((f) => f.code === 'TVL_CORRUPT_DATA')).toBe(true);
  expect(written.length + failed.length).toBe(100);
  expect(fs.readdirSync(out)).toHaveLength(written.length);
});

it('the installed bin runs (built dist)', () => {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/tvl.js');
  const r = spawnSync(process.execPath, [bin, 'info', clip(), '--json'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout).nFrames).toBe(50);
  const bad = spawnSync(process.execPath, [bin, 'info', '/nonexistent.mp4'], { encoding: 'utf8' });
  expect(bad.status).toBe(1);
});

describe('tvl verify', () => {
  const ffprobeCount = (file: string) =>
    Number(
      spawnSync(
        'ffprobe',
        ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file],
        { encoding: 'utf8' },
      )
        .stdout.trim()
        .split(/[\n,]/)[0],
    ); // (a rotated stream adds a side-data column)

  it.each(CONFORMANCE_CASES)('agrees with ffprobe -count_frames: $name', async (c) => {
    const file = c.derive ? c.derive(makeIndexedClip(c.spec)) : makeIndexedClip(c.spec);
    const r = await run('verify', file, '--json');
    const report = JSON.parse(r.stdout);
    expect(report.agree).toBe(true);
    expect(report.decoder.frames).toBe(ffprobeCount(file));
    // Clean clips verify clean; a stream cut before its keyframe may present damaged pictures.
    const leadingDamage = (report.damaged.length > 0 && report.damaged.every((i: number) => i < 15)) || report.unusable.length > 0;
    expect(r.code).toBe(leadingDamage ? 1 : 0);
  });

  it('reports a damaged file as damaged (exit code 1), naming the frames, with the numbering kept', async () => {
    const r = await run('verify', clipLosingPackets(false));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/agree on all 300 frames/);
    expect(r.stdout).toMatch(/lost\s+\d+ frame\(s\)/);
    expect(r.stdout).toMatch(/NOT OK/);
    const { file } = damagedSourceClip();
    const d = JSON.parse((await run('verify', file, '--json')).stdout);
    expect(d.ok).toBe(false);
    expect(d.damaged.length).toBeGreaterThan(0);
  });
});
