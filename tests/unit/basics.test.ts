import { loadConfig, DEFAULT_CATALOG } from '../../server/config';
import { AppError } from '../../server/errors';
import { formatPayTime, formatRecipeTime, parsePayTime } from '../../server/time';
import { isTradeNo, newTradeNo, TRADE_NO_PATTERN } from '../../server/trade-no';

describe('Beijing time formats', () => {
  // 2026-11-27T16:30:05Z is 2026-11-28 00:30:05 in UTC+8: the day rolls over.
  const instant = Date.UTC(2026, 10, 27, 16, 30, 5);

  it('formats the recipe paytime in UTC+8', () => {
    expect(formatRecipeTime(instant)).toBe('2026-11-28 00:30:05');
  });

  it('formats and parses WeChat Pay times in UTC+8', () => {
    expect(formatPayTime(instant)).toBe('20261128003005');
    expect(parsePayTime('20261128003005')).toBe(instant);
    expect(parsePayTime('2026-11-28')).toBeUndefined();
    expect(parsePayTime(20261128003005)).toBeUndefined();
  });
});

describe('trade numbers', () => {
  it('are valid for WeChat Pay and unique across many draws', () => {
    const now = Date.UTC(2026, 10, 27, 4, 0, 0);
    const seen = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const no = newTradeNo(now);
      expect(no).toMatch(TRADE_NO_PATTERN);
      seen.add(no);
    }
    expect(seen.size).toBe(20000);
  });

  it('carry the UTC+8 second and 12 random characters', () => {
    const fixed = newTradeNo(Date.UTC(2026, 10, 27, 4, 0, 0), (n) => Buffer.alloc(n, 1));
    expect(fixed).toBe('CP20261127120000111111111111');
    expect(fixed).toHaveLength(28);
  });

  it('rejects what WeChat Pay would', () => {
    expect(isTradeNo('abc12')).toBe(false);
    expect(isTradeNo('a'.repeat(33))).toBe(false);
    expect(isTradeNo('CP2026 1127')).toBe(false);
    expect(isTradeNo('CP_2026-1127')).toBe(true);
  });
});

describe('configuration', () => {
  it('defaults to the local emulator so a fresh clone runs', () => {
    const config = loadConfig({}, {}, false);
    expect(config).toMatchObject({
      envId: 'local-env',
      subMchId: '1900000109',
      orderLifetimeMs: 15 * 60_000,
    });
    expect(config.catalog).toEqual(DEFAULT_CATALOG);
    expect(config.catalog['demo-unlock'].totalFee).toBe(1);
  });

  it('takes the function environment over the local file, and the env id from TCB_ENV on the cloud', () => {
    const config = loadConfig(
      { CLOUDPAY_SUB_MCH_ID: '1234567890', TCB_ENV: 'prod-8g2k3' },
      { subMchId: '1900000109', orderLifetimeMinutes: 30, adminOpenids: ['o_admin'] },
      true,
    );
    expect(config).toMatchObject({
      envId: 'prod-8g2k3',
      subMchId: '1234567890',
      orderLifetimeMs: 30 * 60_000,
      adminOpenids: ['o_admin'],
    });
  });

  it('refuses a production build without a merchant id, naming where to set it', () => {
    expect(() => loadConfig({ TCB_ENV: 'prod-1' }, {}, true)).toThrow(/CLOUDPAY_SUB_MCH_ID/);
    expect(() => loadConfig({ TCB_ENV: 'prod-1' }, {}, true)).toThrow(AppError);
  });

  it.each([
    [{ CLOUDPAY_SUB_MCH_ID: 'abc' }, /8-12 digit/],
    [{ CLOUDPAY_ORDER_LIFETIME_MINUTES: '5' }, /more than 5/],
    [
      { CLOUDPAY_CATALOG: '[{"id":"x","title":"t","body":"b","totalFee":0.5}]' },
      /positive integer in fen/,
    ],
    [{ CLOUDPAY_CATALOG: 'not json' }, /not valid JSON/],
    [{ CLOUDPAY_CATALOG: '[]' }, /non-empty/],
  ])('rejects bad settings %j', (env, message) => {
    expect(() => loadConfig(env, {}, false)).toThrow(message);
  });

  it('reads a catalog and admin list from environment variables', () => {
    const config = loadConfig(
      {
        CLOUDPAY_CATALOG: '[{"id":"vip-month","title":"月卡","body":"店铺-月卡","totalFee":990}]',
        CLOUDPAY_ADMIN_OPENIDS: 'o_a, o_b',
      },
      {},
      false,
    );
    expect(config.catalog).toEqual({
      'vip-month': { id: 'vip-month', title: '月卡', body: '店铺-月卡', totalFee: 990 },
    });
    expect(config.adminOpenids).toEqual(['o_a', 'o_b']);
  });
});
