/* A clock you control, for tests: adds an offset (ms, may be negative) read
 * from the file named by ECL_CLOCK_OFFSET_FILE to the wall clock
 * (CLOCK_REALTIME, gettimeofday, time). Monotonic clocks are left alone, as
 * a real clock step leaves them. Preloaded into redis-server by the test
 * harness (LD_PRELOAD); the file is re-read at most every 10 ms. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static volatile long long offset_ms;
static __thread int busy;
static __thread long long last_read_ms = -1000000;

static clock_gettime_fn real(void) {
    if (!real_clock_gettime)
        real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return real_clock_gettime;
}

static void refresh(void) {
    struct timespec mono;
    const char *path;
    FILE *f;
    long long value, now_ms;
    if (busy) return;
    real()(CLOCK_MONOTONIC, &mono);
    now_ms = mono.tv_sec * 1000LL + mono.tv_nsec / 1000000;
    if (now_ms - last_read_ms < 10) return;
    last_read_ms = now_ms;
    path = getenv("ECL_CLOCK_OFFSET_FILE");
    if (!path) return;
    busy = 1;
    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lld", &value) == 1) offset_ms = value;
        fclose(f);
    }
    busy = 0;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    int r = real()(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        long long ns;
        refresh();
        ns = ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ms * 1000000LL;
        ts->tv_sec = ns / 1000000000LL;
        ts->tv_nsec = ns % 1000000000LL;
    }
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    (void)tz;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (tv) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return 0;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
