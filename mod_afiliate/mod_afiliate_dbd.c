/* mod_afiliate: mod_dbd glue. Statements are prepared in mod_dbd's
 * post_connect hook, after DBDInitSQL and our own pragmas, because SQLite
 * expires statements prepared before a PRAGMA foreign_keys (guide §5.3). */
#include "mod_afiliate_dbd.h"
#include "mod_afiliate_config.h"

#include "http_log.h"
#include "mod_dbd.h"
#include "apr_optional.h"
#include "apr_optional_hooks.h"

#include "afl_log.h"

APLOG_USE_MODULE(afiliate);

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) * dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) * dbd_close;

/* One SQLite writer thread per process (see afl_store.h). */
static apr_thread_mutex_t *sqlite_write_lock;

void afl_dbd_child_init(apr_pool_t *pchild)
{
    if (apr_thread_mutex_create(&sqlite_write_lock, APR_THREAD_MUTEX_NESTED, pchild) != APR_SUCCESS)
        sqlite_write_lock = NULL;
}

static apr_status_t afl_post_connect(apr_pool_t *pool, dbd_cfg_t *cfg, ap_dbd_t *dbd)
{
    afl_store st = {dbd->driver, dbd->handle, dbd->prepared, NULL};
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
    st->write_lock = strcmp(apr_dbd_name(dbd->driver), "sqlite3") ? NULL : sqlite_write_lock;
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
    st->write_lock = strcmp(apr_dbd_name(dbd->driver), "sqlite3") ? NULL : sqlite_write_lock;
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
