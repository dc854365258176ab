/* mod_afiliate: operating counters (httpd glue). One anonymous shared segment
 * per server that runs the module, created by the parent in post_config and
 * inherited by every child it forks, so every child adds to the same words.
 * The segments are remembered in ap_retained_data (which outlives the module's
 * own unloading on a restart) under the server's name, port and rank: a
 * graceful restart finds them again and the counters go on. */
#include "mod_afiliate_status.h"
#include "mod_afiliate_config.h"
#include "mod_afiliate_dbd.h"

#include "http_config.h"
#include "http_main.h"
#include "http_log.h"
#include "http_protocol.h"
#include "mod_status.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_optional.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "afl_breaker.h"
#include "afl_identity.h"
#include "afl_log.h"
#include "afl_store.h"

APLOG_USE_MODULE(afiliate);

#define RETAINED_KEY "mod_afiliate-status"

typedef struct {
    apr_hash_t *segments; /* "host:port#rank" -> afl_stats* (in the process pool) */
} status_retained;

/* The server whose counters this thread's database calls go to. */
static __thread afl_stats *current;

void afl_status_enter(afl_stats *s)
{
    current = s;
}

static void observe(afl_store_obs what, apr_interval_time_t usec)
{
    afl_stats *s = current;

    if (what == AFL_STORE_OBS_CALL)
        afl_stats_db_call(s, usec);
    else
        afl_stats_inc(s, AFL_STATS_DB_ERRORS);
}

static const char *server_label(apr_pool_t *p, server_rec *v)
{
    const char *host = v->server_hostname ? v->server_hostname : "-";
    return v->port ? apr_psprintf(p, "%s:%u", host, (unsigned)v->port) : host;
}

static afl_stats *segment(server_rec *s, status_retained *ret, const char *key)
{
    apr_pool_t *keep = s->process->pool;
    afl_stats *st = apr_hash_get(ret->segments, key, APR_HASH_KEY_STRING);
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    if (st) {
        /* A segment left by a module of another layout is started again. */
        if (!afl_stats_valid(st))
            afl_stats_init(st, apr_time_now());
        return st;
    }
    rv = apr_shm_create(&shm, sizeof *st, NULL, keep);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     AFL_TAG
                     ": " AFL_LOGNO(00084) "cannot create the shared memory of the counters; "
                                           "server-status shows none for this server");
        return NULL;
    }
    st = apr_shm_baseaddr_get(shm);
    afl_stats_init(st, apr_time_now());
    apr_hash_set(ret->segments, apr_pstrdup(keep, key), APR_HASH_KEY_STRING, st);
    return st;
}

int afl_status_post_config(apr_pool_t *pconf, server_rec *s)
{
    status_retained *ret = ap_retained_data_get(RETAINED_KEY);
    apr_hash_t *rank = apr_hash_make(pconf);

    if (!ret) {
        ret = ap_retained_data_create(RETAINED_KEY, sizeof *ret);
        ret->segments = apr_hash_make(s->process->pool);
    }
    for (server_rec *v = s; v; v = v->next) {
        afl_server_conf *sc = ap_get_module_config(v->module_config, &afiliate_module);
        const char *label;
        int *n;

        if (!sc->template_dir)
            continue;
        /* Several servers may share a name and port: their rank tells them apart. */
        label = server_label(pconf, v);
        n = apr_hash_get(rank, label, APR_HASH_KEY_STRING);
        if (!n) {
            n = apr_pcalloc(pconf, sizeof *n);
            apr_hash_set(rank, label, APR_HASH_KEY_STRING, n);
        }
        sc->stats = segment(v, ret, apr_psprintf(pconf, "%s#%d", label, (*n)++));
    }
    return OK;
}

void afl_status_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    afl_store_set_observer(observe);
}

void afl_status_outcome(afl_stats *s, afl_stats_route route, const afl_flow_out *out)
{
    static const afl_stats_counter events[] = {
        [AFL_FLOW_EV_LOCATED] = AFL_STATS_LOCATED,
        [AFL_FLOW_EV_NEW_CURP] = AFL_STATS_NEW_CURP,
        [AFL_FLOW_EV_ASSIGNED] = AFL_STATS_ASSIGNED,
        [AFL_FLOW_EV_REFUSED_CAPTCHA] = AFL_STATS_REFUSED_CAPTCHA,
        [AFL_FLOW_EV_REFUSED_RATE] = AFL_STATS_REFUSED_RATE,
        [AFL_FLOW_EV_INVALID_CURP] = AFL_STATS_INVALID_CURP,
        [AFL_FLOW_EV_NOT_IN_REGISTRY] = AFL_STATS_NOT_IN_REGISTRY,
        [AFL_FLOW_EV_IDENTITY_DOWN] = AFL_STATS_IDENTITY_UNAVAILABLE,
    };

    if (!s)
        return;
    if (out->event > AFL_FLOW_EV_NONE && (size_t)out->event < sizeof events / sizeof events[0])
        afl_stats_inc(s, events[out->event]);
    if (out->kind == AFL_FLOW_PDF) {
        if (route == AFL_STATS_R_COMPROBANTE)
            afl_stats_inc(s, AFL_STATS_PDF_COMPROBANTE);
        else if (route == AFL_STATS_R_TARJETA)
            afl_stats_inc(s, AFL_STATS_PDF_TARJETA);
        else if (route == AFL_STATS_R_CONSTANCIA)
            afl_stats_inc(s, AFL_STATS_PDF_CONSTANCIA);
    }
}

/* The outbox backlog of server v, read now (known 0 when the database cannot
 * be read: logged by the dbd glue). */
static void backlog(request_rec *r, server_rec *v, afl_stats_live *live)
{
    afl_store *st = NULL;
    afl_dbd_conn *c = afl_dbd_open(r->pool, v, &st);
    long long count = 0, oldest = 0;
    long long now = (long long)apr_time_sec(r->request_time);

    live->known = 0;
    if (!c)
        return;
    if (afl_store_outbox_backlog(r->pool, st, &count, &oldest) == AFL_STORE_OK) {
        live->known = 1;
        live->pending = count;
        live->oldest_age = count && oldest && now > oldest ? now - oldest : 0;
    }
    afl_dbd_release(c);
}

/* The RENAPO breaker of a remote server (docs/renapo.md): state, times it
 * opened since the start, students waiting on RENAPO now. */
static void renapo_status(request_rec *r, int flags, afl_server_conf *sc)
{
    static const char *const names[] = {"closed", "open", "half-open"};
    afl_breaker *b = sc->identity ? sc->identity->breaker : NULL;
    const char *state;

    if (!b)
        return;
    state = names[afl_breaker_current(b)];
    if (flags & (AP_STATUS_SHORT | AP_STATUS_NOTABLE))
        ap_rprintf(r,
                   "%sAfiliateRenapoBreaker: %s\nAfiliateRenapoBreakerOpened: %u\n"
                   "AfiliateRenapoInFlight: %u\n%s",
                   flags & AP_STATUS_SHORT ? "" : "<pre>", state, apr_atomic_read32(&b->opened),
                   apr_atomic_read32(&b->inflight), flags & AP_STATUS_SHORT ? "" : "</pre>\n");
    else
        ap_rprintf(r,
                   "<p>RENAPO: breaker %s, opened %u times since the start, %u students waiting "
                   "on RENAPO now</p>\n",
                   state, apr_atomic_read32(&b->opened), apr_atomic_read32(&b->inflight));
}

static int status_hook(request_rec *r, int flags)
{
    /* The report's own database call is not counted. */
    afl_status_enter(NULL);
    for (server_rec *v = ap_server_conf; v; v = v->next) {
        afl_server_conf *sc = ap_get_module_config(v->module_config, &afiliate_module);
        afl_stats_live live;
        const char *label;

        if (!sc->template_dir || !sc->stats)
            continue;
        backlog(r, v, &live);
        label = server_label(r->pool, v);
        if (flags & AP_STATUS_SHORT)
            ap_rputs(afl_stats_format_auto(r->pool, sc->stats, &live, label, apr_time_now()), r);
        else if (flags & AP_STATUS_NOTABLE)
            /* ?notable: the same lines, preformatted (they hold no markup). */
            ap_rvputs(r, "<h2>Afiliate</h2>\n<pre>",
                      afl_stats_format_auto(r->pool, sc->stats, &live, label, apr_time_now()),
                      "</pre>\n", NULL);
        else
            ap_rputs(afl_stats_format_html(r->pool, sc->stats, &live, label, apr_time_now()), r);
        renapo_status(r, flags, sc);
    }
    return OK;
}

void afl_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
