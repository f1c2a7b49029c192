import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration } from '../../src/common/config/configuration.js';
import { parseDuration, parseSize } from '../../src/common/config/units.js';
import { StrataError } from '../../src/common/errors.js';

test('sizes and durations parse the way Alluxio writes them', () => {
  assert.equal(parseSize('64MB'), 64 * 2 ** 20);
  assert.equal(parseSize('1GB'), 2 ** 30);
  assert.equal(parseSize('1048576'), 1048576);
  assert.equal(parseSize('1.5KB'), 1536);
  assert.equal(parseSize('12XB'), undefined);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5min'), 300_000);
  assert.equal(parseDuration('-1'), -1);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('3 fortnights'), undefined);
});

test('sources apply in order: default < site file < environment < --conf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-conf-'));
  try {
    writeFileSync(join(dir, 'strata-site.properties'), '# comment\nalluxio.master.rpc.port=20000\nstrata.master.web.port = 20001\nstrata.user.block.size.bytes.default=32MB\n');
    const conf = Configuration.load({
      confDir: dir,
      env: { STRATA_MASTER_WEB_PORT: '20002', ALLUXIO_USER_BLOCK_SIZE_BYTES_DEFAULT: '16MB', STRATA_CONF_DIR: dir },
      cli: ['alluxio.user.block.size.bytes.default=8MB'],
    });
    assert.equal(conf.get('strata.master.hostname'), 'localhost');
    assert.equal(conf.source('strata.master.hostname'), 'default');
    assert.equal(conf.getInt('strata.master.rpc.port'), 20000);
    assert.equal(conf.source('alluxio.master.rpc.port'), 'site');
    assert.equal(conf.getInt('strata.master.web.port'), 20002);
    assert.equal(conf.source('strata.master.web.port'), 'env');
    assert.equal(conf.getBytes('strata.user.block.size.bytes.default'), 8 * 2 ** 20);
    assert.equal(conf.source('strata.user.block.size.bytes.default'), 'cli');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad values name the key and what it accepts; unknown keys warn', () => {
  assert.throws(
    () => Configuration.load({ env: {}, confDir: '/nonexistent', cli: ['alluxio.user.file.readtype.default=FAST'] }),
    (err: unknown) => err instanceof StrataError && err.code === 'INVALID_ARGUMENT' && /strata\.user\.file\.readtype\.default/.test(err.message) && /NO_CACHE, CACHE, CACHE_PROMOTE/.test(err.message),
  );
  assert.throws(() => Configuration.load({ env: {}, confDir: '/nonexistent', cli: ['strata.master.rpc.port=abc'] }), /integer/);
  assert.throws(() => Configuration.load({ env: {}, confDir: '/nonexistent', cli: ['strata.user.block.size.bytes.default=big'] }), /size/);
  const conf = Configuration.load({ env: {}, confDir: '/nonexistent', cli: ['strata.no.such.key=1'] });
  assert.match(conf.warnings[0]!, /Unknown property strata\.no\.such\.key/);
});

test('tier keys are templates per level and values can reference other keys', () => {
  const conf = Configuration.load({ env: {}, confDir: '/nonexistent', cli: ['strata.work.dir=/data/strata', 'strata.worker.tieredstore.levels=2', 'alluxio.worker.tieredstore.level1.dirs.quota=10GB,20GB'] });
  assert.equal(conf.get('strata.worker.tieredstore.level0.alias'), 'MEM');
  assert.equal(conf.get('strata.worker.tieredstore.level1.alias'), 'SSD');
  assert.deepEqual(conf.getList('strata.worker.tieredstore.level1.dirs.quota'), ['10GB', '20GB']);
  assert.equal(conf.get('strata.master.mount.table.root.ufs'), '/data/strata/underFSStorage');
  assert.ok(conf.list().some((e) => e.key === 'strata.worker.tieredstore.level1.dirs.path'));
  assert.throws(() => conf.with({ 'strata.worker.tieredstore.level2.alias': 'TAPE' }), /MEM, SSD, HDD/);
});

test("Alluxio's worker mount keys work, the one that names Alluxio in it too", () => {
  const conf = Configuration.load({
    env: {},
    confDir: '/nonexistent',
    cli: ['alluxio.worker.fuse.enabled=true', 'alluxio.worker.fuse.mount.point=/mnt/alluxio-fuse', 'alluxio.worker.fuse.mount.alluxio.path=/training-data'],
  });
  assert.deepEqual(conf.warnings, []);
  assert.equal(conf.getBool('strata.worker.fuse.enabled'), true);
  assert.equal(conf.get('strata.worker.fuse.mount.point'), '/mnt/alluxio-fuse');
  assert.equal(conf.get('strata.worker.fuse.mount.strata.path'), '/training-data');
  assert.equal(conf.get('alluxio.worker.fuse.mount.alluxio.path'), '/training-data');
  assert.equal(Configuration.load({ env: {}, confDir: '/nonexistent' }).getBool('strata.worker.fuse.enabled'), false);
});
