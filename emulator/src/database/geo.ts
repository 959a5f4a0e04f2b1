import { EmulatorError } from '../errors';

/**
 * Geometry for the geo query operators and the `$geoNear` stage. Stored values are GeoJSON, as
 * `db.Geo.*` objects serialize (`{type: 'Point', coordinates: [lng, lat]}`, ...). Distances are
 * spherical, in metres, on MongoDB's earth radius (6378100 m, `kRadiusOfEarthInMeters`; the same
 * figure @cloudbase/database's aggregate.ts notes as EARTH_RADIUS). Containment and intersection
 * are computed on longitude/latitude as a plane: exact for points against the small regions an app
 * queries, approximate for regions spanning large parts of the globe (docs/database.md).
 */

export const EARTH_RADIUS_M = 6378100;

type Position = [number, number];
export interface Geometry {
  type: string;
  coordinates: unknown;
}

const TYPES = new Set([
  'Point',
  'LineString',
  'Polygon',
  'MultiPoint',
  'MultiLineString',
  'MultiPolygon',
]);

export function isGeometry(value: unknown): value is Geometry {
  return (
    !!value &&
    typeof value === 'object' &&
    TYPES.has((value as Geometry).type) &&
    Array.isArray((value as Geometry).coordinates)
  );
}

function geometryOf(value: unknown, what: string): Geometry {
  if (!isGeometry(value)) {
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      `${what} must be a GeoJSON geometry (db.Geo.Point, Polygon, ...), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The point of a GeoJSON Point (the `near` of geoNear). */
export function pointOf(value: unknown, what: string): Position {
  const geometry = geometryOf(value, what);
  if (geometry.type !== 'Point') {
    throw new EmulatorError('DATABASE_INVALID_OPERRATOR', `${what} must be a Point`);
  }
  return geometry.coordinates as Position;
}

/** Great-circle distance in metres (haversine). */
export function distanceMetres(a: Position, b: Position): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLng = (b[0] - a[0]) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A geometry as its parts: points, segments and polygons (outer ring first, then holes). */
interface Parts {
  points: Position[];
  segments: [Position, Position][];
  polygons: Position[][][];
}

function partsOf(geometry: Geometry): Parts {
  const parts: Parts = { points: [], segments: [], polygons: [] };
  const line = (positions: Position[]): void => {
    parts.points.push(...positions);
    for (let i = 1; i < positions.length; i++)
      parts.segments.push([positions[i - 1], positions[i]]);
  };
  const polygon = (rings: Position[][]): void => {
    for (const ring of rings) line(ring);
    parts.polygons.push(rings);
  };
  const c = geometry.coordinates as never;
  switch (geometry.type) {
    case 'Point':
      parts.points.push(c);
      break;
    case 'MultiPoint':
      parts.points.push(...(c as Position[]));
      break;
    case 'LineString':
      line(c);
      break;
    case 'MultiLineString':
      for (const l of c as Position[][]) line(l);
      break;
    case 'Polygon':
      polygon(c);
      break;
    case 'MultiPolygon':
      for (const p of c as Position[][][]) polygon(p);
      break;
  }
  return parts;
}

function inRing(p: Position, ring: Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

function onSegment(p: Position, [a, b]: [Position, Position]): boolean {
  const cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
  if (Math.abs(cross) > 1e-12) return false;
  return (
    Math.min(a[0], b[0]) <= p[0] &&
    p[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= p[1] &&
    p[1] <= Math.max(a[1], b[1])
  );
}

/** Inside the outer ring (or on its boundary) and not strictly inside a hole. */
function inPolygon(p: Position, rings: Position[][]): boolean {
  const [outer, ...holes] = rings;
  const onBoundary = (ring: Position[]): boolean =>
    ring.some((q, i) => i > 0 && onSegment(p, [ring[i - 1], q]));
  if (!inRing(p, outer) && !onBoundary(outer)) return false;
  return !holes.some((hole) => inRing(p, hole) && !onBoundary(hole));
}

function segmentsCross([a, b]: [Position, Position], [c, d]: [Position, Position]): boolean {
  const orient = (p: Position, q: Position, r: Position): number =>
    Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  const o1 = orient(a, b, c);
  const o2 = orient(a, b, d);
  const o3 = orient(c, d, a);
  const o4 = orient(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    onSegment(c, [a, b]) || onSegment(d, [a, b]) || onSegment(a, [c, d]) || onSegment(b, [c, d])
  );
}

/** $geoIntersects: the two geometries share at least one point. */
export function intersects(stored: unknown, query: unknown): boolean {
  if (!isGeometry(stored)) return false;
  const a = partsOf(stored);
  const b = partsOf(
    geometryOf((query as { $geometry?: unknown } | null)?.$geometry, '$geoIntersects.$geometry'),
  );
  const pointTouches = (p: Position, other: Parts): boolean =>
    other.polygons.some((rings) => inPolygon(p, rings)) ||
    other.segments.some((s) => onSegment(p, s)) ||
    other.points.some((q) => q[0] === p[0] && q[1] === p[1]);
  return (
    a.points.some((p) => pointTouches(p, b)) ||
    b.points.some((p) => pointTouches(p, a)) ||
    a.segments.some((s) => b.segments.some((t) => segmentsCross(s, t)))
  );
}

/**
 * $geoWithin: every point of the stored geometry inside the region: `{$geometry: Polygon |
 * MultiPolygon}` or `{$centerSphere: [[lng, lat], radiusInRadians]}` (radians: metres divided by
 * the earth radius, as MongoDB defines it).
 */
export function within(stored: unknown, region: unknown): boolean {
  if (!isGeometry(stored)) return false;
  const points = partsOf(stored).points;
  const spec = (region ?? {}) as { $geometry?: unknown; $centerSphere?: unknown };
  if (spec.$centerSphere !== undefined) {
    const [center, radians] = spec.$centerSphere as [Position, number];
    if (!Array.isArray(center) || typeof radians !== 'number') {
      throw new EmulatorError(
        'DATABASE_INVALID_OPERRATOR',
        '$centerSphere must be [[longitude, latitude], radius in radians]',
      );
    }
    return points.every((p) => distanceMetres(p, center) <= radians * EARTH_RADIUS_M);
  }
  const geometry = geometryOf(spec.$geometry, '$geoWithin.$geometry');
  const polygons = partsOf(geometry).polygons;
  if (!polygons.length) {
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      '$geoWithin.$geometry must be a Polygon or MultiPolygon',
    );
  }
  return points.every((p) => polygons.some((rings) => inPolygon(p, rings)));
}

/**
 * The point of a segment closest to `p`, on a local plane (longitude scaled by cos(latitude)):
 * exact enough at the scale of the distances an app asks about.
 */
function closestOnSegment(p: Position, [a, b]: [Position, Position]): Position {
  const k = Math.cos((p[1] * Math.PI) / 180);
  const ax = (a[0] - p[0]) * k;
  const ay = a[1] - p[1];
  const bx = (b[0] - p[0]) * k;
  const by = b[1] - p[1];
  const dx = bx - ax;
  const dy = by - ay;
  const length = dx * dx + dy * dy;
  const t = length === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / length));
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
}

/** Distance in metres from `from` to the nearest point of a stored geometry (0 inside a polygon). */
export function distanceTo(stored: unknown, from: Position): number | undefined {
  if (!isGeometry(stored)) return undefined;
  const parts = partsOf(stored);
  if (parts.polygons.some((rings) => inPolygon(from, rings))) return 0;
  const candidates = [
    ...parts.points,
    ...parts.segments.map((segment) => closestOnSegment(from, segment)),
  ];
  return Math.min(...candidates.map((p) => distanceMetres(p, from)));
}

/** `{$geometry: Point, $maxDistance?, $minDistance?}` of $nearSphere / $near (metres). */
export interface NearSpec {
  point: Position;
  max?: number;
  min?: number;
}

export function nearSpecOf(value: unknown, operator: string): NearSpec {
  const spec = (value ?? {}) as {
    $geometry?: unknown;
    $maxDistance?: unknown;
    $minDistance?: unknown;
  };
  const point = pointOf(spec.$geometry, `${operator}.$geometry`);
  const metres = (n: unknown, name: string): number | undefined => {
    if (n === undefined || n === null) return undefined;
    if (typeof n !== 'number' || n < 0) {
      throw new EmulatorError(
        'DATABASE_INVALID_OPERRATOR',
        `${operator}.${name} must be a number of metres >= 0`,
      );
    }
    return n;
  };
  return {
    point,
    max: metres(spec.$maxDistance, '$maxDistance'),
    min: metres(spec.$minDistance, '$minDistance'),
  };
}

export function nearMatches(stored: unknown, spec: NearSpec): boolean {
  const d = distanceTo(stored, spec.point);
  if (d === undefined) return false;
  return (spec.max === undefined || d <= spec.max) && (spec.min === undefined || d >= spec.min);
}

/** The field and point of a top-level `$near`/`$nearSphere` condition, which also orders results. */
export function nearQueryOf(
  filter: Record<string, unknown>,
): { field: string; point: Position } | undefined {
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith('$') || !condition || typeof condition !== 'object') continue;
    for (const operator of ['$nearSphere', '$near']) {
      if (operator in condition) {
        return {
          field,
          point: nearSpecOf((condition as Record<string, unknown>)[operator], operator).point,
        };
      }
    }
  }
  return undefined;
}

function fieldAt(doc: Record<string, unknown>, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Documents nearest first (a stable sort: equal distances keep their order). */
export function sortByDistance<T extends Record<string, unknown>>(
  docs: T[],
  field: string,
  point: Position,
): T[] {
  return docs
    .map((doc) => ({ doc, d: distanceTo(fieldAt(doc, field), point) ?? Infinity }))
    .sort((a, b) => a.d - b.d)
    .map(({ doc }) => doc);
}

/** The `$geoNear` stage's options (MongoDB manual, $geoNear; the SDK sends `near` as a Point). */
export interface GeoNearStage {
  near: Position;
  distanceField: string;
  key?: string;
  maxDistance?: number;
  minDistance?: number;
  query?: Record<string, unknown>;
  distanceMultiplier: number;
  includeLocs?: string;
}

export function geoNearStageOf(raw: unknown): GeoNearStage {
  const spec = (raw ?? {}) as Record<string, unknown>;
  if (typeof spec.distanceField !== 'string' || !spec.distanceField) {
    throw new EmulatorError(
      'INVALID_PARAM',
      '$geoNear needs distanceField (the field to write the distance to)',
    );
  }
  const number = (value: unknown, name: string): number | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || value < 0) {
      throw new EmulatorError('INVALID_PARAM', `$geoNear.${name} must be a number >= 0`);
    }
    return value;
  };
  const optionalString = (value: unknown, name: string): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !value) {
      throw new EmulatorError('INVALID_PARAM', `$geoNear.${name} must be a field name`);
    }
    return value;
  };
  if (
    spec.query !== undefined &&
    (typeof spec.query !== 'object' || spec.query === null || Array.isArray(spec.query))
  ) {
    throw new EmulatorError('INVALID_PARAM', '$geoNear.query must be a query object');
  }
  return {
    near: pointOf(spec.near, '$geoNear.near'),
    distanceField: spec.distanceField,
    key: optionalString(spec.key, 'key'),
    maxDistance: number(spec.maxDistance, 'maxDistance'),
    minDistance: number(spec.minDistance, 'minDistance'),
    query: spec.query as Record<string, unknown> | undefined,
    distanceMultiplier: number(spec.distanceMultiplier, 'distanceMultiplier') ?? 1,
    includeLocs: optionalString(spec.includeLocs, 'includeLocs'),
  };
}

/**
 * Runs a `$geoNear` stage over documents already filtered by its `query`: within the distance
 * bounds, nearest first, with the distance (metres, times distanceMultiplier) written to
 * distanceField and, with includeLocs, the location used.
 */
export function geoNearDocs<T extends Record<string, unknown>>(
  docs: T[],
  stage: GeoNearStage,
  key: string,
): T[] {
  const out: T[] = [];
  const distances = new Map<T, number>();
  for (const doc of docs) {
    const d = distanceTo(fieldAt(doc, key), stage.near);
    if (d === undefined) continue;
    if (stage.maxDistance !== undefined && d > stage.maxDistance) continue;
    if (stage.minDistance !== undefined && d < stage.minDistance) continue;
    distances.set(doc, d);
    out.push(doc);
  }
  out.sort((a, b) => (distances.get(a) as number) - (distances.get(b) as number));
  return out.map((doc) => {
    const result: Record<string, unknown> = { ...doc };
    setPath(result, stage.distanceField, (distances.get(doc) as number) * stage.distanceMultiplier);
    if (stage.includeLocs) setPath(result, stage.includeLocs, fieldAt(doc, key));
    return result as T;
  });
}

function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let holder = doc;
  for (const part of parts.slice(0, -1)) {
    const next = holder[part];
    holder = (holder[part] =
      next && typeof next === 'object' && !Array.isArray(next)
        ? { ...(next as Record<string, unknown>) }
        : {}) as Record<string, unknown>;
  }
  holder[parts[parts.length - 1]] = value;
}
