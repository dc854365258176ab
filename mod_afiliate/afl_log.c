#include "afl_log.h"

#include <stdarg.h>
#include <stdio.h>

static afl_log_fn *log_fn;
static void *log_baton;

void afl_log_set(afl_log_fn *fn, void *baton)
{
    log_fn = fn;
    log_baton = baton;
}

void afl_log(afl_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(log_baton, level, buf);
}
