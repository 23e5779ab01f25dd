#!/usr/bin/env node
// Runs node-gyp against the headers of the Node that runs it, when they are installed next to it
// (Debian's /usr/include/node, or an official tarball's <prefix>/include/node), so building
// never tries to download headers. Usage: tvl-node-gyp rebuild
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const prefix = path.resolve(path.dirname(process.execPath), '..');
const hasLocalHeaders = fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'));
if (hasLocalHeaders && !args.some((a) => a.startsWith('--nodedir')) && !process.env.npm_config_nodedir) {
  args.push(`--nodedir=${prefix}`);
}
const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [process.cwd(), __dirname] });
const r = spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
