// GuestExec implementations for after-renewal actions. The reconciler only calls the executor for a
// container when the operator started the controller with --allow-host-commands; `pct exec` runs on
// the Proxmox host itself, so it is never reachable from a manifest alone.
import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import type { ExecResult, ExecTarget, GuestExec } from './issuer.js';

export interface QemuAgent {
  /** POST /nodes/{node}/qemu/{vmid}/agent/exec, then poll agent/exec-status?pid= until exited. */
  agentExec(node: string, vmid: number, command: string[], signal?: AbortSignal): Promise<ExecResult>;
}

export interface AgentPollOptions {
  /** Give up waiting for the command after this long (default 120 s). */
  timeoutMs?: number;
  /** First poll delay, doubled up to 1 s (default 100 ms). */
  firstPollMs?: number;
}

/** The one method of the controller's Proxmox client this needs (structural: no import of it). */
export interface PveRequester {
  request<T = unknown>(method: 'GET' | 'POST', template: string, vars?: Record<string, string | number>, params?: Record<string, unknown>): Promise<T>;
}

interface ExecStatus {
  exited: boolean | number;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
}

/**
 * The QEMU guest agent over the Proxmox API, through the controller's client (its TLS settings, its
 * metrics): POST agent/exec with `command` as repeated parameters, then GET agent/exec-status?pid=
 * until the process has exited or the deadline passes.
 */
export function createQemuAgent(pve: PveRequester, opts: AgentPollOptions = {}): QemuAgent {
  return {
    async agentExec(node, vmid, command, signal) {
      const vars = { node, vmid };
      const { pid } = await pve.request<{ pid: number }>('POST', '/nodes/{node}/qemu/{vmid}/agent/exec', vars, { command });
      const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
      let wait = opts.firstPollMs ?? 100;
      for (;;) {
        const st = await pve.request<ExecStatus>('GET', '/nodes/{node}/qemu/{vmid}/agent/exec-status', vars, { pid });
        if (st.exited) {
          const exitCode = st.exitcode ?? (st.signal !== undefined ? 128 + st.signal : -1);
          return { exitCode, stdout: st['out-data'], stderr: st['err-data'] };
        }
        if (Date.now() >= deadline) throw new Error(`guest agent command (pid ${pid}) still running after ${opts.timeoutMs ?? 120_000} ms`);
        await delay(wait, undefined, { signal });
        wait = Math.min(1000, wait * 2);
      }
    },
  };
}

/** `pct exec <vmid> -- cmd...` on this host (containers on the local node only). */
export function pctExec(vmid: number, command: string[], signal?: AbortSignal, pct = 'pct'): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(pct, ['exec', String(vmid), '--', ...command], { signal, timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ exitCode: err ? (err.code as unknown as number) : 0, stdout, stderr });
    });
  });
}

/**
 * The executor the controller wires: VMs through the guest agent, containers through `pct exec` when
 * host commands are allowed (otherwise this refuses, as a second guard behind the reconciler's check).
 */
export function createGuestExec(opts: { agent?: QemuAgent; allowHostCommands: boolean; pct?: string }): GuestExec {
  return {
    async exec(target: ExecTarget, command: string[], signal?: AbortSignal): Promise<ExecResult> {
      if (command.length === 0) throw new Error('empty command');
      if (target.type === 'qemu') {
        if (!opts.agent) throw new Error('no QEMU guest agent client configured');
        return opts.agent.agentExec(target.node, target.vmid, command, signal);
      }
      if (!opts.allowHostCommands) throw new Error('host commands are not allowed (--allow-host-commands is off)');
      return pctExec(target.vmid, command, signal, opts.pct);
    },
  };
}
