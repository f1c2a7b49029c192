{
  "targets": [
    {
      "target_name": "strata_native",
      "sources": ["native/punch_hole.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
