import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitSource, redactUrl } from '../../controller/gitsource.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
  }).trim();
}

function makeRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-git-src-'));
  git(dir, 'init', '--quiet', '--initial-branch', 'main');
  mkdirSync(join(dir, 'fleet'));
  writeFileSync(join(dir, 'fleet', 'a.yaml'), 'rev: 1\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '--quiet', '-m', 'one');
  return dir;
}

test('sync materialises the ref as a complete tree and follows new commits', async () => {
  const repo = makeRepo();
  const first = git(repo, 'rev-parse', 'HEAD');
  const src = new GitSource({ url: repo, ref: 'main', workDir: mkdtempSync(join(tmpdir(), 'phoenix-git-work-')), path: 'fleet' });
  const r1 = await src.sync();
  assert.is(r1.sha, first);
  assert.is(readFileSync(join(r1.dir, 'a.yaml'), 'utf8'), 'rev: 1\n');

  writeFileSync(join(repo, 'fleet', 'a.yaml'), 'rev: 2\n');
  writeFileSync(join(repo, 'fleet', 'b.yaml'), 'new: true\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'two');
  const r2 = await src.sync();
  assert.is.not(r2.sha, r1.sha);
  assert.is(readFileSync(join(r2.dir, 'a.yaml'), 'utf8'), 'rev: 2\n');
  assert.ok(existsSync(join(r2.dir, 'b.yaml')));
  // The earlier revision's snapshot is untouched: a reader of r1 never sees half of r2.
  assert.is(readFileSync(join(r1.dir, 'a.yaml'), 'utf8'), 'rev: 1\n');
  assert.not.ok(existsSync(join(r1.dir, 'b.yaml')));

  // Same commit again: no new checkout, same directory.
  const r3 = await src.sync();
  assert.is(r3.dir, r2.dir);
});

test('a commit id as ref pins the source to that commit', async () => {
  const repo = makeRepo();
  const pinned = git(repo, 'rev-parse', 'HEAD');
  writeFileSync(join(repo, 'fleet', 'a.yaml'), 'rev: 2\n');
  git(repo, 'commit', '--quiet', '-am', 'two');
  const src = new GitSource({ url: repo, ref: pinned, workDir: mkdtempSync(join(tmpdir(), 'phoenix-git-work-')) });
  const r = await src.sync();
  assert.is(r.sha, pinned);
  assert.is(readFileSync(join(r.dir, 'fleet', 'a.yaml'), 'utf8'), 'rev: 1\n');
});

test('prune keeps the current revision and the newest others', async () => {
  const repo = makeRepo();
  const work = mkdtempSync(join(tmpdir(), 'phoenix-git-work-'));
  const src = new GitSource({ url: repo, workDir: work, keep: 1 });
  const shas: string[] = [];
  for (let i = 2; i <= 4; i++) {
    shas.push((await src.sync()).sha);
    writeFileSync(join(repo, 'fleet', 'a.yaml'), `rev: ${i}\n`);
    git(repo, 'commit', '--quiet', '-am', `c${i}`);
  }
  const current = (await src.sync()).sha;
  await src.prune(current);
  const left = readdirSync(join(work, 'revisions')).sort();
  assert.is(left.length, 2);
  assert.ok(left.includes(current));
});

test('errors name the failure without leaking URL credentials', async () => {
  const src = new GitSource({ url: 'https://user:s3cret-token@127.0.0.1:9/none.git', workDir: mkdtempSync(join(tmpdir(), 'phoenix-git-work-')), timeoutMs: 10_000 });
  try {
    await src.sync();
    assert.unreachable('sync should fail');
  } catch (err) {
    const msg = (err as Error).message;
    assert.match(msg, /^git fetch failed/);
    assert.not.match(msg, /s3cret-token/);
  }
  assert.is(redactUrl('fatal: unable to access https://a:b@h/x'), 'fatal: unable to access https://***@h/x');
});

test.run();
