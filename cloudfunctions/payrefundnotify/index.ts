// WeChat Pay's refund callback: confirms with queryRefund, marks refunded, revokes the unlock.
import { handleRefundCallback } from '../../server/refunds';
import { functionMain } from '../../server/runtime';

export const main = functionMain(handleRefundCallback);
