/**
 * The payment flows, one module per concern, gathered here for the cloud functions and tests:
 * - order-events: the one path for every order event (state machine, unlock, anomaly in one
 *   transaction) and asking WeChat Pay what became of an order;
 * - userpay: placing an order (reuse, stale orders, prepay);
 * - pay-callback: WeChat Pay's payment notification;
 * - payquery and payexpire: the page's fallback query and the timer that ends unpaid orders;
 * - refunds: payrefund, the refund notification and queryRefund.
 */
export {
  ACK,
  applyEvent,
  confirmPayment,
  reconcile,
  type ApplyOutcome,
  type Caller,
  type OrderView,
  type PaymentDeps,
} from './order-events';
export { createOrder, type UserPayReply } from './userpay';
export { handlePaymentCallback } from './pay-callback';
export { PAYQUERY_INTERVAL_MS, queryForUser, type PayQueryReply } from './payquery';
export { expireOrders, type ExpireReport } from './payexpire';
export { confirmRefund, handleRefundCallback, requestRefund, type RefundReply } from './refunds';
