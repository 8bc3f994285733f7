// The running controller (Runtime, watching its directory) converges the example fleet on pvesim over
// HTTPS, then is fed rounds of mutated manifests: wrong types, extreme numbers, odd unicode, duplicate
// keys and documents, tabs, garbage, billion laughs, files over 1 MiB, symlinks out of the directory
// or to nowhere, files deleted and written again. After every round the runtime must show what the
// loader says of the directory: a resource whose manifest is broken keeps its last good spec and is
// Stalled with file:line:col; a valid change is taken up. Throughout: no crash, no HTTP 400 from
// pvesim, no guest destroyed. Finally the valid files come back and every resource is Ready again.
// Seeded: PHOENIX_FUZZ_SEED (printed on failure); PHOENIX_FUZZ_ROUNDS rounds (default 40).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSet, loadManifests, parseManifestText } from '../../controller/manifests.js';
import { getCondition } from '../../controller/conditions.js';
import { keyOf, refOfKey, type ManifestError, type ResourceKey } from '../../controller/types.js';
import type { AnyResource } from '../../resources/types.js';
import { exampleFleet, startConverge, type Converge } from '../helpers/converge.js';
import { waitFor } from '../helpers/wait.js';
import { billionLaughs, damage, duplicateKey, equivalent, examples, oddButMaybeValid, replaceValue, tabIndent, type Example } from './mutate.js';
import { invariants } from './fleet.js';

const SEED = Number(process.env.PHOENIX_FUZZ_SEED ?? 20261126);
const ROUNDS = Number(process.env.PHOENIX_FUZZ_ROUNDS ?? 40);
const EXAMPLES = examples();

let fleet: ReturnType<typeof exampleFleet>;
let c: Converge;
let outside: string;
const crashes: string[] = [];
const onCrash = (err: unknown) => crashes.push(String((err as Error)?.stack ?? err));

test.before(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  fleet = exampleFleet();
  outside = mkdtempSync(join(tmpdir(), 'phoenix-outside-'));
  c = await startConverge({ manifestsDir: fleet.manifestsDir, storages: fleet.storages, allowedHostPaths: fleet.allowedHostPaths, ca: true });
});

test.after(async () => {
  await c?.close();
  fleet?.remove();
  rmSync(outside, { recursive: true, force: true });
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

// --- the mutations fed to the controller ---------------------------------------------------------

type Change =
  | { kind: 'text'; what: string; text: string }
  | { kind: 'outside'; what: string; text: string }
  | { kind: 'dangling'; what: string }
  | { kind: 'vanish'; what: string; text: string; pauseMs: number }
  | { kind: 'restore'; what: string };

// Spec fields a valid mutation may change while the test runs: not identity, not what a guest is
// made from (a template, a disk's size or storage), which cannot be changed back afterwards.
const FIXED = /^(vmid|source|rootfs|disk|disks|type|image|ostemplate|unprivileged|host|backend|embedded|dependsOn)$/;

const asText = (what: string) => (m: { what: string; text: string }): Change => ({ kind: 'text', what: `${what}: ${m.what}`, text: m.text });

function changeFor(ex: Example): fc.Arbitrary<Change> {
  const described = (s: string) => ex.text.replace(/^spec:\n/m, `spec:\n  description: ${s}\n`).replace(/^( {2}description: .*\n)( {2}description: .*\n)/m, '$1');
  return fc.oneof(
    // (not in the fields that name or rebuild a guest, where a valid change is no bad input)
    { weight: 6, arbitrary: oddButMaybeValid(ex, FIXED).map(asText('odd value')) },
    replaceValue(ex).map(asText('value')),
    duplicateKey(ex).map(asText('duplicate key')),
    tabIndent(ex).map(asText('tab')),
    damage(ex).map(asText('damage')),
    equivalent(ex).map(asText('equivalent')),
    fc.integer({ min: 4, max: 10 }).map((w) => ({ kind: 'text' as const, what: `billion laughs ${w}^9 inside`, text: ex.text.replace(/^spec:\n/m, `x: &x\n${billionLaughs(w, 9).replace(/^/gm, '  ')}spec:\n`) })),
    fc.constant({ kind: 'text' as const, what: 'file over 1 MiB', text: `${ex.text}${'# padding\n'.repeat(110_000)}` }),
    fc.constant({ kind: 'text' as const, what: 'document declared twice', text: `${ex.text}---\n${described('"the second copy"')}` }),
    fc.constant({ kind: 'outside' as const, what: 'symlink to a file outside the directory', text: described('"read from outside"') }),
    fc.constant({ kind: 'dangling' as const, what: 'dangling symlink' }),
    fc.tuple(fc.oneof(fc.constant(ex.text), damage(ex).map((m) => m.text)), fc.integer({ min: 0, max: 300 })).map(([text, pauseMs]) => ({ kind: 'vanish' as const, what: `deleted, written again after ${pauseMs} ms`, text, pauseMs })),
    fc.constant({ kind: 'restore' as const, what: 'restored' }),
  );
}

const rounds = fc.sample(
  fc.uniqueArray(fc.nat({ max: EXAMPLES.length - 1 }), { minLength: 1, maxLength: 2 }).chain((idx) => fc.tuple(...idx.map((i) => changeFor(EXAMPLES[i]!).map((ch) => ({ i, ch }))))),
  { seed: SEED, numRuns: ROUNDS },
);


function changedTopFields(a: AnyResource, b: AnyResource): string[] {
  const sa = a.spec as unknown as Record<string, unknown>;
  const sb = b.spec as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(sa), ...Object.keys(sb)])].filter((k) => JSON.stringify(sa[k]) !== JSON.stringify(sb[k]));
}

/** A change the test uses as is; valid ones that rename, empty or rebuild a guest are restores instead. */
function usable(ex: Example, ch: Change): boolean {
  if (ch.kind !== 'text' && ch.kind !== 'vanish') return true;
  const r = parseManifestText(ex.file, ch.text);
  if (r.errors.length) return true;
  const orig = parseManifestText(ex.file, ex.text).resources[0]!.resource;
  if (r.resources.length !== 1 || keyOf(r.resources[0]!.resource) !== keyOf(orig)) return false;
  const mine = r.resources[0]!.resource;
  return mine.kind !== 'Template' && !changedTopFields(orig, mine).some((f) => FIXED.test(f));
}

function apply(ex: Example, ch: Change): Promise<void> | void {
  const p = join(fleet.manifestsDir, ex.file);
  const clear = () => {
    try {
      if (lstatSync(p).isSymbolicLink()) unlinkSync(p);
    } catch {
      /* not there */
    }
  };
  switch (ch.kind) {
    case 'text':
      clear();
      return writeFileSync(p, ch.text);
    case 'restore':
      clear();
      return writeFileSync(p, ex.text);
    case 'outside': {
      const target = join(outside, ex.file);
      writeFileSync(target, ch.text);
      rmSync(p, { force: true });
      return symlinkSync(target, p);
    }
    case 'dangling':
      rmSync(p, { force: true });
      return symlinkSync(join(fleet.manifestsDir, 'nowhere', ex.file), p);
    case 'vanish':
      rmSync(p, { force: true });
      // the pause is part of the input (an editor or a git checkout between its unlink and write)
      return new Promise((res) => setTimeout(res, ch.pauseMs)).then(() => writeFileSync(p, ch.text));
  }
}

// --- what the runtime must show ------------------------------------------------------------------

const KEYS = new Map<ResourceKey, string>(EXAMPLES.map((ex) => [keyOf(parseManifestText(ex.file, ex.text).resources[0]!.resource), ex.file]));
const lastGood = new Map<ResourceKey, AnyResource>();

interface Expectation {
  key: ResourceKey;
  /** Set when the manifest is invalid now: the file the error must name. */
  invalidIn?: string;
  spec: unknown;
}

/**
 * The loader's verdict on the directory as it is now, per resource, as the runtime applies it: a
 * resource is invalid when its document is (or is declared twice, or its file has errors and no
 * longer yields it), or when the set checks fail for it against the valid resources plus the last good
 * spec of the invalid ones (which the runtime keeps).
 */
async function expected(): Promise<Expectation[]> {
  const loaded = await loadManifests(fleet.manifestsDir);
  const shownOf = (key: ResourceKey) => join(fleet.manifestsDir, KEYS.get(key)!);
  const named = (errors: ManifestError[], key: ResourceKey) => errors.filter((e) => e.resource && keyOf(e.resource) === key);
  const parseInvalid = new Map<ResourceKey, string>();
  for (const [key] of KEYS) {
    const mine = loaded.resources.filter((l) => keyOf(l.resource) === key);
    const inFile = loaded.errors.filter((e) => e.file === shownOf(key));
    const own = named(loaded.errors, key);
    if (own.length || mine.length > 1 || (mine.length === 0 && inFile.length)) parseInvalid.set(key, own[0]?.file ?? mine[0]?.source.file ?? shownOf(key));
  }
  const valid = loaded.resources.filter((l) => !parseInvalid.has(keyOf(l.resource)));
  const kept = [...parseInvalid.keys()].map((key) => ({ resource: lastGood.get(key)!, source: { file: shownOf(key), line: 1, col: 1 } }));
  const setErrors = checkSet([...valid, ...kept]);
  const out: Expectation[] = [];
  for (const [key] of KEYS) {
    const invalidIn = parseInvalid.get(key) ?? named(setErrors, key)[0]?.file;
    if (!invalidIn) lastGood.set(key, valid.find((l) => keyOf(l.resource) === key)!.resource);
    out.push({ key, ...(invalidIn ? { invalidIn } : {}), spec: lastGood.get(key)!.spec });
  }
  return out;
}

const stalledReason = (key: ResourceKey) => {
  const v = c.rt.get(refOfKey(key));
  const s = getCondition(v?.status.conditions, 'Stalled');
  return s?.status === 'True' ? `${s.reason}: ${s.message}` : undefined;
};

/** The expectations the runtime does not meet yet, as readable lines. */
function unmet(exp: Expectation[]): string[] {
  const out: string[] = [];
  for (const e of exp) {
    const v = c.rt.get(refOfKey(e.key));
    if (!v) {
      out.push(`${e.key}: gone from the runtime`);
      continue;
    }
    if (JSON.stringify(v.spec) !== JSON.stringify(e.spec)) out.push(`${e.key}: spec differs from the last good one`);
    const stalled = stalledReason(e.key);
    if (e.invalidIn) {
      const want = new RegExp(`^ManifestInvalid: ${e.invalidIn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `);
      if (!stalled || !want.test(stalled)) out.push(`${e.key}: want Stalled ManifestInvalid at ${e.invalidIn}:line:col, have ${stalled ?? 'not Stalled'}`);
    } else if (stalled?.startsWith('ManifestInvalid')) out.push(`${e.key}: still Stalled (${stalled})`);
  }
  return out;
}

const allReady = () =>
  c.rt.list().length === KEYS.size &&
  c.rt.list().every((r) => getCondition(r.status.conditions, 'Ready')?.status === 'True' && r.status.observedGeneration === r.metadata.generation);

const status400 = () => c.sim.stats().statuses['400'] ?? 0;

test('the controller holds the example fleet through rounds of mutated manifests: no crash, no 400, nothing destroyed', async () => {
  await waitFor('the example fleet Ready', allReady, 180_000, 100);
  await expected(); // the last good spec of every resource
  const baseline = invariants(c.sim).guests;
  const originalSpec = new Map([...lastGood].map(([k, r]) => [k, JSON.stringify(r.spec)]));
  const applied = new Set<string>(); // valid odd specs the controller took up (and sent to Proxmox)
  let tried = 0;
  const log: string[] = [];
  const fail = (msg: string) => {
    throw new Error(`${msg}\n(PHOENIX_FUZZ_SEED=${SEED})\nrounds so far:\n${log.join('\n')}`);
  };

  for (const [n, round] of rounds.entries()) {
    for (const { i, ch } of round) {
      const ex = EXAMPLES[i]!;
      const change: Change = usable(ex, ch) ? ch : { kind: 'restore', what: `restored (instead of: ${ch.what})` };
      log.push(`#${n} ${ex.file}: ${change.what.slice(0, 160)}`);
      await apply(ex, change);
      tried++;
    }
    const exp = await expected();
    for (const e of exp) if (!e.invalidIn && JSON.stringify(e.spec) !== originalSpec.get(e.key)) applied.add(`${e.key} ${JSON.stringify(e.spec)}`);
    try {
      await waitFor(`round ${n} applied`, () => unmet(exp).length === 0, 20_000, 50);
    } catch {
      fail(`round ${n}: the runtime does not show the loader's verdict:\n${unmet(exp).join('\n')}`);
    }
    if (crashes.length) fail(`crashed: ${crashes.join('\n')}`);
    if (!c.rt.isHealthy()) fail('the runtime reports itself unhealthy');
    if (status400() !== 0) fail(`pvesim answered ${status400()} requests with HTTP 400`);
    const inv = invariants(c.sim);
    if (inv.destroys.length) fail(`guests destroyed: ${inv.destroys.join(', ')}`);
    if (!baseline.every((v) => inv.guests.includes(v))) fail(`guests missing: ${baseline.filter((v) => !inv.guests.includes(v))}`);
  }

  // the valid files come back: every resource Ready at its generation again
  for (const ex of EXAMPLES) await apply(ex, { kind: 'restore', what: 'restored' });
  const exp = await expected();
  assert.equal(exp.filter((e) => e.invalidIn), [], 'the restored directory is valid');
  await waitFor('every resource Ready after the restore', () => unmet(exp).length === 0 && allReady(), 120_000, 100).catch(() =>
    fail(`not Ready after the restore: ${unmet(exp).join('; ')} ${JSON.stringify(c.rt.list().map((r) => [r.kind, r.metadata.name, getCondition(r.status.conditions, 'Ready')]))}`),
  );
  for (const [key] of KEYS) assert.equal(c.rt.get(refOfKey(key))!.spec, lastGood.get(key)!.spec, `${key} has its original spec`);
  const inv = invariants(c.sim);
  assert.equal(crashes, [], 'no uncaught exception or unhandled rejection');
  assert.is(status400(), 0, 'no HTTP 400 from pvesim');
  assert.equal(inv.destroys, [], 'no guest destroyed');
  assert.ok(baseline.every((v) => inv.guests.includes(v)), 'every guest still there');
  console.log(`\nfigure: manifest fuzz e2e (seed ${SEED}, ${ROUNDS} rounds): ${tried} inputs tried, ${crashes.length} crashes, ${status400()} pvesim 400s, ${inv.destroys.length} guests deleted`);
  console.log(`figure: manifest fuzz e2e: ${applied.size} valid odd specs taken up, ${c.sim.stats().totalRequests} API requests`);
});

test.run();
