// The emulated API: method + path template -> Simulator call. Path templates are Proxmox's own
// (as in the API schema), so stats, faults and the validator all speak the same names.
import { fail } from '../model/errors.js';
import type { Caller, GuestType, Params, Simulator } from '../model/simulator.js';

export interface RouteContext {
  sim: Simulator;
  /** Query/body parameters plus path parameters. */
  params: Params;
  path: Record<string, string>;
  caller: Caller;
}

/** A handler result that is already the whole JSON body (`{"data":...}`), as a string or UTF-8 bytes. */
export class RawJson {
  constructor(readonly json: string | Buffer) {}
}

/** A handler result sent as the whole body (e.g. the task log's `{data, total}`), not wrapped in `{data}`. */
export class RawBody {
  constructor(readonly body: Record<string, unknown>) {}
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  template: string;
  handler: (c: RouteContext) => unknown;
}

const s = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);
const index = (...names: string[]) => () => names.map((subdir) => ({ subdir }));

export function apiRoutes(): Route[] {
  const r: Route[] = [
    { method: 'GET', template: '/version', handler: (c) => c.sim.version() },
    { method: 'GET', template: '/nodes', handler: (c) => c.sim.listNodes() },
    {
      method: 'GET',
      template: '/nodes/{node}',
      handler: (c) => {
        c.sim.checkNode(c.path.node!);
        return ['lxc', 'qemu', 'status', 'storage', 'tasks'].map((subdir) => ({ subdir }));
      },
    },
    { method: 'GET', template: '/nodes/{node}/status', handler: (c) => c.sim.nodeStatus(c.path.node!) },
    { method: 'GET', template: '/cluster', handler: index('nextid', 'resources', 'status', 'tasks') },
    { method: 'GET', template: '/cluster/resources', handler: (c) => new RawJson(c.sim.clusterResourcesBody(s(c.params.type))) },
    { method: 'GET', template: '/cluster/nextid', handler: (c) => c.sim.nextId(s(c.params.vmid)) },
    { method: 'GET', template: '/cluster/status', handler: (c) => c.sim.clusterStatus() },
    { method: 'GET', template: '/nodes/{node}/storage', handler: (c) => c.sim.listStorage(c.path.node!, c.params) },
    {
      method: 'GET',
      template: '/nodes/{node}/storage/{storage}',
      handler: (c) => {
        c.sim.pool(c.sim.checkNode(c.path.node!).name, c.path.storage!);
        return index('content', 'status')();
      },
    },
    { method: 'GET', template: '/nodes/{node}/storage/{storage}/content', handler: (c) => c.sim.storageContent(c.path.node!, c.path.storage!, c.params) },
    { method: 'GET', template: '/nodes/{node}/tasks', handler: (c) => c.sim.listTasks(c.path.node!, c.params) },
    {
      method: 'GET',
      template: '/nodes/{node}/tasks/{upid}',
      handler: (c) => {
        c.sim.taskStatus(c.path.node!, c.path.upid!);
        return [{ name: 'log' }, { name: 'status' }];
      },
    },
    { method: 'GET', template: '/nodes/{node}/tasks/{upid}/status', handler: (c) => c.sim.taskStatus(c.path.node!, c.path.upid!) },
    { method: 'GET', template: '/nodes/{node}/tasks/{upid}/log', handler: (c) => new RawBody(c.sim.taskLog(c.path.node!, c.path.upid!, c.params)) },
  ];

  for (const t of ['lxc', 'qemu'] as GuestType[]) {
    const base = `/nodes/{node}/${t}`;
    const g = `${base}/{vmid}`;
    const N = (c: RouteContext) => c.path.node!;
    const V = (c: RouteContext) => c.path.vmid!;
    r.push(
      { method: 'GET', template: base, handler: (c) => c.sim.listGuests(N(c), t) },
      { method: 'POST', template: base, handler: (c) => (t === 'lxc' ? c.sim.createLxc(N(c), c.params, c.caller) : c.sim.createQemu(N(c), c.params, c.caller)) },
      {
        method: 'GET',
        template: g,
        handler: (c) => {
          c.sim.guest(N(c), t, V(c));
          const subs = ['config', 'pending', 'status', 'clone', 'template', 'resize', 'snapshot', 'firewall'];
          if (t === 'qemu') subs.push('cloudinit', 'agent');
          return subs.map((subdir) => ({ subdir }));
        },
      },
      { method: 'DELETE', template: g, handler: (c) => c.sim.destroy(N(c), t, V(c), c.params, c.caller) },
      { method: 'GET', template: `${g}/config`, handler: (c) => c.sim.getConfig(N(c), t, V(c), s(c.params.current) === '1') },
      { method: 'PUT', template: `${g}/config`, handler: (c) => c.sim.updateConfig(N(c), t, V(c), c.params) },
      { method: 'GET', template: `${g}/pending`, handler: (c) => c.sim.getPending(N(c), t, V(c)) },
      {
        method: 'GET',
        template: `${g}/status`,
        handler: (c) => {
          c.sim.guest(N(c), t, V(c));
          return index('current', 'start', 'stop', 'shutdown', 'reboot')();
        },
      },
      { method: 'GET', template: `${g}/status/current`, handler: (c) => c.sim.guestStatus(N(c), t, V(c)) },
      { method: 'POST', template: `${g}/status/start`, handler: (c) => c.sim.start(N(c), t, V(c), c.params, c.caller) },
      { method: 'POST', template: `${g}/status/stop`, handler: (c) => c.sim.stop(N(c), t, V(c), c.params, c.caller) },
      { method: 'POST', template: `${g}/status/shutdown`, handler: (c) => c.sim.shutdown(N(c), t, V(c), c.params, c.caller) },
      { method: 'POST', template: `${g}/status/reboot`, handler: (c) => c.sim.reboot(N(c), t, V(c), c.params, c.caller) },
      { method: 'POST', template: `${g}/clone`, handler: (c) => c.sim.clone(N(c), t, V(c), c.params, c.caller) },
      { method: 'POST', template: `${g}/template`, handler: (c) => (t === 'lxc' ? c.sim.templateLxc(N(c), V(c)) : c.sim.templateQemu(N(c), V(c), c.caller)) },
      { method: 'PUT', template: `${g}/resize`, handler: (c) => c.sim.resize(N(c), t, V(c), c.params, c.caller) },
      { method: 'GET', template: `${g}/snapshot`, handler: (c) => c.sim.listSnapshots(N(c), t, V(c)) },
      { method: 'POST', template: `${g}/snapshot`, handler: (c) => c.sim.snapshot(N(c), t, V(c), c.params, c.caller) },
      {
        method: 'GET',
        template: `${g}/snapshot/{snapname}`,
        handler: (c) => {
          const list = c.sim.listSnapshots(N(c), t, V(c));
          if (!list.some((x) => x.name === c.path.snapname && x.name !== 'current')) fail(`snapshot '${c.path.snapname}' does not exist`);
          return index('config', 'rollback')();
        },
      },
      { method: 'DELETE', template: `${g}/snapshot/{snapname}`, handler: (c) => c.sim.deleteSnapshot(N(c), t, V(c), c.path.snapname!, c.caller) },
      {
        method: 'GET',
        template: `${g}/firewall`,
        handler: (c) => {
          c.sim.guest(N(c), t, V(c));
          return index('rules', 'options')();
        },
      },
      { method: 'GET', template: `${g}/firewall/rules`, handler: (c) => c.sim.listRules(N(c), t, V(c)) },
      { method: 'POST', template: `${g}/firewall/rules`, handler: (c) => c.sim.createRule(N(c), t, V(c), c.params) },
      { method: 'GET', template: `${g}/firewall/rules/{pos}`, handler: (c) => c.sim.getRule(N(c), t, V(c), c.path.pos!) },
      { method: 'PUT', template: `${g}/firewall/rules/{pos}`, handler: (c) => c.sim.updateRule(N(c), t, V(c), c.path.pos!, c.params) },
      { method: 'DELETE', template: `${g}/firewall/rules/{pos}`, handler: (c) => c.sim.deleteRule(N(c), t, V(c), c.path.pos!, c.params) },
      { method: 'GET', template: `${g}/firewall/options`, handler: (c) => c.sim.getFirewallOptions(N(c), t, V(c)) },
      { method: 'PUT', template: `${g}/firewall/options`, handler: (c) => c.sim.setFirewallOptions(N(c), t, V(c), c.params) },
    );
    if (t === 'qemu') {
      r.push(
        { method: 'POST', template: `${g}/config`, handler: (c) => c.sim.updateConfigAsync(N(c), V(c), c.params, c.caller) },
        { method: 'GET', template: `${g}/cloudinit`, handler: (c) => c.sim.getCloudinit(N(c), V(c)) },
        { method: 'PUT', template: `${g}/cloudinit`, handler: (c) => c.sim.regenerateCloudinit(N(c), V(c)) },
        { method: 'POST', template: `${g}/agent/exec`, handler: (c) => c.sim.agentExec(N(c), V(c), c.params) },
        { method: 'GET', template: `${g}/agent/exec-status`, handler: (c) => c.sim.agentExecStatus(N(c), V(c), s(c.params.pid) ?? '') },
      );
    }
  }
  return r;
}

/** Segment trie lookup: literal segments win over `{param}` segments. */
export class Router {
  private root: TrieNode = { literal: new Map(), routes: new Map() };

  constructor(routes: Route[]) {
    for (const route of routes) {
      let n = this.root;
      for (const seg of route.template.split('/').filter(Boolean)) {
        const m = /^\{(.+)\}$/.exec(seg);
        if (m) {
          n.param ??= { name: m[1]!, node: { literal: new Map(), routes: new Map() } };
          n = n.param.node;
        } else {
          let next = n.literal.get(seg);
          if (!next) {
            next = { literal: new Map(), routes: new Map() };
            n.literal.set(seg, next);
          }
          n = next;
        }
      }
      n.routes.set(route.method, route);
    }
  }

  /** The route for method + path, or the template of the path if only the method is missing. */
  match(method: string, path: string): { route?: Route; path: Record<string, string>; template?: string } {
    const segs = path.split('/').filter(Boolean);
    const params: Record<string, string> = {};
    let n: TrieNode | undefined = this.root;
    for (const raw of segs) {
      let seg: string;
      try {
        seg = decodeURIComponent(raw);
      } catch {
        return { path: params };
      }
      const lit: TrieNode | undefined = n.literal.get(seg);
      if (lit) n = lit;
      else if (n.param) {
        params[n.param.name] = seg;
        n = n.param.node;
      } else return { path: params };
    }
    const route = n.routes.get(method);
    const any = route ?? n.routes.values().next().value;
    return route ? { route, path: params, template: route.template } : { path: params, ...(any ? { template: any.template } : {}) };
  }
}

interface TrieNode {
  literal: Map<string, TrieNode>;
  param?: { name: string; node: TrieNode };
  routes: Map<string, Route>;
}
