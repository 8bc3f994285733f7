import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ResourceStatus } from '../../resources/types.js';
import {
  conditionStatus,
  getCondition,
  isReadyAt,
  markReady,
  markReconciling,
  markStalled,
  notReadyReason,
  setCondition,
} from '../../controller/conditions.js';

const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-01T00:01:00Z');
const t3 = new Date('2026-01-01T00:02:00Z');

test('lastTransitionTime changes only when the status changes', () => {
  const s: ResourceStatus = { conditions: [] };
  assert.ok(setCondition(s, { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t1));
  assert.ok(setCondition(s, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t2), 'reason change is a change');
  assert.is(getCondition(s.conditions, 'Ready')!.lastTransitionTime, t1.toISOString());
  assert.is(getCondition(s.conditions, 'Ready')!.reason, 'B');
  assert.not.ok(setCondition(s, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t3), 'identical: no change');
  setCondition(s, { type: 'Ready', status: 'True', reason: 'Succeeded', message: '' }, t3);
  assert.is(getCondition(s.conditions, 'Ready')!.lastTransitionTime, t3.toISOString());
});

test('markReady / markReconciling / markStalled keep the three summary conditions consistent', () => {
  const s: ResourceStatus = { conditions: [] };
  assert.is(conditionStatus(s.conditions, 'Ready'), 'Unknown');
  markReconciling(s, 1, 'Progressing', 'creating', t1);
  assert.equal(
    s.conditions.map((c) => [c.type, c.status]),
    [
      ['Reconciling', 'True'],
      ['Ready', 'Unknown'],
      ['Stalled', 'False'],
    ],
  );
  assert.is(s.observedGeneration, undefined, 'progress is no conclusion');
  markReady(s, 1, 'ok', t2);
  assert.is(conditionStatus(s.conditions, 'Ready'), 'True');
  assert.is(conditionStatus(s.conditions, 'Reconciling'), 'False');
  assert.is(s.observedGeneration, 1);
  markStalled(s, 2, 'ManifestInvalid', 'a.yaml:3:1: bad', t3);
  assert.is(conditionStatus(s.conditions, 'Stalled'), 'True');
  assert.is(getCondition(s.conditions, 'Ready')!.reason, 'ManifestInvalid');
  assert.is(conditionStatus(s.conditions, 'Reconciling'), 'False');
  assert.is(s.observedGeneration, 2);
});

test('isReadyAt requires Ready=True at exactly the current generation', () => {
  const s: ResourceStatus = { conditions: [] };
  assert.not.ok(isReadyAt(s, 1));
  assert.is(notReadyReason(s, 1), 'not reconciled yet');
  markReady(s, 1, '', t1);
  assert.ok(isReadyAt(s, 1));
  assert.not.ok(isReadyAt(s, 2));
  assert.match(notReadyReason(s, 2), /generation 2 not observed/);
  markReconciling(s, 2, 'Cloning', 'clone task running', t2, 'False');
  assert.not.ok(isReadyAt(s, 2));
  assert.is(notReadyReason(s, 2), 'Cloning: clone task running');
  assert.not.ok(isReadyAt(undefined, 1));
});

test.run();
