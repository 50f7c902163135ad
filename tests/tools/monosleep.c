/* Preloaded before libfaketime: sleeps on the monotonic clocks go straight to the kernel.
 * libfaketime 0.9.10 shifts an absolute clock_nanosleep deadline by the fake offset even when
 * FAKETIME_DONT_FAKE_MONOTONIC=1, so Python's time.sleep fails with EINVAL. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *req, struct timespec *rem) {
    if (clock_id != CLOCK_REALTIME) {
        long rc = syscall(SYS_clock_nanosleep, clock_id, flags, req, rem);
        return rc == 0 ? 0 : errno;
    }
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);
    if (!next) next = dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clock_id, flags, req, rem);
}
