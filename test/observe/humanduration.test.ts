import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { humanDuration } from '../../cli/humanduration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

// The boundaries of kubectl's HumanDuration, one row per rule and edge.
const cases: [number, string][] = [
  [-3 * S, '<invalid>'],
  [-1 * S, '0s'],
  [-500, '0s'],
  [0, '0s'],
  [999, '0s'],
  [5 * S, '5s'],
  [119 * S, '119s'],
  [2 * M, '2m'],
  [3 * M + 20 * S, '3m20s'],
  [9 * M + 59 * S, '9m59s'],
  [10 * M, '10m'],
  [10 * M + 30 * S, '10m'],
  [179 * M, '179m'],
  [3 * H, '3h'],
  [3 * H + 5 * M, '3h5m'],
  [7 * H + 59 * M, '7h59m'],
  [8 * H, '8h'],
  [47 * H + 59 * M, '47h'],
  [2 * D, '2d'],
  [2 * D + 4 * H, '2d4h'],
  [7 * D + 23 * H, '7d23h'],
  [8 * D, '8d'],
  [400 * D, '400d'],
  [2 * Y - H, '729d'],
  [2 * Y, '2y'],
  [2 * Y + 10 * D, '2y10d'],
  [8 * Y - D, '7y364d'],
  [8 * Y, '8y'],
  [20 * Y + 100 * D, '20y'],
];

for (const [ms, want] of cases) {
  test(`humanDuration(${ms}) = ${want}`, () => {
    assert.is(humanDuration(ms), want);
  });
}

test.run();
