import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, statSync, symlinkSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import fc from 'fast-check';
import {
  OutputPathError,
  checkNoSymlinkEscape,
  ensurePrivateDir,
  parseMode,
  resolveOutputPath,
} from '../../controller/ca/files.js';
import { writeFilesAtomic } from '../../controller/fs-atomic.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-files-'));
const certDir = join(root, 'certs');
mkdirSync(certDir);

test('resolveOutputPath: relative and inside-absolute accepted, escapes refused naming the field', () => {
  assert.is(resolveOutputPath(certDir, 'nginx/tls.crt', 'f'), join(certDir, 'nginx/tls.crt'));
  assert.is(resolveOutputPath(certDir, 'a/../b.crt', 'f'), join(certDir, 'b.crt'));
  assert.is(resolveOutputPath(certDir, '..hidden/x.crt', 'f'), join(certDir, '..hidden/x.crt'), 'a name that merely starts with two dots');
  assert.is(resolveOutputPath(certDir, join(certDir, 'x.crt'), 'f'), join(certDir, 'x.crt'));
  const bad = ['../x.crt', 'a/../../x.crt', '/etc/ssl/x.crt', `${certDir}-evil/x.crt`, '.', '', 'a\0b'];
  for (const p of bad) {
    try {
      resolveOutputPath(certDir, p, 'spec.certificates[0].output.keyFile');
      assert.unreachable(p);
    } catch (e) {
      assert.instance(e, OutputPathError, p);
      assert.match((e as Error).message, /^spec\.certificates\[0\]\.output\.keyFile: /, p);
    }
  }
});

test('resolveOutputPath never returns a path outside the base, whatever the segments (property)', () => {
  const segment = fc.constantFrom('..', '.', '', 'a', 'b', 'certs', '...', '..a', 'a..', '/');
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 8 }), fc.boolean(), (parts, absolute) => {
      const declared = (absolute ? '/' : '') + parts.join('/');
      let out: string;
      try {
        out = resolveOutputPath(certDir, declared, 'f');
      } catch (e) {
        return e instanceof OutputPathError;
      }
      const rel = relative(certDir, out);
      return rel !== '' && rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel);
    }),
    { numRuns: 2000 },
  );
});

test('checkNoSymlinkEscape: a symlinked directory or file pointing out is refused; inside links are fine', async () => {
  const outside = join(root, 'outside');
  mkdirSync(outside);
  symlinkSync(outside, join(certDir, 'out'));
  mkdirSync(join(certDir, 'real'));
  symlinkSync(join(certDir, 'real'), join(certDir, 'in'));
  writeFileSync(join(outside, 'target'), 'x');
  symlinkSync(join(outside, 'target'), join(certDir, 'link.crt'));

  let err: unknown;
  await checkNoSymlinkEscape(certDir, join(certDir, 'out', 'deep', 'x.crt'), 'F', 'out/deep/x.crt').catch((e) => (err = e));
  assert.instance(err, OutputPathError);
  assert.match(String(err), /symbolic link/);
  err = undefined;
  await checkNoSymlinkEscape(certDir, join(certDir, 'link.crt'), 'F', 'link.crt').catch((e) => (err = e));
  assert.instance(err, OutputPathError);
  await checkNoSymlinkEscape(certDir, join(certDir, 'in', 'new', 'x.crt'), 'F', 'in/new/x.crt');
  await checkNoSymlinkEscape(certDir, join(certDir, 'brand', 'new', 'x.crt'), 'F', 'brand/new/x.crt');
});

test('writeFilesAtomic: declared mode, replaces whole file, leaves no temporaries', async () => {
  const p = join(certDir, 'w', 'key.pem');
  await writeFilesAtomic([{ path: p, data: 'one', opts: { mode: 0o640, dirMode: 0o755 } }]);
  assert.is(statSync(p).mode & 0o777, 0o640);
  assert.is(readFileSync(p, 'utf8'), 'one');
  await writeFilesAtomic([{ path: p, data: 'two', opts: { mode: 0o600, uid: process.getuid!(), gid: process.getgid!() } }]);
  assert.is(statSync(p).mode & 0o777, 0o600);
  assert.is(readFileSync(p, 'utf8'), 'two');
  assert.equal(readdirSync(join(certDir, 'w')), ['key.pem']);
});

test('ensurePrivateDir creates 0700 and tightens a loose one', async () => {
  const d = join(root, 'state', 'ca', 'x');
  await ensurePrivateDir(d);
  assert.is(statSync(d).mode & 0o777, 0o700);
  const loose = join(root, 'loose');
  mkdirSync(loose, { mode: 0o755 });
  await ensurePrivateDir(loose);
  assert.is(statSync(loose).mode & 0o777, 0o700);
});

test('parseMode', () => {
  assert.is(parseMode('0640'), 0o640);
  assert.is(parseMode('600'), 0o600);
  for (const bad of ['0800', '12', '0o640', '7777', 'rw-']) assert.throws(() => parseMode(bad), undefined, bad);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
