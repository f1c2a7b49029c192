/**
 * The throttling proxy as a process of its own (see throttle-proxy-process.ts): its argument is
 * the target and settings as JSON; it reports its port, answers stats requests, and exits when
 * its parent goes away, so it never outlives the run that started it.
 */
import { startThrottleProxy } from './throttle-proxy.js';
import type { ChildMessage, ChildStart, ParentMessage } from './throttle-proxy-process.js';

const start = JSON.parse(process.argv[2]!) as ChildStart;
const proxy = await startThrottleProxy(start.target, { latencyMs: start.latencyMs, bytesPerSecond: start.bytesPerSecond ?? Infinity });
const send = (m: ChildMessage) => process.send!(m);
process.on('message', (m: ParentMessage) => {
  if (m.type === 'stats') send({ type: 'stats', stats: proxy.stats({ openWindow: m.openWindow }) });
});
process.once('disconnect', () => void proxy.close().then(() => process.exit(0)));
send({ type: 'listening', port: proxy.port });
