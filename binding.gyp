{
  "targets": [
    {
      "target_name": "strata_native",
      "sources": ["native/punch_hole.c", "native/fuse_dev.c", "native/fuse_entries.c", "native/file_cache.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
