#ifndef STRATA_NATIVE_H
#define STRATA_NATIVE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <node_api.h>

// The arguments of a call from JavaScript: `argc` given (at most n) in `argv`.
#define ARGS(n)          \
  size_t argc = (n);     \
  napi_value argv[(n)];  \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL)

static inline int32_t arg_i32(napi_env env, napi_value v) {
  int32_t out = 0;
  napi_get_value_int32(env, v, &out);
  return out;
}

static inline int64_t arg_i64(napi_env env, napi_value v) {
  int64_t out = 0;
  napi_get_value_int64(env, v, &out);
  return out;
}

static inline uint64_t arg_big(napi_env env, napi_value v) {
  uint64_t out = 0;
  bool lossless;
  napi_get_value_bigint_uint64(env, v, &out, &lossless);
  return out;
}

static inline char *arg_str(napi_env env, napi_value v) {
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static inline napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

// Milliseconds on the monotonic clock.
static inline int64_t strata_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


// Throws an Error whose code is the errno name (ENOENT, EACCES, ...) and returns NULL.
napi_value strata_throw_errno(napi_env env, const char *what, int err);
void strata_register_fuse(napi_env env, napi_value exports);
void strata_register_fuse_entries(napi_env env, napi_value exports);
void strata_register_file_cache(napi_env env, napi_value exports);

// fuse_entries.c, for the reader threads of fuse_dev.c.
bool strata_fuse_answer_lookup(int fuse_fd, const char *buf, size_t n);
bool strata_fuse_answer_getattr(int fuse_fd, const char *buf, size_t n);
void strata_fuse_forget_entries(int fuse_fd);

typedef struct {
  const char *name;
  napi_callback fn;
} strata_function_t;

// Sets each function as a property of `exports`.
static inline void strata_export(napi_env env, napi_value exports, const strata_function_t *fns, size_t count) {
  for (size_t i = 0; i < count; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}

#endif
