// The one way the client talks to the emulator: JSON over HTTP through a `fetch`. Browsers and
// Node 20 have one; hosts without it (jest's jsdom environment) pass their own to createWx.

/** The subset of `fetch` the client uses, so any compatible implementation can be injected. */
export type FetchLike = (
  url: string,
  init: {
    method: 'GET' | 'POST' | 'PUT';
    headers: Record<string, string>;
    body?: string | Uint8Array;
  },
) => Promise<{
  status: number;
  text(): Promise<string>;
  /** Needed only for file downloads (wx.cloud.downloadFile, wx.downloadFile). */
  arrayBuffer?(): Promise<ArrayBuffer>;
  headers?: { get(name: string): string | null };
}>;

/** The answer of a request to an absolute URL (the object store), as bytes. */
export interface RawAnswer {
  status: number;
  bytes: Uint8Array;
  contentType: string;
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  /** The emulator's invocation id header, when the answer came from a function invocation. */
  invocationId?: string;
}

export class HttpClient {
  constructor(
    private readonly baseUrl: string,
    readonly fetchImpl: FetchLike,
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

/** A request to an absolute URL (the object store's links), answered as bytes. */
export async function rawRequest(
  fetchImpl: FetchLike,
  method: 'GET' | 'PUT',
  url: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const res = await fetchImpl(
    url,
    body === undefined ? { method, headers } : { method, headers, body },
  );
  const contentType = res.headers?.get('content-type') ?? '';
  if (res.arrayBuffer) {
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), contentType };
  }
  return { status: res.status, bytes: new TextEncoder().encode(await res.text()), contentType };
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
