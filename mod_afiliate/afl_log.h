/* Logging indirection: pure units log through a callback that the host
 * (httpd glue or afiliatectl) installs. No-op until one is installed.
 * Never pass a CURP, NSS or e-mail address to these functions. */
#ifndef AFL_LOG_H
#define AFL_LOG_H

/* Tag that prefixes every log line of the module. */
#define AFL_TAG "mod_afiliate"

/* The id of one log message, as httpd's APLOGNO: "AFL00042: ". Every message
 * has its own, listed in docs/log-messages.md (tests/log_ids.py checks). */
#define AFL_LOGNO(n) "AFL" #n ": "

typedef enum { AFL_LOG_ERR, AFL_LOG_WARN, AFL_LOG_INFO, AFL_LOG_DEBUG } afl_log_level;

typedef void afl_log_fn(void *baton, afl_log_level level, const char *msg);

void afl_log_set(afl_log_fn *fn, void *baton);
void afl_log(afl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
