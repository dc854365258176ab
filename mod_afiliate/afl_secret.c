#include "afl_secret.h"

#include <apr_file_io.h>
#include <apr_strings.h>

#include <string.h>

static int is_ascii_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const unsigned char *afl_secret_trim(const unsigned char *buf, size_t *len)
{
    size_t n = *len;

    while (n > 0 && is_ascii_space(buf[0])) {
        buf++;
        n--;
    }
    while (n > 0 && is_ascii_space(buf[n - 1]))
        n--;
    *len = n;
    return buf;
}

apr_status_t afl_secret_load(apr_pool_t *p, const char *path, const unsigned char **secret,
                             size_t *len)
{
    apr_file_t *f;
    apr_status_t rv;
    /* One byte more than allowed, so an oversized file is detected without
     * trusting a stat() that could race with a rewrite. */
    unsigned char buf[AFL_SECRET_MAX_FILE + 1];
    apr_size_t got = 0;
    const unsigned char *start;
    size_t n;
    unsigned char *copy;

    *secret = NULL;
    *len = 0;
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_file_read_full(f, buf, sizeof buf, &got);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv))
        goto wipe;
    rv = APR_EINVAL;
    if (got > AFL_SECRET_MAX_FILE)
        goto wipe;
    n = got;
    start = afl_secret_trim(buf, &n);
    if (n < AFL_SECRET_MIN_LEN)
        goto wipe;
    copy = apr_palloc(p, n + 1);
    memcpy(copy, start, n);
    copy[n] = '\0';
    *secret = copy;
    *len = n;
    rv = APR_SUCCESS;
wipe:
    /* Do not leave key material on the stack. */
    explicit_bzero(buf, sizeof buf);
    return rv;
}
