/**
 * The registry of every property Strata reads: its type, default and a one-line description.
 * Keys mirror Alluxio's where Alluxio has the concept; `alluxio.*` is accepted for `strata.*`.
 * Keys with `{N}` are templates for tier levels (level0, level1, ...).
 */
import { READ_TYPES, WRITE_TYPES } from '../types.js';

export type PropertyType = 'string' | 'int' | 'bool' | 'size' | 'duration' | 'enum' | 'list';

export interface PropertyKey {
  name: string;
  type: PropertyType;
  /** Default value (may reference other keys as ${key}); undefined means unset. */
  default?: string | ((level: number) => string | undefined);
  values?: readonly string[];
  description: string;
}

const tierAliases = ['MEM', 'SSD', 'HDD'];
/** What the worker mounts at a tier's folders before it uses them. */
export const TIER_MOUNTS = ['NONE', 'TMPFS'] as const;

export const PROPERTY_KEYS: PropertyKey[] = [
  { name: 'strata.work.dir', type: 'string', default: '${user.home}/.strata', description: 'Folder for the metadata store, logs, the cluster token and worker indexes.' },
  { name: 'strata.logs.dir', type: 'string', default: '${strata.work.dir}/logs', description: 'Where daemons write their logs.' },
  { name: 'strata.master.hostname', type: 'string', default: 'localhost', description: 'Host name clients and workers use to reach the master.' },
  { name: 'strata.master.bind.host', type: 'string', default: '127.0.0.1', description: 'Address the master listens on (0.0.0.0 for a cluster).' },
  { name: 'strata.master.rpc.port', type: 'int', default: '19998', description: 'Port of the master API.' },
  { name: 'strata.master.web.port', type: 'int', default: '19999', description: 'Port of the master web server (/metrics, status).' },
  { name: 'strata.master.metastore.dir', type: 'string', default: '${strata.work.dir}/metastore', description: 'Folder of the SQLite metadata store.' },
  { name: 'strata.master.mount.table.root.ufs', type: 'string', default: '${strata.work.dir}/underFSStorage', description: 'Under-storage mounted at / .' },
  { name: 'strata.master.mount.table.root.readonly', type: 'bool', default: 'false', description: 'Whether the root mount is read-only.' },
  { name: 'strata.master.mount.table.root.shared', type: 'bool', default: 'true', description: 'Whether the root mount is shared with all users.' },
  { name: 'strata.master.worker.timeout', type: 'duration', default: '5min', description: 'A worker silent this long is marked lost and its block locations dropped.' },
  { name: 'strata.master.ttl.checker.interval', type: 'duration', default: '1h', description: 'How often expired TTLs are acted on.' },
  { name: 'strata.master.persistence.checker.interval', type: 'duration', default: '1s', description: 'How often pending ASYNC_THROUGH files are scheduled for persistence.' },
  { name: 'strata.master.persistence.retry.interval', type: 'duration', default: '10s', description: 'Wait before a failed persist is tried again.' },
  { name: 'strata.worker.hostname', type: 'string', default: 'localhost', description: 'Host name clients use to reach this worker.' },
  { name: 'strata.worker.bind.host', type: 'string', default: '127.0.0.1', description: 'Address the worker listens on (0.0.0.0 for a cluster).' },
  { name: 'strata.worker.rpc.port', type: 'int', default: '29999', description: 'Port of the worker data server.' },
  { name: 'strata.worker.web.port', type: 'int', default: '30000', description: 'Port of the worker web server (/metrics).' },
  { name: 'strata.worker.index.dir', type: 'string', default: '${strata.work.dir}/worker-${strata.worker.rpc.port}', description: "Folder of the worker's block index." },
  { name: 'strata.worker.block.heartbeat.interval', type: 'duration', default: '1s', description: 'How often a worker reports to the master.' },
  { name: 'strata.worker.prefetch.concurrency', type: 'int', default: '128', description: 'Blocks a worker loads from the UFS at once for prefetches (folders a mount sees read cold); a UFS far away needs many in flight to reach its bandwidth, and more to keep it busy while the worker is held up (an S3 mount also needs as many connections: s3.max.connections).' },
  { name: 'strata.worker.prefetch.evict.idle', type: 'duration', default: '5min', description: 'A prefetch that finds no free room may evict cached blocks no one has used for this long (an older dataset), never more recent ones (0: a prefetch never evicts).' },
  { name: 'strata.worker.fuse.enabled', type: 'bool', default: 'false', description: "Mount the FUSE file system inside the worker's process, as Alluxio's worker.fuse.enabled does: the mount's opens and cold reads reach the worker without a call between processes." },
  { name: 'strata.worker.fuse.mount.point', type: 'string', default: '/mnt/strata-fuse', description: 'Where the worker mounts it (with strata.worker.fuse.enabled).' },
  { name: 'strata.worker.fuse.mount.strata.path', type: 'string', default: '/', description: 'The Strata folder the worker mounts (alluxio.worker.fuse.mount.alluxio.path is the same key).' },
  { name: 'strata.worker.fuse.mount.options', type: 'string', default: '', description: 'Mount options of the worker\'s mount, as `strata fuse mount -o` takes them (comma-separated).' },
  { name: 'strata.worker.shortcircuit.lease.timeout', type: 'duration', default: '10min', description: 'A short-circuit lease not released by then expires.' },
  { name: 'strata.worker.tieredstore.levels', type: 'int', default: '1', description: 'Number of storage tiers.' },
  { name: 'strata.worker.tieredstore.level{N}.alias', type: 'enum', values: tierAliases, default: (n) => tierAliases[n], description: 'Alias of tier N: MEM, SSD or HDD.' },
  {
    name: 'strata.worker.tieredstore.level{N}.dirs.path',
    type: 'list',
    default: (n) => (n === 0 ? '/dev/shm/strata-${strata.worker.rpc.port}' : `\${strata.work.dir}/cache-\${strata.worker.rpc.port}/level${n}`),
    description: 'Comma-separated folders of tier N.',
  },
  {
    name: 'strata.worker.tieredstore.level{N}.dirs.mount',
    type: 'enum',
    values: TIER_MOUNTS,
    default: 'NONE',
    description: 'TMPFS: the worker mounts a tmpfs of its own at each folder of tier N (needs root), a quarter over its quota, with huge pages (huge=within_size), as Alluxio mounts its ramdisk; it outlives the worker. NONE: the folders are used as they are.',
  },
  { name: 'strata.worker.tieredstore.level{N}.dirs.quota', type: 'list', default: (n) => (n === 0 ? '2GB' : '16GB'), description: 'Comma-separated quotas of the folders of tier N (sizes).' },
  { name: 'strata.user.block.size.bytes.default', type: 'size', default: '64MB', description: 'Block size of new files.' },
  { name: 'strata.user.file.readtype.default', type: 'enum', values: READ_TYPES, default: 'CACHE', description: 'Read type: NO_CACHE, CACHE or CACHE_PROMOTE.' },
  { name: 'strata.user.file.writetype.default', type: 'enum', values: WRITE_TYPES, default: 'ASYNC_THROUGH', description: 'Write type: MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH.' },
  { name: 'strata.user.file.metadata.sync.interval', type: 'duration', default: '-1', description: 'UFS metadata re-sync: -1 never (load once), 0 always, or a duration.' },
  { name: 'strata.user.file.passive.cache.enabled', type: 'bool', default: 'true', description: 'Cache a block read from a remote worker on the local worker too.' },
  { name: 'strata.user.short.circuit.enabled', type: 'bool', default: 'true', description: 'Read cache files of a worker on the same host directly.' },
  { name: 'strata.user.streaming.reader.chunk.size.bytes', type: 'size', default: '1MB', description: 'Size of one remote read request.' },
  { name: 'strata.user.file.readahead.max', type: 'size', default: '16MB', description: 'Largest read-ahead a sequential reader grows to.' },
  { name: 'strata.user.rpc.timeout', type: 'duration', default: '10s', description: 'How long a command waits for the master or a worker before it says it is unavailable.' },
  { name: 'strata.user.file.copyfromlocal.threads', type: 'int', default: '4', description: 'Files copied at once by copyFromLocal of a folder.' },
  { name: 'strata.fuse.attr.timeout', type: 'duration', default: '1s', description: 'How long the kernel keeps file attributes (FUSE attr_timeout).' },
  { name: 'strata.fuse.entry.timeout', type: 'duration', default: '1s', description: 'How long the kernel keeps name lookups (FUSE entry_timeout).' },
  { name: 'strata.fuse.max.read', type: 'size', default: '1MB', description: 'Largest READ and WRITE request (FUSE max_read, max_pages).' },
  { name: 'strata.fuse.read.ahead', type: 'size', default: '1MB', description: 'Kernel read-ahead of the mount (bdi read_ahead_kb).' },
  { name: 'strata.fuse.allow.other', type: 'bool', default: 'false', description: 'Let users other than the one who mounted use the mount (needs root or user_allow_other).' },
  { name: 'strata.fuse.kernel.cache', type: 'bool', default: 'true', description: 'Keep the kernel page cache of files that did not change between opens.' },
  { name: 'strata.fuse.reader.threads', type: 'int', default: '4', description: 'Threads reading requests off /dev/fuse; they answer READs of cached files themselves, so parallel readers of cached data scale with them.' },
  { name: 'strata.fuse.passthrough.enabled', type: 'bool', default: 'true', description: 'Hand wholly cached files to the kernel (FUSE passthrough, Linux 6.9+, root).' },
  { name: 'strata.fuse.metadata.cache.size', type: 'int', default: '100000', description: 'Entries in the mount\'s metadata cache.' },
  { name: 'strata.fuse.metadata.cache.expiry', type: 'duration', default: '1s', description: 'How long the mount trusts cached metadata.' },
  { name: 'strata.fuse.open.cache.idle', type: 'duration', default: '1min', description: 'How long a wholly cached file stays open (leased) after its last close, so the next open needs no worker round trip (0 turns it off).' },
  { name: 'strata.fuse.open.cache.max.idle', type: 'int', default: '10000', description: 'Most files kept open that way; the least recently used close first.' },
  { name: 'strata.fuse.open.cache.max.idle.bytes', type: 'size', default: '2GB', description: 'Most bytes of such files kept open (their leases keep them from eviction).' },
  { name: 'strata.fuse.open.cache.max.file.size', type: 'size', default: '16MB', description: 'Only files up to this size stay open after close; for bigger ones an open\'s round trip is small beside the read.' },
  {
    name: 'strata.fuse.prefetch.folder.trigger',
    type: 'int',
    default: '2',
    description: 'Files of one folder opened cold within 10 s after which the mount has the workers load the rest of the folder (and of its sibling folders read cold lately) in the background, many at once and never evicting for it (0 turns folder prefetch off; raise it where people read a file or two of large folders by hand).',
  },
  { name: 'strata.fuse.prefetch.folder.max.file.size', type: 'size', default: '64MB', description: 'Only files up to this size are prefetched with their folder.' },
  { name: 'strata.fuse.scratch.dir', type: 'string', default: '${strata.work.dir}/fuse-scratch', description: 'Local space where files written through the mount are staged until closed.' },
  { name: 'strata.security.token', type: 'string', description: 'Cluster token; when set, master and worker refuse requests without it.' },
  { name: 'strata.security.token.file', type: 'string', default: '${strata.work.dir}/token', description: 'File the token is read from when strata.security.token is not set.' },
  { name: 'strata.security.login.username', type: 'string', description: 'User name sent with requests instead of the OS user.' },
  { name: 'strata.security.authorization.permission.enabled', type: 'bool', default: 'true', description: 'Check mode bits on namespace operations (SIMPLE mode).' },
  { name: 'strata.security.authorization.permission.supergroup', type: 'string', default: 'supergroup', description: 'Members of this group bypass permission checks.' },
  { name: 'strata.security.authorization.permission.umask', type: 'string', default: '022', description: 'Umask for new files and folders (octal).' },
];

/** Prefixes under which any key is accepted as a string (options of the root mount). */
export const OPEN_PREFIXES = ['strata.master.mount.table.root.option.'];
