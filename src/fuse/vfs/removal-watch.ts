/**
 * A mount keeps wholly cached files open between opens (warm handles), each under a worker
 * lease. When such a file leaves the cache (`fs free`, a delete elsewhere), the worker can give
 * its room back, or cache the file again, only once the lease ends. So while the mount keeps any
 * warm handle, it asks the workers it leases from, every few seconds, which removed blocks
 * leases still hold, and lets those files go.
 */
import type { FileSystem } from '../../client/file-system.js';
import type { Logger } from '../../common/logging.js';
import { fileIdOfBlock } from '../../common/types.js';
import type { WarmHandles } from './warm-handles.js';

export class RemovalWatch {
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly fs: FileSystem,
    private readonly warm: WarmHandles,
    everyMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.poll(), everyMs);
    this.timer.unref();
  }

  async poll(): Promise<void> {
    if (this.polling || this.warm.size === 0) return;
    this.polling = true;
    try {
      for (const worker of this.warm.workers()) {
        let blockIds: number[];
        try {
          blockIds = await this.fs.removedButLeased(worker);
        } catch (err) {
          // A worker that is away has dropped its leases with its cache.
          this.logger.debug({ err: (err as Error).message }, 'removed blocks unavailable');
          continue;
        }
        if (blockIds.length > 0) await this.warm.letGo(new Set(blockIds.map(fileIdOfBlock)));
      }
    } finally {
      this.polling = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
