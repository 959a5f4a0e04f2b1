// Administrators refund an order {docid, reason?}; the refund number is stable across retries.
import { toErrorReply } from '../../server/errors';
import { requestRefund } from '../../server/payments';
import { currentCaller, paymentDeps } from '../../server/runtime';

export async function main(event: unknown): Promise<unknown> {
  let deps;
  try {
    deps = paymentDeps();
  } catch (err) {
    return toErrorReply(err);
  }
  return requestRefund(deps, currentCaller(), event);
}
