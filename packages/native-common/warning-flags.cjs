#!/usr/bin/env node
// Compiler warnings for every addon, printed for binding.gyp:
//   "cflags_cc": ["<!@(node <(tvl_common)/warning-flags.cjs)"]
// -Wall -Wextra always; -Werror when TVL_WERROR=1 (`make build`, so CI), not otherwise: a newer
// compiler's new warning must not stop someone building a release from source.
const flags = ['-Wall', '-Wextra'];
if (process.env.TVL_WERROR === '1') flags.push('-Werror');
process.stdout.write(flags.join(' '));
