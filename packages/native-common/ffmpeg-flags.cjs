#!/usr/bin/env node
// Compiler and linker flags for TVL's own FFmpeg (toolchain/ffmpeg.sh links it at ./ffmpeg), for
// the addons' binding.gyp:
//   "<!@(node <(tvl_common)/ffmpeg-flags.cjs --cflags libavformat libavcodec)"
//   "<!@(node <(tvl_common)/ffmpeg-flags.cjs --libs libavformat libavcodec)"
// The libraries are static, and their symbols are kept out of the addon's exports
// (--exclude-libs): a process may hold another FFmpeg (OpenCV's, the system's) without the two
// binding to each other's functions. TVL_SYSTEM_FFMPEG=1 builds against the system's FFmpeg
// instead (pkg-config, shared libraries): for development only, prebuilds never do.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [mode, ...modules] = process.argv.slice(2);
if (!['--cflags', '--libs'].includes(mode) || modules.length === 0) {
  process.stderr.write('usage: ffmpeg-flags.cjs --cflags|--libs MODULE...\n');
  process.exit(2);
}
const system = process.env.TVL_SYSTEM_FFMPEG === '1';
const pkgconfigDir = path.join(__dirname, 'ffmpeg', 'lib', 'pkgconfig');
if (!system && !fs.existsSync(pkgconfigDir)) {
  process.stderr.write(
    `TVL's FFmpeg is not built (no ${pkgconfigDir}).\n` +
      'Run `make ffmpeg` in the repository root (or set TVL_SYSTEM_FFMPEG=1 to build against the system FFmpeg).\n',
  );
  process.exit(1);
}
const env = system ? process.env : { ...process.env, PKG_CONFIG_LIBDIR: pkgconfigDir, PKG_CONFIG_PATH: '' };
const args = system ? [mode, ...modules] : ['--static', mode, ...modules];
const r = spawnSync('pkg-config', args, { env, encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stderr || `pkg-config ${args.join(' ')} failed\n`);
  process.exit(1);
}
const flags = r.stdout.trim();
if (system || mode === '--cflags') {
  process.stdout.write(`${flags}\n`);
} else {
  // libatomic too is linked in, as minimal systems lack libatomic.so.1.
  process.stdout.write(`-Wl,--exclude-libs,ALL ${flags.replace(/(^|\s)-latomic(?=\s|$)/g, '$1-l:libatomic.a')}\n`);
}
