import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSelector, matchesSelector } from '../../controller/labels.js';

const web = { app: 'web', tier: 'front' };
const dns = { app: 'dns', tier: 'infra' };
const bare = {};

const cases: [string, Record<string, string>, boolean][] = [
  ['app=web', web, true],
  ['app==web', web, true],
  ['app=web', dns, false],
  ['app!=web', dns, true],
  ['app!=web', bare, true],
  ['app!=web', web, false],
  ['tier in (front,infra)', dns, true],
  ['tier in (front, base)', dns, false],
  ['tier in (front)', bare, false],
  ['tier notin (front)', dns, true],
  ['tier notin (front)', bare, true],
  ['tier notin (front)', web, false],
  ['app', web, true],
  ['app', bare, false],
  ['!app', bare, true],
  ['!app', web, false],
  ['app=web,tier=front', web, true],
  ['app=web,tier in (infra)', web, false],
  ['', bare, true],
];

for (const [sel, labels, want] of cases) {
  test(`"${sel}" on ${JSON.stringify(labels)} -> ${want}`, () => {
    assert.is(matchesSelector(parseSelector(sel), labels), want);
  });
}

test('bad selectors name the selector and the bad part', () => {
  for (const [sel, part] of [
    ['app=we b', 'we b'],
    ['a b c', 'a b c'],
    ['app=web,', 'empty requirement'],
    ['tier in ()', 'needs at least one value'],
  ]) {
    assert.throws(() => parseSelector(sel!), (e: Error) => e.message.includes(`"${sel}"`) && e.message.includes(part!), sel);
  }
});

test.run();
