/**
 * The events stream: everything observable that happens in the emulator (invocations, database
 * operations, rule denials, payments) as one ordered log. The control API serves it as
 * server-sent events; tests and the console read it. The schema is documented in the README.
 */
/** Every event type, in the README's order; `GET /events?type=` accepts exactly these. */
export const EVENT_TYPES = [
  'function.invocation',
  'function.log',
  'database.operation',
  'database.denied',
  'storage.operation',
  'storage.denied',
  'pay.order',
  'pay.callback',
  'pay.refund',
  'emulator.warning',
  'emulator.reset',
  'clock.advanced',
] as const;

export type EmulatorEventType = (typeof EVENT_TYPES)[number];

export interface EmulatorEvent {
  /** Increasing from 1 per emulator run; the SSE `id`. */
  id: number;
  type: EmulatorEventType;
  /** Emulated time, ISO 8601. */
  time: string;
  data: Record<string, unknown>;
}

type Listener = (event: EmulatorEvent) => void;

export class EventLog {
  private nextId = 1;
  private readonly buffer: EmulatorEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly now: () => number,
    private readonly capacity = 5000,
  ) {}

  emit(type: EmulatorEventType, data: Record<string, unknown>): EmulatorEvent {
    const event: EmulatorEvent = {
      id: this.nextId++,
      type,
      time: new Date(this.now()).toISOString(),
      data,
    };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Events kept in memory with an id above `afterId` (a reconnecting SSE client's Last-Event-ID). */
  since(afterId = 0, type?: EmulatorEventType): EmulatorEvent[] {
    return this.buffer.filter((e) => e.id > afterId && (!type || e.type === type));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many listeners are subscribed (SSE clients among them). */
  subscriberCount(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.buffer.length = 0;
  }
}
