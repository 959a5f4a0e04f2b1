// The page's fallback: asks WeChat Pay about the caller's own order {docid} and applies the answer.
import { queryForUser } from '../../server/payquery';
import { functionMain } from '../../server/runtime';

export const main = functionMain(queryForUser);
