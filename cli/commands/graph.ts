import type { Command } from 'commander';

/** Registers this module's phoenixctl commands (none yet). */
export function register(_program: Command): void {}
