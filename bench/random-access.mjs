// Random requests and their minimal-decode bound, shared by bench.mjs (against the ffmpeg CLI on
// this machine) and gpu-check.mjs (across the lent machine's cores), so both measure the same
// frames of the same clip.

/** The 720p clip of issue 20 (bench-clips.mjs `benchClip` spec): 60 fps, GOP 120, B-frames. */
export const RANDOM_ACCESS_CLIP = { name: '720p60', spec: { size: '1280x720', rate: 60, frames: 1200, gop: 120 } };

/** Frames asked for in one random request. */
export const PICKS = 32;

/** `count` frame indices below `n`, the same for a seed on every machine (a linear congruential generator). */
export function seededPicks(n, count, seed) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, () => Math.floor(rand() * n));
}

/** Frames a decoder must decode for `picks` at least: each wanted GOP from its keyframe to its last wanted frame. */
export function minimalDecode(frameIndex, picks) {
  const last = new Map();
  for (const p of picks) {
    const k = Math.max(0, frameIndex.keyframeAtOrBefore(p));
    last.set(k, Math.max(last.get(k) ?? -1, p));
  }
  let frames = 0;
  for (const [k, l] of last) frames += l - k + 1;
  return { frames, gops: last.size };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const range = (from, to) => Array.from({ length: to - from }, (_, k) => from + k);
