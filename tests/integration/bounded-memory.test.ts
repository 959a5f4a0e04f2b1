// Bounded memory (issue 15 item 6): the invocation history is bounded by bytes with truncation
// markers, a slow /events subscriber is dropped past a buffer limit and resumes with
// Last-Event-ID, and request bodies have per-route limits answered with 413 and the limit.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { EventLog, EVENT_LOG_LIMITS } from '../../emulator/src/events';
import { BoundedHistory } from '../../emulator/src/functions/history';
import { control } from '../support/emulator';
import { makeProject } from './database-helpers';

let emu: RunningEmulator;
beforeAll(async () => {
  const project = makeProject();
  const dir = path.join(project.functionsDir, 'loud');
  fs.mkdirSync(dir);
  // A function written the way people debug: it prints a huge payload and returns another.
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    `exports.main = async function (event) {
       console.log('start');
       console.log('x'.repeat(3 * 1024 * 1024));
       for (var i = 0; i < 40; i++) console.log('line ' + i + ' ' + 'y'.repeat(10000));
       return { big: 'z'.repeat(2 * 1024 * 1024), n: event.n };
     };\n`,
  );
  emu = await startEmulator({ ...project, port: 0, inMemory: true });
});
afterAll(() => emu.stop());

interface Kept {
  logs: { message: string }[];
  result: Record<string, unknown>;
}

test('the invocation history keeps long logs and large results trimmed, with markers; the caller gets everything', async () => {
  const answer = await control<{ result: { big: string; n: number } }>(
    emu,
    'POST',
    '/functions/loud/invoke',
    { data: { n: 7 } },
  );
  expect(answer.result.big).toHaveLength(2 * 1024 * 1024);
  expect(answer.result.n).toBe(7);

  const { invocations } = await control<{ invocations: Kept[] }>(
    emu,
    'GET',
    '/functions/invocations?name=loud',
  );
  const kept = invocations[invocations.length - 1];
  expect(kept.logs[0].message).toBe('start');
  expect(kept.logs[1].message).toMatch(
    /^x{16384}… \[truncated by wxcloud-emulator: \d+ more characters\]$/,
  );
  // 256 KB of logs per invocation, then one marker line for the rest.
  expect(kept.logs[kept.logs.length - 1].message).toMatch(
    /further log lines of this invocation were dropped/,
  );
  expect(kept.logs.reduce((n, l) => n + l.message.length, 0)).toBeLessThan(300 * 1024);
  expect(kept.result.truncatedByEmulator).toMatch(
    /characters of JSON, over the history's 262144; the caller received all of it/,
  );
});

test('the event log keeps the last events within its count and size; old ones go, the newest stays', () => {
  // The emulator's own bounds (a console's scrollback): 5000 events, 32 MB accounted.
  expect(EVENT_LOG_LIMITS).toEqual({ events: 5000, chars: 32 * 1024 * 1024 });
  const log = new EventLog(() => 0, { events: 3, chars: 100 });
  const ids = (): number[] => log.since(0).map((e) => e.id);
  for (let i = 0; i < 5; i++) log.emit('emulator.warning', { i }, 10);
  expect(ids()).toEqual([3, 4, 5]);
  log.emit('emulator.warning', { big: true }, 80);
  // 10 + 10 + 80 fits; with 80 more the oldest goes by size, then by count.
  expect(ids()).toEqual([4, 5, 6]);
  log.emit('emulator.warning', {}, 10);
  expect(ids()).toEqual([5, 6, 7]);
  log.emit('emulator.warning', { huge: true }, 1000);
  expect(ids()).toEqual([8]);
});

test('an invocation event carries what the history keeps, so megabyte results cannot fill the log', async () => {
  const answer = await emu.services.functions.invoke({ name: 'loud', data: { n: 1 } });
  expect((answer as { result: { big: string } }).result.big).toHaveLength(2 * 1024 * 1024);
  const event = emu.events
    .since(0, 'function.invocation')
    .find((e) => e.data.invocationId === answer.invocationId);
  expect((event?.data.result as Record<string, unknown>).truncatedByEmulator).toMatch(
    /the caller received all of it/,
  );
});

test('the history drops its oldest records once over its byte budget, never the newest', () => {
  const history = new BoundedHistory<string>({
    records: 1000,
    totalChars: 100,
    logLineChars: 10,
    logChars: 10,
    valueChars: 10,
  });
  history.set('a', 'A', 40);
  history.set('b', 'B', 40);
  history.set('c', 'C', 40);
  expect([...history.values()]).toEqual(['B', 'C']);
  history.grow('c', 50);
  expect([...history.values()]).toEqual(['C']);
  history.set('d', 'D', 500);
  expect([...history.values()]).toEqual(['D']);
});

test('an /events subscriber that stops reading is dropped past its buffer; it resumes with Last-Event-ID', async () => {
  const baseline = emu.events.subscriberCount();
  const socket = net.connect(emu.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET /emulator/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  socket.pause(); // never reads again
  for (let i = 0; i < 50 && emu.events.subscriberCount() === baseline; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(emu.events.subscriberCount()).toBe(baseline + 1);

  // 10 MB of events at once, more than the 4 MB a subscriber may have waiting.
  let lastId = 0;
  for (let i = 0; i < 5000; i++) {
    lastId = emu.events.emit('emulator.warning', { message: 'w'.repeat(2000), i }).id;
  }
  expect(emu.events.subscriberCount()).toBe(baseline);
  socket.destroy();

  // Reconnecting with Last-Event-ID gets what came after, from the event log.
  emu.events.emit('emulator.warning', { message: 'after the drop' });
  const abort = new AbortController();
  const response = await fetch(`${emu.url}/emulator/v1/events?type=emulator.warning`, {
    headers: { 'last-event-id': String(lastId) },
    signal: abort.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('after the drop')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  abort.abort();
  expect(text).toContain(`id: ${lastId + 1}\n`);
  expect(text).not.toContain(`id: ${lastId}\n`);
});

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * A POST whose body `send` writes piece by piece (fetch cannot send a lying content-length or a
 * body in timed chunks). A fresh socket each: the server closes one whose body it refused unread.
 */
function rawPost(
  route: string,
  headers: Record<string, string>,
  send: (req: http.ClientRequest) => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${emu.url}${route}`,
      { method: 'POST', headers, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    send(req);
  });
}

test('request bodies past the route limit answer 413 with the limit, without being read', async () => {
  // docs.cloudbase.net/error-code/EXCEED_MAX_PAYLOAD_SIZE: a cloud function's request body is at
  // most 6 MB; other requests at most 100 MB.
  const big = await fetch(`${emu.url}/emulator/v1/functions/loud/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: { blob: 'b'.repeat(7 * 1024 * 1024) } }),
  });
  expect(big.status).toBe(413);
  expect(await big.json()).toEqual({
    error: {
      code: 'EXCEED_MAX_PAYLOAD_SIZE',
      message: expect.stringMatching(/function invocations take at most 6291456 bytes/),
      limitBytes: 6291456,
    },
  });

  // A client announcing 600 MB to /admin is answered at once; the emulator reads none of it.
  const answer = await rawPost('/admin', { 'content-length': String(600 * 1024 * 1024) }, (req) =>
    req.write('{"action":"database.getDocument"'),
  );
  expect(answer.status).toBe(413);
  expect(JSON.parse(answer.body)).toMatchObject({
    error: { code: 'EXCEED_MAX_PAYLOAD_SIZE', limitBytes: 100 * 1024 * 1024 },
  });

  // A chunked body declares no length: it is counted as it arrives, and refused past the limit.
  const chunked = await rawPost('/emulator/v1/functions/loud/invoke', JSON_TYPE, (req) => {
    req.write('{"data":{"blob":"');
    for (let i = 0; i < 7; i++) req.write('c'.repeat(1024 * 1024));
    req.end('"}}');
  });
  expect(chunked.status).toBe(413);
  expect(JSON.parse(chunked.body)).toMatchObject({
    error: { code: 'EXCEED_MAX_PAYLOAD_SIZE', limitBytes: 6291456 },
  });
});

test('a chunked body under the limit reaches the function whole', async () => {
  const answer = await rawPost('/emulator/v1/functions/loud/invoke', JSON_TYPE, (req) => {
    req.write('{"data":{"n":');
    req.end('41}}');
  });
  expect(answer.status).toBe(200);
  expect((JSON.parse(answer.body) as { result: { n: number } }).result.n).toBe(41);
});
