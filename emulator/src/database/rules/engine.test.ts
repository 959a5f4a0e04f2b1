import { ALICE, BOB, OWNER, deniedBy, engine } from './test-support/engine-harness';

/**
 * The rules engine's access decisions, in process (milliseconds, so `npm run mutation` can run it
 * against every mutant; tests/integration/rules.test.ts drives the same decisions through the real
 * SDK). The platform's model, from CloudBase's security-rules guide (安全规则, "查询条件必须是规则的子集"):
 * a client query passes only when it is a subset of the rule (a rule reading `doc._openid` needs
 * the query to pin `_openid`), `{openid}` in a query is the caller's openid, `set()` must pass the
 * `create` rule too, and `create`/`update`/`delete` fall back to `write`. The four basic
 * permissions are the console's (数据库权限控制). Error texts are the emulator's wording; the
 * code DATABASE_PERMISSION_DENIED is the platform's.
 */

describe('custom rules: reads', () => {
  const { rules, denials } = engine([{ name: 'ORDERS', rules: { read: OWNER, write: OWNER } }]);

  it('a query pinning _openid to {openid} passes, with the openid substituted', () => {
    expect(rules.permissionOf('ORDERS')).toBe('CUSTOM');
    expect(rules.authorizeRead('ORDERS', { _openid: '{openid}', x: 1 }, ALICE, 'get')).toEqual({
      _openid: ALICE,
      x: 1,
    });
    expect(rules.authorizeRead('ORDERS', { _openid: { $eq: ALICE } }, ALICE, 'get')).toEqual({
      _openid: { $eq: ALICE },
    });
    expect(
      rules.authorizeRead('ORDERS', { $and: [{ _openid: ALICE }, { y: 2 }] }, ALICE, 'get'),
    ).toEqual({ $and: [{ _openid: ALICE }, { y: 2 }] });
  });

  it('a query that does not pin _openid is refused, naming the rule and what to pin', () => {
    const before = denials().length;
    expect(deniedBy(() => rules.authorizeRead('ORDERS', { status: 'paid' }, ALICE, 'get'))).toBe(
      `[PermissionDenied] Permission denied: ORDERS rule "read" "${OWNER}": the query is not a subset of the rule: it does not pin doc._openid (e.g. where({_openid: '{openid}'}))`,
    );
    expect(denials().slice(before)).toEqual([
      {
        collection: 'ORDERS',
        action: 'get',
        openid: ALICE,
        operation: 'read',
        rule: 'read',
        expression: OWNER,
        reason: expect.stringContaining('not a subset'),
      },
    ]);
  });

  it("someone else's openid, or an $or, is refused", () => {
    expect(deniedBy(() => rules.authorizeRead('ORDERS', { _openid: BOB }, ALICE, 'get'))).toBe(
      `[PermissionDenied] Permission denied: ORDERS rule "read" "${OWNER}": the rule is false for the query's doc._openid = "${BOB}"`,
    );
    deniedBy(() =>
      rules.authorizeRead('ORDERS', { $or: [{ _openid: ALICE }, { _openid: BOB }] }, ALICE, 'get'),
    );
  });

  it('an $in list passes only when the rule holds for every value in it', () => {
    expect(rules.authorizeRead('ORDERS', { _openid: { $in: [ALICE] } }, ALICE, 'get')).toEqual({
      _openid: { $in: [ALICE] },
    });
    deniedBy(() => rules.authorizeRead('ORDERS', { _openid: { $in: [ALICE, BOB] } }, ALICE, 'get'));
  });

  it('$in lists too large to check are refused (the emulator bound: 256 combinations)', () => {
    const many = engine([
      { name: 'M', rules: { read: 'doc.a == 1 && doc.b == 1', write: false } },
    ]).rules;
    const values = (n: number) => Array.from({ length: n }, () => 1);
    expect(
      many.authorizeRead('M', { a: { $in: values(16) }, b: { $in: values(16) } }, ALICE, 'get'),
    ).toBeTruthy();
    expect(
      deniedBy(() =>
        many.authorizeRead('M', { a: { $in: values(16) }, b: { $in: values(17) } }, ALICE, 'get'),
      ),
    ).toContain(`the query's "in" lists are too large to check`);
  });
});

describe('custom rules: writes', () => {
  it('create stamps the caller as _openid and checks each new document', () => {
    const { rules } = engine([
      { name: 'POSTS', rules: { read: true, write: OWNER, create: 'doc.title != null' } },
    ]);
    expect(rules.authorizeCreate('POSTS', [{ title: 't', _openid: BOB }], ALICE, 'add')).toEqual([
      { title: 't', _openid: ALICE },
    ]);
    expect(
      deniedBy(() => rules.authorizeCreate('POSTS', [{ title: 't' }, { body: 'b' }], ALICE, 'add')),
    ).toBe(
      '[PermissionDenied] Permission denied: POSTS rule "create" "doc.title != null": the rule is false for the new document',
    );
  });

  it('create, update and delete fall back to write; a missing write denies by default', () => {
    const { rules } = engine([
      { name: 'W', rules: { read: true, write: false } },
      { name: 'R', rules: { read: true } },
    ]);
    expect(deniedBy(() => rules.authorizeCreate('W', [{}], ALICE, 'add'))).toBe(
      '[PermissionDenied] Permission denied: W rule "write" false: the rule is false',
    );
    deniedBy(() => rules.authorizeDelete('W', { _id: 'a' }, ALICE, 'remove'));
    expect(deniedBy(() => rules.authorizeDelete('R', { _id: 'a' }, ALICE, 'remove'))).toBe(
      '[PermissionDenied] Permission denied: R rule "write" no rule (default deny): no "write" rule: denied by default',
    );
    expect(rules.authorizeRead('W', {}, ALICE, 'get')).toEqual({});
  });

  it('update and delete must pin what the rule reads', () => {
    const { rules } = engine([{ name: 'ORDERS', rules: { read: OWNER, write: OWNER } }]);
    const pinned = { _id: 'a', _openid: '{openid}' };
    expect(
      rules.authorizeUpdate(
        'ORDERS',
        pinned,
        { kind: 'operators', modifier: { $set: { n: 1 } } },
        ALICE,
        'update',
      ),
    ).toEqual({ filter: { _id: 'a', _openid: ALICE }, replacement: undefined });
    deniedBy(() =>
      rules.authorizeUpdate(
        'ORDERS',
        { _id: 'a' },
        { kind: 'operators', modifier: { $set: { n: 1 } } },
        ALICE,
        'update',
      ),
    );
    expect(rules.authorizeDelete('ORDERS', pinned, ALICE, 'remove')).toEqual({
      _id: 'a',
      _openid: ALICE,
    });
    deniedBy(() => rules.authorizeDelete('ORDERS', { _id: 'a' }, ALICE, 'remove'));
  });

  it('an update may not change _openid, even where the rule would allow it', () => {
    const { rules } = engine([{ name: 'OPEN', rules: { read: true, write: true } }]);
    expect(
      deniedBy(() =>
        rules.authorizeUpdate(
          'OPEN',
          { _id: 'a' },
          { kind: 'operators', modifier: { $set: { _openid: BOB } } },
          ALICE,
          'update',
        ),
      ),
    ).toContain('a client may not change _openid');
  });

  it('request.data is the update: $set values are known, others unknown', () => {
    const { rules } = engine([
      { name: 'P', rules: { read: true, write: 'request.data.price == null' } },
    ]);
    const update = (modifier: Record<string, unknown>) =>
      rules.authorizeUpdate('P', { _id: 'a' }, { kind: 'operators', modifier }, ALICE, 'update');
    expect(update({ $set: { title: 'x' } })).toEqual({
      filter: { _id: 'a' },
      replacement: undefined,
    });
    deniedBy(() => update({ $set: { price: 1 } }));
    deniedBy(() => update({ $inc: { price: 1 } }));
  });

  it('set() must pass both update and create; the created document keeps the _id', () => {
    const { rules } = engine([
      { name: 'S', rules: { read: true, update: true, create: "doc._id == 'mine'" } },
    ]);
    const set = (filter: Record<string, unknown>) =>
      rules.authorizeUpdate('S', filter, { kind: 'replace', doc: { n: 1 } }, ALICE, 'set');
    expect(set({ _id: 'mine' })).toEqual({
      filter: { _id: 'mine' },
      replacement: { n: 1, _openid: ALICE },
    });
    expect(deniedBy(() => set({ _id: 'other' }))).toContain('S rule "create"');
    deniedBy(() => set({ _id: { $in: ['mine'] } }));
    expect(
      rules.authorizeUpdate(
        'S',
        { _id: 'other' },
        { kind: 'operators', modifier: { $set: { n: 2 } } },
        ALICE,
        'update',
      ),
    ).toEqual({ filter: { _id: 'other' }, replacement: undefined });
  });
});

describe('basic permissions', () => {
  const { rules, denials } = engine([
    { name: 'PRIV', permission: 'PRIVATE' },
    { name: 'RO', permission: 'READONLY' },
    { name: 'AW', permission: 'ADMINWRITE' },
    { name: 'AO', permission: 'ADMINONLY' },
  ]);

  it('a collection with neither rules nor permission is PRIVATE', () => {
    expect(rules.permissionOf('UNDECLARED')).toBe('PRIVATE');
    expect(rules.permissionOf('RO')).toBe('READONLY');
  });

  it('PRIVATE narrows reads, updates and removals to the caller; READONLY only the writes', () => {
    expect(rules.authorizeRead('PRIV', { x: 1 }, ALICE, 'get')).toEqual({
      $and: [{ x: 1 }, { _openid: ALICE }],
    });
    expect(rules.authorizeRead('PRIV', {}, ALICE, 'get')).toEqual({ _openid: ALICE });
    expect(rules.authorizeRead('RO', { x: 1 }, ALICE, 'get')).toEqual({ x: 1 });
    expect(rules.authorizeDelete('RO', { x: 1 }, ALICE, 'remove')).toEqual({
      $and: [{ x: 1 }, { _openid: ALICE }],
    });
    expect(
      rules.authorizeUpdate(
        'RO',
        { _id: 'a' },
        { kind: 'operators', modifier: { $set: { n: 1 } } },
        ALICE,
        'update',
      ),
    ).toEqual({ filter: { $and: [{ _id: 'a' }, { _openid: ALICE }] }, replacement: undefined });
    expect(rules.authorizeCreate('RO', [{ n: 1 }], ALICE, 'add')).toEqual([
      { n: 1, _openid: ALICE },
    ]);
  });

  it('ADMINWRITE refuses client writes; ADMINONLY refuses client reads too', () => {
    expect(rules.authorizeRead('AW', {}, ALICE, 'get')).toEqual({});
    const before = denials().length;
    expect(deniedBy(() => rules.authorizeCreate('AW', [{}], ALICE, 'add'))).toBe(
      '[PermissionDenied] Permission denied: AW has the basic permission ADMINWRITE (all users read, only the admin side writes (所有用户可读，仅管理端可写)): only cloud functions (the admin side) may write here',
    );
    expect(denials().slice(before)).toEqual([
      {
        collection: 'AW',
        action: 'add',
        openid: ALICE,
        operation: 'create',
        rule: 'permission',
        expression: 'ADMINWRITE',
        reason: 'only cloud functions (the admin side) may write here',
      },
    ]);
    expect(deniedBy(() => rules.authorizeRead('AO', {}, ALICE, 'get'))).toContain(
      'clients may not read this collection',
    );
  });

  it('under a basic permission, too, a client may not re-own a record', () => {
    expect(
      deniedBy(() =>
        rules.authorizeUpdate(
          'RO',
          { _id: 'a' },
          { kind: 'operators', modifier: { $set: { _openid: BOB } } },
          ALICE,
          'update',
        ),
      ),
    ).toBe(
      '[PermissionDenied] a client may not change _openid (emulator choice; unconfirmed on the cloud)',
    );
  });
});

describe('aggregate', () => {
  const { rules } = engine([
    { name: 'ORDERS', rules: { read: OWNER, write: false } },
    { name: 'PRIV', permission: 'PRIVATE' },
    { name: 'RO', permission: 'READONLY' },
  ]);

  it('the leading $match is the query the read rule judges', () => {
    expect(
      rules.authorizeAggregate(
        'ORDERS',
        [{ $match: { _openid: '{openid}' } }, { $limit: 1 }],
        ALICE,
        'aggregate',
      ),
    ).toEqual([{ $match: { _openid: ALICE } }, { $limit: 1 }]);
    deniedBy(() => rules.authorizeAggregate('ORDERS', [{ $limit: 1 }], ALICE, 'aggregate'));
  });

  it("under PRIVATE the caller's records become the leading $match", () => {
    expect(
      rules.authorizeAggregate('PRIV', [{ $match: { x: 1 } }, { $limit: 1 }], ALICE, 'aggregate'),
    ).toEqual([{ $match: { $and: [{ x: 1 }, { _openid: ALICE }] } }, { $limit: 1 }]);
    expect(rules.authorizeAggregate('PRIV', [{ $limit: 1 }], ALICE, 'aggregate')).toEqual([
      { $match: { _openid: ALICE } },
      { $limit: 1 },
    ]);
  });

  it('a $lookup into a PRIVATE collection is refused; into a readable one it passes', () => {
    const lookup = (from: string) => [
      { $match: { _openid: '{openid}' } },
      { $lookup: { from, localField: 'a', foreignField: 'b', as: 'j' } },
    ];
    expect(
      deniedBy(() => rules.authorizeAggregate('ORDERS', lookup('PRIV'), ALICE, 'aggregate')),
    ).toBe(
      "[PermissionDenied] PRIV has the basic permission PRIVATE: a $lookup cannot be limited to the caller's records",
    );
    expect(rules.authorizeAggregate('ORDERS', lookup('RO'), ALICE, 'aggregate')).toHaveLength(2);
    deniedBy(() =>
      rules.authorizeAggregate(
        'RO',
        [{ $lookup: { from: 'ORDERS', pipeline: [{ $match: { n: 1 } }], as: 'j' } }],
        ALICE,
        'aggregate',
      ),
    );
  });
});

describe('what a refusal names', () => {
  it('every field the rule reads that the query leaves loose, and every pinned value it rejects', () => {
    const { rules } = engine([
      { name: 'T', rules: { read: 'doc.a == 1 && doc.b == 2', write: false } },
    ]);
    expect(deniedBy(() => rules.authorizeRead('T', {}, ALICE, 'get'))).toContain(
      'it does not pin doc.a, doc.b (e.g.',
    );
    expect(deniedBy(() => rules.authorizeRead('T', { a: 1, b: 3 }, ALICE, 'get'))).toContain(
      `the rule is false for the query's doc.a = 1, doc.b = 3`,
    );
  });

  it('an update or delete refusal is logged under its operation and rule', () => {
    const { rules, denials } = engine([{ name: 'ORDERS', rules: { read: OWNER, write: OWNER } }]);
    expect(
      deniedBy(() =>
        rules.authorizeUpdate(
          'ORDERS',
          { _id: 'a', _openid: '{openid}' },
          { kind: 'operators', modifier: { $set: { _openid: BOB } } },
          ALICE,
          'update',
        ),
      ),
    ).toBe(
      '[PermissionDenied] Permission denied: ORDERS rule "update" no rule (default deny): a client may not change _openid (emulator choice; unconfirmed on the cloud)',
    );
    deniedBy(() => rules.authorizeDelete('ORDERS', { _id: 'a' }, ALICE, 'remove'));
    expect(denials().map((d) => [d.operation, d.rule, d.action])).toEqual([
      ['update', 'update', 'update'],
      ['delete', 'write', 'remove'],
    ]);
  });

  it('a basic permission logs the operation it refused', () => {
    const { rules, denials } = engine([{ name: 'AW', permission: 'ADMINWRITE' }]);
    const update = { kind: 'operators' as const, modifier: { $set: { n: 1 } } };
    deniedBy(() => rules.authorizeUpdate('AW', { _id: 'a' }, update, ALICE, 'update'));
    deniedBy(() => rules.authorizeDelete('AW', { _id: 'a' }, ALICE, 'remove'));
    expect(denials().map((d) => d.operation)).toEqual(['update', 'delete']);
  });

  it("set() under a basic permission replaces the caller's own record", () => {
    const { rules } = engine([{ name: 'RO', permission: 'READONLY' }]);
    expect(
      rules.authorizeUpdate('RO', { _id: 'a' }, { kind: 'replace', doc: { n: 1 } }, ALICE, 'set'),
    ).toEqual({
      filter: { $and: [{ _id: 'a' }, { _openid: ALICE }] },
      replacement: { n: 1, _openid: ALICE },
    });
  });

  it('a create rule may read request.data: the new document', () => {
    const { rules } = engine([
      { name: 'N', rules: { read: true, write: false, create: 'request.data.title != null' } },
    ]);
    expect(rules.authorizeCreate('N', [{ title: 't' }], ALICE, 'add')).toEqual([
      { title: 't', _openid: ALICE },
    ]);
    deniedBy(() => rules.authorizeCreate('N', [{ body: 'b' }], ALICE, 'add'));
  });
});
