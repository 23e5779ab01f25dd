#!/usr/bin/env node
// A small local video player over TVL: this Node server decodes frames with a TVL backend and
// serves them as PNG to the page next to it (index.html).
//   node examples/video-player/server.mjs [video] [--port 8080]
// Then open http://localhost:8080. Without a video it generates a sample with the frame number
// drawn in (the ffmpeg CLI's testsrc2).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import { TvlError, VideoLoader, listBackends } from '@tvl/core';
import { encodePng } from '@tvl/cli';
import '@tvl/libav';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Backends to offer: every CPU backend package that is installed. */
async function loadBackends() {
  for (const name of ['libav', 'opencv']) await import(`@tvl/${name}`).catch(() => undefined);
  return listBackends()
    .filter((b) => b.device === 'cpu')
    .map((b) => b.name);
}

/**
 * Starts the player's server for `file` on `port` (0: any free port). Resolves to
 * { url, close() }. One loader per backend, opened on first use and kept for the session.
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
        const vl = await loader(url.searchParams.get('backend') ?? backends[0]);
        const index = Number(url.searchParams.get('i'));
        const [frame] = await vl.selectRawFrames([index]);
        res.writeHead(200, {
          'content-type': 'image/png',
          'cache-control': 'no-store',
          'x-frame-index': String(frame.report.index),
          'x-frame-pts': String(frame.report.pts),
          'x-backend': frame.report.backend,
        });
        res.end(encodePng(frame.data, frame.width, frame.height));
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
      for (const p of loaders.values()) await (await p).close();
    },
  };
}

function sampleVideo() {
  const file = path.join(os.tmpdir(), 'tvl-player-sample.mp4');
  if (!fs.existsSync(file)) {
    console.log(`generating a sample video: ${file}`);
    const r = spawnSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=640x360:r=25',
        '-frames:v',
        '250',
        '-c:v',
        'libx264',
        '-g',
        '50',
        '-bf',
        '2',
        '-pix_fmt',
        'yuv420p',
        file,
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) process.exit(1);
  }
  return file;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args.splice(at, 2)[1]) : 8080;
  const player = await startPlayer({ file: args[0] ?? sampleVideo(), port });
  console.log(`TVL video player: ${player.url}  (Ctrl+C to stop)`);
}
