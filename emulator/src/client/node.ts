// createWx for Node hosts (scripts, jest's node environment): the same client, with the `ws`
// package as its WebSocket, since Node 20 has no global one the realtime client can use.
import WebSocket from 'ws';
import { createWx as createClientWx, type CreateWxOptions, type EmulatedWx } from './wx';

export function createWx(options: CreateWxOptions): EmulatedWx {
  return createClientWx({ WebSocket, ...options });
}
