// What the bench process needs from its host before any user is created.

/**
 * @cloudbase/database's realtime client logs every watch start and pause with console.log
 * ("[realtime] initWatch success") and every NEXT_EVENT ("nextevent 1 ignored", although it is
 * then handled): 1,000 users would bury the table. Those lines are counted, the client's
 * complaints kept as samples for the report; every other console line passes through.
 */
export interface RealtimeLogs {
  /** Routine lines: "[realtime] ..." and "nextevent N ignored" (logged for every NEXT_EVENT). */
  routine: number;
  /** "[realtime listener] ..." lines: the client's own complaints (out of order, errors). */
  complaints: number;
  samples: string[];
}

export function quietRealtimeLogs(): RealtimeLogs {
  const seen: RealtimeLogs = { routine: 0, complaints: 0, samples: [] };
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      const first = typeof args[0] === 'string' ? args[0] : '';
      if (first.startsWith('[realtime listener]')) {
        seen.complaints++;
        if (seen.samples.length < 5) seen.samples.push(`${level}: ${first}`);
        return;
      }
      if (first.startsWith('[realtime]') || first.startsWith('nextevent ')) {
        seen.routine++;
        return;
      }
      original(...args);
    };
  }
  return seen;
}
