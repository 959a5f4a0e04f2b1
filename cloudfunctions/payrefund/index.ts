// Administrators refund an order {docid, reason?}; the refund number is stable across retries.
import { requestRefund } from '../../server/refunds';
import { functionMain } from '../../server/runtime';

export const main = functionMain(requestRefund);
