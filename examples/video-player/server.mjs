#!/usr/bin/env node
// A small local video player over TVL: this Node server decodes frames with a TVL backend and
// serves them, as raw RGB24 bytes, to the page next to it (index.html), which draws them on a
// canvas. (No image codec on either side: on a 2-core machine compressing and decoding PNGs cost
// more than decoding the video.)
//   node examples/video-player/server.mjs [video] [--port 8080]
// Then open http://localhost:8080. Without a video it generates a sample with the frame number
// drawn in (the ffmpeg CLI's testsrc2).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import { TvlError, VideoLoader, listBackends } from '@tvl/core';
import '@tvl/libav';
import { sampleVideo } from '../sample-video.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Backends to offer: every CPU backend package that is installed. */
async function loadBackends() {
  for (const name of ['libav', 'opencv']) await import(`@tvl/${name}`).catch(() => undefined);
  return listBackends()
    .filter((b) => b.device === 'cpu')
    .map((b) => b.name);
}

/** Frames decoded ahead while playing, per request that asks for them. */
const MAX_AHEAD = 8;
/** Decoded frames kept behind the one asked for: the page has a few requests in flight, which may arrive out of order. */
const KEEP_BEHIND = 4;

/**
 * Starts the player's server for `file` on `port` (0: any free port). Resolves to
 * { url, close() }. One loader per backend, opened on first use and kept while the server runs.
 * The video is opened before the server listens, so a file that cannot be played fails here
 * (with its TvlError), not later in the page.
 */
export async function startPlayer({ file, port = 0 }) {
  const backends = await loadBackends();
  const loaders = new Map();
  const loader = async (backend) => {
    if (!backends.includes(backend))
      throw new TvlError('TVL_NO_BACKEND', `backend '${backend}' is not installed (have: ${backends.join(', ')})`);
    if (!loaders.has(backend)) loaders.set(backend, VideoLoader.open(file, { backend }));
    return loaders.get(backend);
  };
  try {
    await loader(backends[0]);
  } catch (err) {
    loaders.clear();
    throw err;
  }

  // While the page plays, it asks for the next frames ahead: they are decoded in one native call
  // while the current one is on screen. Keyed by backend and frame; entries behind the frame asked
  // for are dropped.
  const ahead = new Map();
  const prefetch = (backend, vl, from, count) => {
    const wanted = [];
    for (let i = from; i < Math.min(vl.nFrames, from + count); i++) if (!ahead.has(`${backend}:${i}`)) wanted.push(i);
    if (wanted.length === 0) return;
    const batch = vl.selectRawFrames(wanted);
    wanted.forEach((i, k) => {
      const p = batch.then((frames) => frames[k]);
      p.catch(() => ahead.delete(`${backend}:${i}`)); // a failure is met again (and reported) when the frame is shown
      ahead.set(`${backend}:${i}`, p);
    });
  };
  const frameFor = async (backend, vl, index, count) => {
    for (const key of ahead.keys()) {
      const [b, i] = key.split(':');
      if (b !== backend || Number(i) < index - KEEP_BEHIND || Number(i) > index + 2 * MAX_AHEAD) ahead.delete(key);
    }
    const cached = ahead.get(`${backend}:${index}`);
    ahead.delete(`${backend}:${index}`);
    // (Queued before the prefetch: a loader decodes its calls in order.)
    const own = cached ? null : vl.selectRawFrames([index]);
    if (count > 0) prefetch(backend, vl, index + 1, Math.min(count, MAX_AHEAD));
    if (cached) return { frame: await cached, prefetched: true };
    const [frame] = await own;
    return { frame, prefetched: false };
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(fs.readFileSync(path.join(here, 'index.html')));
      } else if (url.pathname === '/api/info') {
        const vl = await loader(url.searchParams.get('backend') ?? backends[0]);
        const body = {
          file: path.basename(file),
          backends,
          backend: vl.backend,
          nFrames: vl.nFrames,
          frameRate: vl.frameRate,
          width: vl.width,
          height: vl.height,
          codec: vl.info.codec,
          pts: Array.from(vl.frameIndex.pts),
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      } else if (url.pathname === '/api/frame') {
        const backend = url.searchParams.get('backend') ?? backends[0];
        const vl = await loader(backend);
        const index = Number(url.searchParams.get('i'));
        if (!Number.isInteger(index) || index < 0 || index >= vl.nFrames) {
          throw new TvlError('TVL_INDEX_OUT_OF_RANGE', `frame ${url.searchParams.get('i')} is not a frame of ${vl.nFrames}`);
        }
        const { frame, prefetched } = await frameFor(backend, vl, index, Number(url.searchParams.get('ahead') ?? 0) || 0);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'cache-control': 'no-store',
          'x-width': String(frame.width),
          'x-height': String(frame.height),
          'x-frame-index': String(frame.report.index),
          'x-frame-pts': String(frame.report.pts),
          'x-backend': frame.report.backend,
          'x-prefetched': prefetched ? '1' : '0',
        });
        res.end(frame.data);
      } else {
        res.writeHead(404).end('not found');
      }
    } catch (err) {
      const status =
        err instanceof TvlError && ['TVL_INDEX_OUT_OF_RANGE', 'TVL_INVALID_ARGUMENT', 'TVL_NO_BACKEND'].includes(err.code) ? 400 : 500;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: err.code ?? 'TVL_INTERNAL', message: err.message }));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await Promise.allSettled(ahead.values());
      for (const p of loaders.values()) await (await p.catch(() => null))?.close();
    },
  };
}

/** The player's sample: 640x360, 10 s. */
export function playerSample() {
  return sampleVideo({ name: 'player-sample', size: '640x360' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args.splice(at, 2)[1]) : 8080;
  try {
    const player = await startPlayer({ file: args[0] ?? playerSample(), port });
    console.log(`TVL video player: ${player.url}  (Ctrl+C to stop)`);
  } catch (err) {
    console.error(`video player: ${err instanceof TvlError ? `error [${err.code}]: ` : ''}${err.message}`);
    process.exit(1);
  }
}
