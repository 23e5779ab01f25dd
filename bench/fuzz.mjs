#!/usr/bin/env node
// make fuzz: thousands of seeded damaged files per CPU backend (see @tvl/testkit fuzz.ts),
// each read in a child process; prints what happened and exits 1 if any rule broke.
//   node bench/fuzz.mjs [files per backend, default 2000] [backend ...]
import { createRequire } from 'node:module';
import { runFuzz } from '@tvl/testkit';

const require = createRequire(import.meta.url);
const files = Number(process.argv[2] ?? 2000);
const backends = process.argv.length > 3 ? process.argv.slice(3) : ['libav', 'opencv'];
let broken = 0;
for (const backend of backends) {
  const started = Date.now();
  let shown = -1;
  const s = await runFuzz({
    backend,
    backendModule: require.resolve(`@tvl/${backend}`),
    files,
    concealsDamage: backend === 'opencv',
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct !== shown && process.stderr.isTTY) process.stderr.write(`\r${backend}: ${done}/${total} files (${pct} %)`);
      shown = pct;
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const delivered = s.exact + s.damagedAsSuccess;
  const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(2)} %` : 'n/a');
  console.log(
    `\n${backend}: ${s.files} damaged files in ${((Date.now() - started) / 1000).toFixed(0)} s (${Object.entries(s.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})`,
  );
  console.log(`  crashes ${s.crashes}, hangs ${s.hangs}, broken rules ${s.problems.length}`);
  console.log(
    `  opened ${s.opened}; frames asked ${s.framesAsked}: exact ${s.exact}, typed errors ${s.framesAsked - delivered}, damaged but delivered ${s.damagedAsSuccess} (${pct(s.damagedAsSuccess, delivered)} of delivered)`,
  );
  console.log(
    `  intact containers (payload damage): damaged but delivered ${s.intactDamagedAsSuccess} of ${s.intactDelivered} delivered (${pct(s.intactDamagedAsSuccess, s.intactDelivered)})`,
  );
  console.log(
    `  typed errors: ${Object.entries(s.typedErrors)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', ')}`,
  );
  for (const p of s.problems.slice(0, 30)) console.log(`  ! ${p}`);
  broken += s.problems.length + s.crashes + s.hangs;
}
console.log(`\n${broken === 0 ? 'no rule broken' : `${broken} rules broken`}`);
process.exit(broken === 0 ? 0 : 1);
