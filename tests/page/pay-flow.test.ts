// The pure parts of the page: the state machine, texts and the parsing of cloud answers.

import { formatFen, messages, serverErrorText } from '../../miniprogram/services/messages';
import {
  canPay,
  FlowEvent,
  FlowState,
  initialState,
  isPayable,
  messageText,
  PayStatus,
  transition,
} from '../../miniprogram/services/pay-flow';
import {
  classifyPaymentError,
  parsePayqueryAnswer,
  parseUserpayAnswer,
} from '../../miniprogram/services/unlock-api';

const STATES: Record<PayStatus, FlowState> = {
  loading: initialState,
  locked: { status: 'locked', message: null },
  paying: { status: 'paying', message: null },
  confirming: { status: 'confirming', message: 'confirming' },
  unlocked: { status: 'unlocked', message: 'unlocked' },
  unsupported: { status: 'unsupported', message: 'unsupported' },
};

const EVENTS: Record<string, FlowEvent> = {
  loadedUnlocked: { type: 'loaded', unlocked: true, payable: true },
  loadedLocked: { type: 'loaded', unlocked: false, payable: true },
  loadedNotPayable: { type: 'loaded', unlocked: false, payable: false },
  loadFailed: { type: 'loadFailed', payable: true },
  loadFailedNotPayable: { type: 'loadFailed', payable: false },
  payStarted: { type: 'payStarted' },
  alreadyUnlocked: { type: 'alreadyUnlocked' },
  serverError: { type: 'serverError', errcode: 7 },
  payCancelled: { type: 'payCancelled' },
  payFailed: { type: 'payFailed' },
  paySubmitted: { type: 'paySubmitted' },
  paid: { type: 'paid' },
  orderEnded: { type: 'orderEnded' },
  unconfirmed: { type: 'unconfirmed' },
};

/** Every transition that changes the state; every other (state, event) pair must be ignored. */
const EXPECTED: Partial<Record<PayStatus, Record<string, FlowState>>> = {
  loading: {
    loadedUnlocked: { status: 'unlocked', message: 'unlocked' },
    loadedLocked: { status: 'locked', message: null },
    loadedNotPayable: { status: 'unsupported', message: 'unsupported' },
    loadFailed: { status: 'locked', message: 'loadFailed' },
    loadFailedNotPayable: { status: 'unsupported', message: 'unsupported' },
  },
  locked: {
    payStarted: { status: 'paying', message: null },
    paid: { status: 'unlocked', message: 'unlocked' },
  },
  paying: {
    alreadyUnlocked: { status: 'unlocked', message: 'unlocked' },
    paid: { status: 'unlocked', message: 'unlocked' },
    serverError: { status: 'locked', message: 'serverError', errcode: 7 },
    payCancelled: { status: 'locked', message: 'cancelled' },
    payFailed: { status: 'locked', message: 'failed' },
    paySubmitted: { status: 'confirming', message: 'confirming' },
  },
  confirming: {
    paid: { status: 'unlocked', message: 'unlocked' },
    orderEnded: { status: 'locked', message: 'orderEnded' },
    unconfirmed: { status: 'locked', message: 'unconfirmed' },
  },
};

describe('transition', () => {
  const pairs = (Object.entries(STATES) as [PayStatus, FlowState][]).flatMap(([status, state]) =>
    Object.entries(EVENTS).map(([name, event]) => ({ status, state, name, event })),
  );
  const changes = pairs.flatMap((p) => {
    const expected = EXPECTED[p.status]?.[p.name];
    return expected ? [{ ...p, expected }] : [];
  });
  const ignored = pairs.filter((p) => !EXPECTED[p.status]?.[p.name]);

  test.each(changes)('$status --$name--> $expected.status', ({ state, event, expected }) => {
    expect(transition(state, event)).toEqual(expected);
  });

  test.each(ignored)('$status ignores $name', ({ state, event }) => {
    expect(transition(state, event)).toBe(state);
  });

  test('only locked accepts a tap', () => {
    const payable = (Object.keys(STATES) as PayStatus[]).filter((s) => canPay(STATES[s]));
    expect(payable).toEqual(['locked']);
  });
});

describe('isPayable', () => {
  test.each([
    ['ios', 'notice', false],
    ['iOS', 'notice', false],
    ['ios', 'allow', true],
    ['android', 'notice', true],
    ['devtools', 'notice', true],
    ['windows', 'notice', true],
  ] as const)('%s with policy %s -> %s', (platform, policy, expected) => {
    expect(isPayable(platform, policy)).toBe(expected);
  });
});

describe('texts', () => {
  test('cancel, failure and server error read differently', () => {
    const texts = [
      messageText({ status: 'locked', message: 'cancelled' }),
      messageText({ status: 'locked', message: 'failed' }),
      messageText({ status: 'locked', message: 'serverError' }),
    ];
    expect(texts).toEqual(['支付已取消', '支付失败，请重试', '服务器繁忙，请稍后重试']);
  });

  test('a server error names its code when there is one', () => {
    expect(messageText({ status: 'locked', message: 'serverError', errcode: 42 })).toBe(
      '服务器繁忙，请稍后重试（错误码 42）',
    );
    expect(serverErrorText(undefined)).toBe(messages.serverError);
  });

  test('no message renders as empty', () => {
    expect(messageText({ status: 'locked', message: null })).toBe('');
  });

  test.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [10, '¥0.10'],
    [199, '¥1.99'],
    [100000, '¥1000.00'],
  ])('formatFen(%d) = %s', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  test.each([-1, 1.5, Number.NaN])('formatFen refuses %p', (fen) => {
    expect(() => formatFen(fen)).toThrow(/non-negative integer number of fen/);
  });
});

describe('parseUserpayAnswer', () => {
  const payment = {
    appId: 'wx0000000000000000',
    timeStamp: '1700000000',
    nonceStr: 'n',
    package: 'prepay_id=p',
    signType: 'MD5',
    paySign: 's',
  };

  test('an order keeps only the fields requestPayment takes', () => {
    expect(parseUserpayAnswer({ docid: 'd', tradeno: 't', payment })).toEqual({
      kind: 'order',
      docid: 'd',
      tradeno: 't',
      payment: {
        timeStamp: '1700000000',
        nonceStr: 'n',
        package: 'prepay_id=p',
        signType: 'MD5',
        paySign: 's',
      },
    });
  });

  test('unlocked', () => {
    expect(parseUserpayAnswer({ unlocked: true })).toEqual({ kind: 'unlocked' });
  });

  test('a business error keeps its code and message', () => {
    expect(parseUserpayAnswer({ errcode: 40001, errmsg: 'itemId is required' })).toEqual({
      kind: 'error',
      errcode: 40001,
      errmsg: 'itemId is required',
    });
  });

  test.each([
    undefined,
    null,
    'oops',
    [],
    {},
    { docid: 'd', tradeno: 't' },
    { docid: 'd', tradeno: 't', payment: { ...payment, paySign: 1 } },
    { docid: 'd', tradeno: 't', payment: { ...payment, signType: 'SHA1' } },
    { docid: 1, tradeno: 't', payment },
    { unlocked: 'yes' },
  ])('anything else is an error, never a payment: %p', (result) => {
    expect(parseUserpayAnswer(result).kind).toBe('error');
  });
});

describe('parsePayqueryAnswer', () => {
  test('status and paystatus', () => {
    expect(parsePayqueryAnswer({ docid: 'd', tradeno: 't', status: 'paid', paystatus: 1 })).toEqual(
      {
        kind: 'order',
        status: 'paid',
        paystatus: 1,
      },
    );
  });

  test.each([
    null,
    {},
    { status: 'paid' },
    { paystatus: '1', status: 'paid' },
    { errcode: 429, errmsg: 'slow down' },
  ])('anything else is an error: %p', (result) => {
    expect(parsePayqueryAnswer(result).kind).toBe('error');
  });
});

describe('classifyPaymentError', () => {
  test('the user closing the sheet is a cancel', () => {
    expect(classifyPaymentError({ errMsg: 'requestPayment:fail cancel' })).toEqual({
      kind: 'cancel',
    });
  });

  test.each([
    { errMsg: 'requestPayment:fail system error' },
    { errMsg: 'requestPayment:fail (detail message)' },
    new Error('network down'),
    'weird',
  ])('anything else is a failure: %p', (error) => {
    expect(classifyPaymentError(error).kind).toBe('fail');
  });
});
