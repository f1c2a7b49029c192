// Node has no posix_fadvise(2): a benchmark that wants a dataset's files out of the page cache,
// and nothing else, drops just their pages (drop_caches would also evict every program's code
// and metadata, and time their reloading from disk).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>

#include "strata_native.h"

// dropFileCache(fd): drops the file's clean pages from the page cache (dirty ones stay: sync first).
static napi_value drop_file_cache(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "dropFileCache(fd)");
    return NULL;
  }
  int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) return strata_throw_errno(env, "posix_fadvise(DONTNEED)", rc);
  return NULL;
}

void strata_register_file_cache(napi_env env, napi_value exports) {
  static const strata_function_t fns[] = {{"dropFileCache", drop_file_cache}};
  strata_export(env, exports, fns, 1);
}
