// The FUSE device side of Strata's mount, in C only where Node cannot go: opening and mounting
// /dev/fuse, reading requests on a thread of its own, the passthrough backing-file ioctls, and
// answering READ straight from a file descriptor off the main thread, so cached bytes never
// pass through the JavaScript heap. The protocol itself (codecs, INIT, operations) is TypeScript.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>

#include "strata_native.h"

// Defined here because Debian 12's linux/fuse.h stops at protocol 7.38.
struct fuse_backing_map_ {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN_ _IOW(229, 1, struct fuse_backing_map_)
#define FUSE_DEV_IOC_BACKING_CLOSE_ _IOW(229, 2, uint32_t)

struct fuse_out_header_ {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};

// openDevice(): a new /dev/fuse descriptor.
static napi_value open_device(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) return strata_throw_errno(env, "open /dev/fuse", errno);
  return num(env, fd);
}

// mountDevice(fd, mountPoint, fsname, options): mount(2) as root.
static napi_value mount_device(napi_env env, napi_callback_info info) {
  ARGS(4);
  char *target = arg_str(env, argv[1]);
  char *fsname = arg_str(env, argv[2]);
  char *options = arg_str(env, argv[3]);
  int rc = mount(fsname, target, "fuse.strata", MS_NOSUID | MS_NODEV, options);
  int err = errno;
  free(target);
  free(fsname);
  free(options);
  if (rc != 0) return strata_throw_errno(env, "mount", err);
  return NULL;
}

// mountWithFusermount(mountPoint, options): runs fusermount3, which mounts for a user that is
// not root and hands the /dev/fuse descriptor back over a socket (SCM_RIGHTS).
static napi_value mount_fusermount(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *target = arg_str(env, argv[0]);
  char *options = arg_str(env, argv[1]);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    free(target);
    free(options);
    return strata_throw_errno(env, "socketpair", errno);
  }
  pid_t pid = fork();
  if (pid == 0) {
    char env_fd[32];
    close(sv[0]);
    fcntl(sv[1], F_SETFD, 0);
    snprintf(env_fd, sizeof env_fd, "%d", sv[1]);
    setenv("_FUSE_COMMFD", env_fd, 1);
    execlp("fusermount3", "fusermount3", "-o", options, "--", target, (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  free(target);
  free(options);
  if (pid < 0) {
    close(sv[0]);
    return strata_throw_errno(env, "fork", errno);
  }
  char byte;
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n = recvmsg(sv[0], &msg, 0);
  close(sv[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (n <= 0 || !cmsg || cmsg->cmsg_type != SCM_RIGHTS) {
    return strata_throw_errno(env, WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "fusermount3 not found" : "fusermount3 failed", EIO);
  }
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return num(env, fd);
}

// unmount(mountPoint, lazy)
static napi_value unmount_point(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *target = arg_str(env, argv[0]);
  bool lazy = false;
  napi_get_value_bool(env, argv[1], &lazy);
  int rc = umount2(target, lazy ? MNT_DETACH : 0);
  int err = errno;
  free(target);
  if (rc != 0) return strata_throw_errno(env, "umount", err);
  return NULL;
}

// ---- handles whose READs are answered here ----

// A read handle the kernel knows by `fh` with a range of its file in one local file (the whole
// file, or what a fill it leases has brought in so far): READs inside [lo, hi) are answered by the
// reader thread that reads them, never reaching JavaScript; others go to JavaScript, which may
// widen the range. `refs` counts READs being answered, so that unserving (at RELEASE, before the
// descriptor closes) waits for them.
typedef struct served_ {
  int fuse_fd;
  uint64_t fh;
  int file_fd;
  int64_t length;
  int64_t lo, hi;
  int refs;
  bool closing;
  struct served_ *next;
} served_t;

#define SERVED_BUCKETS 1024
static served_t *served[SERVED_BUCKETS];
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t served_idle = PTHREAD_COND_INITIALIZER;

static served_t **served_slot(int fuse_fd, uint64_t fh) {
  served_t **p = &served[(fh ^ (uint64_t)fuse_fd * 0x9E3779B97F4A7C15ull) % SERVED_BUCKETS];
  while (*p && !((*p)->fuse_fd == fuse_fd && (*p)->fh == fh)) p = &(*p)->next;
  return p;
}

// The served handle when it can answer `size` bytes at `offset` (cut at the end of the file and
// at `max`), with the descriptor and length to answer from; NULL sends the READ to JavaScript.
static served_t *served_acquire(int fuse_fd, uint64_t fh, int64_t offset, size_t size, size_t max, int *file_fd, size_t *len) {
  pthread_mutex_lock(&served_lock);
  served_t *s = *served_slot(fuse_fd, fh);
  if (s && s->closing) s = NULL;
  if (s) {
    int64_t left = s->length - offset;
    size_t n = left <= 0 ? 0 : (size_t)left < size ? (size_t)left : size;
    if (n > max) n = max;
    bool inside = offset >= s->lo && offset + (int64_t)n <= s->hi;
    // Past the end of the file is an empty answer, known only to a handle that holds it all.
    if (n == 0) inside = s->lo == 0 && s->hi == s->length;
    if (inside) {
      s->refs++;
      *file_fd = s->file_fd;
      *len = n;
    } else {
      s = NULL;
    }
  }
  pthread_mutex_unlock(&served_lock);
  return s;
}

static void served_release(served_t *s) {
  pthread_mutex_lock(&served_lock);
  if (--s->refs == 0 && s->closing) pthread_cond_broadcast(&served_idle);
  pthread_mutex_unlock(&served_lock);
}

// Removes a served handle; the caller holds served_lock. Waits out READs being answered.
static void served_remove_locked(int fuse_fd, uint64_t fh) {
  served_t *s = *served_slot(fuse_fd, fh);
  if (!s) return;
  s->closing = true;
  while (s->refs > 0) pthread_cond_wait(&served_idle, &served_lock);
  *served_slot(fuse_fd, fh) = s->next;
  free(s);
}

// serveFromFd(fuseFd, fh, fileFd, length, lo = 0, hi = length): READs of the handle inside
// [lo, hi) are answered from fileFd (file offsets are its offsets). Called again for a handle, it
// moves the range; every descriptor it was given must stay open until unserve.
static napi_value serve_from_fd(napi_env env, napi_callback_info info) {
  ARGS(6);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t fh = arg_big(env, argv[1]);
  int file_fd = arg_i32(env, argv[2]);
  int64_t length = arg_i64(env, argv[3]);
  int64_t lo = argc > 4 ? arg_i64(env, argv[4]) : 0;
  int64_t hi = argc > 5 ? arg_i64(env, argv[5]) : length;
  pthread_mutex_lock(&served_lock);
  served_t **p = served_slot(fuse_fd, fh);
  if (!*p) {
    served_t *s = calloc(1, sizeof *s);
    if (!s) {
      pthread_mutex_unlock(&served_lock);
      return strata_throw_errno(env, "calloc", ENOMEM);
    }
    *s = (served_t){.fuse_fd = fuse_fd, .fh = fh};
    *p = s;
  }
  (*p)->file_fd = file_fd;
  (*p)->length = length;
  (*p)->lo = lo;
  (*p)->hi = hi;
  pthread_mutex_unlock(&served_lock);
  return NULL;
}

// unserve(fuseFd, fh): returns once no READ of the handle is being answered.
static napi_value unserve(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t fh = arg_big(env, argv[1]);
  pthread_mutex_lock(&served_lock);
  served_remove_locked(fuse_fd, fh);
  pthread_mutex_unlock(&served_lock);
  return NULL;
}

// ---- inodes whose read-only OPENs are answered here ----

// A file kept open between opens (a warm handle) and handed to the kernel by passthrough: a
// read-only OPEN of its inode is answered here with a new handle on the same backing file, and
// that handle's RELEASE too, so an epoch of small files costs no trip to JavaScript per open.
// Handles made here have NATIVE_FH set; their READs (if any reach us) are served from `file_fd`.
typedef struct opener_ {
  int fuse_fd;
  uint64_t nodeid;
  uint32_t open_flags;
  int32_t backing_id;
  int file_fd;
  int64_t length;
  int refs;
  int64_t last_used_ms;
  // Asked to stop while the kernel held handles made here: no new ones; freed at the last RELEASE.
  bool draining;
  struct opener_ *next;
} opener_t;

#define NATIVE_FH (1ull << 62)
static opener_t *openers[SERVED_BUCKETS];
static uint64_t native_fh_next = 0;

static opener_t **opener_slot(int fuse_fd, uint64_t nodeid) {
  opener_t **p = &openers[(nodeid ^ (uint64_t)fuse_fd * 0x9E3779B97F4A7C15ull) % SERVED_BUCKETS];
  while (*p && !((*p)->fuse_fd == fuse_fd && (*p)->nodeid == nodeid)) p = &(*p)->next;
  return p;
}

// openerAdd(fuseFd, nodeid, openFlags, backingId, fileFd, length)
static napi_value opener_add(napi_env env, napi_callback_info info) {
  ARGS(6);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t nodeid = arg_big(env, argv[1]);
  pthread_mutex_lock(&served_lock);
  opener_t **p = opener_slot(fuse_fd, nodeid);
  if (*p && (*p)->draining) {
    pthread_mutex_unlock(&served_lock);
    return NULL;
  }
  if (!*p) {
    *p = calloc(1, sizeof **p);
    (*p)->fuse_fd = fuse_fd;
    (*p)->nodeid = nodeid;
  }
  opener_t *o = *p;
  o->open_flags = (uint32_t)arg_i32(env, argv[2]);
  o->backing_id = arg_i32(env, argv[3]);
  o->file_fd = arg_i32(env, argv[4]);
  o->length = arg_i64(env, argv[5]);
  o->last_used_ms = strata_now_ms();
  pthread_mutex_unlock(&served_lock);
  return NULL;
}

// openerRemove(fuseFd, nodeid, minIdleMs): true once the inode's opens go to JavaScript again;
// false while the kernel holds handles made here, or one was made within minIdleMs. With
// minIdleMs 0 (the file must stop being opened here) new opens go to JavaScript at once, and
// the opener goes at the last RELEASE of the handles it made.
static napi_value opener_remove(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t nodeid = arg_big(env, argv[1]);
  int64_t min_idle = arg_i64(env, argv[2]);
  bool removed = true;
  pthread_mutex_lock(&served_lock);
  opener_t **p = opener_slot(fuse_fd, nodeid);
  opener_t *o = *p;
  if (o && (o->refs > 0 || strata_now_ms() - o->last_used_ms < min_idle)) {
    removed = false;
    if (min_idle == 0) o->draining = true;
  } else if (o) {
    *p = o->next;
    free(o);
  }
  pthread_mutex_unlock(&served_lock);
  napi_value out;
  napi_get_boolean(env, removed, &out);
  return out;
}

// openerRefs(fuseFd, nodeid): handles the kernel holds that were opened here.
static napi_value opener_refs(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fuse_fd = arg_i32(env, argv[0]);
  uint64_t nodeid = arg_big(env, argv[1]);
  pthread_mutex_lock(&served_lock);
  opener_t *o = *opener_slot(fuse_fd, nodeid);
  int refs = o ? o->refs : 0;
  pthread_mutex_unlock(&served_lock);
  return num(env, refs);
}

// forgetSession(fuseFd): the session ended; drops everything served, opened or looked up for it.
static napi_value forget_session(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fuse_fd = arg_i32(env, argv[0]);
  strata_fuse_forget_entries(fuse_fd);
  pthread_mutex_lock(&served_lock);
  for (int i = 0; i < SERVED_BUCKETS; i++) {
    for (opener_t **p = &openers[i]; *p;) {
      if ((*p)->fuse_fd != fuse_fd) {
        p = &(*p)->next;
        continue;
      }
      opener_t *o = *p;
      *p = o->next;
      free(o);
    }
    // Rescanned after each removal: removing may wait, and the list may change meanwhile.
    for (served_t *s = served[i]; s;) {
      if (s->fuse_fd != fuse_fd) {
        s = s->next;
        continue;
      }
      served_remove_locked(fuse_fd, s->fh);
      s = served[i];
    }
  }
  pthread_mutex_unlock(&served_lock);
  return NULL;
}

// ---- the request readers ----

typedef struct {
  int fd;
  size_t bufsize;
  napi_threadsafe_function tsfn;
  // GETXATTR of any other name is answered ENODATA here, without a trip to JavaScript:
  // `ls -l` asks for security.selinux on every entry, and Strata has only its own names.
  char xattr_prefix[64];
} reader_t;

// What one reader thread needs to answer READs: a pipe big enough for a whole reply, so that
// the bytes go file -> pipe -> device by splice (one copy, from the page cache into the
// request's pages); or, where the pipe cannot grow (not root), a buffer for pread + writev.
typedef struct {
  int pipe[2];
  char *buf;
  size_t bufsize;
} reply_io_t;

#define FUSE_LOOKUP_ 1
#define FUSE_GETATTR_ 3
#define FUSE_OPEN_ 14
#define FUSE_READ_ 15
#define FUSE_RELEASE_ 18
#define FUSE_GETXATTR_ 22
#define FUSE_IN_HEADER_SIZE_ 40
#define FUSE_READ_IN_SIZE_ 40
#define SPLICE_PIPE_SIZE (2 << 20)

static void reply_io_init(reply_io_t *io, size_t bufsize) {
  io->bufsize = bufsize;
  io->buf = NULL;
  if (pipe2(io->pipe, O_CLOEXEC) != 0) {
    io->pipe[0] = io->pipe[1] = -1;
  } else if (fcntl(io->pipe[1], F_SETPIPE_SZ, SPLICE_PIPE_SIZE) < 0 || (size_t)fcntl(io->pipe[1], F_GETPIPE_SZ) < bufsize + 8192) {
    close(io->pipe[0]);
    close(io->pipe[1]);
    io->pipe[0] = io->pipe[1] = -1;
  } else {
    fcntl(io->pipe[0], F_SETFL, O_NONBLOCK);
  }
  if (io->pipe[0] < 0) io->buf = malloc(bufsize);
}

static void reply_io_free(reply_io_t *io) {
  if (io->pipe[0] >= 0) {
    close(io->pipe[0]);
    close(io->pipe[1]);
  }
  free(io->buf);
}

static void drain_pipe(int fd) {
  char scratch[65536];
  while (read(fd, scratch, sizeof scratch) > 0) {
  }
}

static void reply_error(int fuse_fd, uint64_t unique, int err) {
  struct fuse_out_header_ out = {.len = sizeof out, .error = -err, .unique = unique};
  (void)!write(fuse_fd, &out, sizeof out);
}

// Answers one READ with `len` bytes of `file_fd` at `offset`: 0, or the errno that failed it.
// A short read (the file shrank under us) is an EIO, never a reply padded with missing bytes.
// A reply the device refuses with ENOENT was interrupted, which is not a failure.
static int reply_read(int fuse_fd, reply_io_t *io, uint64_t unique, int file_fd, int64_t offset, size_t len) {
  struct fuse_out_header_ out = {.len = (uint32_t)(sizeof out + len), .error = 0, .unique = unique};
  if (io->pipe[0] >= 0) {
    int err = 0;
    if (write(io->pipe[1], &out, sizeof out) != sizeof out) err = errno ? errno : EIO;
    size_t got = 0;
    loff_t at = offset;
    while (!err && got < len) {
      ssize_t n = splice(file_fd, &at, io->pipe[1], NULL, len - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) err = n < 0 ? errno : EIO;
      else got += (size_t)n;
    }
    if (err) {
      drain_pipe(io->pipe[0]);
      reply_error(fuse_fd, unique, EIO);
      return err;
    }
    // No SPLICE_F_MOVE: the cache file's pages are never the device's to take.
    ssize_t w = splice(io->pipe[0], NULL, fuse_fd, NULL, sizeof out + len, 0);
    if (w == (ssize_t)(sizeof out + len)) return 0;
    err = w < 0 ? errno : EIO;
    drain_pipe(io->pipe[0]);  // a failed or partial splice leaves bytes behind
    if (err == ENOENT) return 0;  // interrupted: the kernel wants no reply
    reply_error(fuse_fd, unique, EIO);  // the reader must not wait forever
    return err;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(file_fd, io->buf + got, len - got, offset + (int64_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      reply_error(fuse_fd, unique, EIO);
      return err;
    }
    got += (size_t)n;
  }
  struct iovec iov[2] = {{&out, sizeof out}, {io->buf, len}};
  if (writev(fuse_fd, iov, 2) < 0 && errno != ENOENT) {
    int err = errno;
    reply_error(fuse_fd, unique, EIO);
    return err;
  }
  return 0;
}

// One handle made by an opener is gone; a draining opener goes with its last. Holds served_lock.
static void opener_put_locked(int fuse_fd, uint64_t nodeid) {
  opener_t **p = opener_slot(fuse_fd, nodeid);
  opener_t *o = *p;
  if (!o) return;
  if (o->refs > 0) o->refs--;
  if (o->draining && o->refs == 0) {
    *p = o->next;
    free(o);
  }
}

// A read-only OPEN of an inode with an opener: a new handle on its backing file.
static bool answer_open(reader_t *r, const char *buf, uint64_t unique) {
  uint64_t nodeid;
  uint32_t flags;
  memcpy(&nodeid, buf + 16, 8);
  memcpy(&flags, buf + FUSE_IN_HEADER_SIZE_, 4);
  if ((flags & (O_ACCMODE | O_TRUNC)) != O_RDONLY) return false;
  served_t *s = calloc(1, sizeof *s);
  if (!s) return false;  // JavaScript answers it
  pthread_mutex_lock(&served_lock);
  opener_t *o = *opener_slot(r->fd, nodeid);
  if (!o || o->draining) {
    pthread_mutex_unlock(&served_lock);
    free(s);
    return false;
  }
  o->refs++;
  o->last_used_ms = strata_now_ms();
  uint64_t fh = NATIVE_FH | ++native_fh_next;
  *s = (served_t){.fuse_fd = r->fd, .fh = fh, .file_fd = o->file_fd, .length = o->length, .lo = 0, .hi = o->length};
  served_t **slot = served_slot(r->fd, fh);
  *slot = s;
  struct {
    struct fuse_out_header_ h;
    uint64_t fh;
    uint32_t open_flags;
    int32_t backing_id;
  } out = {{sizeof out, 0, unique}, fh, o->open_flags, o->backing_id};
  pthread_mutex_unlock(&served_lock);
  // Written after the handle exists, so that its READs and RELEASE find it.
  if (write(r->fd, &out, sizeof out) < 0 && errno == ENOENT) {
    // Interrupted: the kernel never saw this handle, so no RELEASE will come for it.
    pthread_mutex_lock(&served_lock);
    served_remove_locked(r->fd, fh);
    opener_put_locked(r->fd, nodeid);
    pthread_mutex_unlock(&served_lock);
  }
  return true;
}

// The RELEASE of a handle made by answer_open.
static bool answer_release(reader_t *r, const char *buf, uint64_t unique) {
  uint64_t nodeid, fh;
  memcpy(&nodeid, buf + 16, 8);
  memcpy(&fh, buf + FUSE_IN_HEADER_SIZE_, 8);
  if ((fh & NATIVE_FH) == 0) return false;
  pthread_mutex_lock(&served_lock);
  served_remove_locked(r->fd, fh);
  opener_put_locked(r->fd, nodeid);
  pthread_mutex_unlock(&served_lock);
  reply_error(r->fd, unique, 0);
  return true;
}

// Strata keeps no security labels or ACLs: EOPNOTSUPP for those namespaces lets ls, cp and tar
// remember that this file system has none (coreutils caches it per device) instead of asking for
// every file; any other name outside Strata's simply has no value.
static int xattr_foreign_errno(const char *name, size_t len) {
  if ((len >= 9 && strncmp(name, "security.", 9) == 0) || (len >= 7 && strncmp(name, "system.", 7) == 0)) return EOPNOTSUPP;
  return ENODATA;
}

// True when the request was answered here: a LOOKUP or GETATTR of a name JavaScript offered, an
// OPEN or RELEASE of an inode with an opener, a READ of a served handle, or a GETXATTR of a name
// outside Strata's.
static bool answer_in_native(reader_t *r, reply_io_t *io, uint32_t opcode, const char *buf, ssize_t n) {
  // A LOOKUP body is only its name: shorter than any other this answers.
  if (opcode == FUSE_LOOKUP_) return strata_fuse_answer_lookup(r->fd, buf, (size_t)n);
  if (opcode == FUSE_GETATTR_) return strata_fuse_answer_getattr(r->fd, buf, (size_t)n);
  if (n < FUSE_IN_HEADER_SIZE_ + 8) return false;
  uint64_t unique;
  memcpy(&unique, buf + 8, 8);
  if (opcode == FUSE_OPEN_) return answer_open(r, buf, unique);
  if (opcode == FUSE_RELEASE_) return answer_release(r, buf, unique);
  if (opcode == FUSE_READ_ && n >= FUSE_IN_HEADER_SIZE_ + FUSE_READ_IN_SIZE_) {
    uint64_t fh, offset;
    uint32_t size;
    memcpy(&fh, buf + FUSE_IN_HEADER_SIZE_, 8);
    memcpy(&offset, buf + FUSE_IN_HEADER_SIZE_ + 8, 8);
    memcpy(&size, buf + FUSE_IN_HEADER_SIZE_ + 16, 4);
    int file_fd;
    size_t len;
    served_t *s = served_acquire(r->fd, fh, (int64_t)offset, size, io->bufsize, &file_fd, &len);
    if (!s) return false;
    reply_read(r->fd, io, unique, file_fd, (int64_t)offset, len);
    served_release(s);
    return true;
  }
  if (opcode != FUSE_GETXATTR_ || r->xattr_prefix[0] == 0) return false;
  const char *name = buf + FUSE_IN_HEADER_SIZE_ + 8;
  size_t max = (size_t)n - FUSE_IN_HEADER_SIZE_ - 8;
  size_t plen = strlen(r->xattr_prefix);
  size_t len = strnlen(name, max);
  if (len >= plen && strncmp(name, r->xattr_prefix, plen) == 0) return false;
  reply_error(r->fd, unique, xattr_foreign_errno(name, len));
  return true;
}

// Requests answered by the reader threads, by opcode (all sessions of the process).
#define OPCODES 64
static uint64_t native_answers[OPCODES];

typedef struct {
  char *data;
  ssize_t len;
  int err;
} request_t;

static void free_request_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

// Runs on the JS thread: hands a request (or the end of the session) to the callback.
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  request_t *req = data;
  if (env == NULL) {
    free(req->data);
    free(req);
    return;
  }
  napi_value argv[2];
  if (req->len > 0) {
    napi_create_external_buffer(env, (size_t)req->len, req->data, free_request_data, NULL, &argv[0]);
    napi_get_null(env, &argv[1]);
  } else {
    free(req->data);
    napi_get_null(env, &argv[0]);
    napi_create_int32(env, req->err, &argv[1]);
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, cb, 2, argv, NULL);
  free(req);
}

static void *reader_main(void *arg) {
  reader_t *r = arg;
  reply_io_t io;
  reply_io_init(&io, r->bufsize);
  char *buf = NULL;
  for (;;) {
    if (!buf) buf = malloc(r->bufsize);
    ssize_t n = read(r->fd, buf, r->bufsize);
    // ENOENT: the request was interrupted before it was read; read the next one.
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT)) continue;
    uint32_t opcode = 0;
    if (n >= 8) memcpy(&opcode, buf + 4, 4);
    if (n > 0 && answer_in_native(r, &io, opcode, buf, n)) {
      __atomic_fetch_add(&native_answers[opcode % OPCODES], 1, __ATOMIC_RELAXED);
      continue;
    }
    request_t *req = calloc(1, sizeof *req);
    req->data = buf;
    req->len = n;
    req->err = n < 0 ? errno : 0;
    buf = NULL;
    napi_call_threadsafe_function(r->tsfn, req, napi_tsfn_blocking);
    if (n <= 0) break;
  }
  reply_io_free(&io);
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

// startReader(fd, bufsize, callback(request: Buffer | null, errno: number | null), xattrPrefix,
// threads): `threads` readers of the device; each calls back with null once the device closes.
static napi_value start_reader(napi_env env, napi_callback_info info) {
  ARGS(5);
  reader_t *r = calloc(1, sizeof *r);
  r->fd = arg_i32(env, argv[0]);
  r->bufsize = (size_t)arg_i64(env, argv[1]);
  if (argc > 3) {
    size_t len = 0;
    napi_get_value_string_utf8(env, argv[3], r->xattr_prefix, sizeof r->xattr_prefix, &len);
  }
  int threads = argc > 4 ? arg_i32(env, argv[4]) : 1;
  if (threads < 1) threads = 1;
  napi_value name;
  napi_create_string_utf8(env, "strata-fuse-reader", NAPI_AUTO_LENGTH, &name);
  napi_create_threadsafe_function(env, argv[2], NULL, name, 256, (size_t)threads, NULL, NULL, r, call_js, &r->tsfn);
  // The readers keep the process alive until the device closes (unmount): each thread then
  // releases the function, and the session ends with the last.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (int i = 0; i < threads; i++) {
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, reader_main, r);
    if (rc != 0) {
      pthread_sigmask(SIG_SETMASK, &old, NULL);
      for (int j = i; j < threads; j++) napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
      return strata_throw_errno(env, "pthread_create", rc);
    }
    pthread_detach(thread);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return NULL;
}

// nativeAnswers(): requests the reader threads answered, indexed by opcode.
static napi_value native_answer_counts(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_array_with_length(env, OPCODES, &out);
  for (uint32_t i = 0; i < OPCODES; i++) napi_set_element(env, out, i, num(env, (double)__atomic_load_n(&native_answers[i], __ATOMIC_RELAXED)));
  return out;
}

// ---- READ replies from a file descriptor ----

typedef struct {
  int fuse_fd;
  uint64_t unique;
  int file_fd;
  int64_t offset;
  size_t size;
  int err;
  size_t sent;
  napi_async_work work;
  napi_deferred deferred;
} fd_reply_t;

// Each libuv pool thread keeps its reply means (a pipe, so that its replies go by splice as the
// reader threads' do; a buffer where the pipe cannot grow).
static __thread reply_io_t pool_io;
static __thread bool pool_io_made;

static void fd_reply_execute(napi_env env, void *data) {
  (void)env;
  fd_reply_t *r = data;
  if (!pool_io_made) {
    reply_io_init(&pool_io, SPLICE_PIPE_SIZE - 8192);
    pool_io_made = true;
  }
  if (r->size <= pool_io.bufsize) {
    r->err = reply_read(r->fuse_fd, &pool_io, r->unique, r->file_fd, r->offset, r->size);
  } else {
    reply_io_t io = {.pipe = {-1, -1}, .buf = malloc(r->size > 0 ? r->size : 1), .bufsize = r->size};
    r->err = reply_read(r->fuse_fd, &io, r->unique, r->file_fd, r->offset, r->size);
    free(io.buf);
  }
  r->sent = r->err ? 0 : r->size;
}

static void fd_reply_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  fd_reply_t *r = data;
  napi_resolve_deferred(env, r->deferred, num(env, r->err ? -r->err : (double)r->sent));
  napi_delete_async_work(env, r->work);
  free(r);
}

// replyFromFd(fuseFd, unique, fileFd, offset, size): Promise<bytes sent | -errno>. Reads the
// range and writes the READ reply on a libuv worker thread.
static napi_value reply_from_fd(napi_env env, napi_callback_info info) {
  ARGS(5);
  fd_reply_t *r = calloc(1, sizeof *r);
  r->fuse_fd = arg_i32(env, argv[0]);
  r->unique = arg_big(env, argv[1]);
  r->file_fd = arg_i32(env, argv[2]);
  r->offset = arg_i64(env, argv[3]);
  r->size = (size_t)arg_i64(env, argv[4]);
  napi_value promise, name;
  napi_create_promise(env, &r->deferred, &promise);
  napi_create_string_utf8(env, "strata-fuse-read", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, fd_reply_execute, fd_reply_complete, r, &r->work);
  napi_queue_async_work(env, r->work);
  return promise;
}

// ---- passthrough ----

// backingOpen(fuseFd, fd): the backing id of a file for FOPEN_PASSTHROUGH.
static napi_value backing_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct fuse_backing_map_ map = {.fd = arg_i32(env, argv[1]), .flags = 0, .padding = 0};
  int id = ioctl(arg_i32(env, argv[0]), FUSE_DEV_IOC_BACKING_OPEN_, &map);
  if (id < 0) return strata_throw_errno(env, "FUSE_DEV_IOC_BACKING_OPEN", errno);
  return num(env, id);
}

// backingClose(fuseFd, id)
static napi_value backing_close(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint32_t id = (uint32_t)arg_i32(env, argv[1]);
  if (ioctl(arg_i32(env, argv[0]), FUSE_DEV_IOC_BACKING_CLOSE_, &id) < 0) {
    return strata_throw_errno(env, "FUSE_DEV_IOC_BACKING_CLOSE", errno);
  }
  return NULL;
}

void strata_register_fuse(napi_env env, napi_value exports) {
  static const strata_function_t fns[] = {
      {"fuseOpenDevice", open_device},
      {"fuseMount", mount_device},
      {"fuseMountWithFusermount", mount_fusermount},
      {"fuseUnmount", unmount_point},
      {"fuseStartReader", start_reader},
      {"fuseNativeAnswers", native_answer_counts},
      {"fuseReplyFromFd", reply_from_fd},
      {"fuseServeFromFd", serve_from_fd},
      {"fuseUnserve", unserve},
      {"fuseOpenerAdd", opener_add},
      {"fuseOpenerRemove", opener_remove},
      {"fuseOpenerRefs", opener_refs},
      {"fuseForgetSession", forget_session},
      {"fuseBackingOpen", backing_open},
      {"fuseBackingClose", backing_close},
  };
  strata_export(env, exports, fns, sizeof fns / sizeof fns[0]);
}
