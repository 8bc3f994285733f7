import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PhoenixEvent } from '../../resources/types.js';
import { EventStore, recordEvent } from '../../controller/events.js';

test('repeated events fold: same type+reason+message bumps count and lastTimestamp', () => {
  const list: PhoenixEvent[] = [];
  const src = 'lxccontainer-controller';
  recordEvent(list, { type: 'Normal', reason: 'Created', message: 'created 101', source: src }, new Date(1000));
  recordEvent(list, { type: 'Warning', reason: 'ReconcileError', message: 'timeout', source: src }, new Date(2000));
  recordEvent(list, { type: 'Warning', reason: 'ReconcileError', message: 'timeout', source: src }, new Date(3000));
  recordEvent(list, { type: 'Normal', reason: 'Created', message: 'created 101', source: src }, new Date(4000));
  recordEvent(list, { type: 'Warning', reason: 'ReconcileError', message: 'refused', source: src }, new Date(5000));
  assert.is(list.length, 3);
  assert.equal(
    list.map((e) => [e.reason, e.message, e.count]),
    [
      ['ReconcileError', 'timeout', 2],
      ['Created', 'created 101', 2],
      ['ReconcileError', 'refused', 1],
    ],
  );
  assert.is(list[1]!.firstTimestamp, new Date(1000).toISOString());
  assert.is(list[1]!.lastTimestamp, new Date(4000).toISOString());
});

test('the list is bounded, oldest dropped first', () => {
  const list: PhoenixEvent[] = [];
  for (let i = 0; i < 60; i++) recordEvent(list, { type: 'Normal', reason: 'R', message: `m${i}`, source: 's' }, new Date(i), 50);
  assert.is(list.length, 50);
  assert.is(list[0]!.message, 'm10');
  assert.is(list[49]!.message, 'm59');
});

test('messages are scrubbed of tokens before they are kept', () => {
  const store = new EventStore();
  store.record('LxcContainer/a', 's', 'Warning', 'ReconcileError', 'auth failed with PVEAPIToken=root@pam!phoenix=0b4c2b2e-1111-2222-3333-444455556666');
  const [ev] = store.list('LxcContainer/a');
  assert.not.match(ev!.message, /0b4c2b2e/);
  assert.match(ev!.message, /\[redacted\]/);
});

test('EventStore reports every change for persistence and hands out recorders', () => {
  const seen: Array<[string, number]> = [];
  const store = new EventStore((key, list) => seen.push([key, list.length]));
  const rec = store.recorderFor('Template/base', 'template-controller');
  rec.event('Normal', 'Created', 'x');
  rec.event('Normal', 'Created', 'x');
  assert.equal(seen, [
    ['Template/base', 1],
    ['Template/base', 1],
  ]);
  assert.is(store.list('Template/base')[0]!.count, 2);
  assert.is(store.list('Template/base')[0]!.source, 'template-controller');
});

test.run();
