// WeChat Pay's payment callback: verifies, confirms with queryOrder, marks paid and unlocks.
import { handlePaymentCallback } from '../../server/payments';
import { functionMain } from '../../server/runtime';

export const main = functionMain(handlePaymentCallback);
