/** Under-storage connectors by mount id, built from the master's mount table (credentials stay in the cluster). */
import { createUfs } from '../ufs/registry.js';
import type { UnderFileSystem } from '../ufs/under-file-system.js';
import type { MasterLink } from './master-link.js';

export class UfsAccess {
  private readonly byMount = new Map<number, Promise<UnderFileSystem>>();

  constructor(private readonly master: MasterLink) {}

  get(mountId: number): Promise<UnderFileSystem> {
    let ufs = this.byMount.get(mountId);
    if (!ufs) {
      ufs = this.master.mount(mountId).then((m) => createUfs(m.ufsUri, m.options));
      ufs.catch(() => this.byMount.delete(mountId));
      this.byMount.set(mountId, ufs);
    }
    return ufs;
  }
}
