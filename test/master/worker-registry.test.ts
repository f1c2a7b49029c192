import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/logging.js';
import { WorkerRegistry } from '../../src/master/worker-registry.js';

function registryWithWorker(blocks: Record<string, number[]> = {}): { reg: WorkerRegistry; id: number } {
  const reg = new WorkerRegistry({ timeoutMs: 60_000, logger: silentLogger, pinnedFileIds: () => [] });
  const id = reg.register({
    address: { host: '127.0.0.1', rpcPort: 1, webPort: 1 },
    tiers: [{ alias: 'MEM', capacityBytes: 1 << 20, usedBytes: 0 }],
    blocks,
  });
  return { reg, id };
}

const heartbeat = (reg: WorkerRegistry, workerId: number, addedBlocks: Record<string, number[]>) =>
  reg.heartbeat({ workerId, tiers: [], addedBlocks, removedBlocks: [] });

test('a heartbeat that listed a block before the master dropped it does not bring the location back', () => {
  const { reg, id } = registryWithWorker();
  reg.addBlocks(id, { MEM: [7, 8] }); // the commits
  // The worker drains its changes (7 and 8) into a heartbeat; a free drops 7 before it lands.
  assert.deepEqual([...reg.removeBlocks([7])], [[id, [7]]]);
  heartbeat(reg, id, { MEM: [7, 8] });
  assert.deepEqual(reg.locationsOf(7), []);
  assert.equal(reg.locationsOf(8).length, 1);
  reg.close();
});

test('a block cached again after a drop is kept, whether its commit lands before or after the stale heartbeat', () => {
  const { reg, id } = registryWithWorker();
  reg.addBlocks(id, { MEM: [1, 2] });
  reg.removeBlocks([1, 2]);
  reg.addBlocks(id, { MEM: [1] }); // read again at once: its commit lands first
  heartbeat(reg, id, { MEM: [1, 2] });
  assert.equal(reg.locationsOf(1).length, 1);
  assert.deepEqual(reg.locationsOf(2), []);
  reg.removeBlocks([1]);
  heartbeat(reg, id, { MEM: [1] }); // stale: skipped
  reg.addBlocks(id, { MEM: [1] }); // the commit of the refill lands after it
  assert.equal(reg.locationsOf(1).length, 1);
  reg.close();
});

test('only the heartbeat right after a drop is doubted: later ones report additions as they are', () => {
  const { reg, id } = registryWithWorker({ MEM: [3] });
  reg.removeBlocks([3]);
  heartbeat(reg, id, {});
  heartbeat(reg, id, { SSD: [3] }); // e.g. moved there after a refill whose commit was lost
  assert.deepEqual(reg.locationsOf(3).map((l) => l.tier), ['SSD']);
  reg.close();
});

test('a removal the worker was not yet told of is not sent once the block is cached there again', () => {
  const { reg, id } = registryWithWorker({ MEM: [5, 6] });
  reg.removeBlocks([5, 6]);
  reg.queueRemovals(id, [5, 6]); // the worker could not be reached
  reg.addBlocks(id, { MEM: [5] }); // a read cached 5 again; its commit came through
  assert.deepEqual(heartbeat(reg, id, {}).removeBlocks, [6]);
  assert.equal(reg.locationsOf(5).length, 1);
  reg.close();
});
