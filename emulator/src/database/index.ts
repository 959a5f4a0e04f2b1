import type { Hono } from 'hono';
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
import { compactedEntries, exportStore, importIntoStore, type ExportFile } from './portable';
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
  /** The core store: collection and document operations with no wire format and no rules. */
  readonly store: Store;
  /** Security rules for client requests (rules/); server SDK requests bypass them. */
  readonly ruleEngine: RulesEngine;
  /** Realtime watch over WebSocket (realtime/), on the HTTP server's /ws/realtime. */
  readonly realtime: RealtimeServer;
  private journal: Journal | undefined;
  private releaseLock: (() => void) | undefined;
  private declared: DeclaredCollection[] = [];
  /**
   * The data of every hosted env but the first (`--env-id a,b`): its own store and action table,
   * in memory only. Requests name their env (`?env=`); the default env is `store`.
   */
  private readonly otherEnvs = new Map<
    string,
    { store: Store; actions: Record<string, ActionHandler> }
  >();

  constructor(readonly ctx: EmulatorContext) {
    this.store = new Store(
      {
        now: () => ctx.clock.now(),
        schedule: (at, label, run) => ctx.clock.schedule(at, label, run),
      },
      (entry: JournalEntry) => this.journal?.append(entry),
    );
    this.ruleEngine = new RulesEngine(ctx.events, () => ctx.clock.now());
    this.realtime = new RealtimeServer(ctx, this.store, this.ruleEngine);
    for (const env of ctx.config.envIds.slice(1)) {
      const store = new Store(
        {
          now: () => ctx.clock.now(),
          schedule: (at, label, run) => ctx.clock.schedule(at, label, run),
        },
        () => undefined,
      );
      const actions = createDatabaseActions(
        store,
        () => ctx.clock.now(),
        ctx.events,
        this.ruleEngine,
      );
      this.otherEnvs.set(env, { store, actions });
    }
    this.actions = {
      ...this.perEnv(
        createDatabaseActions(this.store, () => ctx.clock.now(), ctx.events, this.ruleEngine),
      ),
      // The realtime client's sign-in (platform-facts §2): a socket URL bound to the caller.
      'auth.wsWebSign': (_body, actionCtx) => {
        if (!actionCtx.client) {
          return Promise.reject(
            new EmulatorError(
              'INVALID_PARAM',
              'auth.wsWebSign is for mini-program clients (POST /admin/client with x-wxcloud-openid)',
            ),
          );
        }
        return Promise.resolve({ data: this.realtime.sign(actionCtx.client.openid) });
      },
    };
  }

  /** Each action answered by the store of the env the request names. */
  private perEnv(actions: Record<string, ActionHandler>): Record<string, ActionHandler> {
    const routed: Record<string, ActionHandler> = {};
    for (const [name, handler] of Object.entries(actions)) {
      routed[name] = (body, actionCtx) => {
        const other = actionCtx.env ? this.otherEnvs.get(actionCtx.env) : undefined;
        return (other?.actions[name] ?? handler)(body, actionCtx);
      };
    }
    return routed;
  }

  async start(): Promise<void> {
    this.declared = loadDeclarations(this.ctx.config.projectDir);
    // A rule outside the emulated subset stops the start, naming the file, rule and token.
    this.ruleEngine.load(this.declared);
    if (!this.ctx.config.inMemory) this.openDataDir(this.ctx.config.dataDir);
    try {
      // A unique index declared over stored duplicates stops the start here (store.ts).
      for (const store of [this.store, ...[...this.otherEnvs.values()].map((e) => e.store)]) {
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
    applyDocumentSeed(this.store, this.ctx.config.projectDir, this.ctx.config.envId);
    this.realtime.start();
  }

  attachServer(server: import('node:http').Server): void {
    this.realtime.attach(server);
  }

  /** Empties documents, ends transactions and clears faults; collections, rules, indexes stay. */
  async reset(): Promise<void> {
    this.store.clearFaults();
    this.store.clearDocuments();
    for (const { store } of this.otherEnvs.values()) store.clearDocuments();
    applyDocumentSeed(this.store, this.ctx.config.projectDir, this.ctx.config.envId);
    this.realtime.reset();
  }

  async stop(): Promise<void> {
    this.realtime.stop();
    for (const id of this.store.openTransactionIds()) this.store.abortTransaction(id);
    const journal = this.journal;
    this.journal = undefined;
    journal?.close();
    await journal?.settled(); // a background compaction stops and removes its temporary file
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  // ---- the API other services and tests use -------------------------------------------------

  /** Calls `listener` after each committed document change, in commit order. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    return this.store.onChange(listener);
  }

  /** Runs a query (plain JS filter, MongoDB operators) against a collection's committed docs. */
  query(collection: string, filter: Doc = {}, options: FindOptions = {}): Doc[] {
    return this.store.find(collection, filter, options);
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
  injectWriteFailures(collection: string, count: number): void {
    this.store.injectWriteFailures(collection, count);
  }

  exportData(): ExportFile {
    return exportStore(this.store, this.ctx.clock.now());
  }

  importData(file: unknown): { collections: number; documents: number } {
    return importIntoStore(this.store, file);
  }

  /**
   * `POST /emulator/v1/faults` body key `database`:
   * `{"failWrites": {"collection": "USERPAYLOG", "count": 1}}` (or an array of those; count 0
   * clears one), or `{"clear": true}` to clear every database fault.
   */
  applyFaults(spec: unknown): void {
    const usage =
      'database faults: {"failWrites": {"collection": "NAME", "count": N}} (or an array of them), or {"clear": true}';
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
    const parsed = items.map((item: { collection?: unknown; count?: unknown } | null) => {
      if (!item || typeof item !== 'object') throw new EmulatorError('INVALID_PARAM', usage);
      const collection = validateCollectionName(item.collection);
      if (!this.store.hasCollection(collection)) {
        throw new EmulatorError('INVALID_PARAM', `failWrites: no collection ${collection}`);
      }
      if (typeof item.count !== 'number') {
        throw new EmulatorError('INVALID_PARAM', `failWrites.count must be a number; ${usage}`);
      }
      return { collection, count: item.count };
    });
    if (clear) this.store.clearFaults();
    // Validate all first (above), then apply, so a bad item changes nothing.
    for (const { collection, count } of parsed) this.store.injectWriteFailures(collection, count);
  }

  routes(app: Hono): void {
    app.get('/collections', (c) =>
      c.json({
        collections: this.store.listCollections().map((info) => ({
          ...info,
          declared: this.declared.some((d) => d.name === info.name),
          // What a client request meets: CUSTOM (security rules) or a basic permission.
          permission: this.ruleEngine.permissionOf(info.name),
        })),
      }),
    );

    app.put('/collections/:name', (c) => {
      const name = c.req.param('name');
      const created = this.store.createCollection(name);
      return c.json({ name, created }, created ? 201 : 200);
    });

    mountDocumentRoutes(app, this.store, this.ctx.events);

    app.get('/database/export', (c) => c.json(this.exportData()));

    app.post('/database/import', async (c) => {
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
        () => this.importData(body),
        (result) => result.documents,
      );
      return c.json({ ok: true, ...imported });
    });
  }

  /**
   * Takes the data dir's lock (lock.ts: refuses a dir another emulator uses), replays the journal
   * as a stream, compacts it, and keeps it open for appends (with background compaction).
   */
  private openDataDir(dataDir: string): void {
    const warn = (message: string): void => {
      process.stderr.write(`wxcloud-emulator: ${message}\n`);
      this.ctx.events.emit('emulator.warning', { service: 'database', message });
    };
    const release = acquireLock(dataDir, 'starting another emulator on it', warn);
    try {
      const journal = new Journal(dataDir, { warn });
      for (const entry of journal.read()) this.store.replay(entry);
      try {
        journal.rewrite(compactedEntries(this.store));
      } catch (err) {
        // No room for a compacted copy (disk full): carry on with the journal as it is.
        warn(
          `could not compact the journal at start, carrying on with it as it is: ${(err as Error).message}`,
        );
        journal.resume();
      }
      journal.liveEntries = () => compactedEntries(this.store);
      this.journal = journal;
      this.releaseLock = release;
    } catch (err) {
      release();
      throw err;
    }
  }
}
