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

/**
 * What the log keeps for replay (`GET /events` with Last-Event-ID, the console on load): the last
 * 5000 events and at most 32 MB of them, as a console's scrollback is bounded, whichever is hit
 * first; the newest event always stays. Sizes are what the emitter accounts (JSON characters,
 * roughly), so no event is serialized just to be measured.
 */
export const EVENT_LOG_LIMITS = { events: 5000, chars: 32 * 1024 * 1024 } as const;
/** The size an event is accounted when its emitter names none: most are a few hundred characters. */
export const DEFAULT_EVENT_CHARS = 512;

export class EventLog {
  private nextId = 1;
  private readonly buffer: EmulatorEvent[] = [];
  /** Accounted characters of each buffered event, in the same order. */
  private readonly sizes: number[] = [];
  private chars = 0;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly now: () => number,
    private readonly limits: { events: number; chars: number } = EVENT_LOG_LIMITS,
  ) {}

  /** `chars`: the event's size as its emitter knows it (a function's result and logs). */
  emit(
    type: EmulatorEventType,
    data: Record<string, unknown>,
    chars = DEFAULT_EVENT_CHARS,
  ): EmulatorEvent {
    const event: EmulatorEvent = {
      id: this.nextId++,
      type,
      time: new Date(this.now()).toISOString(),
      data,
    };
    this.buffer.push(event);
    this.sizes.push(chars);
    this.chars += chars;
    while (
      this.buffer.length > 1 &&
      (this.buffer.length > this.limits.events || this.chars > this.limits.chars)
    ) {
      this.buffer.shift();
      this.chars -= this.sizes.shift() ?? 0;
    }
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
    this.sizes.length = 0;
    this.chars = 0;
  }
}
