/**
 * Test clips made with the ffmpeg CLI, so suites run anywhere ffmpeg does. Each frame carries its
 * own index as a 4x4 grid of black/white blocks: blocks 0..11 are the index's bits, blocks 12..15
 * repeat bits 0..3 inverted as a check. Flat blocks survive every codec, so reading the grid back
 * tells exactly which frame a decoder returned.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** 'hevc10' and 'vp9-10bit': 10-bit 4:2:0 (HEVC Main 10, VP9 profile 2). */
export type TestCodec = 'h264' | 'hevc' | 'hevc10' | 'vp9' | 'vp9-10bit' | 'av1' | 'mpeg4' | 'mjpeg';

export interface ClipSpec {
  codec: TestCodec;
  container: 'mp4' | 'mkv' | 'webm' | 'avi' | 'mov';
  frames?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe interval (GOP size). */
  gop?: number;
  /** Max consecutive B-frames (h264/hevc). */
  bframes?: number;
  /** x264 open GOP: recovery-point I-frames with leading B-frames. */
  openGop?: boolean;
  /** Offset added to every timestamp (non-zero start time). */
  startTime?: number;
  /** Variable frame rate: intervals alternate between 1/(2 fps) and 3/(2 fps). */
  vfr?: boolean;
  /** Container rotation metadata (mp4/mov), degrees clockwise as ffmpeg's rotate tag. */
  rotate?: number;
  /** Full-range YUV instead of limited. */
  fullRange?: boolean;
  /** HEVC: a checksum of every decoded picture in the stream (x265 --hash 2), as some encoders write. */
  pictureHash?: boolean;
}

export const FRAME_CODE_BITS = 12;

/** Where generated clips are cached (TVL_TEST_MEDIA or the OS temp dir). */
export function testMediaDir(): string {
  const dir = process.env.TVL_TEST_MEDIA ?? path.join(os.tmpdir(), 'tvl-test-media');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A generated file in testMediaDir(), made once by `make` (which writes the path it is given),
 * then reused. Parallel jest workers each write their own temporary file, then rename it.
 */
export function cachedMedia(name: string, make: (file: string) => void): string {
  const file = path.join(testMediaDir(), name);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.tmp.${process.pid}${path.extname(file)}`; // the extension tells ffmpeg the format
    make(tmp);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** The video packets of `file` in decode order: byte position, size and keyframe flag (ffprobe). */
export function videoPackets(file: string): Array<{ pos: number; size: number; keyframe: boolean }> {
  // ffprobe prints the fields in its own order (size, pos, flags), whatever order they are asked in.
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size,pos,flags', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  // (MPEG-TS adds lines of its own: only "size,pos,flags" rows are packets.)
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(','))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]) && /^\d+$/.test(f[1]))
    .map(([size, pos, flags]) => ({ pos: Number(pos), size: Number(size), keyframe: flags.startsWith('K') }));
}

export function hasFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

export function runFfmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr || r.error}`);
}

const codeExpr =
  'st(0,floor(X*4/W)+4*floor(Y*4/H));' + '255*if(lt(ld(0),12),mod(floor(N/pow(2,ld(0))),2),1-mod(floor(N/pow(2,ld(0)-12)),2))';

function encoderArgs(spec: Required<Omit<ClipSpec, 'rotate' | 'startTime' | 'pictureHash'>> & ClipSpec): string[] {
  const g = String(spec.gop);
  switch (spec.codec) {
    case 'h264': {
      const params = [`keyint=${spec.gop}`, `bframes=${spec.bframes}`, 'scenecut=0'];
      if (spec.openGop) params.push('open-gop=1');
      return [
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '18',
        '-x264-params',
        params.join(':'),
        '-pix_fmt',
        spec.fullRange ? 'yuvj420p' : 'yuv420p',
      ];
    }
    case 'hevc':
    case 'hevc10':
      return [
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-crf',
        '18',
        '-x265-params',
        // hash=2: a CRC of every decoded picture in an SEI, which FFmpeg checks (AV_EF_CRCCHECK).
        `keyint=${spec.gop}:min-keyint=${spec.gop}:bframes=${spec.bframes}:scenecut=0:log-level=error${spec.pictureHash ? ':hash=2' : ''}`,
        '-pix_fmt',
        spec.codec === 'hevc10' ? 'yuv420p10le' : 'yuv420p',
        ...(spec.container === 'mp4' ? ['-tag:v', 'hvc1'] : []),
      ];
    case 'vp9':
    case 'vp9-10bit':
      return [
        '-c:v',
        'libvpx-vp9',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-crf',
        '20',
        '-b:v',
        '0',
        '-g',
        g,
        '-pix_fmt',
        spec.codec === 'vp9-10bit' ? 'yuv420p10le' : 'yuv420p',
      ];
    case 'av1':
      return ['-c:v', 'libaom-av1', '-cpu-used', '8', '-usage', 'realtime', '-crf', '20', '-b:v', '0', '-g', g, '-pix_fmt', 'yuv420p'];
    case 'mpeg4':
      return ['-c:v', 'mpeg4', '-q:v', '2', '-g', g, '-bf', String(spec.bframes), '-pix_fmt', 'yuv420p'];
    case 'mjpeg':
      return ['-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', 'yuvj420p'];
  }
}

/** Creates (once, cached by its spec) a clip whose frames carry their index; returns its path. */
export function makeIndexedClip(spec: ClipSpec): string {
  const s = {
    frames: 60,
    width: 160,
    height: 120,
    fps: 25,
    gop: 12,
    bframes: 2,
    openGop: false,
    vfr: false,
    fullRange: false,
    ...spec,
  };
  const key = createHash('sha1').update(JSON.stringify(s)).digest('hex').slice(0, 10);
  const out = path.join(testMediaDir(), `indexed-${s.codec}-${key}.${s.container}`);
  if (fs.existsSync(out)) return out;
  const filters = [`format=yuv420p`, `geq=lum='${codeExpr}':cb=128:cr=128`];
  if (s.vfr) filters.push('settb=1/1000', `setpts='(floor(N/2)*4+mod(N,2))/(${2 * s.fps})/TB'`);
  const args = [
    '-f',
    'lavfi',
    '-i',
    `color=c=black:s=${s.width}x${s.height}:r=${s.fps}`,
    '-vf',
    filters.join(','),
    '-frames:v',
    String(s.frames),
  ];
  args.push(...encoderArgs(s));
  if (s.vfr) args.push('-fps_mode', 'passthrough', '-enc_time_base', '1/1000');
  if (s.fullRange) args.push('-color_range', 'pc');
  if (s.startTime) args.push('-output_ts_offset', String(s.startTime));
  const tmp = `${out}.tmp.${process.pid}.${s.container}`;
  runFfmpeg([...args, tmp]);
  if (s.rotate) {
    // FFmpeg 5.1 turns the rotate tag into a display matrix only when stream-copying.
    const rotated = `${tmp}.rot.${s.container}`;
    runFfmpeg(['-i', tmp, '-c', 'copy', '-metadata:s:v:0', `rotate=${s.rotate}`, rotated]);
    fs.renameSync(rotated, tmp);
  }
  fs.renameSync(tmp, out);
  return out;
}

/**
 * Reads the frame index drawn into an RGB frame (any dtype; float32 in [0, 1] or 0..255).
 * `rotation` is the clockwise rotation the decoder applied. Returns -1 if the check bits disagree.
 */
export function readFrameCode(
  data: ArrayLike<number>,
  width: number,
  height: number,
  options: { layout?: 'hwc' | 'chw'; rotation?: number; scale?: number } = {},
): number {
  const layout = options.layout ?? 'hwc';
  const rotation = options.rotation ?? 0;
  const scale = options.scale ?? (data instanceof Float32Array ? 1 : 255);
  // Size of the frame before rotation (the grid lives in those coordinates).
  const swap = rotation === 90 || rotation === 270;
  const srcW = swap ? height : width;
  const srcH = swap ? width : height;
  const lumaAt = (sx: number, sy: number): number => {
    let x = sx,
      y = sy; // source -> output coordinates (inverse of the decoder's rotation)
    if (rotation === 90) {
      x = srcH - 1 - sy;
      y = sx;
    } else if (rotation === 180) {
      x = srcW - 1 - sx;
      y = srcH - 1 - sy;
    } else if (rotation === 270) {
      x = sy;
      y = srcW - 1 - sx;
    }
    let sum = 0;
    for (let c = 0; c < 3; c++) {
      sum += layout === 'hwc' ? data[(y * width + x) * 3 + c] : data[c * width * height + y * width + x];
    }
    return sum / 3 / scale;
  };
  const bits: number[] = [];
  for (let b = 0; b < 16; b++) {
    const cx = Math.floor((((b % 4) + 0.5) * srcW) / 4);
    const cy = Math.floor(((Math.floor(b / 4) + 0.5) * srcH) / 4);
    let v = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) v += lumaAt(cx + dx, cy + dy);
    bits.push(v / 9 > 0.5 ? 1 : 0);
  }
  let code = 0;
  for (let b = 0; b < FRAME_CODE_BITS; b++) code |= bits[b] << b;
  for (let b = 0; b < 4; b++) if (bits[12 + b] === bits[b]) return -1;
  return code;
}

/** Frames as the ffmpeg CLI decodes them (auto-rotated, rgb24), in presentation order. */
export function ffmpegRgbFrames(file: string, maxFrames = Infinity): { width: number; height: number; frames: Uint8Array[] } {
  const probe = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:stream_side_data=rotation', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  const stream = JSON.parse(probe.stdout).streams[0];
  const rotation = Math.abs(Number(stream.side_data_list?.[0]?.rotation ?? 0)) % 180;
  const [width, height] = rotation === 90 ? [stream.height, stream.width] : [stream.width, stream.height];
  const limit = Number.isFinite(maxFrames) ? ['-frames:v', String(maxFrames)] : [];
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-i', file, '-fps_mode', 'passthrough', ...limit, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${r.stderr}`);
  const size = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= r.stdout.length; off += size) frames.push(new Uint8Array(r.stdout.subarray(off, off + size)));
  return { width, height, frames };
}

/** An image file (e.g. a reference JPEG) decoded to rgb24 by the ffmpeg CLI, optionally resized. */
export function decodeImageRgb(file: string, size?: { width: number; height: number }): Uint8Array {
  const scale = size ? ['-vf', `scale=${size.width}:${size.height}`] : [];
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, ...scale, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

/** Where the original TVL's sample videos live, when this checkout has them (TVL_FIXTURES overrides). */
export function tvlFixturesDir(): string | null {
  const candidates = [
    process.env.TVL_FIXTURES,
    path.resolve(process.cwd(), '../shared/fixtures/tvl'),
    path.resolve(process.cwd(), '../../../shared/fixtures/tvl'),
  ];
  for (const dir of candidates) if (dir && fs.existsSync(path.join(dir, 'board_game-h264.mkv'))) return dir;
  return null;
}

/** Mean absolute difference between two equally sized byte images. */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`size mismatch: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Peak signal-to-noise ratio in dB of two 0..255 images (Infinity when identical). */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`size mismatch: ${a.length} vs ${b.length}`);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

export type TestColourMatrix = 'bt601' | 'bt709';

/**
 * A clip with stated colours, converted to YUV with `matrix` and `range` and tagged with both,
 * as yuv420p (full range too: decoders must read the tag, not the pixel format). `source`:
 * 'natural' is testsrc2 with its saturation halved (the colour range of camera footage),
 * 'testsrc2' and 'smptebars' are fully saturated test patterns. `codec`: H.264, or VP9 (which
 * the emulated NVIDIA driver decodes through FFmpeg's NVDEC hwaccel).
 */
export function makeColourClip(
  source: 'natural' | 'testsrc2' | 'smptebars',
  matrix: TestColourMatrix,
  range: 'limited' | 'full',
  codec: 'h264' | 'vp9' = 'h264',
): string {
  const file = path.join(testMediaDir(), `colour-${source}-${matrix}-${range}${codec === 'h264' ? '' : `-${codec}`}.mkv`);
  if (fs.existsSync(file)) return file;
  const tag = matrix === 'bt601' ? 'smpte170m' : 'bt709';
  const tmp = `${file}.tmp.mkv`;
  const input = source === 'natural' ? 'testsrc2=s=320x240:r=25,hue=s=0.5' : `${source}=s=320x240:r=25`;
  const encoder =
    codec === 'h264'
      ? ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12']
      : ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '10', '-b:v', '0'];
  runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    input,
    '-frames:v',
    '12',
    '-vf',
    `scale=out_color_matrix=${matrix}:out_range=${range === 'full' ? 'pc' : 'tv'}:flags=accurate_rnd+full_chroma_int,format=yuv420p`,
    ...encoder,
    '-colorspace',
    tag,
    '-color_primaries',
    tag,
    '-color_trc',
    tag,
    '-color_range',
    range === 'full' ? 'pc' : 'tv',
    tmp,
  ]);
  fs.renameSync(tmp, file);
  return file;
}

/** The codes the ffmpeg CLI decodes from a clip, in presentation order: the reference for exactness. */
export function ffmpegFrameCodes(file: string): number[] {
  const probe = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  const [w, h] = probe.stdout.trim().split('\n')[0].split(',').map(Number);
  const r = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-noautorotate',
      '-i',
      file,
      '-fps_mode',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${r.stderr}`);
  const frame = w * h * 3;
  const codes: number[] = [];
  for (let off = 0; off + frame <= r.stdout.length; off += frame) {
    codes.push(readFrameCode(r.stdout.subarray(off, off + frame), w, h, { scale: 255 }));
  }
  return codes;
}
