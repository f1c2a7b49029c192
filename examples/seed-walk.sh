#!/usr/bin/env bash
# The seed walk on the embedded default, end to end: a local master+worker, a folder, a model
# archive made here and copied in under MUST_CACHE and CACHE_THROUGH, a TFRecord shard put
# straight into the root UFS and read through the cache, the FUSE mount, and image recognition
# with the model on the mount (classify extracts the archive there, through the mount). On exit,
# also on failure, it unmounts and stops the cluster if it started it. Safe to run again.
#
#   examples/seed-walk.sh [mount point]      (default: a fresh temporary folder)
# Needs `npm run build` first; FUSE needs root and /dev/fuse.
set -euo pipefail
cd "$(dirname "$0")/.."
strata() { bin/strata "$@"; }

work=$(mktemp -d)
mnt=${1:-$work/mnt}
started=no
mounted=no
cleanup() {
  set +e
  [ "$mounted" = yes ] && strata fuse umount "$mnt"
  [ "$started" = yes ] && strata local stop
  rm -rf "$work"
}
trap cleanup EXIT

start=$(strata local start)
echo "$start"
case "$start" in *"already running"*) ;; *) started=yes ;; esac
strata fs rm -R /training-data >/dev/null 2>&1 || true
strata fs mkdir /training-data

# The model: a small CNN trained here in a few seconds, packed as a TensorFlow.js model archive.
node dist/examples/make-model.js --out "$work/strata-shapes.tgz"
strata fs copyFromLocal "$work/strata-shapes.tgz" /training-data/models/ --conf strata.user.file.writetype.default=MUST_CACHE
strata fs copyFromLocal "$work/strata-shapes.tgz" /training-data/persisted/ --conf strata.user.file.writetype.default=CACHE_THROUGH

# Data that was in the under-storage before Strata: PERSISTED 0% until read, 100% after.
ufs=$(strata conf get strata.master.mount.table.root.ufs)
strata bench dataset --out "$ufs/training-data/imagenet" --format tfrecord --count 300 --size 10KB --classes 6
strata fs ls -f /training-data/imagenet
strata fs cat /training-data/imagenet/train-00000-of-00001.tfrecord > /dev/null
strata fs ls -R /training-data

# The POSIX mount and image recognition from it.
mkdir -p "$mnt"
strata fuse mount "$mnt" /training-data
mounted=yes
strata fuse stat
ls -l "$mnt/models/"
node dist/examples/classify.js --model_dir "$mnt/models"
strata fs ls /training-data/models
strata fsadmin report
