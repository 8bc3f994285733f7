// Events per resource, folded like client-go's event correlator: an event with the same type, reason
// and message as one already recorded for the resource bumps that one's count and lastTimestamp
// instead of adding a line. The list is bounded (oldest dropped first). Messages are scrubbed.
import type { EventType, PhoenixEvent } from '../resources/types.js';
import type { EventRecorder } from './types.js';
import { scrub } from './log.js';

export const MAX_EVENTS_PER_RESOURCE = 50;

/**
 * Record an event into a resource's list (in place), folding repeats; returns the event as recorded.
 * The list stays ordered by lastTimestamp (a folded event moves to the end).
 */
export function recordEvent(
  list: PhoenixEvent[],
  ev: { type: EventType; reason: string; message: string; source: string },
  now: Date,
  max = MAX_EVENTS_PER_RESOURCE,
): PhoenixEvent {
  const message = scrub(ev.message);
  const ts = now.toISOString();
  const i = list.findIndex((e) => e.type === ev.type && e.reason === ev.reason && e.message === message);
  let rec: PhoenixEvent;
  if (i >= 0) {
    rec = { ...list[i]!, count: list[i]!.count + 1, lastTimestamp: ts, source: ev.source };
    list.splice(i, 1);
  } else {
    rec = { type: ev.type, reason: ev.reason, message, count: 1, firstTimestamp: ts, lastTimestamp: ts, source: ev.source };
  }
  list.push(rec);
  if (list.length > max) list.splice(0, list.length - max);
  return rec;
}

/** Holds every resource's events; `onChange` is told which resource's list changed (to persist it). */
export class EventStore {
  private readonly lists = new Map<string, PhoenixEvent[]>();

  constructor(
    private readonly onChange: (key: string, list: PhoenixEvent[], ev: PhoenixEvent) => void = () => {},
    private readonly now: () => Date = () => new Date(),
    private readonly max = MAX_EVENTS_PER_RESOURCE,
  ) {}

  load(key: string, list: PhoenixEvent[]): void {
    this.lists.set(key, list.slice(-this.max));
  }

  list(key: string): PhoenixEvent[] {
    return [...(this.lists.get(key) ?? [])];
  }

  delete(key: string): void {
    this.lists.delete(key);
  }

  record(key: string, source: string, type: EventType, reason: string, message: string): PhoenixEvent {
    let list = this.lists.get(key);
    if (!list) this.lists.set(key, (list = []));
    const ev = recordEvent(list, { type, reason, message, source }, this.now(), this.max);
    this.onChange(key, list, ev);
    return ev;
  }

  recorderFor(key: string, source: string): EventRecorder {
    return { event: (type, reason, message) => void this.record(key, source, type, reason, message) };
  }
}
