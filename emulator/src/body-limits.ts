/**
 * Request body limits, as the cloud sets them (docs.cloudbase.net/error-code/EXCEED_MAX_PAYLOAD_SIZE:
 * "cloud function request body: 100KB for text, 6MB for other types; other requests: 100MB"). A
 * function invocation takes 6 MB, everything else 100 MB; past the limit the answer is 413 with
 * the limit, and the body is not read further.
 */
export const BODY_LIMITS = {
  functionInvoke: 6 * 1024 * 1024,
  other: 100 * 1024 * 1024,
} as const;
