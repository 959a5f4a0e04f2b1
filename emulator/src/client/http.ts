// The one way the client talks to the emulator: JSON over HTTP through a `fetch`. Browsers and
// Node 20 have one; hosts without it (jest's jsdom environment) pass their own to createWx.

/** The subset of `fetch` the client uses, so any compatible implementation can be injected. */
export type FetchLike = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
) => Promise<{
  status: number;
  text(): Promise<string>;
  headers?: { get(name: string): string | null };
}>;

export interface HttpAnswer {
  status: number;
  body: unknown;
  /** The emulator's invocation id header, when the answer came from a function invocation. */
  invocationId?: string;
}

export class HttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: FetchLike,
  ) {}

  async request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const init: Parameters<FetchLike>[1] = {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(
          `${method} ${path} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`,
        );
      }
    }
    const invocationId = res.headers?.get('x-wxcloud-invocation-id') ?? undefined;
    return invocationId
      ? { status: res.status, body: parsed, invocationId }
      : { status: res.status, body: parsed };
  }
}

/** The message of a control route's `{error: {code, message}}` answer, or a fallback. */
export function controlErrorMessage(answer: HttpAnswer): string {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)
    ?.error;
  if (error && typeof error.message === 'string') return error.message;
  return `HTTP ${answer.status}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
