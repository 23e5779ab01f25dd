/**
 * How much @tvl/libav decodes to reach a frame (VideoLoader.decodeWork), on clips whose frames
 * carry their index: a seek lands on the keyframe the plan names, in every container (MP4 with an
 * edit list used to land a whole GOP early); with `skipUnreferenced`, pictures nothing references
 * are not decoded on the way to a wanted frame (H.264 and HEVC) while every frame still shows its
 * own index; GOP-parallel plans match one decoder; the decoded-frame cache (cacheFrames) serves
 * frames asked for again or passed on the way, exactly, within its bound; the seek cost is the
 * decoder's, then measured.
 */
import '@tensorflow/tfjs-backend-cpu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchDataLoader, VideoDataset, VideoLoaderPool, parseDevice, slidingClips, VideoLoader } from '@tvl/core';
import { damagedSourceClip, ffmpegFrameCodes, hasFfmpeg, makeIndexedClip, readFrameCode, type ClipSpec } from '@tvl/testkit';
import { libavBackend } from '../src/index.js';

const maybe = hasFfmpeg() ? describe : describe.skip;

const clips: Array<[string, ClipSpec]> = [
  ['H.264 in MP4 (edit list)', { codec: 'h264', container: 'mp4', frames: 90, gop: 30, bframes: 3 }],
  ['H.264 in MOV', { codec: 'h264', container: 'mov', frames: 90, gop: 30, bframes: 3 }],
  ['H.264 in MKV', { codec: 'h264', container: 'mkv', frames: 90, gop: 30, bframes: 3 }],
  ['HEVC in MP4', { codec: 'hevc', container: 'mp4', frames: 90, gop: 30, bframes: 3 }],
];

maybe.each(clips)('%s', (_name, spec) => {
  const file = makeIndexedClip(spec);
  const expected = ffmpegFrameCodes(file);

  it('a seek to a keyframe decodes from that keyframe, not from an earlier one', async () => {
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 2 });
    try {
      for (const target of [66, 35, 84]) {
        const before = vl.decodeWork;
        const [f] = await vl.selectRawFrames([target]);
        expect(readFrameCode(f.data, f.width, f.height)).toBe(expected[target]);
        const work = vl.decodeWork;
        expect(work.seeks - before.seeks).toBe(1);
        // Keyframes every 30 frames: the frames from the keyframe up to the target, no more.
        expect(work.framesDecoded - before.framesDecoded).toBeLessThanOrEqual((target % 30) + 1);
      }
    } finally {
      await vl.close();
    }
  });

  it('with skipUnreferenced, skips the pictures nothing references before a wanted frame, and keeps every frame exact', async () => {
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 2, backendOptions: { skipUnreferenced: true } });
    try {
      vl.seekToFrame(0);
      const [f] = await vl.selectRawFrames([29]);
      expect(readFrameCode(f.data, f.width, f.height)).toBe(expected[29]);
      // Three B-frames between references: some are never referenced, so fewer than 30 frames come out.
      expect(vl.decodeWork.framesDecoded).toBeLessThan(30);
      // (Without the option every picture up to frame 29 is decoded: damage cannot hide in a skipped one.)
      const plain = await VideoLoader.open(file, { backend: 'libav', threads: 2 });
      await plain.selectRawFrames([29]);
      expect(plain.decodeWork.framesDecoded).toBe(30);
      await plain.close();
      // Then every frame of the GOP, one call each from a seek, and all of it in one call.
      for (const target of [31, 33, 37, 58]) {
        const [g] = await vl.selectRawFrames([target, 59]);
        expect(readFrameCode(g.data, g.width, g.height)).toBe(expected[target]);
      }
      const all = await vl.selectRawFrames(Array.from({ length: 90 }, (_, i) => i));
      expect(all.map((g) => readFrameCode(g.data, g.width, g.height))).toEqual(expected);
    } finally {
      await vl.close();
    }
  });
});

maybe('the seek cost the planner uses', () => {
  it("is the decoder's own: one frame, plus its reorder delay and its frame-thread pipeline", async () => {
    const file = makeIndexedClip(clips[0][1]);
    const costs: number[] = [];
    for (const threads of [1, 4]) {
      const video = await libavBackend.open(file, { device: parseDevice('cpu'), threads });
      costs.push(video.costModel?.seekCost ?? NaN);
      await video.close();
    }
    // x264 with B-frames: a reorder delay of at least one frame; four frame threads add three.
    expect(costs[0]).toBeGreaterThanOrEqual(2);
    expect(costs[1]).toBe(costs[0] + 3);
  });

  it('then what the decoder measured: its seeks timed against frames decoded straight on', async () => {
    const file = makeIndexedClip(clips[0][1]);
    const expected = ffmpegFrameCodes(file);
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 2, cacheFrames: 0 });
    try {
      const reported = vl.seekCost;
      expect(Number.isInteger(reported)).toBe(true);
      for (const i of [70, 10, 50, 80, 20, 60]) {
        const [f] = await vl.selectRawFrames([i]);
        expect(readFrameCode(f.data, f.width, f.height)).toBe(expected[i]);
      }
      expect(vl.decodeWork.seeks).toBeGreaterThanOrEqual(3);
      // A measured ratio of times (not a whole number of frames), within the bounds the backend keeps.
      expect(Number.isInteger(vl.seekCost)).toBe(false);
      expect(vl.seekCost).toBeGreaterThanOrEqual(1);
      expect(vl.seekCost).toBeLessThanOrEqual(256);
    } finally {
      await vl.close();
    }
  });
});

maybe('GOP-parallel plans (runs from different keyframes on decoders of their own)', () => {
  it('deliver exactly what one decoder delivers, pixel for pixel', async () => {
    const file = makeIndexedClip(clips[0][1]);
    const expected = ffmpegFrameCodes(file);
    const request = [88, 3, 64, 31, 47, 3, 75, 12];
    const read = async (threads: number) => {
      const vl = await VideoLoader.open(file, { backend: 'libav', threads });
      try {
        const frames = await vl.selectRawFrames(request);
        return { frames, work: vl.decodeWork, next: await vl.selectRawFrames([89]) };
      } finally {
        await vl.close();
      }
    };
    const one = await read(1); // one lane
    const four = await read(4); // up to four lanes: the plan has three seeking runs
    expect(four.frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(request.map((i) => expected[i]));
    four.frames.forEach((f, k) => expect(Buffer.compare(f.data, one.frames[k].data)).toBe(0));
    expect(four.work.seeks).toBe(one.work.seeks);
    // The last run ran on the session's own decoder: the next call continues from where it ended.
    expect(readFrameCode(four.next[0].data, 160, 120)).toBe(expected[89]);
  });

  it('share the cores out: lanes with several decoder threads, remade when a plan needs another count, deliver what one decoder does', async () => {
    const file = makeIndexedClip(clips[0][1]); // 90 frames, keyframes every 30
    const expected = ffmpegFrameCodes(file);
    // 8 cores: two runs that seek give two lanes of 4 threads, three give three of 2, then two again.
    const requests = [
      [70, 40],
      [85, 5, 64, 33],
      [12, 88, 7],
      [61, 31],
    ];
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 8 });
    const reference = await VideoLoader.open(file, { backend: 'libav', threads: 1 });
    try {
      for (const request of requests) {
        const frames = await vl.selectRawFrames(request);
        expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(request.map((i) => expected[i]));
        const single = await reference.selectRawFrames(request);
        frames.forEach((f, k) => expect(Buffer.compare(f.data, single[k].data)).toBe(0));
      }
    } finally {
      await vl.close();
      await reference.close();
    }
  });

  it('decode on the one decoder when the file cannot be opened again (deleted after open)', async () => {
    const source = makeIndexedClip(clips[0][1]);
    const expected = ffmpegFrameCodes(source);
    const file = path.join(os.tmpdir(), `tvl-deleted-${process.pid}.mp4`);
    fs.copyFileSync(source, file);
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 4 });
    try {
      fs.rmSync(file); // the session's demuxer keeps its open file; new lanes cannot open it
      const frames = await vl.selectRawFrames([88, 3, 47]);
      expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual([88, 3, 47].map((i) => expected[i]));
    } finally {
      await vl.close();
    }
  });

  it('fail with the damaged frame that comes first in the plan, and leave the loader working', async () => {
    const { file, source } = damagedSourceClip(); // GOPs of 25 frames; the one from frame 50 is damaged
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 4 });
    const clean = await VideoLoader.open(source, { backend: 'libav', threads: 1 });
    try {
      await expect(vl.selectRawFrames([80, 10, 55, 30, 60])).rejects.toMatchObject({ code: 'TVL_CORRUPT_DATA', frameIndex: 55 });
      const frames = await vl.selectRawFrames([80, 10, 30]);
      const reference = await clean.selectRawFrames([80, 10, 30]);
      frames.forEach((f, k) => expect(Buffer.compare(f.data, reference[k].data)).toBe(0));
    } finally {
      await vl.close();
      await clean.close();
    }
  });
});

maybe('the decoded-frame cache (cacheFrames)', () => {
  const spec = clips[0][1]; // H.264 in MP4, B-frames, keyframes every 30
  const window = (start: number) => Array.from({ length: 16 }, (_, t) => start + t);

  it('overlapping windows and steps back into what was just decoded: exact frames, no seek, nothing decoded twice', async () => {
    const file = makeIndexedClip(spec);
    const expected = ffmpegFrameCodes(file);
    const read = async (cacheFrames: number) => {
      const vl = await VideoLoader.open(file, { backend: 'libav', threads: 2, cacheFrames });
      try {
        for (const start of [34, 42, 50, 52, 58]) {
          const frames = await vl.selectRawFrames(window(start));
          expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(window(start).map((i) => expected[i]));
        }
        return vl.decodeWork;
      } finally {
        await vl.close();
      }
    };
    const cached = await read(16);
    const uncached = await read(0);
    // One seek (to keyframe 30), then every window continues or comes from the cache.
    expect(cached.seeks).toBe(1);
    expect(cached.framesDecoded).toBe(73 - 30 + 1);
    expect(cached.framesFromCache).toBe(8 + 8 + 14 + 10);
    expect(uncached.framesFromCache).toBe(0);
    expect(uncached.seeks).toBeGreaterThan(cached.seeks);
  });

  it('one frame at a time around a place, and with a GOP-parallel plan in between', async () => {
    const file = makeIndexedClip(spec);
    const expected = ffmpegFrameCodes(file);
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 4 });
    try {
      for (const i of [40, 38, 41, 36, 42, 39]) {
        const [f] = await vl.selectRawFrames([i]);
        expect(readFrameCode(f.data, f.width, f.height)).toBe(expected[i]);
      }
      expect(vl.decodeWork.seeks).toBe(1);
      expect(vl.decodeWork.framesFromCache).toBe(3);
      // Cached frames first, then runs on several decoders; the session's decoder takes the last.
      const request = [37, 88, 5, 64, 40, 31];
      const frames = await vl.selectRawFrames(request);
      expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(request.map((i) => expected[i]));
      const [next] = await vl.selectRawFrames([87]);
      expect(readFrameCode(next.data, next.width, next.height)).toBe(expected[87]);
    } finally {
      await vl.close();
    }
  });

  it('an in-order pass loading batches ahead continues from where the batch in front leaves the decoder: no seek, each frame decoded once', async () => {
    const file = makeIndexedClip(spec);
    const expected = ffmpegFrameCodes(file);
    const pool = new VideoLoaderPool({ slots: { cpu: 1 } });
    const loaderOptions = { backend: 'libav', threads: 2 };
    const ds = new VideoDataset(slidingClips(file, expected.length, 8, { step: 8 }), { pool, loaderOptions });
    try {
      let loader: VideoLoader | undefined;
      await pool.withLoader(file, (vl) => void (loader = vl), { loaderOptions });
      const codes: number[] = [];
      for await (const batch of new BatchDataLoader(ds, { batchSize: 2, prefetch: 2 })) {
        const [b, t, h, w] = batch.data.shape;
        const data = batch.data.dataSync();
        const per = h * w * 3;
        for (let k = 0; k < b * t; k++) codes.push(readFrameCode(data.subarray(k * per, (k + 1) * per), w, h));
        batch.data.dispose();
      }
      expect(codes).toEqual(expected.slice(0, codes.length));
      // Every batch but the first was planned while the one in front of it was in flight.
      expect(loader!.decodeWork).toMatchObject({ seeks: 0, framesDecoded: codes.length });
    } finally {
      await pool.close();
    }
  });

  it('holds no more than cacheFrames frames: a step back further seeks', async () => {
    const file = makeIndexedClip(spec);
    const vl = await VideoLoader.open(file, { backend: 'libav', threads: 2, cacheFrames: 4 });
    try {
      await vl.selectRawFrames(window(34));
      await vl.selectRawFrames([46, 47, 48, 49]); // the last 4 decoded
      expect(vl.decodeWork.seeks).toBe(1);
      await vl.selectRawFrames([45]);
      expect(vl.decodeWork.seeks).toBe(2);
    } finally {
      await vl.close();
    }
  });
});

maybe('backendOptions', () => {
  it('skipUnreferenced must be a boolean, and a misspelt name is refused with the name meant', async () => {
    const file = makeIndexedClip(clips[0][1]);
    await expect(
      VideoLoader.open(file, { backend: 'libav', backendOptions: { skipUnreferenced: 'yes' as unknown as boolean } }),
    ).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringContaining('skipUnreferenced'),
    });
    await expect(
      VideoLoader.open(file, { backend: 'libav', backendOptions: { skipUnreferenced: true, skipUnreferencd: true } as never }),
    ).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT', message: expect.stringContaining('skipUnreferenced') });
  });
});
