#!/usr/bin/env node
// Packs what bench/gpu-check.mjs needs on a GPU machine that has no Node, no FFmpeg and no
// network (like the H100 lent to some sessions), into .gpu-check/ at the repo root (git-ignored,
// carried): Node (xz), its and the addons' shared libraries (glibc's loader included, so the
// machine's own libc does not matter; libraries FFmpeg links but TVL never calls replaced by
// stubs, see make-stub.sh), the built packages with a flat node_modules, the clips and run.sh.
//   make build && node bench/gpu-bundle/pack.mjs      (then carry .gpu-check and run
//   `bash .gpu-check/run.sh`; see bench/README.md)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const out = path.join(root, '.gpu-check');
const LIMIT = 60 * 1024 * 1024;
// FFmpeg links these for encoders, filters, images, hardware APIs and network protocols TVL never
// uses. Not here: anything a demuxer's probe calls while opening a file (libopenmpt, libgme).
const STUBBED =
  /lib(x264|x265|SvtAv1Enc|rav1e|codec2|rsvg-2|jxl|jxl_threads|aom|vpx|theoraenc|vorbisenc|mp3lame|shine|twolame|openjp2|webp|webpmux|snappy|zvbi|aribb24|bluray|chromaprint|ssh|srt-gnutls|rabbitmq|zmq|gnutls|xml2|sodium|ggml|whisper|tesseract|lept|OpenCL|va|va-drm|va-x11|vdpau|X11|Xext|Xv|Xfixes|drm|mfx|vpl|glslang|shaderc_shared|vulkan|placebo|soxr|openal|pulse|sndio|asound|jack|cdio|cdio_cdda|cdio_paranoia|dc1394|raw1394|avc1394|rom1394|iec61883|caca|SDL2|sdl2|Imath|OpenEXR|OpenEXRCore|Iex|IlmThread|lilv-0|serd-0|sord-0|sratom-0|mysofa|bs2b|flite\w*|zimg|vidstab|rubberband|sphinx\w*|pocketsphinx|plplot\w*|ass|fribidi|harfbuzz|freetype|fontconfig|cairo|pango\w*|gdk_pixbuf-2\.0|glib-2\.0|gobject-2\.0|gio-2\.0)\.so/;

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
}

function libsOf(file) {
  return sh('ldd', [file])
    .split('\n')
    .map((l) => /=>\s+(\S+)/.exec(l)?.[1])
    .filter((p) => p && p.startsWith('/'));
}

fs.rmSync(out, { recursive: true, force: true });
const staging = path.join(out, 'staging');
for (const d of ['lib', 'app/node_modules', 'app/bench']) fs.mkdirSync(path.join(staging, d), { recursive: true });

// 1. The addons and the packages, with a flat node_modules.
const packages = ['core', 'libav', 'nvdec', 'nvvl', 'testkit'];
const addons = []; // built here
const stagedAddons = []; // their copies in the bundle
for (const p of packages) {
  const src = path.join(root, 'packages', p);
  const dst = path.join(staging, 'app/node_modules/@tvl', p);
  fs.mkdirSync(dst, { recursive: true });
  fs.copyFileSync(path.join(src, 'package.json'), path.join(dst, 'package.json'));
  fs.cpSync(path.join(src, 'dist'), path.join(dst, 'dist'), { recursive: true });
  const release = path.join(src, 'native/build/Release');
  if (fs.existsSync(release)) {
    fs.mkdirSync(path.join(dst, 'native/build/Release'), { recursive: true });
    for (const f of fs.readdirSync(release).filter((f) => f.endsWith('.node'))) {
      fs.copyFileSync(path.join(release, f), path.join(dst, 'native/build/Release', f));
      addons.push(path.join(release, f));
      stagedAddons.push(path.join(dst, 'native/build/Release', f));
    }
  }
}
const seen = new Set();
function copyDeps(fromDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(fromDir, 'package.json'), 'utf8'));
  const req = createRequire(path.join(fromDir, 'package.json'));
  for (const name of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]) {
    if (name.startsWith('@tvl/') || name.startsWith('@types/') || name === 'node-addon-api' || seen.has(name)) continue;
    let dir;
    try {
      dir = path.dirname(req.resolve(`${name}/package.json`));
    } catch {
      continue;
    }
    seen.add(name);
    fs.cpSync(fs.realpathSync(dir), path.join(staging, 'app/node_modules', name), { recursive: true, dereference: true });
    copyDeps(fs.realpathSync(dir));
  }
}
for (const p of packages) copyDeps(path.join(root, 'packages', p));
copyDeps(path.join(root, 'bench'));
for (const f of ['gpu-check.mjs', 'random-access.mjs']) fs.copyFileSync(path.join(root, 'bench', f), path.join(staging, 'app/bench', f));
fs.writeFileSync(path.join(staging, 'app/package.json'), '{ "type": "module", "private": true }\n');

// 2. Shared libraries: real ones, stubs for the unused, glibc and its loader.
const node = process.execPath;
const libs = new Set();
for (const f of [node, ...addons]) for (const l of libsOf(f)) libs.add(l);
for (const l of libs) {
  const name = path.basename(l);
  if (STUBBED.test(name)) sh('bash', [path.join(here, 'make-stub.sh'), l, path.join(staging, 'lib')]);
  else fs.copyFileSync(fs.realpathSync(l), path.join(staging, 'lib', name));
}
fs.copyFileSync(fs.realpathSync('/lib64/ld-linux-x86-64.so.2'), path.join(staging, 'lib', 'ld-linux-x86-64.so.2'));
// Check the bundle resolves every library from itself: through the carried loader, as run.sh runs.
const lib = path.join(staging, 'lib');
const missing = [node, ...stagedAddons].flatMap((f) =>
  sh(path.join(lib, 'ld-linux-x86-64.so.2'), ['--library-path', lib, '--list', f])
    .split('\n')
    .filter((l) => /=>/.test(l) && !l.includes(`=> ${lib}/`)),
);
if (missing.length) throw new Error(`libraries not in the bundle:\n${missing.join('\n')}`);

// 3. Clips (prepared where ffmpeg is), Node, and the run script.
const clips = path.join(staging, 'clips');
sh(node, [path.join(root, 'bench/gpu-check.mjs'), 'prepare', clips], { stdio: 'inherit', env: { ...process.env, TVL_TEST_MEDIA: clips } });
sh('bash', ['-c', `xz -T0 -9 -c '${node}' > '${out}/node.xz'`]);
sh('tar', ['-C', staging, '-cJf', path.join(out, 'bundle.tar.xz'), 'lib', 'app', 'clips']);
fs.copyFileSync(path.join(here, 'run.sh'), path.join(out, 'run.sh'));
fs.rmSync(staging, { recursive: true, force: true });
const size = fs.readdirSync(out).reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
console.log(`.gpu-check: ${(size / 2 ** 20).toFixed(1)} MiB (limit ${LIMIT / 2 ** 20} MiB)`);
if (size > LIMIT) process.exit(1);
