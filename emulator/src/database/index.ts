import path from 'node:path';
import type { Context, Hono } from 'hono';
import { controlEnv, envDataDir, rootEnv, unknownEnv } from '../envs';
import { EmulatorError } from '../errors';
import type { ActionHandler, EmulatorContext, EmulatorService } from '../service';
import { loadDeclarations, type DeclaredCollection } from './declarations';
import { controlWrite, mountDocumentRoutes } from './control-documents';
import { createDatabaseActions } from './handlers';
import { Journal } from './journal';
import { applyDocumentSeed } from './seed';
import { RealtimeServer } from './realtime';
import { RulesEngine } from './rules';
import { acquireLock } from './lock';
import {
  compactedEntries,
  exportStore,
  exportStream,
  importIntoStore,
  type ExportFile,
} from './portable';
import {
  Store,
  validateCollectionName,
  type ChangeEvent,
  type FindOptions,
  type JournalEntry,
} from './store';
import { clone, type Doc } from './values';

export type { ChangeEvent, ChangeKind, FindOptions, IndexSpec, UpdateSpec } from './store';
export type { Doc, DocId } from './values';

/**
 * The emulated cloud database. The SDK's `database.*` actions are in handlers.ts (wire format);
 * the documents, transactions, indexes and change feed live in store.ts, which other services
 * (realtime watch, rules) use through `store` and the methods below.
 */
export class DatabaseService implements EmulatorService {
  readonly name = 'database' as const;
  readonly actions: Record<string, ActionHandler>;
  /**
   * What the mini-program's database client sends: CRUD, count and aggregate under the security
   * rules, and the realtime sign-in. Transactions and addCollection are cloud-function only: they pass the
   * door so the handlers refuse them with the database's own permission error and a
   * `database.denied` event (rules.md).
   */
  readonly clientActions = [
    'database.getDocument',
    'database.calculateDocument',
    'database.aggregateDocuments',
    'database.insertDocument',
    'database.modifyDocument',
    'database.removeDocument',
    'database.startTransaction',
    'database.commitTransaction',
    'database.abortTransaction',
    'database.addCollection',
    'auth.wsWebSign',
  ] as const;
  /** The default env's store: collection and document operations with no wire format and no rules. */
  readonly store: Store;
  /** Security rules for client requests (rules/); server SDK requests bypass them. */
  readonly ruleEngine: RulesEngine;
  /** Realtime watch over WebSocket (realtime/), on the HTTP server's /ws/realtime. */
  readonly realtime: RealtimeServer;
  private releaseLock: (() => void) | undefined;
  private declared: DeclaredCollection[] = [];
  /**
   * Every hosted env's data (`--env-id a,b`): its own store, action table and journal, in the
   * data dir layout of envs.ts. Requests name their env (`?env=`); none means the default.
   */
  private readonly envs = new Map<string, EnvDatabase>();

  constructor(readonly ctx: EmulatorContext) {
    this.ruleEngine = new RulesEngine(ctx.events, () => ctx.clock.now());
    for (const env of ctx.config.envIds) {
      const data: EnvDatabase = {
        env,
        store: new Store(
          {
            now: () => ctx.clock.now(),
            schedule: (at, label, run) => ctx.clock.schedule(at, label, run),
          },
          (entry: JournalEntry) => data.journal?.append(entry),
        ),
        actions: {},
        journal: undefined,
      };
      data.actions = createDatabaseActions(
        data.store,
        () => ctx.clock.now(),
        ctx.events,
        this.ruleEngine,
      );
      this.envs.set(env, data);
    }
    this.store = this.envData().store;
    this.realtime = new RealtimeServer(ctx, (env) => this.storeOf(env), this.ruleEngine);
    this.actions = {
      ...this.perEnv(Object.keys(this.envData().actions)),
      // The realtime client's sign-in (platform-facts §2): a socket URL bound to the caller and
      // the env the client named, so its watches see that env's data.
      'auth.wsWebSign': (_body, actionCtx) => {
        if (!actionCtx.client) {
          return Promise.reject(
            new EmulatorError(
              'INVALID_PARAM',
              'auth.wsWebSign is for mini-program clients (POST /admin/client with x-wxcloud-openid)',
            ),
          );
        }
        return Promise.resolve({
          data: this.realtime.sign(actionCtx.client.openid, this.envData(actionCtx.env).env),
        });
      },
    };
  }

  /** The data of a hosted env (the default when none is named); admin.ts refuses unknown ones. */
  private envData(env?: string): EnvDatabase {
    const data = this.envs.get(env || this.ctx.config.envId);
    if (!data) throw unknownEnv(env ?? '', this.ctx.config.envIds);
    return data;
  }

  /** The store of a hosted env (the default when none is named). */
  storeOf(env?: string): Store {
    return this.envData(env).store;
  }

  /** Each action answered by the store of the env the request names. */
  private perEnv(names: string[]): Record<string, ActionHandler> {
    const routed: Record<string, ActionHandler> = {};
    for (const name of names) {
      routed[name] = (body, actionCtx) =>
        (this.envData(actionCtx.env).actions[name] as ActionHandler)(body, actionCtx);
    }
    return routed;
  }

  async start(): Promise<void> {
    this.declared = loadDeclarations(this.ctx.config.projectDir);
    // A rule outside the emulated subset stops the start, naming the file, rule and token.
    this.ruleEngine.load(this.declared);
    try {
      if (!this.ctx.config.inMemory) this.openDataDir();
      // A unique index declared over stored duplicates stops the start here (store.ts).
      for (const { store } of this.envs.values()) {
        for (const declaration of this.declared) {
          store.createCollection(declaration.name, {
            rules: declaration.rules,
            indexes: declaration.indexes,
          });
        }
      }
    } catch (err) {
      // The emulator stops only the services that started; this one releases its data dir.
      await this.stop();
      throw err;
    }
    // Each env holds the project's seed, as deploying the project to each env would give it.
    for (const { store, env } of this.envs.values()) {
      applyDocumentSeed(store, this.ctx.config.projectDir, env);
    }
    this.realtime.start([...this.envs.values()].map(({ env, store }) => ({ env, store })));
  }

  attachServer(server: import('node:http').Server): void {
    this.realtime.attach(server);
  }

  /** Empties documents, ends transactions and clears faults; collections, rules, indexes stay. */
  async reset(): Promise<void> {
    for (const { env } of this.envs.values()) this.resetEnv(env);
  }

  /** Documents in every collection of every env. */
  storedRecords(): number {
    let count = 0;
    for (const { store } of this.envs.values()) {
      for (const collection of store.listCollections()) count += collection.count;
    }
    return count;
  }

  /** One env's part of reset (`POST /emulator/v1/reset?env=`): its documents, then its seed. */
  resetEnv(env: string): void {
    const { store } = this.envData(env);
    store.clearFaults();
    store.clearDocuments();
    applyDocumentSeed(store, this.ctx.config.projectDir, env);
    this.realtime.reset(env);
  }

  async stop(): Promise<void> {
    this.realtime.stop();
    for (const data of this.envs.values()) {
      for (const id of data.store.openTransactionIds()) data.store.abortTransaction(id);
      const journal = data.journal;
      data.journal = undefined;
      journal?.close();
      await journal?.settled(); // a background compaction stops and removes its temporary file
    }
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  // ---- the API other services and tests use (`env`: a hosted env, the default when omitted) --

  /** Calls `listener` after each committed document change, in commit order. */
  onChange(listener: (event: ChangeEvent) => void, env?: string): () => void {
    return this.storeOf(env).onChange(listener);
  }

  /** Runs a query (plain JS filter, MongoDB operators) against a collection's committed docs. */
  query(collection: string, filter: Doc = {}, options: FindOptions = {}, env?: string): Doc[] {
    return this.storeOf(env).find(collection, filter, options);
  }

  /** The security rules a `database/<NAME>.json` declared, or undefined. */
  rules(collection: string): unknown {
    return this.store.rules(collection);
  }

  /** Every collection declared by a `database/*.json` file, as loaded at start. */
  declaredCollections(): DeclaredCollection[] {
    return clone(this.declared);
  }

  /** The next `count` write requests to `collection` fail, writing nothing (0 clears). */
  injectWriteFailures(collection: string, count: number, env?: string): void {
    this.storeOf(env).injectWriteFailures(collection, count);
  }

  exportData(env?: string): ExportFile {
    return exportStore(this.storeOf(env), this.ctx.clock.now());
  }

  importData(file: unknown, env?: string): { collections: number; documents: number } {
    return importIntoStore(this.storeOf(env), file);
  }

  /**
   * `POST /emulator/v1/faults` body key `database`:
   * `{"failWrites": {"collection": "USERPAYLOG", "count": 1}}` (or an array of those; count 0
   * clears one), or `{"clear": true}` to clear every database fault.
   */
  applyFaults(spec: unknown): void {
    const usage =
      'database faults: {"failWrites": {"collection": "NAME", "count": N, "env"?: "ID"}} (or an array of them), or {"clear": true}';
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new EmulatorError('INVALID_PARAM', usage);
    }
    const { failWrites, clear, ...rest } = spec as { failWrites?: unknown; clear?: unknown };
    if (Object.keys(rest).length) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `unknown key(s) ${Object.keys(rest).join(', ')}; ${usage}`,
      );
    }
    if (clear !== undefined && clear !== true) throw new EmulatorError('INVALID_PARAM', usage);
    if (failWrites === undefined && clear === undefined)
      throw new EmulatorError('INVALID_PARAM', usage);
    const items =
      failWrites === undefined ? [] : Array.isArray(failWrites) ? failWrites : [failWrites];
    const parsed = items.map(
      (item: { collection?: unknown; count?: unknown; env?: unknown } | null) => {
        if (!item || typeof item !== 'object') throw new EmulatorError('INVALID_PARAM', usage);
        if (item.env !== undefined && typeof item.env !== 'string') {
          throw new EmulatorError('INVALID_PARAM', `failWrites.env must be an env id; ${usage}`);
        }
        const store = this.storeOf(controlEnv(this.ctx.config, item.env));
        const collection = validateCollectionName(item.collection);
        if (!store.hasCollection(collection)) {
          throw new EmulatorError('INVALID_PARAM', `failWrites: no collection ${collection}`);
        }
        if (typeof item.count !== 'number') {
          throw new EmulatorError('INVALID_PARAM', `failWrites.count must be a number; ${usage}`);
        }
        return { store, collection, count: item.count };
      },
    );
    if (clear) for (const data of this.envs.values()) data.store.clearFaults();
    // Validate all first (above), then apply, so a bad item changes nothing.
    for (const { store, collection, count } of parsed) store.injectWriteFailures(collection, count);
  }

  /** Control routes; each takes `?env=` (a hosted env; the default when omitted). */
  routes(app: Hono): void {
    const storeIn = (c: Context): Store =>
      this.storeOf(controlEnv(this.ctx.config, c.req.query('env')));
    app.get('/collections', (c) =>
      c.json({
        collections: storeIn(c)
          .listCollections()
          .map((info) => ({
            ...info,
            declared: this.declared.some((d) => d.name === info.name),
            // What a client request meets: CUSTOM (security rules) or a basic permission.
            permission: this.ruleEngine.permissionOf(info.name),
          })),
      }),
    );

    app.put('/collections/:name', (c) => {
      const name = c.req.param('name');
      const created = storeIn(c).createCollection(name);
      return c.json({ name, created }, created ? 201 : 200);
    });

    mountDocumentRoutes(app, storeIn, this.ctx.events);

    // Streamed from a snapshot (portable.ts): never built as one string, whatever the size.
    app.get(
      '/database/export',
      (c) =>
        new Response(exportStream(storeIn(c), this.ctx.clock.now()), {
          headers: { 'content-type': 'application/json; charset=UTF-8' },
        }),
    );

    app.post('/database/import', async (c) => {
      const store = storeIn(c);
      const body: unknown = await c.req.json().catch(() => {
        throw new EmulatorError(
          'INVALID_PARAM',
          'database/import needs a JSON body (an export file)',
        );
      });
      const imported = controlWrite(
        this.ctx.events,
        'database.import',
        undefined,
        () => importIntoStore(store, body),
        (result) => result.documents,
      );
      return c.json({ ok: true, ...imported });
    });
  }

  /**
   * Takes the data dir's lock (lock.ts: refuses a dir another emulator uses, one lock for every
   * env), then opens each env's journal where envs.ts puts it.
   */
  private openDataDir(): void {
    const warn = (message: string): void => {
      process.stderr.write(`wxcloud-emulator: ${message}\n`);
      this.ctx.events.emit('emulator.warning', { service: 'database', message });
    };
    const { dataDir, envId, envIds } = this.ctx.config;
    const release = acquireLock(dataDir, 'starting another emulator on it', warn);
    this.releaseLock = release;
    // The first service to open the data dir: a data dir without ROOT_ENV is the first env's.
    const root = rootEnv(dataDir, envId, true);
    if (!envIds.includes(root)) {
      warn(
        `the data dir's root holds env ${root}'s data, which this emulator does not host (--env-id ${envIds.join(',')}); it is left untouched, and ${envId} keeps its data under ${path.join(dataDir, 'envs', envId)}`,
      );
    }
    for (const data of this.envs.values()) {
      data.journal = openJournal(envDataDir(dataDir, root, data.env), data.store, warn);
    }
  }
}

/**
 * Replays one env's journal into its store as a stream, compacts it, and keeps it open for
 * appends (with background compaction).
 */
function openJournal(dir: string, store: Store, warn: (message: string) => void): Journal {
  const journal = new Journal(dir, { warn });
  for (const entry of journal.read()) store.replay(entry);
  try {
    journal.rewrite(compactedEntries(store));
  } catch (err) {
    // No room for a compacted copy (disk full): carry on with the journal as it is.
    warn(
      `could not compact the journal at start, carrying on with it as it is: ${(err as Error).message}`,
    );
    journal.resume();
  }
  journal.liveEntries = () => compactedEntries(store);
  return journal;
}

interface EnvDatabase {
  env: string;
  store: Store;
  actions: Record<string, ActionHandler>;
  journal: Journal | undefined;
}
