import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src';
import { documents } from '../support/emulator';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

/**
 * The recipe's callback does not await its update before answering `{errcode: 0}`. The emulator
 * flags that work as in flight after `main` returned; with `freezeAfterReturn` it drops it, as a
 * cloud instance frozen after its answer may: WeChat Pay got its acknowledgement, the order was
 * never marked paid, and no retry will ever come. The project's userpaynotify awaits instead.
 */
const FIXTURES = path.resolve(__dirname, '../fixtures/functions');

async function payThroughRecipeCallback(freezeAfterReturn: boolean) {
  const { projectDir } = makeProject();
  const emu: RunningEmulator = await startEmulator({
    projectDir,
    functionsDir: FIXTURES,
    port: 0,
    inMemory: true,
    freezeAfterReturn,
  });
  try {
    const tradeno = 'RECIPE1234567890';
    await runWithSdk(
      emu.url,
      `await db.collection('USERPAYLOG').add({ data: { tradeno: '${tradeno}', paystatus: 0 } });`,
    );
    const placed = await emu.services.functions.invoke({
      name: 'paycreate',
      openid: 'o_recipe_user',
      data: {
        body: '示例商户-解锁全文',
        outTradeNo: tradeno,
        spbillCreateIp: '127.0.0.1',
        subMchId: '1900000109',
        totalFee: 1,
        envId: 'local-env',
        functionName: 'paycallback-recipe',
        nonceStr: 'recipe-nonce',
      },
    });
    expect(placed).toMatchObject({ result: { returnCode: 'SUCCESS', resultCode: 'SUCCESS' } });
    await emu.services.pay.decide(tradeno, 'confirm', { waitForCallback: true });
    const order = emu.services.pay.getOrder(tradeno);
    const callback = emu.services.functions.invocations({ name: 'paycallback-recipe' })[0];
    // Give an unawaited write every chance to land (bounded), then read what is stored. Read
    // through the control API: a fresh SDK worker per poll costs ~0.3 s of CPU each, which on a
    // loaded machine pushed the 20 polls of the frozen case past jest's timeout.
    let stored: { paystatus: number }[] = [];
    for (let i = 0; i < 20; i++) {
      stored = await documents<{ tradeno: string; paystatus: number }>(emu, 'USERPAYLOG').then(
        (docs) => docs.filter((doc) => doc.tradeno === tradeno),
      );
      if (stored[0]?.paystatus === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
      acknowledged: order?.callbacks?.acknowledged,
      warnings: callback.warnings,
      paystatus: stored[0]?.paystatus,
    };
  } finally {
    await emu.stop();
  }
}

it('flags the recipe callback’s unawaited update, which completes by default', async () => {
  const outcome = await payThroughRecipeCallback(false);
  expect(outcome.acknowledged).toBe(true);
  expect(outcome.warnings.join('\n')).toMatch(/after main returned|in flight/i);
  expect(outcome.paystatus).toBe(1);
});

it('under freezeAfterReturn the acknowledged payment is lost: paystatus stays 0', async () => {
  const outcome = await payThroughRecipeCallback(true);
  expect(outcome.acknowledged).toBe(true);
  expect(outcome.warnings.join('\n')).toMatch(/after main returned|in flight/i);
  expect(outcome.paystatus).toBe(0);
});
