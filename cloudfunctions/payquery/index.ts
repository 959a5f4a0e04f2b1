// The page's fallback: asks WeChat Pay about the caller's own order {docid} and applies the answer.
import { toErrorReply } from '../../server/errors';
import { queryForUser } from '../../server/payments';
import { currentCaller, paymentDeps } from '../../server/runtime';

export async function main(event: unknown): Promise<unknown> {
  let deps;
  try {
    deps = paymentDeps();
  } catch (err) {
    return toErrorReply(err);
  }
  return queryForUser(deps, currentCaller(), event);
}
