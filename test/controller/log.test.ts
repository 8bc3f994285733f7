import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, registerSecret, scrub } from '../../controller/log.js';

test('logger writes one JSON line per record, filtered by level', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date(0) });
  log.debug('hidden');
  log.with({ resource: 'LxcContainer/web' }).info('reconciled', { ms: 12 });
  assert.is(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!), { ts: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'reconciled', resource: 'LxcContainer/web', ms: 12 });
});

test('secrets never reach a log line', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  registerSecret('s3cr3t-token-value');
  log.error('request failed: header PVEAPIToken=root@pam!ci=11111111-2222-3333-4444-555555555555 rejected', {
    token: 'abc',
    nested: { password: 'hunter2', url: 'https://pve:8006' },
    err: new Error('boom s3cr3t-token-value'),
  });
  const out = lines.join('');
  for (const s of ['11111111-2222', 'abc"', 'hunter2', 's3cr3t-token-value']) assert.not.ok(out.includes(s), s);
  assert.ok(out.includes('https://pve:8006'));
  assert.is(scrub('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----'), '[redacted]');
});

test.run();
