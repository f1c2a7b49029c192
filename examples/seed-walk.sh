#!/usr/bin/env bash
# The seed walk on the embedded default: a local master+worker, a folder, a model archive copied
# in under MUST_CACHE and CACHE_THROUGH, a file put straight into the root UFS read through the
# cache, and the ls output that shows what is cached and what is persisted. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
strata() { bin/strata "$@"; }

strata local start
strata fs rm -R /training-data >/dev/null 2>&1 || true
strata fs mkdir /training-data

archive=$(mktemp -d)/inception-2015-12-05.tgz
head -c 90000000 /dev/urandom > "$archive"
strata fs copyFromLocal "$archive" /training-data/models/ --conf strata.user.file.writetype.default=MUST_CACHE
strata fs copyFromLocal "$archive" /training-data/persisted/ --conf strata.user.file.writetype.default=CACHE_THROUGH

ufs=$(strata conf get strata.master.mount.table.root.ufs)
mkdir -p "$ufs/training-data/imagenet"
head -c 3000000 /dev/urandom > "$ufs/training-data/imagenet/train-00000.tfrecord"
strata fs ls -f /training-data/imagenet
strata fs cat /training-data/imagenet/train-00000.tfrecord > /dev/null
strata fs ls -R /training-data
strata fsadmin report
rm -rf "$(dirname "$archive")"
