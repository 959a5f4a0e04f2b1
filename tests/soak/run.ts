/**
 * The soak run: users paying for M minutes against one emulator with a data dir, with realtime
 * watches open on their orders, seeded faults (the chaos engine's), and a restart of the emulator
 * between epochs. Prints RSS over time and ends with the invariants checked:
 *   npm run soak -- [--minutes 3] [--orders 100] [--watchers 20] [--concurrency 16] [--seed N]
 * Each epoch: start on the data dir, check the database is exactly what the last epoch left
 * (restarts lose no acknowledged write), reset, open the watches, run one chaos round (its money
 * invariants checked against the sandbox), close the watches, stop. Exits 1 on any violation.
 * Each epoch resets the emulator (the pay sandbox included), so money invariants are per epoch.
 * RSS is the whole process: function instances are worker threads whose V8 heaps the main heap
 * figure does not count, so each epoch also prints the live instances and the thread count, and
 * after each stop the RSS left (memory the allocator keeps after the workers are gone).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startEmulator, type RunningEmulator } from '../../emulator/src';
import { runChaos } from '../chaos/engine';
import { createWxShoppers } from '../chaos/shoppers';
import { control } from '../support/emulator';

const ADMIN = 'o_chaos_admin';

/** The process's thread count (Linux), to see function instances' worker threads come and go. */
function threads(): string {
  try {
    return /^Threads:\s+(\d+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Realtime watches on each user's own orders, as pages open them; counts what arrives. */
async function openWatches(
  emu: RunningEmulator,
  users: number,
): Promise<{ frames: number; close(): void }> {
  const sockets: WebSocket[] = [];
  const counter = { frames: 0 };
  for (let u = 0; u < users; u++) {
    const openid = `o_chaos_user_${String(u).padStart(5, '0')}`;
    const signed = await fetch(`${emu.url}/admin/client`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-wxcloud-openid': openid },
      body: JSON.stringify({ action: 'auth.wsWebSign' }),
    });
    const { data } = (await signed.json()) as { data: { wsUrl: string } };
    const ws = new WebSocket(data.wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', () => (counter.frames += 1));
    ws.send(
      JSON.stringify({
        watchId: `soak-${u}`,
        requestId: `soak-${u}`,
        msgType: 'INIT_WATCH',
        msgData: {
          envId: 'local-env',
          collName: 'USERPAYLOG',
          query: JSON.stringify(JSON.stringify({ _openid: '{openid}' })),
        },
      }),
    );
    sockets.push(ws);
  }
  return {
    get frames() {
      return counter.frames;
    },
    close: () => sockets.forEach((ws) => ws.close()),
  };
}

async function exportOf(emu: RunningEmulator): Promise<string> {
  const data = await control<{ collections: Record<string, unknown[]> }>(
    emu,
    'GET',
    '/database/export',
  );
  return JSON.stringify(data.collections);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '3' },
      orders: { type: 'string', default: '100' },
      watchers: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '16' },
      seed: { type: 'string', default: '20261201' },
    },
  });
  const number = (name: string, text: string | undefined): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`--${name} must be a positive number, got ${text}`);
    return n;
  };
  const minutes = number('minutes', values.minutes);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-soak-'));
  const deadline = Date.now() + minutes * 60_000;
  const violations: string[] = [];
  let lastExport: string | undefined;
  let totalOrders = 0;
  let totalPaid = 0;
  let epoch = 0;
  const rss: number[] = [];
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  log(
    `soak: ${minutes} min, ${values.orders} orders per epoch, ${values.watchers} watchers, data dir ${dataDir}`,
  );
  log(`epoch 0 start: rss ${mb(process.memoryUsage().rss)}`);
  rss.push(process.memoryUsage().rss);
  while (Date.now() < deadline) {
    epoch += 1;
    const emu = await startEmulator({
      projectDir: path.resolve(__dirname, '../..'),
      port: 0,
      dataDir,
      functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: ADMIN } },
      maxInstancesPerFunction: 8,
    });
    try {
      // A restart loses no acknowledged write: the database is what the last epoch left.
      const restored = await exportOf(emu);
      if (lastExport !== undefined && restored !== lastExport) {
        violations.push(`epoch ${epoch}: the database after the restart differs from before it`);
      }
      await emu.reset();
      const watches = await openWatches(emu, number('watchers', values.watchers));
      const report = await runChaos(emu, createWxShoppers(emu), {
        seed: number('seed', values.seed) + epoch,
        orders: number('orders', values.orders),
        concurrency: number('concurrency', values.concurrency),
        refundShare: 0.2,
        adminOpenid: ADMIN,
        itemId: 'demo-unlock',
        orderLifetimeMs: 15 * 60_000,
      });
      watches.close();
      violations.push(...report.violations.map((v) => `epoch ${epoch}: ${v}`));
      totalOrders += report.ordersCreated;
      totalPaid += report.sandboxPaid;
      lastExport = await exportOf(emu);
      const memory = process.memoryUsage();
      rss.push(memory.rss);
      // Function instances are worker threads in this process: each has its own V8 heap, which
      // process.memoryUsage().heapUsed (the main isolate's) does not count, but RSS does.
      const instances = emu.services.functions
        .describe()
        .reduce((n, f) => n + f.instances.filter((i) => i.state !== 'dead').length, 0);
      log(
        `epoch ${epoch}: ${report.ordersCreated} orders, ${report.sandboxPaid} paid, ${report.refunded} refunded, ` +
          `${watches.frames} watch frames, ${report.violations.length} violations; ` +
          `rss ${mb(memory.rss)}, heap ${mb(memory.heapUsed)}, external ${mb(memory.external)}, ` +
          `${instances} function instances, ${threads()} threads (${Math.round((deadline - Date.now()) / 1000)} s left)`,
      );
    } finally {
      await emu.stop();
    }
    log(`epoch ${epoch} stopped: rss ${mb(process.memoryUsage().rss)}, ${threads()} threads`);
  }
  const final = await startEmulator({
    projectDir: path.resolve(__dirname, '../..'),
    port: 0,
    dataDir,
  });
  try {
    if (lastExport !== undefined && (await exportOf(final)) !== lastExport) {
      violations.push('after the last restart the database differs from before it');
    }
  } finally {
    await final.stop();
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  log(
    JSON.stringify(
      {
        epochs: epoch,
        restarts: epoch,
        orders: totalOrders,
        paid: totalPaid,
        rssStart: mb(rss[0]),
        rssEnd: mb(rss[rss.length - 1]),
        rssMax: mb(Math.max(...rss)),
        violations,
      },
      null,
      2,
    ),
  );
  return violations.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  },
);
