import { createWx } from '../../emulator/src';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// Conformance: db.Geo types, geo indexes, the geo query operators and the $geoNear stage through
// the real, unmodified wx-server-sdk and createWx. Distances are spherical metres on MongoDB's
// earth radius, 6378100 m (kRadiusOfEarthInMeters; @cloudbase/database's aggregate.ts notes the
// same EARTH_RADIUS). Along the equator the great-circle distance is R x (longitude difference in
// radians), which is how the expected distances below are worked out. Which documents match each
// operator follows the MongoDB manual ($nearSphere, $geoWithin, $geoIntersects, $geoNear).

const R = 6378100;
const metresAlongEquator = (degrees: number): number => R * ((degrees * Math.PI) / 180);

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({
    ...makeProject({
      PLACES: {
        rules: { read: true, write: false },
        indexes: [{ name: 'loc_geo', keys: { loc: '2dsphere' } }],
      },
      NOGEO: { rules: { read: true, write: false } },
    }),
    port: 0,
    inMemory: true,
  });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

// Points on the equator, a line crossing it at longitude 0.0005 and a square from 0.003 to 0.005.
const SEED = `
  const G = db.Geo;
  const P = (lng, lat) => new G.Point(lng, lat);
  const ring = (coords) => new G.LineString(coords.map(([lng, lat]) => P(lng, lat)));
  await db.collection('PLACES').add({ data: [
    { _id: 'p0', kind: 'pt', loc: P(0, 0) },
    { _id: 'p1', kind: 'pt', loc: P(0.001, 0) },
    { _id: 'p2', kind: 'pt', loc: P(0.002, 0) },
    { _id: 'p3', kind: 'pt', loc: P(0.01, 0) },
    { _id: 'line', kind: 'line', loc: new G.LineString([P(0.0005, -0.001), P(0.0005, 0.001)]) },
    { _id: 'poly', kind: 'poly', loc: new G.Polygon([ring([[0.003, -0.001], [0.005, -0.001], [0.005, 0.001], [0.003, 0.001], [0.003, -0.001]])]) },
  ] });
`;

test('db.Geo types are stored and handed back as the SDK built them', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const G = db.Geo;
    const P = (lng, lat) => new G.Point(lng, lat);
    const line = new G.LineString([P(1, 2), P(3, 4)]);
    const square = new G.Polygon([new G.LineString([P(0, 0), P(1, 0), P(1, 1), P(0, 0)])]);
    const values = {
      point: P(113.3, 23.1),
      line,
      polygon: square,
      multiPoint: new G.MultiPoint([P(1, 1), P(2, 2)]),
      multiLine: new G.MultiLineString([line, line]),
      multiPolygon: new G.MultiPolygon([square]),
    };
    await db.collection('NOGEO').add({ data: { _id: 'g', ...values } });
    const got = (await db.collection('NOGEO').doc('g').get()).data;
    const out = {};
    for (const key of Object.keys(values)) {
      out[key] = { sameJson: JSON.stringify(got[key].toJSON()) === JSON.stringify(values[key].toJSON()), type: got[key].toJSON().type };
    }
    return out;
  `,
  );
  // @cloudbase/database's Util.formatField rebuilds each GeoJSON value as its Geo class.
  expect(r).toEqual({
    point: { sameJson: true, type: 'Point' },
    line: { sameJson: true, type: 'LineString' },
    polygon: { sameJson: true, type: 'Polygon' },
    multiPoint: { sameJson: true, type: 'MultiPoint' },
    multiLine: { sameJson: true, type: 'MultiLineString' },
    multiPolygon: { sameJson: true, type: 'MultiPolygon' },
  });
});

test('geoNear, geoWithin (geometry and centerSphere) and geoIntersects in where()', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${SEED}
    const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };
    const places = db.collection('PLACES');
    const ids = async (q) => (await places.where(q).get()).data.map((d) => d._id);
    const square = (x0, y0, x1, y1) => new G.Polygon([ring([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])]);
    return {
      near: await ids({ loc: _.geoNear({ geometry: P(0, 0), maxDistance: 250 }) }),
      nearMin: await ids({ loc: _.geoNear({ geometry: P(0, 0), maxDistance: 250, minDistance: 100 }) }),
      withinPolygon: (await ids({ loc: _.geoWithin({ geometry: square(-0.0001, -0.0001, 0.0015, 0.0001) }) })).sort(),
      withinCircle: (await ids({ loc: _.geoWithin({ centerSphere: [[0, 0], 150 / ${R}] }) })).sort(),
      intersectsSquare: (await ids({ loc: _.geoIntersects({ geometry: square(0.0004, -0.0002, 0.0006, 0.0002) }) })).sort(),
      intersectsLine: await ids({ loc: _.geoIntersects({ geometry: new G.LineString([P(0.004, -0.002), P(0.004, 0.002)]) }) }),
      intersectsPoint: await ids({ loc: _.geoIntersects({ geometry: P(0.004, 0) }) }),
      noIndex: await fail(db.collection('NOGEO').where({ loc: _.geoNear({ geometry: P(0, 0) }) }).get()),
    };
  `,
  );
  // Nearest first; the line's nearest point is where it crosses the equator (0.0005); the square's
  // nearest edge (0.003) is past 250 m.
  expect(r.near).toEqual(['p0', 'line', 'p1', 'p2']);
  expect(metresAlongEquator(0.002)).toBeLessThan(250);
  expect(metresAlongEquator(0.003)).toBeGreaterThan(250);
  expect(r.nearMin).toEqual(['p1', 'p2']);
  // Within: the whole geometry inside; the line leaves the thin square at latitude +-0.001.
  expect(r.withinPolygon).toEqual(['p0', 'p1']);
  // 150 m circle: p1 is 111 m away, the line's ends about 124 m.
  expect(r.withinCircle).toEqual(['line', 'p0', 'p1']);
  expect(r.intersectsSquare).toEqual(['line']);
  expect(r.intersectsLine).toEqual(['poly']);
  expect(r.intersectsPoint).toEqual(['poly']);
  // MongoDB without a 2dsphere index: "unable to find index for $geoNear query".
  expect(r.noIndex).toMatchObject({
    errCode: -502001,
    errMsg: expect.stringContaining('unable to find index for $geoNear query'),
  });
});

test('the $geoNear aggregate stage, from wx-server-sdk and from the mini-program client', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${SEED}
    const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };
    const places = db.collection('PLACES');
    return {
      points: (await places.aggregate().geoNear({ near: P(0, 0), distanceField: 'dist', spherical: true, maxDistance: 150, query: { kind: 'pt' } }).project({ dist: 1 }).end()).list,
      km: (await places.aggregate().geoNear({ near: P(0, 0), distanceField: 'km', spherical: true, distanceMultiplier: 0.001, includeLocs: 'where', key: 'loc' }).limit(2).project({ km: 1, where: 1 }).end()).list,
      notFirst: await fail(places.aggregate().match({ kind: 'pt' }).geoNear({ near: P(0, 0), distanceField: 'd', spherical: true }).end()),
      noIndex: await fail(db.collection('NOGEO').aggregate().geoNear({ near: P(0, 0), distanceField: 'd', spherical: true }).end()),
    };
  `,
  );
  const points = r.points as { _id: string; dist: number }[];
  expect(points.map((p) => p._id)).toEqual(['p0', 'p1']);
  expect(points[0].dist).toBe(0);
  expect(points[1].dist).toBeCloseTo(metresAlongEquator(0.001), 6);
  const km = r.km as { _id: string; km: number; where: { type: string; coordinates: number[] } }[];
  expect(km.map((p) => p._id)).toEqual(['p0', 'line']);
  expect(km[1].km).toBeCloseTo(metresAlongEquator(0.0005) / 1000, 9);
  // includeLocs: the location the distance was measured to. Aggregate results are not rebuilt
  // into Geo classes by the SDK (Aggregation.end only EJSON-parses): plain GeoJSON.
  expect(km[0].where).toEqual({ type: 'Point', coordinates: [0, 0] });
  // MongoDB: "$geoNear is only valid as the first stage in a pipeline".
  expect(r.notFirst).toMatchObject({
    errCode: -1,
    errMsg: expect.stringContaining('$geoNear is only valid as the first stage in a pipeline'),
  });
  expect(r.noIndex).toMatchObject({
    errMsg: expect.stringContaining('unable to find index for $geoNear query'),
  });

  // The client: same stage, under PLACES' read rule (true).
  const db = createWx({ url: emulator.url, openid: 'o-geo-user' }).cloud.database();
  const Geo = db.Geo as { Point: new (lng: number, lat: number) => unknown };
  const near = await db
    .collection('PLACES')
    .aggregate()
    .geoNear({
      near: new Geo.Point(0.01, 0),
      distanceField: 'd',
      spherical: true,
      maxDistance: 10,
    })
    .end();
  expect(near.list.map((d) => d._id)).toEqual(['p3']);
  // And a geo query in where(), through the client's own command serializer.
  const _ = db.command as {
    geoNear(options: { geometry: unknown; maxDistance: number }): unknown;
  };
  const around = await db
    .collection('PLACES')
    .where({ loc: _.geoNear({ geometry: new Geo.Point(0, 0), maxDistance: 120 }) })
    .get();
  expect(around.data.map((d) => d._id)).toEqual(['p0', 'line', 'p1']);
});
