// Creates (or reuses) the caller's order for {itemId} and returns the payment parameters.
import { createOrder } from '../../server/userpay';
import { functionMain } from '../../server/runtime';

export const main = functionMain(createOrder);
