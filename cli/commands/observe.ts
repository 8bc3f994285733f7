// phoenixctl's commands that talk to a running controller, in kubectl's conventions:
// get, describe, diff, reconcile and create (reconcile targets and their dependencies, and wait).
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ResourceView } from '../../controller/types.js';
import type { ObjectRef } from '../../resources/types.js';
import { formatManifestError } from '../../controller/types.js';
import { parseSelector } from '../../controller/labels.js';
import { qualifiedName } from '../../resources/kindnames.js';
import { ApiClient, CliError } from '../client.js';
import { parseTargets, cliNow, runCommand, parseDuration } from '../targets.js';
import type { Target } from '../targets.js';
import {
  columnWidths,
  describe,
  formatJson,
  formatTable,
  formatYaml,
  listObject,
  padRow,
  sortResources,
  tableHeaders,
  tableRow,
  withConditions,
} from '../printers.js';
import { formatPlans, planHasDifferences } from '../plan-format.js';
import { loadChecked, DEFAULT_MANIFEST_DIR } from './validate.js';
import { waitForReconcile, runCreate } from '../progress.js';

interface GetOptions {
  output?: string;
  selector?: string;
  watch?: boolean;
  headers?: boolean;
}

function checkSelector(sel: string | undefined): void {
  if (!sel) return;
  try {
    parseSelector(sel);
  } catch (e) {
    throw new CliError(`error: ${(e as Error).message}`);
  }
}

/** Fetches what the targets name; NotFound for a named resource is collected, not fatal. */
async function fetchTargets(client: ApiClient, targets: Target[], selector?: string): Promise<{ items: ResourceView[]; errors: string[] }> {
  const items: ResourceView[] = [];
  const errors: string[] = [];
  for (const t of targets) {
    if (!t.names) {
      items.push(...sortResources(await client.list(t.kind, selector)));
      continue;
    }
    for (const name of t.names) {
      try {
        items.push(await client.get(t.kind, name));
      } catch (e) {
        if (e instanceof CliError && e.message.startsWith('Error from server (NotFound)')) errors.push(e.message);
        else throw e;
      }
    }
  }
  return { items, errors };
}

function printItems(items: ResourceView[], targets: Target[], o: GetOptions): void {
  const out = o.output ?? '';
  const single = targets.length === 1 && targets[0]!.names?.length === 1 && items.length === 1;
  if (out === 'json') return void process.stdout.write(formatJson(single ? withConditions(items[0]!) : listObject(items)));
  if (out === 'yaml') return void process.stdout.write(formatYaml(single ? withConditions(items[0]!) : listObject(items)));
  if (out === 'name') return void process.stdout.write(items.map((r) => `${qualifiedName(r.kind, r.metadata.name)}\n`).join(''));
  const now = cliNow();
  const kinds = [...new Set(items.map((r) => r.kind))];
  const qualified = kinds.length > 1 || (targets.length > 1 && items.length > 0);
  const blocks = kinds.map((k) =>
    formatTable(
      items.filter((r) => r.kind === k),
      { wide: out === 'wide', noHeaders: o.headers === false, qualified, now },
    ).join('\n'),
  );
  if (blocks.length) process.stdout.write(`${blocks.join('\n\n')}\n`);
}

async function watchTable(client: ApiClient, target: Target, o: GetOptions, listed: ResourceView[]): Promise<void> {
  const wide = o.output === 'wide';
  const now = () => cliNow();
  const rows = listed.map((r) => tableRow(r, { wide, now: now() }));
  const widths = columnWidths([tableHeaders(wide), ...rows]);
  const seen = new Map(listed.map((r) => [r.metadata.name, JSON.stringify(r)]));
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const name = target.names?.[0];
  for await (const ev of client.watch(target.kind, { name, labelSelector: o.selector, signal: controller.signal })) {
    const key = ev.object.metadata.name;
    const text = JSON.stringify(ev.object);
    if (ev.type !== 'DELETED' && seen.get(key) === text) continue;
    if (ev.type === 'DELETED') seen.delete(key);
    else seen.set(key, text);
    if (o.output === 'json') process.stdout.write(formatJson(withConditions(ev.object)));
    else if (o.output === 'yaml') process.stdout.write(`---\n${formatYaml(withConditions(ev.object))}`);
    else if (o.output === 'name') process.stdout.write(`${qualifiedName(ev.object.kind, key)}\n`);
    else process.stdout.write(`${padRow(tableRow(ev.object, { wide, now: now() }), widths)}\n`);
  }
}

async function runGet(cmd: Command, args: string[], o: GetOptions): Promise<number> {
  if (o.output && !['wide', 'yaml', 'json', 'name'].includes(o.output)) {
    throw new CliError(`error: unable to match a printer suitable for the output format "${o.output}", allowed formats are: json,name,wide,yaml`);
  }
  checkSelector(o.selector);
  const targets = parseTargets(args);
  const client = ApiClient.fromCommand(cmd);
  if (o.watch && (targets.length !== 1 || (targets[0]!.names?.length ?? 0) > 1)) {
    throw new CliError('error: you may only specify a single resource type (and at most one name) with --watch');
  }
  const { items, errors } = await fetchTargets(client, targets, o.selector);
  if (items.length === 0 && errors.length === 0 && !o.output?.match(/^(json|yaml)$/)) process.stderr.write('No resources found\n');
  if (items.length > 0 || o.output === 'json' || o.output === 'yaml') printItems(items, targets, o);
  for (const e of errors) process.stderr.write(`${e}\n`);
  if (o.watch) await watchTable(client, targets[0]!, o, items);
  return errors.length ? 1 : 0;
}

async function runDescribe(cmd: Command, args: string[], o: { selector?: string }): Promise<number> {
  if (args.length === 0) throw new CliError('error: You must specify the type of resource to describe.');
  checkSelector(o.selector);
  const targets = parseTargets(args);
  const client = ApiClient.fromCommand(cmd);
  const { items, errors } = await fetchTargets(client, targets, o.selector);
  const now = cliNow();
  const texts: string[] = [];
  for (const r of items) texts.push(describe(r, await client.events(r.kind, r.metadata.name), now));
  if (texts.length) process.stdout.write(texts.join('\n\n'));
  if (items.length === 0 && errors.length === 0) process.stderr.write('No resources found\n');
  for (const e of errors) process.stderr.write(`${e}\n`);
  return errors.length ? 1 : 0;
}

async function runDiff(cmd: Command, dir: string | undefined): Promise<number> {
  const path = dir ?? DEFAULT_MANIFEST_DIR;
  const loaded = await loadChecked(path);
  if (loaded.errors.length) {
    for (const e of loaded.errors) process.stderr.write(`${formatManifestError(e)}\n`);
    throw new CliError(`error: ${loaded.errors.length} error(s) in manifests under ${path}`, 2);
  }
  const client = ApiClient.fromCommand(cmd);
  const plans = await client.diff(loaded.resources.map((l) => l.resource));
  process.stdout.write(formatPlans(plans));
  return plans.some(planHasDifferences) ? 1 : 0;
}

function oneRef(args: string[]): ObjectRef {
  const targets = parseTargets(args);
  if (targets.length !== 1 || targets[0]!.names?.length !== 1) throw new CliError('error: specify exactly one resource: KIND/NAME or KIND NAME');
  return { kind: targets[0]!.kind, name: targets[0]!.names[0]! };
}

export function register(program: Command): void {
  program
    .command('get')
    .description('Display resources (kubectl get): get [KIND[,KIND] [NAME...]] | get KIND/NAME... | get all')
    .argument('[args...]', 'kind (tpl, lxc, vm, ca, all, plural or singular) and names, or KIND/NAME')
    .addOption(new Option('-o, --output <format>', 'output format: wide, yaml, json or name'))
    .option('-l, --selector <selector>', 'label selector (=, ==, !=, in, notin, exists, !key)')
    .option('-w, --watch', 'after listing, watch for changes')
    .option('--no-headers', 'do not print column headers')
    .action((args: string[], o: GetOptions, cmd: Command) => runCommand(() => runGet(cmd, args, o)));

  program
    .command('describe')
    .description('Show details of resources with their conditions and events (kubectl describe)')
    .argument('<args...>', 'KIND/NAME, or KIND [NAME...]')
    .option('-l, --selector <selector>', 'label selector')
    .action((args: string[], o: { selector?: string }, cmd: Command) => runCommand(() => runDescribe(cmd, args, o)));

  program
    .command('diff')
    .description('Show what the controller would change to apply the manifests in DIR (exit 0: none, 1: differences, >1: error)')
    .argument('[dir]', 'manifest directory', undefined)
    .action((dir: string | undefined, _o: unknown, cmd: Command) => runCommand(() => runDiff(cmd, dir), 2));

  program
    .command('reconcile')
    .description('Reconcile a resource now; with --wait, wait until it has been reconciled and is Ready')
    .argument('<args...>', 'KIND/NAME or KIND NAME')
    .option('--wait', 'wait for the reconcile to finish')
    .option('--timeout <duration>', 'how long --wait waits', '5m')
    .action((args: string[], o: { wait?: boolean; timeout: string }, cmd: Command) =>
      runCommand(async () => {
        const ref = oneRef(args);
        const timeoutMs = parseDuration(o.timeout);
        const client = ApiClient.fromCommand(cmd);
        const before = await client.get(ref.kind, ref.name);
        await client.reconcile(ref.kind, ref.name);
        const q = qualifiedName(ref.kind, ref.name);
        process.stdout.write(`${q} reconcile requested\n`);
        if (!o.wait) return 0;
        await waitForReconcile(client, before, timeoutMs);
        process.stdout.write(`${q} reconciled: Ready\n`);
        return 0;
      }),
    );

  program
    .command('create')
    .description('Reconcile guests by vmid or name, with everything they depend on, in order, and wait until they are Ready')
    .argument('<targets...>', 'vmids or names (or KIND/NAME)')
    .option('--timeout <duration>', 'how long to wait for all targets', '30m')
    .action((targets: string[], o: { timeout: string }, cmd: Command) =>
      runCommand(() => runCreate(ApiClient.fromCommand(cmd), targets, { timeoutMs: parseDuration(o.timeout), tty: process.stdout.isTTY === true })),
    );
}
