/**
 * undici's connection pool (Agent) and its request API, loaded without the rest of the package.
 * undici's main entry also loads fetch, WebSocket, cookies, caches and mocks, which Strata never
 * calls: a quarter of every shell command's run (`strata fs cat` of a small file took 400 ms
 * against 303 ms without them, medians of 21 alternating runs). That entry gives the Dispatcher
 * class its request API by assigning lib/api to its prototype; this does the same, with the same
 * files (undici publishes them: its package has no "exports" map).
 */
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent } from 'undici';

const require = createRequire(import.meta.url);
const DispatcherClass = require('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(DispatcherClass.prototype, require('undici/lib/api/index.js') as object);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;
export type { Dispatcher } from 'undici';
