// WeChat Pay's refund callback: confirms with queryRefund, marks refunded, revokes the unlock.
import { toErrorReply } from '../../server/errors';
import { handleRefundCallback } from '../../server/payments';
import { currentCaller, paymentDeps } from '../../server/runtime';

export async function main(event: unknown): Promise<unknown> {
  let deps;
  try {
    deps = paymentDeps();
  } catch (err) {
    return toErrorReply(err);
  }
  return handleRefundCallback(deps, currentCaller(), event);
}
