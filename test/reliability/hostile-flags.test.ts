// The operator's switches for dangerous behaviour read their environment variables by value:
// PHOENIX_ALLOW_HOST_COMMANDS=false must not allow host commands (nor PHOENIX_PRUNE=0 prune), as it
// would if the variable merely being set turned the flag on; an unclear value is refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildProgram } from '../../controller/main.js';

function parse(env: Record<string, string | undefined>, argv: string[] = []): { allowHostCommands: boolean; prune: boolean } | Error {
  const saved = { ...process.env };
  try {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const p = buildProgram().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    try {
      p.parse(argv, { from: 'user' });
    } catch (e) {
      return e as Error;
    }
    return p.opts<{ allowHostCommands: boolean; prune: boolean }>();
  } finally {
    process.env = saved;
  }
}

test('PHOENIX_ALLOW_HOST_COMMANDS and PHOENIX_PRUNE: on only for a yes, off for a no or when unset', () => {
  const table: Array<[string | undefined, boolean]> = [
    [undefined, false], ['', false], ['0', false], ['false', false], ['FALSE', false], ['no', false], ['off', false], [' false ', false],
    ['1', true], ['true', true], ['True', true], ['yes', true], ['on', true],
  ];
  for (const [value, on] of table) {
    const a = parse({ PHOENIX_ALLOW_HOST_COMMANDS: value, PHOENIX_PRUNE: undefined });
    assert.not.instance(a, Error, String(value));
    assert.is((a as { allowHostCommands: boolean }).allowHostCommands, on, `PHOENIX_ALLOW_HOST_COMMANDS=${JSON.stringify(value)}`);
    const p = parse({ PHOENIX_PRUNE: value, PHOENIX_ALLOW_HOST_COMMANDS: undefined });
    assert.is((p as { prune: boolean }).prune, on, `PHOENIX_PRUNE=${JSON.stringify(value)}`);
    assert.is((p as { allowHostCommands: boolean }).allowHostCommands, false);
  }
});

test('an unclear value is refused naming the variable; the command line still wins over the environment', () => {
  for (const value of ['maybe', 'disabled', '2', 'false;true']) {
    const e = parse({ PHOENIX_ALLOW_HOST_COMMANDS: value });
    assert.instance(e, Error, value);
    assert.match((e as Error).message, `PHOENIX_ALLOW_HOST_COMMANDS=${JSON.stringify(value)}: expected true or false`);
  }
  const cli = parse({ PHOENIX_ALLOW_HOST_COMMANDS: 'false' }, ['--allow-host-commands']);
  assert.is((cli as { allowHostCommands: boolean }).allowHostCommands, true);
});

test.run();
