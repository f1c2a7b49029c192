#ifndef STRATA_NATIVE_H
#define STRATA_NATIVE_H
#include <node_api.h>

// Throws an Error whose code is the errno name (ENOENT, EACCES, ...) and returns NULL.
napi_value strata_throw_errno(napi_env env, const char *what, int err);
void strata_register_fuse(napi_env env, napi_value exports);
void strata_register_file_cache(napi_env env, napi_value exports);

#endif
