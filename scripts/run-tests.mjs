#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) in its own Node process with tsx, a few at a time,
// and prints one closing line `N passed, N failed` summed from uvu's per-file totals.
// A file that crashes or times out before uvu prints its totals counts as one failure.
// Usage: node scripts/run-tests.mjs [path-filter ...]   env: PHOENIX_TEST_JOBS (default 2),
// PHOENIX_TEST_TIMEOUT (seconds per file, default 900).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const jobs = Number(process.env.PHOENIX_TEST_JOBS ?? 2);
const timeoutMs = Number(process.env.PHOENIX_TEST_TIMEOUT ?? 900) * 1000;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

// Heavy end-to-end files (named *.e2e.test.ts) run alone so they do not compete for the two cores.
const heavy = files.filter((f) => f.endsWith('.e2e.test.ts'));
const light = files.filter((f) => !f.endsWith('.e2e.test.ts'));

// eslint-disable-next-line no-control-regex
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = stripAnsi(out);
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const ok = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const skip = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      let f = 0;
      if (Number.isNaN(total) || Number.isNaN(ok)) {
        f = 1;
      } else {
        passed += ok;
        skipped += skip;
        f = total - ok - skip;
        if (f === 0 && code !== 0) f = 1;
      }
      failed += f;
      const status = f === 0 ? 'ok  ' : 'FAIL';
      process.stdout.write(`${status} ${file} (${secs}s${signal ? `, killed by ${signal}` : ''})\n`);
      if (f !== 0 || process.env.PHOENIX_TEST_VERBOSE) {
        failures.push(file);
        process.stdout.write(text.split('\n').map((l) => `     | ${l}`).join('\n') + '\n');
      } else {
        // surface figures tests print on purpose (lines starting with "figure:")
        for (const line of text.split('\n')) if (line.startsWith('figure:')) process.stdout.write(`     ${line}\n`);
      }
      resolve();
    });
  });
}

async function pool(list, n) {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, n) }, async () => {
      while (i < list.length) await runFile(list[i++]);
    }),
  );
}

await pool(light, jobs);
await pool(heavy, 1);
if (failures.length) process.stdout.write(`failed files: ${failures.join(', ')}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
