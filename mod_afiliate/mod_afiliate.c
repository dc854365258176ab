/* mod_afiliate: module declaration and hook registration (httpd glue). */
#include "mod_afiliate_config.h"
#include "mod_afiliate_handler.h"
#include "mod_afiliate_dbd.h"
#include "mod_afiliate_outbox.h"
#include "mod_afiliate_renapo.h"
#include "mod_afiliate_status.h"

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"
#include "ap_config.h"

#include "afl_crash.h"
#include "afl_curp.h"
#include "afl_log.h"

/* Forward pure-unit log lines to the main server's error log, tagged. */
static void log_to_httpd(void *baton, afl_log_level level, const char *msg)
{
    server_rec *s = baton;
    int lvl = level == AFL_LOG_ERR    ? APLOG_ERR
              : level == AFL_LOG_WARN ? APLOG_WARNING
              : level == AFL_LOG_INFO ? APLOG_INFO
                                      : APLOG_DEBUG;
    ap_log_error(APLOG_MARK, lvl, 0, s, AFL_TAG ": %s", msg);
}

/* Templates, secret, fonts and the database are checked here, so that
 * `apache2 -t` refuses what the start would (mod_afiliate_handler.c). */
static int afl_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    afl_log_set(log_to_httpd, s);
    return afl_handler_check_config(pconf, ptemp, s);
}

static int afl_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc;

    (void)plog;
    afl_log_set(log_to_httpd, s);
    if ((rc = afl_status_post_config(pconf, s)) != OK)
        return rc;
    if ((rc = afl_renapo_post_config(pconf, s)) != OK)
        return rc;
    return afl_outbox_post_config(pconf, ptemp, s);
}

static void afl_child_init(apr_pool_t *pchild, server_rec *s)
{
    afl_status_child_init(pchild, s);
    afl_handler_child_init(pchild, s);
}

/* A path that climbs above the root or carries a bad %-escape is refused by
 * httpd with 400 after this hook, logged at [error] (AH10244): the client's
 * mistake would then read as a server fault. The same check runs here on a
 * copy; the answer is the same 400 (ErrorDocument's page), logged at [info]. */
static int afl_post_read_request(request_rec *r)
{
    char *path;

    if (r->main || r->prev || r->proxyreq != PROXYREQ_NONE || !r->parsed_uri.path)
        return DECLINED;
    path = apr_pstrdup(r->pool, r->parsed_uri.path);
    if (ap_normalize_path(path, AP_NORMALIZE_ALLOW_RELATIVE | AP_NORMALIZE_NOT_ABOVE_ROOT |
                                    AP_NORMALIZE_DECODE_UNRESERVED))
        return DECLINED;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  AFL_TAG ": " AFL_LOGNO(00035) "request path above the root or with a bad escape; answered 400");
    return HTTP_BAD_REQUEST;
}

#ifdef AFL_TEST_CRASH_POINTS
/* Test builds only: a configuration read again (graceful restart) without
 * AfiliateTestCrashAt leaves no crash point set. */
static int afl_crash_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    afl_crash_set(NULL);
    return OK;
}
#endif

static void afl_register_hooks(apr_pool_t *p)
{
    /* Before mod_watchdog's post_config, which starts the watchdogs that
     * ours registers (mod_proxy_hcheck and mod_md do the same). */
    static const char *const succ[] = {"mod_watchdog.c", NULL};

#ifdef AFL_TEST_CRASH_POINTS
    ap_hook_pre_config(afl_crash_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
#endif
    ap_hook_check_config(afl_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(afl_post_config, NULL, succ, APR_HOOK_MIDDLE);
    ap_hook_child_init(afl_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(afl_post_read_request, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(afl_handler, NULL, NULL, APR_HOOK_MIDDLE);
    afl_dbd_register_hooks(p);
    afl_outbox_register_hooks(p);
    afl_status_register_hooks(p);
}

AP_DECLARE_MODULE(afiliate) = {
    STANDARD20_MODULE_STUFF, afl_create_dir_conf,   afl_merge_dir_conf,
    afl_create_server_conf,  afl_merge_server_conf, afl_cmds,
    afl_register_hooks,      AP_MODULE_FLAG_NONE,
};
