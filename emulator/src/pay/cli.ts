import { parseArgs } from 'node:util';
import { formatOrder, formatOrderList } from './cli-table';
import type { OrderView } from './model';

/**
 * `wxcloud-emulator pay ...`: drive the CloudPay sandbox of a running emulator from a terminal,
 * as `stripe trigger` does for Stripe's test mode. Prints the control API's JSON answer (`list` and
 * `status`: a table, or the JSON with `--json`).
 */
export const PAY_USAGE = `Usage:
  wxcloud-emulator pay confirm|cancel|fail <outTradeNo> [--openid ID] [--no-wait]
  wxcloud-emulator pay status <outTradeNo>
  wxcloud-emulator pay resend <outTradeNo>
  wxcloud-emulator pay list
  wxcloud-emulator pay faults                      (show pending callback faults)
  wxcloud-emulator pay faults clear
  wxcloud-emulator pay faults drop|duplicate|lose [--count N] [--order NO] [--kind payment|refund]
  wxcloud-emulator pay faults delay|reorder --delay-ms MS [--count N] [--order NO] [--kind ...]
  wxcloud-emulator pay faults query-order [--total-fee FEN] [--sub-mch-id ID] [--transaction-id ID]
                                          [--not-exist] [--count N] [--order NO]
                                                   (queryOrder reports other facts, or ORDERNOTEXIST)
  wxcloud-emulator pay faults refund --status REFUNDCLOSE|CHANGE|PROCESSING [--count N] [--order NO]
                                                   (the next refund ends so instead of SUCCESS)
  wxcloud-emulator pay refund <outTradeNo> [--fee FEN] [--function NAME] [--status STATUS]
                                                   (a refund made on the merchant platform)
Options: --url URL (default http://127.0.0.1:8787)
         --json   print the control API's JSON (list and status print a table by default)
         --help   print this help`;

const HELP_HINT = '(wxcloud-emulator pay --help lists the commands)';

type Out = { write(text: string): unknown };

async function call(
  url: string,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
): Promise<{ ok: boolean; json: unknown }> {
  const res = await fetch(`${url.replace(/\/$/, '')}/emulator/v1${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: print as text
  }
  return { ok: res.ok, json };
}

/** Runs one `pay` command; resolves to the process exit code (0 ok, 1 refused, 2 usage). */
export async function runPayCommand(
  argv: string[],
  out: Out = process.stdout,
  err: Out = process.stderr,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8787' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        openid: { type: 'string' },
        'no-wait': { type: 'boolean' },
        count: { type: 'string' },
        'delay-ms': { type: 'string' },
        order: { type: 'string' },
        kind: { type: 'string' },
        'total-fee': { type: 'string' },
        'sub-mch-id': { type: 'string' },
        'transaction-id': { type: 'string' },
        'not-exist': { type: 'boolean' },
        status: { type: 'string' },
        fee: { type: 'string' },
        function: { type: 'string' },
      },
      strict: true,
    });
  } catch (e) {
    err.write(`wxcloud-emulator pay: ${(e as Error).message}\n${HELP_HINT}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, arg] = positionals;
  if (values.help || command === 'help') {
    out.write(
      `wxcloud-emulator pay: drive a running emulator's CloudPay sandbox\n\n${PAY_USAGE}\n`,
    );
    return 0;
  }
  // A usage error says what was wrong and where the help is, not the whole usage.
  const usage = (message: string): number => {
    err.write(`wxcloud-emulator pay: ${message}\n${HELP_HINT}\n`);
    return 2;
  };
  const url = values.url as string;
  let result: { ok: boolean; json: unknown };
  try {
    switch (command) {
      case 'confirm':
      case 'cancel':
      case 'fail':
      case 'resend':
      case 'status': {
        if (!arg) return usage(`${command} needs an outTradeNo`);
        const route = `/pay/orders/${encodeURIComponent(arg)}`;
        if (command === 'status') result = await call(url, 'GET', route);
        else if (command === 'resend') result = await call(url, 'POST', `${route}/resend`);
        else {
          result = await call(url, 'POST', `${route}/${command}`, {
            ...(values.openid === undefined ? {} : { openid: values.openid }),
            wait: !values['no-wait'],
          });
        }
        break;
      }
      case 'list':
        result = await call(url, 'GET', '/pay/orders');
        break;
      case 'refund': {
        if (!arg) return usage('refund needs an outTradeNo');
        result = await call(url, 'POST', `/pay/orders/${encodeURIComponent(arg)}/refund`, {
          ...(values.fee === undefined ? {} : { refundFee: Number(values.fee) }),
          ...(values.function === undefined ? {} : { functionName: values.function }),
          ...(values.status === undefined ? {} : { status: values.status }),
        });
        break;
      }
      case 'faults': {
        if (!arg) {
          result = await call(url, 'GET', '/pay/faults');
          break;
        }
        if (arg === 'clear') {
          result = await call(url, 'POST', '/faults', { pay: { clear: true } });
          break;
        }
        const scope: Record<string, unknown> = {};
        if (values.count !== undefined) scope.count = Number(values.count);
        if (values.order !== undefined) scope.outTradeNo = values.order;
        if (arg === 'query-order') {
          const rule: Record<string, unknown> = { ...scope };
          if (values['not-exist']) rule.notExist = true;
          if (values['total-fee'] !== undefined) rule.totalFee = Number(values['total-fee']);
          if (values['sub-mch-id'] !== undefined) rule.subMchId = values['sub-mch-id'];
          if (values['transaction-id'] !== undefined) rule.transactionId = values['transaction-id'];
          result = await call(url, 'POST', '/faults', { pay: { queryOrder: [rule] } });
          break;
        }
        if (arg === 'refund') {
          const rule = { ...scope, status: values.status };
          result = await call(url, 'POST', '/faults', { pay: { refunds: [rule] } });
          break;
        }
        const rule: Record<string, unknown> = { action: arg };
        if (values.count !== undefined) rule.count = Number(values.count);
        if (values['delay-ms'] !== undefined) rule.delayMs = Number(values['delay-ms']);
        if (values.order !== undefined) rule.outTradeNo = values.order;
        if (values.kind !== undefined) rule.kind = values.kind;
        result = await call(url, 'POST', '/faults', { pay: { callbacks: [rule] } });
        break;
      }
      case undefined:
        return usage('missing command');
      default:
        return usage(`unknown command "${command}"`);
    }
  } catch (e) {
    err.write(
      `wxcloud-emulator pay: cannot reach the emulator at ${url} (${(e as Error).message}); is it running? (--url)\n`,
    );
    return 1;
  }
  if (result.ok && !values.json && (command === 'list' || command === 'status')) {
    const body = result.json as { orders?: OrderView[]; order?: OrderView };
    out.write(
      `${command === 'list' ? formatOrderList(body.orders ?? []) : formatOrder(body.order as OrderView)}\n`,
    );
    return 0;
  }
  (result.ok ? out : err).write(`${JSON.stringify(result.json, null, 2)}\n`);
  return result.ok ? 0 : 1;
}
