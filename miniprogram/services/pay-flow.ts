// The unlock page's states and transitions, pure: no wx, no timers, no I/O. The controller
// (unlock-controller.ts) feeds it events; the page renders what it returns.
//
//   loading ──loaded──▶ locked | unlocked | unsupported
//   locked ──payStarted──▶ paying ──paySubmitted──▶ confirming ──paid──▶ unlocked
//   paying ──payCancelled | payFailed | serverError──▶ locked (with a distinct message)
//   paying ──alreadyUnlocked | paid──▶ unlocked
//   confirming ──orderEnded | unconfirmed──▶ locked (with a message)
//   locked ──paid──▶ unlocked (a late result after we stopped asking)
//
// Any event that does not apply to the current state is ignored (the same state object is
// returned), which is what makes a second tap while paying, or a stale callback, harmless.

import type { IosPolicy } from '../config';
import { type MessageKey, messages, serverErrorText } from './messages';

export type PayStatus =
  /** Reading the user's unlock record and any pending order. */
  | 'loading'
  /** Not unlocked; the pay button is offered. */
  | 'locked'
  /** Between the tap and the end of the pay sheet: creating the order, then paying. */
  | 'paying'
  /** The pay sheet said ok; waiting for the server to confirm (success there is not proof). */
  | 'confirming'
  /** The server recorded the payment (or an earlier one). Terminal. */
  | 'unlocked'
  /** Payment is deliberately not offered on this platform (iOS virtual goods rule). */
  | 'unsupported';

export interface FlowState {
  status: PayStatus;
  /** What to tell the user, or null for nothing. */
  message: MessageKey | null;
  /** The server's errcode for a server error, shown with the message. */
  errcode?: number;
}

export type FlowEvent =
  | { type: 'loaded'; unlocked: boolean; payable: boolean }
  | { type: 'loadFailed'; payable: boolean }
  | { type: 'payStarted' }
  | { type: 'alreadyUnlocked' }
  | { type: 'serverError'; errcode?: number }
  | { type: 'payCancelled' }
  | { type: 'payFailed' }
  | { type: 'paySubmitted' }
  | { type: 'paid' }
  | { type: 'orderEnded' }
  | { type: 'unconfirmed' };

export const initialState: FlowState = { status: 'loading', message: null };

const unlocked: FlowState = { status: 'unlocked', message: 'unlocked' };

function locked(message: MessageKey | null, errcode?: number): FlowState {
  return errcode === undefined
    ? { status: 'locked', message }
    : { status: 'locked', message, errcode };
}

export function transition(state: FlowState, event: FlowEvent): FlowState {
  switch (state.status) {
    case 'loading':
      if (event.type === 'loaded') {
        if (event.unlocked) return unlocked;
        return event.payable ? locked(null) : { status: 'unsupported', message: 'unsupported' };
      }
      if (event.type === 'loadFailed') {
        // We do not know whether the user already has it; offering pay is still safe because
        // userpay answers {unlocked:true} before any money moves.
        return event.payable
          ? locked('loadFailed')
          : { status: 'unsupported', message: 'unsupported' };
      }
      return state;
    case 'locked':
      if (event.type === 'payStarted') return { status: 'paying', message: null };
      if (event.type === 'paid') return unlocked;
      return state;
    case 'paying':
      switch (event.type) {
        case 'alreadyUnlocked':
        case 'paid':
          return unlocked;
        case 'serverError':
          return locked('serverError', event.errcode);
        case 'payCancelled':
          return locked('cancelled');
        case 'payFailed':
          return locked('failed');
        case 'paySubmitted':
          return { status: 'confirming', message: 'confirming' };
        default:
          return state;
      }
    case 'confirming':
      if (event.type === 'paid') return unlocked;
      if (event.type === 'orderEnded') return locked('orderEnded');
      if (event.type === 'unconfirmed') return locked('unconfirmed');
      return state;
    case 'unlocked':
    case 'unsupported':
      return state;
  }
}

/** A tap on pay is acted on only in `locked`: a second tap while paying is ignored. */
export function canPay(state: FlowState): boolean {
  return state.status === 'locked';
}

/** Whether this platform may be offered payment under the configured iOS policy. */
export function isPayable(platform: string, policy: IosPolicy): boolean {
  return !(platform.toLowerCase() === 'ios' && policy === 'notice');
}

export function messageText(state: FlowState): string {
  if (state.message === null) return '';
  if (state.message === 'serverError') return serverErrorText(state.errcode);
  return messages[state.message];
}

/** Tone of the message, for styling only. */
export function messageTone(state: FlowState): 'none' | 'info' | 'error' | 'success' {
  switch (state.message) {
    case null:
      return 'none';
    case 'unlocked':
      return 'success';
    case 'confirming':
    case 'unsupported':
    case 'cancelled':
    case 'unconfirmed':
      return 'info';
    default:
      return 'error';
  }
}
