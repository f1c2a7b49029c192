/**
 * The root mount's under-storage on a master's first start: a local folder is created; any other
 * store (S3) gets the same fail-fast check as `fs mount` (bucket exists, credentials work, server
 * answers), and a missing prefix is created as a folder. A master with an unusable root refuses
 * to start with a message that names the root UFS, instead of failing on first access.
 */
import { StrataError } from '../common/errors.js';
import { createUfs } from '../ufs/registry.js';
import { hasMountCheck } from '../ufs/under-file-system.js';

export async function prepareRootUfs(uri: string, options: Record<string, string>): Promise<void> {
  const ufs = createUfs(uri, options);
  try {
    if (ufs.scheme === 'file') {
      await ufs.mkdirs(uri);
      return;
    }
    const status = await (hasMountCheck(ufs) ? ufs.checkMount(uri) : ufs.getStatus(uri));
    if (!status) await ufs.mkdirs(uri);
    else if (!status.folder) throw new StrataError('INVALID_ARGUMENT', `${uri} is a file, not a folder`);
  } catch (err) {
    throw err instanceof StrataError ? new StrataError(err.code, `Cannot mount the root UFS ${uri} (strata.master.mount.table.root.ufs): ${err.message}`, { cause: err }) : err;
  } finally {
    await ufs.close?.();
  }
}
