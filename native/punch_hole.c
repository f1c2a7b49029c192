// Node has no fallocate(2): the worker needs FALLOC_FL_PUNCH_HOLE to give an evicted block's
// range of a sparse cache file back to its tier without rewriting the rest of the file.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <node_api.h>

#include "strata_native.h"

napi_value strata_throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *name = strerrorname_np(err);
  napi_value code, message, error, errnum;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

// punchHole(fd, offset, length): deallocates the range; reads of it return zeros afterwards.
static napi_value punch_hole(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 3) {
    napi_throw_type_error(env, NULL, "punchHole(fd, offset, length)");
    return NULL;
  }
  int32_t fd;
  int64_t offset, length;
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int64(env, argv[1], &offset);
  napi_get_value_int64(env, argv[2], &length);
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) != 0) {
    return strata_throw_errno(env, "fallocate(PUNCH_HOLE)", errno);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  static const strata_function_t fns[] = {{"punchHole", punch_hole}};
  strata_export(env, exports, fns, 1);
  strata_register_fuse(env, exports);
  strata_register_fuse_entries(env, exports);
  strata_register_file_cache(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
