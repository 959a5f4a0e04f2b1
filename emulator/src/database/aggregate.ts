import { Aggregator } from 'mingo/aggregator';
import { EmulatorError, notEmulated } from '../errors';
import { MONGO_CONTEXT } from './mingo-context';
import type { Doc } from './values';

/**
 * The aggregation pipeline (`database.aggregateDocuments`), run by mingo's aggregation engine.
 * This module knows the pipeline's rules (which stages, which defaults); the wire format is in
 * handlers.ts and the documents come from the store.
 */

/**
 * The stages the CloudBase / WeChat Cloud docs list for `Aggregate` (reference-sdk-api/database/
 * aggregate/Aggregate.*). `$geoNear` runs in handlers.ts as the first stage (geo.ts). Other MongoDB stages (`$facet`, `$out`, ...) are not in the SDK's Aggregation
 * class either, so only a raw pipeline could send them: refused as not emulated.
 */
export const DOCUMENTED_STAGES = [
  '$addFields',
  '$bucket',
  '$bucketAuto',
  '$count',
  '$geoNear',
  '$group',
  '$limit',
  '$lookup',
  '$match',
  '$project',
  '$replaceRoot',
  '$sample',
  '$skip',
  '$sort',
  '$sortByCount',
  '$unwind',
] as const;

const EMULATED_STAGES = new Set<string>(DOCUMENTED_STAGES);

/**
 * Without a `$limit` stage the cloud answers at most 20 records, in cloud functions too (reported
 * by users, e.g. developers.weixin.qq.com/community/develop/article/doc/000624c67c8b48611dba2b12058c13;
 * the docs are silent). With a `$limit` the same reports give 10,000 as the ceiling.
 */
export const AGGREGATE_DEFAULT_LIMIT = 20;
export const AGGREGATE_MAX_RESULTS = 10_000;

/**
 * `$bucket` as the MongoDB manual defines it: the `$group` + `$sort` it is equivalent to, with a
 * `$switch` over [lower, upper) ranges (lower bound inclusive). mingo 7's own `$bucket` puts a
 * value equal to an inner boundary in the bucket below it.
 */
function bucketAsGroup(spec: unknown): Doc[] {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new EmulatorError('INVALID_PARAM', '$bucket needs an object {groupBy, boundaries, ...}');
  }
  const { groupBy, boundaries, default: fallback, output } = spec as Doc;
  if (!Array.isArray(boundaries) || boundaries.length < 2) {
    throw new EmulatorError('INVALID_PARAM', '$bucket needs at least two boundaries');
  }
  const branches = boundaries.slice(0, -1).map((lower: unknown, i) => ({
    case: { $and: [{ $gte: [groupBy, lower] }, { $lt: [groupBy, boundaries[i + 1]] }] },
    then: { $literal: lower },
  }));
  const id = {
    $switch: fallback === undefined ? { branches } : { branches, default: { $literal: fallback } },
  };
  const fields = output === undefined ? { count: { $sum: 1 } } : (output as Doc);
  return [{ $group: { _id: id, ...fields } }, { $sort: { _id: 1 } }];
}

/**
 * `$sample` as MongoDB runs it on a small collection: a random sort, then the first `size`, so no
 * document comes twice (MongoDB manual, $sample; its pseudo-random cursor, which may repeat,
 * applies only past 100 documents). mingo 7 samples with replacement.
 */
const SAMPLE_KEY = '__wxcloudEmulatorSampleKey';
function sampleAsSort(spec: unknown): Doc[] {
  const size = (spec as Doc | null)?.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw new EmulatorError('INVALID_PARAM', '$sample needs {size: a non-negative integer}');
  }
  if (size === 0) return [{ $match: { $expr: false } }];
  return [
    { $addFields: { [SAMPLE_KEY]: { $rand: {} } } },
    { $sort: { [SAMPLE_KEY]: 1 } },
    { $limit: size },
    { $project: { [SAMPLE_KEY]: 0 } },
  ];
}

/** Stages mingo runs differently from MongoDB, rewritten into ones it runs right. */
function rewrite(pipeline: Doc[]): Doc[] {
  return pipeline.flatMap((stage) => {
    if ('$bucket' in stage) return bucketAsGroup(stage.$bucket);
    if ('$sample' in stage) return sampleAsSort(stage.$sample);
    if ('$lookup' in stage && Array.isArray((stage.$lookup as Doc | null)?.pipeline)) {
      const spec = stage.$lookup as Doc;
      return [{ $lookup: { ...spec, pipeline: rewrite(spec.pipeline as Doc[]) } }];
    }
    return [stage];
  });
}

export interface PipelineSources {
  /** The documents of another collection of the same env (for `$lookup`); throws if none. */
  collection(name: string): Doc[];
}

/**
 * Checks every stage (also inside `$lookup` sub-pipelines) before anything runs, so an unsupported
 * stage is refused by name instead of failing half-way.
 */
export function checkPipeline(pipeline: Doc[], where = 'pipeline'): void {
  pipeline.forEach((stage, i) => {
    const keys = Object.keys(stage);
    if (keys.length !== 1) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `${where}[${i}] must have exactly one stage key, got ${keys.length}`,
      );
    }
    const [name] = keys;
    if (name === '$geoNear') {
      // MongoDB's rule; the handler runs a leading $geoNear before the rest of the pipeline.
      throw new EmulatorError(
        'DATABASE_REQUEST_FAILED',
        `$geoNear is only valid as the first stage in a pipeline (${where}[${i}])`,
      );
    }
    if (!EMULATED_STAGES.has(name)) {
      throw notEmulated(
        `the aggregate stage ${name} (the documented stages are ${DOCUMENTED_STAGES.join(', ')})`,
      );
    }
    const value = stage[name];
    if (usesOperator(value, '$meta')) {
      throw notEmulated('$meta (text search scores; the emulator has no text indexes)');
    }
    if (name === '$lookup' && value && typeof value === 'object') {
      const inner = (value as Doc).pipeline;
      if (inner !== undefined) {
        if (!Array.isArray(inner)) {
          throw new EmulatorError(
            'INVALID_PARAM',
            `${where}[${i}].$lookup.pipeline must be an array`,
          );
        }
        checkPipeline(inner as Doc[], `${where}[${i}].$lookup.pipeline`);
      }
    }
  });
}

/** Whether `key` appears as an object key anywhere inside `value`. */
function usesOperator(value: unknown, key: string): boolean {
  if (!value || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => usesOperator(item, key));
  return Object.entries(value).some(([k, item]) => k === key || usesOperator(item, key));
}

/**
 * Runs `pipeline` over `docs` (the collection as the caller sees it). The result is capped at
 * AGGREGATE_DEFAULT_LIMIT unless the pipeline has a `$limit` stage (then AGGREGATE_MAX_RESULTS).
 */
export function runPipeline(docs: Doc[], pipeline: Doc[], sources: PipelineSources): Doc[] {
  checkPipeline(pipeline);
  const hasLimit = pipeline.some((stage) => '$limit' in stage);
  let result: Doc[];
  try {
    const aggregator = new Aggregator(rewrite(pipeline), {
      context: MONGO_CONTEXT,
      collectionResolver: (name: string) => sources.collection(name),
      // MongoDB's `$$NOW`/date operators read the time of the request; mingo reads its own clock.
    });
    result = aggregator.run(docs) as Doc[];
  } catch (err) {
    if (err instanceof EmulatorError) throw err;
    // MongoDB refuses a bad stage or expression with its own message; the cloud hands it back as
    // a failed database request.
    throw new EmulatorError(
      'DATABASE_REQUEST_FAILED',
      `aggregate failed: ${(err as Error).message}`,
    );
  }
  return result.slice(0, hasLimit ? AGGREGATE_MAX_RESULTS : AGGREGATE_DEFAULT_LIMIT);
}
