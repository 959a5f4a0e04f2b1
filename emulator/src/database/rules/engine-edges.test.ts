import { compileRules } from './index';
import { SUPPORTED } from './expression';
import { applyPermission, isPermission } from './permissions';
import { ALICE, BOB, OWNER, deniedBy, engine } from './test-support/engine-harness';

/**
 * The rules engine's decisions at the edges engine.test.ts leaves out: loading errors, which rule
 * decides each operation, what a query pins (nested documents, `$eq`, `$in` lists meeting in an
 * `$and`), what `request.data` is for each operation, and aggregates with joins. Sources:
 * CloudBase's security-rules guides (docs.cloudbase.net/database/security-rules: "前端查询条件必须是
 * 安全规则的子集"; rule/learn-rules: `create`/`update`/`delete` fall back to `write`, an operation
 * with no rule is refused; Tencent Cloud 876/41757: `request.data` is the data a create or update
 * passes, absent for other operations), the MongoDB manual for what a query matches (equality on an
 * embedded document, `$eq`, `$in`, `$and`, a missing field matching null), and the console's basic
 * permissions (数据库权限控制). Error texts are the emulator's wording; the code
 * DATABASE_PERMISSION_DENIED is the platform's.
 */

const set = (modifier: Record<string, unknown>) => ({ kind: 'operators' as const, modifier });

describe('loading rules', () => {
  it('no rules: nothing compiled', () => {
    expect(compileRules('C', undefined, 'database/C.json').size).toBe(0);
  });

  it('operation names other than read, write, create, update, delete stop the start', () => {
    expect(() => compileRules('C', { read: true, reed: true }, 'database/C.json')).toThrow(
      new Error(
        'database/C.json: collection C, rule "reed": unknown rule name; use read, write, create, update, delete',
      ),
    );
  });

  it('a value that is neither a boolean nor an expression string stops the start', () => {
    expect(() => compileRules('C', { write: 1 }, 'database/C.json')).toThrow(
      new Error(
        'database/C.json: collection C, rule "write": must be true, false or an expression string',
      ),
    );
  });

  it('an expression outside the emulated subset stops the start, naming file, rule and token', () => {
    expect(() => compileRules('C', { read: 'doc.n < 1' }, 'database/C.json')).toThrow(
      new Error(
        `database/C.json: collection C, rule "read": "doc.n < 1" is not emulated by wxcloud-emulator: operator < is not emulated (token "<" at column 7); ${SUPPORTED}`,
      ),
    );
  });

  it('isPermission knows the four presets by their API names only', () => {
    expect(['READONLY', 'PRIVATE', 'ADMINWRITE', 'ADMINONLY'].map(isPermission)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isPermission('private')).toBe(false);
    expect(isPermission('toString')).toBe(false);
    expect(isPermission(1)).toBe(false);
    // A JSON array whose only member is a preset name is no preset (as a property key it would be).
    expect(isPermission(['PRIVATE'])).toBe(false);
  });
});

describe('which rule decides', () => {
  it('read has no fallback: without a read rule reads are refused, naming read', () => {
    const { rules, denials } = engine([{ name: 'W', rules: { write: true } }]);
    expect(deniedBy(() => rules.authorizeRead('W', {}, ALICE, 'get'))).toBe(
      '[PermissionDenied] Permission denied: W rule "read" no rule (default deny): no "read" rule: denied by default',
    );
    expect(denials()).toEqual([
      {
        collection: 'W',
        action: 'get',
        openid: ALICE,
        operation: 'read',
        rule: 'read',
        expression: null,
        reason: 'no "read" rule: denied by default',
      },
    ]);
  });

  it('a delete rule overrides write; a create refusal is logged as create', () => {
    const { rules, denials } = engine([
      { name: 'D', rules: { read: true, write: false, delete: true, create: 'doc.n == 1' } },
    ]);
    expect(rules.authorizeDelete('D', { _id: 'a' }, ALICE, 'remove')).toEqual({ _id: 'a' });
    deniedBy(() => rules.authorizeCreate('D', [{ n: 2 }], ALICE, 'add'));
    expect(denials().map((d) => [d.operation, d.rule])).toEqual([['create', 'create']]);
  });

  it('request.data exists only for create and update: a read or delete rule on it is refused', () => {
    const { rules } = engine([
      {
        name: 'Q',
        rules: { read: 'request.data.x == null', write: false, delete: 'request.data.x == null' },
      },
      { name: 'OPEN', rules: { read: true, write: false } },
    ]);
    expect(deniedBy(() => rules.authorizeRead('Q', {}, ALICE, 'get'))).toContain(
      'it does not pin the fields the rule reads',
    );
    deniedBy(() => rules.authorizeDelete('Q', {}, ALICE, 'remove'));
    deniedBy(() => rules.authorizeAggregate('Q', [{ $match: {} }], ALICE, 'aggregate'));
    // A join reads Q as a query does: no request.data there either.
    const join = [{ $lookup: { from: 'Q', pipeline: [{ $match: {} }], as: 'j' } }];
    expect(deniedBy(() => rules.authorizeAggregate('OPEN', join, ALICE, 'aggregate'))).toContain(
      'Q rule "read"',
    );
  });
});

describe('what a query pins (MongoDB equality)', () => {
  const { rules } = engine([
    { name: 'ORDERS', rules: { read: OWNER, write: false } },
    { name: 'NESTED', rules: { read: 'doc.owner.openid == auth.openid', write: false } },
    { name: 'N', rules: { read: 'doc.a == 2', write: false } },
    { name: 'X', rules: { read: 'doc.x == auth.openid', write: false } },
  ]);

  it('an embedded document pins its fields: {owner: {openid}} pins doc.owner.openid', () => {
    expect(rules.authorizeRead('NESTED', { owner: { openid: '{openid}' } }, ALICE, 'get')).toEqual({
      owner: { openid: ALICE },
    });
    expect(
      deniedBy(() => rules.authorizeRead('NESTED', { owner: { openid: BOB } }, ALICE, 'get')),
    ).toContain(`the rule is false for the query's doc.owner.openid = "${BOB}"`);
    // An embedded document without the field matches documents where it is missing: null.
    expect(
      deniedBy(() => rules.authorizeRead('NESTED', { owner: { name: 'x' } }, ALICE, 'get')),
    ).toContain(`the rule is false for the query's doc.owner.openid = null`);
    // An operator on the parent is no embedded document: it pins nothing below it.
    expect(
      deniedBy(() =>
        rules.authorizeRead('NESTED', { owner: { $ne: { openid: BOB } } }, ALICE, 'get'),
      ),
    ).toContain('it does not pin doc.owner.openid');
    // Dotted query keys pin the dotted path itself.
    expect(rules.authorizeRead('NESTED', { 'owner.openid': ALICE }, ALICE, 'get')).toEqual({
      'owner.openid': ALICE,
    });
  });

  it('three levels down: {a: {b: {c}}} and {"a.b": {c}} both pin doc.a.b.c', () => {
    const deep = engine([{ name: 'DEEP', rules: { read: 'doc.a.b.c == 1', write: false } }]).rules;
    expect(deep.authorizeRead('DEEP', { a: { b: { c: 1 } } }, ALICE, 'get')).toEqual({
      a: { b: { c: 1 } },
    });
    expect(deep.authorizeRead('DEEP', { 'a.b': { c: 1 } }, ALICE, 'get')).toEqual({
      'a.b': { c: 1 },
    });
  });

  it('a parent pinned to a value that is no document pins nothing below it', () => {
    for (const owner of ['x', null]) {
      expect(deniedBy(() => rules.authorizeRead('NESTED', { owner }, ALICE, 'get'))).toContain(
        'it does not pin doc.owner.openid',
      );
    }
  });

  // MongoDB: {$and: [{a: 1}, {a: 2}]} matches no document whose a is a single value. The emulator
  // judges equality as whole-value equality (emulator/docs/rules.md lists the array-field
  // difference), so such a query reads nothing and the rule has nothing to refuse.
  it('equality conditions that contradict each other match nothing: nothing to check', () => {
    expect(rules.authorizeRead('N', { $and: [{ a: 1 }, { a: 3 }] }, ALICE, 'get')).toEqual({
      $and: [{ a: 1 }, { a: 3 }],
    });
  });

  it('a field with an empty name is no parent of doc.x', () => {
    expect(deniedBy(() => rules.authorizeRead('X', { '': { x: ALICE } }, ALICE, 'get'))).toContain(
      'it does not pin doc.x',
    );
  });

  it('{$eq: v} pins v; regular expressions and other operators pin nothing', () => {
    expect(
      deniedBy(() => rules.authorizeRead('ORDERS', { _openid: { $eq: BOB } }, ALICE, 'get')),
    ).toContain(`doc._openid = "${BOB}"`);
    expect(
      deniedBy(() => rules.authorizeRead('ORDERS', { _openid: /o_alice/ }, ALICE, 'get')),
    ).toContain('it does not pin doc._openid');
    expect(
      deniedBy(() => rules.authorizeRead('ORDERS', { _openid: { $ne: BOB } }, ALICE, 'get')),
    ).toContain('it does not pin doc._openid');
  });

  it('an empty embedded document is an equality pin, not an operator', () => {
    expect(deniedBy(() => rules.authorizeRead('N', { a: {} }, ALICE, 'get'))).toContain(
      `the rule is false for the query's doc.a = {}`,
    );
  });

  it('conditions on one field in an $and: only values meeting all of them', () => {
    // $in [1, 2] and = 2: only 2 can match.
    expect(
      rules.authorizeRead('N', { $and: [{ a: { $in: [1, 2] } }, { a: 2 }] }, ALICE, 'get'),
    ).toEqual({ $and: [{ a: { $in: [1, 2] } }, { a: 2 }] });
    // $in [1, 2] and $in [1, 3]: 1 can match, and the rule is false for it.
    expect(
      deniedBy(() =>
        rules.authorizeRead(
          'N',
          { $and: [{ a: { $in: [1, 2] } }, { a: { $in: [1, 3] } }] },
          ALICE,
          'get',
        ),
      ),
    ).toContain(`the rule is false for the query's doc.a = 1`);
  });

  it('values in a query keep their types: null, dates and expressions pass through', () => {
    const open = engine([{ name: 'OPEN', rules: { read: true, write: false } }]).rules;
    const query = { a: null, at: new Date(0), re: /x/, list: ['{openid}', 1] };
    const out = open.authorizeRead('OPEN', query, ALICE, 'get');
    expect(out).toEqual({ a: null, at: new Date(0), re: /x/, list: [ALICE, 1] });
    expect(out.at).toBeInstanceOf(Date);
    expect(rules.authorizeRead('N', { a: 2, b: null }, ALICE, 'get')).toEqual({ a: 2, b: null });
  });
});

describe('what a refusal names', () => {
  const { rules } = engine([
    { name: 'AB', rules: { read: 'doc.a == 1 && doc.b == 1', write: false } },
    { name: 'WHO', rules: { read: "auth.openid == 'o_admin'", write: false } },
  ]);

  it('only the fields the query leaves loose', () => {
    expect(deniedBy(() => rules.authorizeRead('AB', { a: 1 }, ALICE, 'get'))).toContain(
      'it does not pin doc.b (e.g.',
    );
  });

  it('only the pinned values, when the rule is false whatever the rest is', () => {
    expect(deniedBy(() => rules.authorizeRead('AB', { a: 2 }, ALICE, 'get'))).toMatch(
      /the rule is false for the query's doc\.a = 2$/,
    );
  });

  it('"conditions" when the rule reads no field of the query', () => {
    expect(deniedBy(() => rules.authorizeRead('WHO', {}, ALICE, 'get'))).toMatch(
      /the rule is false for the query's conditions$/,
    );
  });
});

describe('a create reads the new document by field path', () => {
  // MongoDB's dot notation reaches into embedded documents: a path through a missing field, a null
  // or a scalar finds nothing, and a missing field is null ({field: null} matches it).
  it('a path through a missing, null or scalar field is null', () => {
    const { rules } = engine([
      {
        name: 'T',
        rules: { read: true, write: 'doc.meta.tag == null && doc.title.length == null' },
      },
    ]);
    for (const doc of [{}, { meta: null }, { meta: 'x', title: 'abc' }, { meta: 5 }]) {
      expect(rules.authorizeCreate('T', [doc], ALICE, 'add')).toEqual([{ ...doc, _openid: ALICE }]);
    }
    deniedBy(() => rules.authorizeCreate('T', [{ meta: { tag: 't' } }], ALICE, 'add'));
  });
});

describe('request.data of an update', () => {
  const { rules } = engine([
    { name: 'P', rules: { read: true, write: 'request.data.price == null' } },
    { name: 'S', rules: { read: true, write: "request.data.status == 'draft'" } },
    { name: 'M', rules: { read: true, write: 'request.data.meta.price == 1' } },
    { name: 'MN', rules: { read: true, write: 'request.data.meta == null' } },
    { name: 'N5', rules: { read: true, write: 'request.data.n == 5' } },
  ]);
  const update = (collection: string, modifier: Record<string, unknown>) =>
    rules.authorizeUpdate(collection, { _id: 'a' }, set(modifier), ALICE, 'update');

  it('each $set field is known, whichever order they come in', () => {
    deniedBy(() => update('P', { $set: { title: 'x', price: 1 } }));
    expect(update('S', { $set: { status: 'draft' } })).toEqual({
      filter: { _id: 'a' },
      replacement: undefined,
    });
    deniedBy(() => update('S', { $set: { status: 'paid' } }));
  });

  it('a $set of an embedded document sets its fields', () => {
    expect(update('M', { $set: { meta: { price: 1 } } }).filter).toEqual({ _id: 'a' });
    deniedBy(() => update('M', { $set: { meta: { price: 2 } } }));
    deniedBy(() => update('P', { $set: { price: { amount: 1 } } }));
  });

  it('a $set of a dotted field leaves its parent unknown', () => {
    deniedBy(() => update('MN', { $set: { 'meta.price': 1 } }));
    expect(update('MN', { $set: { other: 1 } }).filter).toEqual({ _id: 'a' });
  });

  it('a field under another operator is unknown, whatever its operand', () => {
    deniedBy(() => update('N5', { $inc: { n: 5 } }));
    expect(update('N5', { $set: { n: 5 } }).filter).toEqual({ _id: 'a' });
  });
});

describe('_openid stays the creator', () => {
  const { rules } = engine([{ name: 'OPEN', rules: { read: true, write: true } }]);
  const update = (modifier: Record<string, unknown>) =>
    rules.authorizeUpdate('OPEN', { _id: 'a' }, set(modifier), ALICE, 'update');

  it('with other fields or operators beside it, or under it', () => {
    deniedBy(() => update({ $set: { n: 1, _openid: BOB } }));
    deniedBy(() => update({ $inc: { n: 1 }, $set: { _openid: BOB } }));
    deniedBy(() => update({ $set: { '_openid.x': 1 } }));
    expect(update({ $set: { openid: BOB, n_openid: 1 } }).filter).toEqual({ _id: 'a' });
  });
});

describe('set() replaces: request.data is the new document', () => {
  it('the update rule reads the replacement', () => {
    const { rules } = engine([
      { name: 'R', rules: { read: true, update: 'request.data.n == 1', create: true } },
    ]);
    const replace = (doc: Record<string, unknown>) =>
      rules.authorizeUpdate('R', { _id: 'a' }, { kind: 'replace', doc }, ALICE, 'set');
    expect(replace({ n: 1 })).toEqual({
      filter: { _id: 'a' },
      replacement: { n: 1, _openid: ALICE },
    });
    deniedBy(() => replace({ n: 2 }));
  });

  it('a query that does not name one _id creates a document whose _id the rule cannot know', () => {
    const { rules } = engine([
      { name: 'I', rules: { read: true, update: true, create: 'doc._id != null' } },
    ]);
    const replace = (filter: Record<string, unknown>) =>
      rules.authorizeUpdate('I', filter, { kind: 'replace', doc: { n: 1 } }, ALICE, 'set');
    expect(replace({ _id: 'a' }).filter).toEqual({ _id: 'a' });
    deniedBy(() => replace({ _id: { $in: ['a'] } }));
    deniedBy(() => replace({ n: 1 }));
  });
});

describe('aggregate: the leading stage and joins', () => {
  const { rules, denials } = engine([
    { name: 'ORDERS', rules: { read: OWNER, write: false } },
    { name: 'OPENREAD', rules: { read: true, write: false } },
    { name: 'PRIV', permission: 'PRIVATE' },
    { name: 'RO', permission: 'READONLY' },
    { name: 'AW', permission: 'ADMINWRITE' },
    { name: 'AO', permission: 'ADMINONLY' },
  ]);

  it('an empty pipeline is the empty query', () => {
    expect(deniedBy(() => rules.authorizeAggregate('ORDERS', [], ALICE, 'aggregate'))).toContain(
      'it does not pin doc._openid',
    );
    expect(rules.authorizeAggregate('PRIV', [], ALICE, 'aggregate')).toEqual([
      { $match: { _openid: ALICE } },
    ]);
  });

  it('a leading $geoNear query is the query', () => {
    const near = { $geoNear: { near: [0, 0], distanceField: 'd', query: { _openid: '{openid}' } } };
    expect(rules.authorizeAggregate('ORDERS', [near], ALICE, 'aggregate')).toEqual([
      { $geoNear: { near: [0, 0], distanceField: 'd', query: { _openid: ALICE } } },
    ]);
  });

  it("a $match that is no query object is no query: PRIVATE reads the caller's records only", () => {
    for (const match of ['x', [{ x: 1 }]]) {
      expect(rules.authorizeAggregate('PRIV', [{ $match: match }], ALICE, 'aggregate')).toEqual([
        { $match: { _openid: ALICE } },
      ]);
    }
  });

  it('READONLY and ADMINWRITE let everyone read: the pipeline runs as sent', () => {
    const pipeline = [{ $match: { x: 1 } }, { $limit: 1 }];
    expect(rules.authorizeAggregate('RO', pipeline, ALICE, 'aggregate')).toEqual(pipeline);
    expect(rules.authorizeAggregate('AW', pipeline, ALICE, 'aggregate')).toEqual(pipeline);
    expect(deniedBy(() => rules.authorizeAggregate('AO', pipeline, ALICE, 'aggregate'))).toContain(
      'clients may not read this collection',
    );
  });

  it('a refused aggregate is logged as a read', () => {
    const before = denials().length;
    deniedBy(() => rules.authorizeAggregate('ORDERS', [{ $match: {} }], ALICE, 'aggregate'));
    expect(denials().slice(before)).toEqual([
      expect.objectContaining({ collection: 'ORDERS', operation: 'read', rule: 'read' }),
    ]);
  });

  const join = (from: unknown, pipeline?: unknown[]) => [
    { $match: { _openid: '{openid}' } },
    {
      $lookup: { from, localField: 'a', foreignField: 'b', as: 'j', ...(pipeline && { pipeline }) },
    },
  ];

  it('a join reads the joined collection under its read rule', () => {
    // OPENREAD: read true, write false: the read rule decides, not write.
    expect(rules.authorizeAggregate('ORDERS', join('OPENREAD'), ALICE, 'aggregate')).toHaveLength(
      2,
    );
    expect(rules.authorizeAggregate('ORDERS', join('AW'), ALICE, 'aggregate')).toHaveLength(2);
    expect(
      deniedBy(() => rules.authorizeAggregate('ORDERS', join('AO'), ALICE, 'aggregate')),
    ).toContain('clients may not read this collection');
    // A join without its own pipeline reads any document of ORDERS: not a subset of its rule.
    const before = denials().length;
    expect(
      deniedBy(() => rules.authorizeAggregate('OPENREAD', join('ORDERS'), ALICE, 'aggregate')),
    ).toContain('ORDERS rule "read"');
    expect(denials().slice(before)).toEqual([
      expect.objectContaining({ collection: 'ORDERS', operation: 'read', rule: 'read' }),
    ]);
    // With a pipeline that pins _openid it reads only the caller's.
    expect(
      rules.authorizeAggregate(
        'OPENREAD',
        join('ORDERS', [{ $match: { _openid: '{openid}' } }]),
        ALICE,
        'aggregate',
      ),
    ).toHaveLength(2);
  });

  it('a join into PRIVATE is refused and logged with no rule', () => {
    const before = denials().length;
    deniedBy(() => rules.authorizeAggregate('ORDERS', join('PRIV'), ALICE, 'aggregate'));
    expect(denials().slice(before)).toEqual([
      {
        collection: 'PRIV',
        action: 'aggregate',
        openid: ALICE,
        rule: null,
        reason:
          "PRIV has the basic permission PRIVATE: a $lookup cannot be limited to the caller's records",
      },
    ]);
  });

  it('a $lookup that names no collection joins nothing: nothing to check', () => {
    expect(rules.authorizeAggregate('OPENREAD', join(7), ALICE, 'aggregate')).toHaveLength(2);
    expect(
      rules.authorizeAggregate(
        'OPENREAD',
        [{ $lookup: null }, { $lookup: 'x' }],
        ALICE,
        'aggregate',
      ),
    ).toHaveLength(2);
  });
});

describe('basic permissions', () => {
  it('ADMINONLY refuses client writes as ADMINWRITE does', () => {
    const { rules } = engine([{ name: 'AO', permission: 'ADMINONLY' }]);
    expect(deniedBy(() => rules.authorizeCreate('AO', [{}], ALICE, 'add'))).toContain(
      'only cloud functions (the admin side) may write here',
    );
  });

  it('creating is never narrowed; updates and removals are', () => {
    expect(applyPermission('READONLY', 'create')).toEqual({ ownOnly: false });
    expect(applyPermission('PRIVATE', 'create')).toEqual({ ownOnly: false });
    expect(applyPermission('PRIVATE', 'update')).toEqual({ ownOnly: true });
    expect(applyPermission('READONLY', 'delete')).toEqual({ ownOnly: true });
  });
});
