/* mod_afiliate: mod_dbd glue. Statements are prepared in mod_dbd's
 * post_connect hook, after DBDInitSQL and our own pragmas, because SQLite
 * expires statements prepared before a PRAGMA foreign_keys (guide §5.3). */
#include "mod_afiliate_dbd.h"
#include "mod_afiliate_config.h"

#include "http_config.h"
#include "http_log.h"
#include "mod_dbd.h"
#include "util_mutex.h"
#include "apr_optional.h"
#include "apr_optional_hooks.h"

#include "afl_commit.h"
#include "afl_log.h"

APLOG_USE_MODULE(afiliate);

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) * dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) * dbd_close;

/* SQLite writes: the process's group committer, and the mutex that orders the
 * committers of every child (afl_commit.h). */
#define WRITE_MUTEX "afiliate-write"
static apr_global_mutex_t *write_mutex;
static afl_commit *committer;

static int afl_dbd_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return ap_mutex_register(pconf, WRITE_MUTEX, NULL, APR_LOCK_DEFAULT, 0) == APR_SUCCESS
               ? OK
               : HTTP_INTERNAL_SERVER_ERROR;
}

static int afl_dbd_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s)
{
    apr_status_t rv = ap_global_mutex_create(&write_mutex, NULL, WRITE_MUTEX, NULL, s, pconf, 0);

    (void)plog;
    (void)ptemp;
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, AFL_TAG ": cannot create the write mutex");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* At the child's exit: what its committer did (LogLevel afiliate:info). */
static apr_status_t log_write_stats(void *data)
{
    server_rec *s = data;
    afl_commit_stats t;

    if (!committer)
        return APR_SUCCESS;
    afl_commit_get_stats(committer, &t);
    if (t.commits)
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, s,
            AFL_TAG ": write stats: commits=%" APR_UINT64_T_FMT " bodies=%" APR_UINT64_T_FMT
                    " failed=%" APR_UINT64_T_FMT " max_batch=%" APR_UINT64_T_FMT " statements=%u"
                    " lock_wait_us=%" APR_UINT64_T_FMT " begin_us=%" APR_UINT64_T_FMT
                    " bodies_us=%" APR_UINT64_T_FMT " commit_us=%" APR_UINT64_T_FMT
                    " queue_us=%" APR_UINT64_T_FMT " pages_written=%" APR_UINT64_T_FMT,
            t.commits, t.bodies, t.failed, t.max_batch, afl_store_statements(), t.lock_wait_us,
            t.begin_us, t.bodies_us, t.commit_us, t.queue_us, t.pages_written);
    return APR_SUCCESS;
}

void afl_dbd_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_global_mutex_t *x = write_mutex;

    if (x && apr_global_mutex_child_init(&x, apr_global_mutex_lockfile(x), pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     AFL_TAG ": cannot attach the write mutex; SQLite's busy handler orders "
                             "the writers of this child");
        x = NULL;
    }
    if (afl_commit_create(pchild, x, &committer) != APR_SUCCESS)
        committer = NULL;
    apr_pool_cleanup_register(pchild, s, log_write_stats, apr_pool_cleanup_null);
}

static apr_status_t afl_post_connect(apr_pool_t *pool, dbd_cfg_t *cfg, ap_dbd_t *dbd)
{
    afl_store st = {dbd->driver, dbd->handle, dbd->prepared, NULL, 0};
    afl_server_conf *sc = ap_get_module_config(cfg->server->module_config, &afiliate_module);

    /* The hook runs for every DBD group: only servers that use us. */
    if (!sc || !sc->template_dir)
        return APR_SUCCESS;
    if (afl_store_configure(pool, &st) != APR_SUCCESS)
        return APR_EGENERAL;
    return afl_store_prepare_all(pool, &st);
}

void afl_dbd_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(afl_dbd_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(afl_dbd_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(dbd, post_connect, afl_post_connect, NULL, NULL, APR_HOOK_LAST);
}

const char *afl_dbd_init(void)
{
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_acquire || !dbd_open || !dbd_close)
        return "mod_dbd is not loaded: mod_afiliate needs it (a2enmod dbd)";
    return NULL;
}

afl_store *afl_dbd_store(request_rec *r)
{
    ap_dbd_t *dbd;
    afl_store *st;

    if (!dbd_acquire || !(dbd = dbd_acquire(r))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AFL_TAG ": no database connection");
        return NULL;
    }
    st = apr_palloc(r->pool, sizeof *st);
    st->driver = dbd->driver;
    st->handle = dbd->handle;
    st->prepared = dbd->prepared;
    st->commit = strcmp(apr_dbd_name(dbd->driver), "sqlite3") ? NULL : committer;
    st->in_txn = 0;
    if (!afl_store_ready(st)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      AFL_TAG ": the database connection has no prepared statements "
                              "(see the earlier error; check the schema and DBDInitSQL)");
        return NULL;
    }
    return st;
}

struct afl_dbd_conn {
    server_rec *s;
    ap_dbd_t *dbd;
};

afl_dbd_conn *afl_dbd_open(apr_pool_t *p, server_rec *s, afl_store **stp)
{
    afl_dbd_conn *c;
    afl_store *st;
    ap_dbd_t *dbd;

    if (!dbd_open || !(dbd = dbd_open(p, s))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, AFL_TAG ": no database connection");
        return NULL;
    }
    c = apr_palloc(p, sizeof *c);
    c->s = s;
    c->dbd = dbd;
    st = apr_palloc(p, sizeof *st);
    st->driver = dbd->driver;
    st->handle = dbd->handle;
    st->prepared = dbd->prepared;
    st->commit = strcmp(apr_dbd_name(dbd->driver), "sqlite3") ? NULL : committer;
    st->in_txn = 0;
    if (!afl_store_ready(st)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     AFL_TAG ": the database connection has no prepared statements "
                             "(see the earlier error; check the schema and DBDInitSQL)");
        afl_dbd_release(c);
        return NULL;
    }
    *stp = st;
    return c;
}

void afl_dbd_release(afl_dbd_conn *c)
{
    if (c && c->dbd) {
        dbd_close(c->s, c->dbd);
        c->dbd = NULL;
    }
}
