// WeChat Pay's payment callback: verifies, confirms with queryOrder, marks paid and unlocks.
import { handlePaymentCallback } from '../../server/pay-callback';
import { functionMain } from '../../server/runtime';

export const main = functionMain(handlePaymentCallback);
