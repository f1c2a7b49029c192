// LOOKUPs of names the mount already knows (and GETATTRs of their node ids), answered on the
// reader threads. Every program that
// opens a path makes the kernel revalidate each dentry whose entry timeout has passed, one LOOKUP
// per name; a training epoch that opens 100,000 cached files would make 100,000 round trips
// through JavaScript only to hear what it already knew. JavaScript offers an entry (the
// fuse_entry_out it would send) for as long as its own metadata for the name stays fresh, and
// withdraws all of them at once before anything changes names or attributes through the mount.
//
// The kernel counts a lookup per answer and later FORGETs that many; JavaScript owns the count
// and takes the lookups answered here into it (fuseEntryTake) before it decides a node id is
// forgotten, dropping the entry in the same step so that no answer can follow.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

#include "strata_native.h"

#define ENTRY_OUT_SIZE 128
#define BUCKETS 4096

typedef struct entry_ {
  int fuse_fd;
  uint64_t nodeid;
  uint64_t parent;
  uint64_t name_hash;
  char *name;
  size_t name_len;
  unsigned char out[ENTRY_OUT_SIZE];
  int64_t expires_ms;
  uint64_t gen;
  // Answers sent for this node id that JavaScript has not taken into its count.
  int64_t lookups;
  // Answers LOOKUPs of (parent, name); false once another node id took the name.
  bool named;
  struct entry_ *next_id;
  struct entry_ *next_name;
} entry_t;

static entry_t *by_id[BUCKETS];
static entry_t *by_name[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
// Entries stamped with an older generation answer nothing (fuseEntriesInvalidate).
static uint64_t current_gen = 1;

static uint64_t hash_name(int fuse_fd, uint64_t parent, const char *name, size_t len) {
  uint64_t h = 1469598103934665603ull ^ parent ^ ((uint64_t)fuse_fd << 48);
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
  return h;
}

static entry_t **id_slot(int fuse_fd, uint64_t nodeid) {
  entry_t **p = &by_id[(nodeid ^ (uint64_t)fuse_fd * 0x9E3779B97F4A7C15ull) % BUCKETS];
  while (*p && !((*p)->fuse_fd == fuse_fd && (*p)->nodeid == nodeid)) p = &(*p)->next_id;
  return p;
}

static entry_t **name_slot(int fuse_fd, uint64_t parent, const char *name, size_t len, uint64_t h) {
  entry_t **p = &by_name[h % BUCKETS];
  while (*p && !((*p)->name_hash == h && (*p)->fuse_fd == fuse_fd && (*p)->parent == parent && (*p)->name_len == len && memcmp((*p)->name, name, len) == 0)) p = &(*p)->next_name;
  return p;
}

static void unname_locked(entry_t *e) {
  if (!e->named) return;
  entry_t **p = &by_name[e->name_hash % BUCKETS];
  while (*p && *p != e) p = &(*p)->next_name;
  if (*p) *p = e->next_name;
  e->named = false;
}

static void free_locked(entry_t **slot) {
  entry_t *e = *slot;
  unname_locked(e);
  *slot = e->next_id;
  free(e->name);
  free(e);
}

// Answers a LOOKUP whose name has a live entry; false sends it to JavaScript.
bool strata_fuse_answer_lookup(int fuse_fd, const char *buf, size_t n) {
  const size_t header = 40;
  if (n <= header) return false;
  uint64_t unique, parent;
  memcpy(&unique, buf + 8, 8);
  memcpy(&parent, buf + 16, 8);
  const char *name = buf + header;
  size_t len = strnlen(name, n - header);
  if (len == n - header) return false;
  uint64_t h = hash_name(fuse_fd, parent, name, len);
  struct {
    uint32_t len;
    int32_t error;
    uint64_t unique;
    unsigned char entry[ENTRY_OUT_SIZE];
  } reply = {sizeof reply, 0, unique, {0}};
  pthread_mutex_lock(&lock);
  entry_t *e = *name_slot(fuse_fd, parent, name, len, h);
  if (!e || e->gen != current_gen || strata_now_ms() >= e->expires_ms) {
    pthread_mutex_unlock(&lock);
    return false;
  }
  // Counted before the kernel can see the answer, so a FORGET for it never finds it missing.
  e->lookups++;
  uint64_t nodeid = e->nodeid;
  memcpy(reply.entry, e->out, ENTRY_OUT_SIZE);
  pthread_mutex_unlock(&lock);
  if (write(fuse_fd, &reply, sizeof reply) < 0 && errno == ENOENT) {
    // Interrupted: the kernel took no lookup. (Had JavaScript taken the count meanwhile, the
    // node would stay known for one lookup too many, which only keeps its id alive.)
    pthread_mutex_lock(&lock);
    entry_t *again = *id_slot(fuse_fd, nodeid);
    if (again && again->lookups > 0) again->lookups--;
    pthread_mutex_unlock(&lock);
  }
  return true;
}

// Answers a GETATTR of a node id with a live entry from the attributes in it; false sends it to
// JavaScript. With long attribute timeouts the kernel asks for no LOOKUP between epochs, but
// every read marks the atime stale, and the next open's fstat asks again.
bool strata_fuse_answer_getattr(int fuse_fd, const char *buf, size_t n) {
  if (n < 40) return false;
  uint64_t unique, nodeid;
  memcpy(&unique, buf + 8, 8);
  memcpy(&nodeid, buf + 16, 8);
  struct {
    uint32_t len;
    int32_t error;
    uint64_t unique;
    unsigned char attr_out[16 + ENTRY_OUT_SIZE - 40];
  } reply = {sizeof reply, 0, unique, {0}};
  pthread_mutex_lock(&lock);
  entry_t *e = *id_slot(fuse_fd, nodeid);
  if (!e || !e->named || e->gen != current_gen || strata_now_ms() >= e->expires_ms) {
    pthread_mutex_unlock(&lock);
    return false;
  }
  // fuse_entry_out: attr_valid at 24, attr_valid_nsec at 36, attr at 40; fuse_attr_out: attr_valid,
  // attr_valid_nsec, a pad, attr.
  memcpy(reply.attr_out, e->out + 24, 8);
  memcpy(reply.attr_out + 8, e->out + 36, 4);
  memcpy(reply.attr_out + 16, e->out + 40, ENTRY_OUT_SIZE - 40);
  pthread_mutex_unlock(&lock);
  (void)!write(fuse_fd, &reply, sizeof reply);
  return true;
}

// fuseEntrySet(fuseFd, parent, name, nodeid, entryOut, validMs): LOOKUPs of `name` in `parent`
// are answered with `entryOut` (a fuse_entry_out for `nodeid`) for validMs, unless
// fuseEntriesInvalidate comes first.
static napi_value entry_set(napi_env env, napi_callback_info info) {
  ARGS(6);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t parent = arg_big(env, argv[1]);
  char *name = arg_str(env, argv[2]);
  uint64_t nodeid = arg_big(env, argv[3]);
  void *out = NULL;
  size_t out_len = 0;
  napi_get_buffer_info(env, argv[4], &out, &out_len);
  int64_t valid_ms = arg_i64(env, argv[5]);
  if (out_len != ENTRY_OUT_SIZE || valid_ms <= 0) {
    free(name);
    return NULL;
  }
  size_t len = strlen(name);
  uint64_t h = hash_name(fuse_fd, parent, name, len);
  pthread_mutex_lock(&lock);
  entry_t **slot = id_slot(fuse_fd, nodeid);
  entry_t *e = *slot;
  if (e && !(e->named && e->parent == parent && e->name_len == len && memcmp(e->name, name, len) == 0)) unname_locked(e);
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) {
      pthread_mutex_unlock(&lock);
      free(name);
      return strata_throw_errno(env, "calloc", ENOMEM);
    }
    e->fuse_fd = fuse_fd;
    e->nodeid = nodeid;
    *slot = e;
  }
  if (!e->named) {
    // The name now stands for this node id; an entry that held it keeps its count, unnamed.
    entry_t *other = *name_slot(fuse_fd, parent, name, len, h);
    if (other) unname_locked(other);
    free(e->name);
    e->name = name;
    e->name_len = len;
    e->parent = parent;
    e->name_hash = h;
    e->next_name = by_name[h % BUCKETS];
    by_name[h % BUCKETS] = e;
    e->named = true;
  } else {
    free(name);
  }
  memcpy(e->out, out, ENTRY_OUT_SIZE);
  e->gen = current_gen;
  e->expires_ms = strata_now_ms() + valid_ms;
  pthread_mutex_unlock(&lock);
  return NULL;
}

// fuseEntryTake(fuseFd, nodeid, drop): the lookups answered for nodeid since the last take; with
// drop, its entry goes too and answers nothing more.
static napi_value entry_take(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t nodeid = arg_big(env, argv[1]);
  bool drop = false;
  napi_get_value_bool(env, argv[2], &drop);
  pthread_mutex_lock(&lock);
  entry_t **slot = id_slot(fuse_fd, nodeid);
  int64_t taken = 0;
  if (*slot) {
    taken = (*slot)->lookups;
    (*slot)->lookups = 0;
    if (drop) free_locked(slot);
  }
  pthread_mutex_unlock(&lock);
  return num(env, (double)taken);
}

// fuseEntriesInvalidate(): no entry offered so far answers again.
static napi_value entries_invalidate(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&lock);
  current_gen++;
  pthread_mutex_unlock(&lock);
  return NULL;
}

// The session ended: its entries go.
void strata_fuse_forget_entries(int fuse_fd) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < BUCKETS; i++) {
    for (entry_t **p = &by_id[i]; *p;) {
      if ((*p)->fuse_fd == fuse_fd) free_locked(p);
      else p = &(*p)->next_id;
    }
  }
  pthread_mutex_unlock(&lock);
}

void strata_register_fuse_entries(napi_env env, napi_value exports) {
  struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"fuseEntrySet", entry_set},
      {"fuseEntryTake", entry_take},
      {"fuseEntriesInvalidate", entries_invalidate},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}
