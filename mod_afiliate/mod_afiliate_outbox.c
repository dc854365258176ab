/* mod_afiliate: the mail outbox sender (httpd glue). The logic is afl_outbox;
 * this file only runs it: one mod_watchdog singleton callback per server, so
 * exactly one thread among all children of httpd drains the outbox (claims
 * in the database keep other httpd servers on the same database apart). */
#include "mod_afiliate_outbox.h"
#include "mod_afiliate_config.h"
#include "mod_afiliate_dbd.h"
#include "mod_afiliate_status.h"

#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mod_watchdog.h"
#include "apr_optional.h"
#include "apr_strings.h"

#include "afl_log.h"
#include "afl_mime.h"
#include "afl_outbox.h"
#include "afl_qr.h"
#include "afl_smtp.h"

APLOG_USE_MODULE(afiliate);

#define WATCHDOG_NAME "afiliate-outbox"

typedef struct {
    server_rec *s;
    afl_server_conf *sc;
    afl_outbox_conf conf;
} outbox_srv;

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register_callback;

/* Held by the sender for a whole pass. When the child exits, its pool cleanups
 * would otherwise destroy mod_dbd's connection pool under a pass that still
 * holds a connection (apr_reslist asserts and the child aborts): the cleanup
 * below asks the pass to stop and waits for it. */
static apr_thread_mutex_t *tick_lock;
static volatile int child_exiting;

/* A graceful stop or restart waits for the watchdog thread: end the pass. */
static int stopping(void *baton)
{
    int state = AP_MPMQ_RUNNING;
    (void)baton;
    return child_exiting || ap_mpm_query(AP_MPMQ_MPM_STATE, &state) != APR_SUCCESS ||
           state == AP_MPMQ_STOPPING;
}

static apr_status_t wait_for_pass(void *data)
{
    (void)data;
    child_exiting = 1;
    if (tick_lock) {
        apr_thread_mutex_lock(tick_lock);
        apr_thread_mutex_unlock(tick_lock);
    }
    return APR_SUCCESS;
}

/* A pre-cleanup: it runs before pchild's subpools (mod_dbd's connection pool
 * lives in one) are destroyed. */
static void outbox_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    if (apr_thread_mutex_create(&tick_lock, APR_THREAD_MUTEX_DEFAULT, pchild) != APR_SUCCESS)
        tick_lock = NULL;
    apr_pool_pre_cleanup_register(pchild, NULL, wait_for_pass);
}

void afl_outbox_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_child_init(outbox_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

static apr_status_t outbox_tick(int state, void *data, apr_pool_t *ptemp)
{
    outbox_srv *o = data;
    afl_outbox_stats stats;
    afl_dbd_conn *conn;
    afl_store *st = NULL;

    /* Returning anything but APR_SUCCESS would stop the callback for good:
     * every failure here is logged and retried on the next tick. */
    if (state != AP_WATCHDOG_STATE_RUNNING || child_exiting)
        return APR_SUCCESS;
    if (tick_lock)
        apr_thread_mutex_lock(tick_lock);
    afl_status_enter(o->sc->stats);
    conn = afl_dbd_open(ptemp, o->s, &st);
    if (!conn) {
        if (tick_lock)
            apr_thread_mutex_unlock(tick_lock);
        return APR_SUCCESS;
    }
    memset(&stats, 0, sizeof stats);
    if (afl_outbox_drain(ptemp, st, &o->conf, &stats) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, o->s,
                     AFL_TAG ": " AFL_LOGNO(00068) "outbox pass stopped by a database error; next pass in the "
                                "next interval");
    else if (stats.claimed)
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, o->s,
                     AFL_TAG ": " AFL_LOGNO(00069) "outbox pass: %d claimed, %d sent, %d to retry, %d failed%s",
                         stats.claimed, stats.sent, stats.retried, stats.failed,
                         stats.stopped ? " (the pass ended early)" : "");
    /* What the pass did, also when it stopped early. */
    afl_stats_add(o->sc->stats, AFL_STATS_MAIL_SENT, (apr_uint64_t)stats.sent);
    afl_stats_add(o->sc->stats, AFL_STATS_MAIL_RETRY, (apr_uint64_t)stats.retried);
    afl_stats_add(o->sc->stats, AFL_STATS_MAIL_FAILED, (apr_uint64_t)stats.failed);
    afl_dbd_release(conn);
    if (tick_lock)
        apr_thread_mutex_unlock(tick_lock);
    return APR_SUCCESS;
}

static apr_status_t curl_cleanup(void *data)
{
    (void)data;
    afl_smtp_global_cleanup();
    return APR_SUCCESS;
}

int afl_curl_start(apr_pool_t *pconf, server_rec *s)
{
    if (afl_smtp_global_init() != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00070) "cannot initialise libcurl");
        return 0;
    }
    apr_pool_cleanup_register(pconf, NULL, curl_cleanup, apr_pool_cleanup_null);
    return 1;
}

/* The sender's settings for one server; 0 on a configuration error (logged).
 * Warnings only when not quiet (httpd reads its configuration twice at start). */
static int outbox_conf(apr_pool_t *pconf, server_rec *v, afl_server_conf *sc, afl_outbox_conf *c,
                       int quiet)
{
    afl_outbox_conf_defaults(c);
    c->smtp.url = sc->smtp_url;
    c->smtp.require_tls = AFL_SC_INT(sc, smtp_require_tls, 0);
    c->smtp.ca_file = sc->smtp_ca_file;
    c->should_stop = stopping;
    c->from = sc->mail_from ? sc->mail_from : AFL_OUTBOX_DEFAULT_FROM;
    c->from_name = sc->mail_from ? sc->mail_from_name : AFL_OUTBOX_DEFAULT_FROM_NAME;
    c->max_attempts = AFL_SC_INT(sc, outbox_max_attempts, AFL_OUTBOX_DEFAULT_MAX_ATTEMPTS);
    c->backoff_min = AFL_SC_INT(sc, outbox_backoff_min, AFL_OUTBOX_DEFAULT_BACKOFF_MIN);
    c->backoff_max = AFL_SC_INT(sc, outbox_backoff_max, AFL_OUTBOX_DEFAULT_BACKOFF_MAX);
    c->sign_key = sc->sign_key;
    /* No request here: AfiliatePublicURL, else ServerName's scheme, name and port + the
     * default location (the QR of a mailed document cannot know the <Location> path). */
    c->verify_base = sc->public_url
                         ? sc->public_url
                         : afl_qr_server_base(pconf, v->server_scheme,
                                              v->server_hostname ? v->server_hostname : "localhost",
                                              v->port, AFL_DEFAULT_BASE);
    /* Checked by the handler's post_config, which runs first (NULL: standard fonts). */
    c->font = sc->pdf_font;
    c->font_bold = sc->pdf_font_bold;
    if (sc->smtp_credentials) {
        const char *err = NULL;
        if (afl_smtp_read_credentials(pconf, sc->smtp_credentials, &sc->smtp_user, &sc->smtp_pass,
                                      &err) != 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v,
                         AFL_TAG ": " AFL_LOGNO(00071) "AfiliateSMTPCredentials: %s", err);
            return 0;
        }
        c->smtp.username = sc->smtp_user;
        c->smtp.password = sc->smtp_pass;
        if (!quiet && !c->smtp.require_tls && !strncasecmp(sc->smtp_url, "smtp://", 7))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                         AFL_TAG ": " AFL_LOGNO(00072) "relay credentials are set but AfiliateSMTPRequireTLS is "
                                    "Off: they may cross the network in clear text");
    }
    if (!quiet && !sc->mail_from)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v,
                     AFL_TAG
                     ": " AFL_LOGNO(00073) "AfiliateMailFrom is not set: messages go out from a "
                                           "placeholder sender; set the agency's address");
    return 1;
}

int afl_outbox_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    int first_pass = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    int curl_ready = 0, said_disabled = 0;
    ap_watchdog_t *wd = NULL;
    (void)ptemp;

    for (server_rec *v = s; v; v = v->next) {
        afl_server_conf *sc = ap_get_module_config(v->module_config, &afiliate_module);
        outbox_srv *o;
        apr_status_t rv;

        if (!sc->template_dir)
            continue;
        /* Message-IDs carry the sender's domain, also while delivery is off. */
        sc->mail_host =
            afl_mime_address_domain(pconf, sc->mail_from ? sc->mail_from : AFL_OUTBOX_DEFAULT_FROM);
        if (!sc->smtp_url) {
            if (!first_pass && !said_disabled++)
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v,
                             AFL_TAG ": " AFL_LOGNO(00074) "mail delivery disabled: AfiliateSMTPURL not set; "
                                        "messages wait in the outbox");
            continue;
        }
        o = apr_pcalloc(pconf, sizeof *o);
        o->s = v;
        o->sc = sc;
        if (!outbox_conf(pconf, v, sc, &o->conf, first_pass))
            return HTTP_INTERNAL_SERVER_ERROR;
        if (first_pass)
            continue; /* mod_watchdog starts nothing on the first pass either */
        if (!curl_ready) {
            if (!afl_curl_start(pconf, v))
                return HTTP_INTERNAL_SERVER_ERROR;
            curl_ready = 1;
        }
        if (!wd) {
            wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
            wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
            if (!wd_get_instance || !wd_register_callback) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v,
                             AFL_TAG ": " AFL_LOGNO(00075) "AfiliateSMTPURL needs mod_watchdog (built into "
                                        "Debian's apache2; LoadModule watchdog_module elsewhere)");
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            rv = wd_get_instance(&wd, WATCHDOG_NAME, 0, 1, pconf);
            if (rv != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, rv, v,
                             AFL_TAG ": " AFL_LOGNO(00076) "cannot create the outbox watchdog");
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        rv = wd_register_callback(
            wd, apr_time_from_sec(AFL_SC_INT(sc, outbox_interval, AFL_DEFAULT_OUTBOX_INTERVAL)), o,
            outbox_tick);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, v,
                         AFL_TAG ": " AFL_LOGNO(00077) "cannot register the outbox sender with mod_watchdog");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}
