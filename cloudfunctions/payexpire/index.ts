// Timer: ends unpaid orders past their lifetime, honouring payments whose callback never came.
import { toErrorReply } from '../../server/errors';
import { expireOrders } from '../../server/payexpire';
import { currentCaller, paymentDeps } from '../../server/runtime';

export async function main(): Promise<unknown> {
  // Only the timer (or an operator testing from the console) runs this sweep.
  const source = String(currentCaller().source ?? '');
  if (source !== 'wx_trigger' && !source.startsWith('wx_trigger')) {
    return { errcode: 40302, errmsg: 'payexpire runs from its timer trigger only' };
  }
  try {
    return await expireOrders(paymentDeps());
  } catch (err) {
    return toErrorReply(err);
  }
}
