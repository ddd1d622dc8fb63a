/*
 * A write log for simulating a power cut (LD_PRELOAD), in the manner of Linux's dm-log-writes.
 *
 * Every write, truncation and sync that a process makes to a file whose path contains
 * $CIS_WRITELOG_MATCH (and not "-shm", SQLite's shared-memory index, which is rebuilt after a
 * crash) is appended to $CIS_WRITELOG as one record, after the call succeeded. A power cut at
 * any moment is then rebuilt afterwards from the files as they were before the run plus, per
 * file, the records up to its last sync (and, for a kinder cut, some of the later ones):
 * exactly what a disk that had not yet written unsynced data would hold.
 *
 * Record: 'W' | 'T' | 'S', u32 path length, path, u64 offset (W) or length (T), u32 data length,
 * data (W only). Records are appended with one write() to an O_APPEND descriptor, which Linux
 * keeps whole and in order between processes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_PATH 1024

static char *paths[MAX_FDS];
static int log_fd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);

static void init(void) {
    static int done = 0;
    if (done) return;
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_close = dlsym(RTLD_NEXT, "close");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    const char *log = getenv("CIS_WRITELOG");
    if (log) log_fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    done = 1;
}

static void remember(int fd, const char *path) {
    const char *match = getenv("CIS_WRITELOG_MATCH");
    if (fd < 0 || fd >= MAX_FDS || !path || !match || log_fd < 0) return;
    if (!strstr(path, match) || strstr(path, "-shm")) return;
    char resolved[MAX_PATH];
    const char *name = realpath(path, resolved) ? resolved : path;
    pthread_mutex_lock(&lock);
    free(paths[fd]);
    paths[fd] = strdup(name);
    pthread_mutex_unlock(&lock);
}

static void record(int fd, char kind, uint64_t number, const void *data, uint32_t size) {
    if (fd < 0 || fd >= MAX_FDS || log_fd < 0) return;
    pthread_mutex_lock(&lock);
    const char *path = paths[fd];
    if (path) {
        uint32_t path_len = (uint32_t)strlen(path);
        size_t total = 1 + 4 + path_len + 8 + 4 + size;
        char *buf = malloc(total);
        if (buf) {
            char *p = buf;
            *p++ = kind;
            memcpy(p, &path_len, 4); p += 4;
            memcpy(p, path, path_len); p += path_len;
            memcpy(p, &number, 8); p += 8;
            memcpy(p, &size, 4); p += 4;
            if (size) memcpy(p, data, size);
            ssize_t ignored = real_write(log_fd, buf, total);
            (void)ignored;
            free(buf);
        }
    }
    pthread_mutex_unlock(&lock);
}

static int tracked(int fd) {
    return fd >= 0 && fd < MAX_FDS && paths[fd] != NULL;
}

int open(const char *path, int flags, ...) {
    init();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    int fd = real_open(path, flags, mode);
    remember(fd, path);
    return fd;
}

int open64(const char *path, int flags, ...) {
    init();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    int fd = real_open64(path, flags, mode);
    remember(fd, path);
    return fd;
}

int openat(int dirfd, const char *path, int flags, ...) {
    init();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    int fd = real_openat(dirfd, path, flags, mode);
    if (path[0] == '/') remember(fd, path);
    return fd;
}

int close(int fd) {
    init();
    if (fd >= 0 && fd < MAX_FDS && paths[fd]) {
        pthread_mutex_lock(&lock);
        free(paths[fd]);
        paths[fd] = NULL;
        pthread_mutex_unlock(&lock);
    }
    return real_close(fd);
}

ssize_t write(int fd, const void *data, size_t size) {
    init();
    if (!tracked(fd)) return real_write(fd, data, size);
    off_t at = lseek(fd, 0, SEEK_CUR);
    ssize_t done = real_write(fd, data, size);
    if (done > 0 && at >= 0) record(fd, 'W', (uint64_t)at, data, (uint32_t)done);
    return done;
}

ssize_t pwrite(int fd, const void *data, size_t size, off_t at) {
    init();
    ssize_t done = real_pwrite(fd, data, size, at);
    if (done > 0 && tracked(fd)) record(fd, 'W', (uint64_t)at, data, (uint32_t)done);
    return done;
}

ssize_t pwrite64(int fd, const void *data, size_t size, off_t at) {
    init();
    ssize_t done = real_pwrite64(fd, data, size, at);
    if (done > 0 && tracked(fd)) record(fd, 'W', (uint64_t)at, data, (uint32_t)done);
    return done;
}

int fsync(int fd) {
    init();
    int rc = real_fsync(fd);
    if (rc == 0 && tracked(fd)) record(fd, 'S', 0, NULL, 0);
    return rc;
}

int fdatasync(int fd) {
    init();
    int rc = real_fdatasync(fd);
    if (rc == 0 && tracked(fd)) record(fd, 'S', 0, NULL, 0);
    return rc;
}

int ftruncate(int fd, off_t length) {
    init();
    int rc = real_ftruncate(fd, length);
    if (rc == 0 && tracked(fd)) record(fd, 'T', (uint64_t)length, NULL, 0);
    return rc;
}

int ftruncate64(int fd, off_t length) {
    init();
    int rc = real_ftruncate64(fd, length);
    if (rc == 0 && tracked(fd)) record(fd, 'T', (uint64_t)length, NULL, 0);
    return rc;
}
