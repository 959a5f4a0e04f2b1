// Creates (or reuses) the caller's order for {itemId} and returns the payment parameters.
import { toErrorReply } from '../../server/errors';
import { createOrder } from '../../server/payments';
import { currentCaller, paymentDeps } from '../../server/runtime';

export async function main(event: unknown): Promise<unknown> {
  let deps;
  try {
    deps = paymentDeps();
  } catch (err) {
    return toErrorReply(err);
  }
  return createOrder(deps, currentCaller(), event);
}
