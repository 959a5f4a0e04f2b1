// WeChat Pay's payment callback: verifies, confirms with queryOrder, marks paid and unlocks.
import { toErrorReply } from '../../server/errors';
import { handlePaymentCallback } from '../../server/payments';
import { currentCaller, paymentDeps } from '../../server/runtime';

export async function main(event: unknown): Promise<unknown> {
  let deps;
  try {
    deps = paymentDeps();
  } catch (err) {
    return toErrorReply(err);
  }
  return handlePaymentCallback(deps, currentCaller(), event);
}
