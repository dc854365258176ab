/* mod_afiliate: mod_dbd glue. Statements are prepared in mod_dbd's
 * post_connect hook, after DBDInitSQL and our own pragmas, because SQLite
 * expires statements prepared before a PRAGMA foreign_keys
 * (docs/architecture.md, Database connections). */
#include "mod_afiliate_dbd.h"
#include "mod_afiliate_config.h"

#include "http_config.h"
#include "http_log.h"
#include "mod_dbd.h"
#include "unixd.h"
#include "util_mutex.h"
#include "apr_optional.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"

#include "afl_access.h"
#include "afl_db.h"
#include "afl_commit.h"
#include "afl_log.h"
#include "afl_migrate.h"
#include "afl_vfs.h"

#include <errno.h>
#include <grp.h>
#include <libpq-fe.h>
#include <unistd.h>

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

/* Registered on pconf after mod_so's unloading of this module, so run before it. */
static apr_status_t uninstall_vfs(void *data)
{
    (void)data;
    afl_vfs_uninstall();
    return APR_SUCCESS;
}

static int afl_dbd_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s)
{
    apr_status_t rv = ap_global_mutex_create(&write_mutex, NULL, WRITE_MUTEX, NULL, s, pconf, 0);

    (void)plog;
    (void)ptemp;
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     AFL_TAG ": " AFL_LOGNO(00036) "cannot create the write mutex");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Before mod_dbd's children connect: a connection SQLite could only open
     * read-only is not made at all, rather than kept in the pool (afl_vfs.h). */
    if (afl_vfs_install() != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00037) "cannot install the SQLite VFS");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, uninstall_vfs, apr_pool_cleanup_null);
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
            AFL_TAG ": " AFL_LOGNO(00038) "write stats: commits=%" APR_UINT64_T_FMT " bodies=%" APR_UINT64_T_FMT
                       " failed=%" APR_UINT64_T_FMT " max_batch=%" APR_UINT64_T_FMT " statements=%u"
                       " lock_wait_us=%" APR_UINT64_T_FMT " begin_us=%" APR_UINT64_T_FMT
                       " bodies_us=%" APR_UINT64_T_FMT " commit_us=%" APR_UINT64_T_FMT
                       " queue_us=%" APR_UINT64_T_FMT " pages_written=%" APR_UINT64_T_FMT
                       " posted=%" APR_UINT64_T_FMT,
                t.commits, t.bodies, t.failed, t.max_batch, afl_store_statements(), t.lock_wait_us,
                t.begin_us, t.bodies_us, t.commit_us, t.queue_us, t.pages_written, t.posted);
    return APR_SUCCESS;
}

void afl_dbd_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_global_mutex_t *x = write_mutex;

    if (x && apr_global_mutex_child_init(&x, apr_global_mutex_lockfile(x), pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00039) "cannot attach the write mutex; SQLite's busy handler orders "
                                "the writers of this child");
        x = NULL;
    }
    if (afl_commit_create(pchild, x, &committer) != APR_SUCCESS)
        committer = NULL;
    apr_pool_cleanup_register(pchild, s, log_write_stats, apr_pool_cleanup_null);
}

static const char *migrate_cmd(apr_pool_t *p, const dbd_cfg_t *cfg);

/* Every new connection: the schema checked at start-up may have changed since (a
 * PostgreSQL unreachable then, or migrated by a newer release since). */
static int schema_current(apr_pool_t *pool, dbd_cfg_t *cfg, ap_dbd_t *dbd)
{
    afl_db *db = afl_db_wrap(pool, dbd->driver, dbd->handle, dbd->prepared);
    const char *why = NULL;
    int ok = db && afl_migrate_check(db, pool, afl_migrate_latest(), &why) == 0;

    if (!ok)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, cfg->server,
                     AFL_TAG
                     ": " AFL_LOGNO(00040) "database connection refused: %s; upgrade it with: %s",
                                    why ? why : "out of memory", migrate_cmd(pool, cfg));
    afl_db_close(db);
    return ok;
}

/* PostgreSQL: mod_dbd's connection check (apr_dbd_check_conn) mends a broken
 * connection in place with PQreset. The handle stays, but the new session has
 * none of the prepared statements, and post_connect does not run again: every
 * statement would fail until the connection expired. The server process of
 * the session, remembered on the connection's pool, tells a mended one. */
#define PG_SESSION_KEY "afiliate:pg-session"

static int is_pgsql(const ap_dbd_t *dbd)
{
    return !strcmp(apr_dbd_name(dbd->driver), "pgsql");
}

static int pg_backend(const ap_dbd_t *dbd)
{
    PGconn *conn = apr_dbd_native_handle(dbd->driver, dbd->handle);

    return conn ? PQbackendPID(conn) : 0;
}

static void pg_remember_session(ap_dbd_t *dbd)
{
    int *pid = apr_palloc(dbd->pool, sizeof *pid);

    *pid = pg_backend(dbd);
    apr_pool_userdata_set(pid, PG_SESSION_KEY, NULL, dbd->pool);
}

static int pg_session_changed(ap_dbd_t *dbd)
{
    void *pid = NULL;

    apr_pool_userdata_get(&pid, PG_SESSION_KEY, dbd->pool);
    return !pid || *(int *)pid != pg_backend(dbd);
}

/* What every session needs before it serves: settings, the schema version,
 * the prepared statements. */
static apr_status_t setup_session(apr_pool_t *pool, dbd_cfg_t *cfg, ap_dbd_t *dbd)
{
    /* pool is the connection's: the statements prepared below live as long. */
    afl_store st = {afl_db_wrap(pool, dbd->driver, dbd->handle, dbd->prepared), NULL, 0};

    /* Pragmas first: busy_timeout lets the version check wait out another
     * child's connection opening (WAL recovery) instead of failing. */
    if (afl_store_configure(pool, &st) != APR_SUCCESS)
        return APR_EGENERAL;
    if (!schema_current(pool, cfg, dbd))
        return APR_EGENERAL;
    if (afl_store_prepare_all(&st) != APR_SUCCESS)
        return APR_EGENERAL;
    if (is_pgsql(dbd))
        pg_remember_session(dbd);
    return APR_SUCCESS;
}

static apr_status_t afl_post_connect(apr_pool_t *pool, dbd_cfg_t *cfg, ap_dbd_t *dbd)
{
    afl_server_conf *sc = ap_get_module_config(cfg->server->module_config, &afiliate_module);

    /* The hook runs for every DBD group: only servers that use us. */
    if (!sc || !sc->template_dir)
        return APR_SUCCESS;
    return setup_session(pool, cfg, dbd);
}

static dbd_cfg_t *dbd_config(server_rec *s);

/* A PostgreSQL connection that mod_dbd mended since its last use is set up
 * again on its own pool (a reconnection is rare; what it allocates is small). */
static int session_ready(server_rec *s, ap_dbd_t *dbd)
{
    dbd_cfg_t *cfg;
    int n = 0;

    if (!is_pgsql(dbd) || !pg_session_changed(dbd))
        return 1;
    cfg = dbd_config(s);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 AFL_TAG
                 ": " AFL_LOGNO(00041) "a PostgreSQL connection was re-established; preparing its "
                                       "statements again");
    /* A setup cut short earlier on this session left some statements behind. */
    if (apr_dbd_query(dbd->driver, dbd->handle, &n, "DEALLOCATE ALL") != 0)
        return 0;
    return cfg && setup_session(dbd->pool, cfg, dbd) == APR_SUCCESS;
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

/* The store over a connection from mod_dbd's pool, set up again first if
 * PostgreSQL's session was re-established; NULL (logged) when it cannot serve. */
static afl_store *store_of(apr_pool_t *p, server_rec *s, ap_dbd_t *dbd)
{
    afl_store *st;

    if (!session_ready(s, dbd)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     AFL_TAG
                     ": " AFL_LOGNO(00042) "a re-established database connection cannot be set up");
        return NULL;
    }
    st = apr_palloc(p, sizeof *st);
    st->db = afl_db_wrap(p, dbd->driver, dbd->handle, dbd->prepared);
    st->commit = strcmp(apr_dbd_name(dbd->driver), "sqlite3") ? NULL : committer;
    st->in_txn = 0;
    if (!afl_store_ready(st)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00043) "the database connection has no prepared statements "
                                "(see the earlier error; check the schema and DBDInitSQL)");
        return NULL;
    }
    return st;
}

afl_store *afl_dbd_store(request_rec *r)
{
    ap_dbd_t *dbd;

    if (!dbd_acquire || !(dbd = dbd_acquire(r))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      AFL_TAG ": " AFL_LOGNO(00044) "no database connection");
        return NULL;
    }
    return store_of(r->pool, r->server, dbd);
}

struct afl_dbd_conn {
    server_rec *s;
    ap_dbd_t *dbd;
};

afl_dbd_conn *afl_dbd_open(apr_pool_t *p, server_rec *s, afl_store **stp)
{
    afl_dbd_conn *c;
    ap_dbd_t *dbd;

    if (!dbd_open || !(dbd = dbd_open(p, s))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00045) "no database connection");
        return NULL;
    }
    c = apr_palloc(p, sizeof *c);
    c->s = s;
    c->dbd = dbd;
    if (!(*stp = store_of(p, s, dbd))) {
        afl_dbd_release(c);
        return NULL;
    }
    return c;
}

void afl_dbd_release(afl_dbd_conn *c)
{
    if (c && c->dbd) {
        dbd_close(c->s, c->dbd);
        c->dbd = NULL;
    }
}

/* ------------------------------------------------------------------ start-up checks */

/* mod_dbd keeps DBDriver/DBDParams in a private per-server struct whose first
 * member is the dbd_cfg_t of mod_dbd.h (mod_dbd.c, httpd 2.4) and exports no
 * accessor. Its connection pool only exists from child_init on, so a check
 * that must refuse the start reads the settings here and opens its own
 * short connection. */
typedef struct {
    dbd_cfg_t *cfg;
} dbd_svr_view;

static dbd_cfg_t *dbd_config(server_rec *s)
{
    module *m = ap_find_linked_module("mod_dbd.c");
    const dbd_svr_view *v = m ? ap_get_module_config(s->module_config, m) : NULL;

    return v ? v->cfg : NULL;
}

/* The conninfo without its password, for a log line. */
static const char *safe_params(apr_pool_t *p, const char *params)
{
    const char *out = "";
    char *last, *tok = apr_strtok(apr_pstrdup(p, params), " \t", &last);

    for (; tok; tok = apr_strtok(NULL, " \t", &last))
        if (strncmp(tok, "password=", 9))
            out = *out ? apr_pstrcat(p, out, " ", tok, NULL) : tok;
    return out;
}

static const char *migrate_cmd(apr_pool_t *p, const dbd_cfg_t *cfg)
{
    if (!strcmp(cfg->name, "sqlite3"))
        return apr_psprintf(p, "afiliatectl migrate --db %s", cfg->params);
    return apr_psprintf(p, "afiliatectl migrate --driver pgsql --db \"%s\"",
                        safe_params(p, cfg->params));
}

/* The children run as User/Group: SQLite needs to write the database and, beside
 * it, its -wal and -shm files. Only meaningful when httpd starts as root. */
static int sqlite_files_ok(apr_pool_t *p, server_rec *s, const char *path)
{
    const char *dir, *why = NULL, *slash = strrchr(path, '/');
    gid_t groups[64];
    int ngroups = (int)(sizeof groups / sizeof *groups);
    uid_t uid = ap_unixd_config.user_id;

    if (geteuid() != 0 || uid == (uid_t)-1 || uid == 0)
        return 1;
    if (!ap_unixd_config.user_name ||
        getgrouplist(ap_unixd_config.user_name, ap_unixd_config.group_id, groups, &ngroups) < 0) {
        groups[0] = ap_unixd_config.group_id;
        ngroups = 1;
    }
    dir = slash ? (slash == path ? "/" : apr_pstrmemdup(p, path, (apr_size_t)(slash - path))) : ".";
    if (afl_access_check(p, dir, uid, groups, ngroups, AFL_ACCESS_W | AFL_ACCESS_X, &why) ||
        afl_access_check(p, path, uid, groups, ngroups, AFL_ACCESS_R | AFL_ACCESS_W, &why)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00046) "the database %s is not usable by the server user %s: %s (SQLite "
                                "writes the database and its -wal and -shm files in that folder; "
                                "give the folder and the files to %s)",
                         path, ap_unixd_config.user_name, why, ap_unixd_config.user_name);
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        const char *f = apr_pstrcat(p, path, i ? "-shm" : "-wal", NULL);
        if (access(f, F_OK) == 0 &&
            afl_access_check(p, f, uid, groups, ngroups, AFL_ACCESS_R | AFL_ACCESS_W, &why)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         AFL_TAG ": " AFL_LOGNO(00047) "the database file %s is not usable by the server user %s: %s",
                             f, ap_unixd_config.user_name, why);
            return 0;
        }
    }
    return 1;
}

int afl_dbd_check_database(apr_pool_t *ptemp, server_rec *s)
{
    const dbd_cfg_t *cfg = dbd_config(s);
    const char *err = NULL, *why = NULL;
    afl_db *db = NULL;
    int sqlite, ok;

    if (!cfg || !cfg->name || (strcmp(cfg->name, "sqlite3") && strcmp(cfg->name, "pgsql"))) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00048) "DBDriver must be sqlite3 or pgsql for this server, not %s",
                         cfg && cfg->name ? cfg->name : "unset");
        return 0;
    }
    sqlite = !strcmp(cfg->name, "sqlite3");
    if (sqlite) {
        /* sqlite3_open would create a missing file, empty, and as root. */
        if (access(cfg->params, F_OK) != 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                         AFL_TAG ": " AFL_LOGNO(00049) "the database %s (DBDParams) does not exist: create it with "
                                    "%s",
                             cfg->params, migrate_cmd(ptemp, cfg));
            return 0;
        }
        if (!sqlite_files_ok(ptemp, s, cfg->params))
            return 0;
    }
    if (afl_db_open(ptemp, cfg->name, cfg->params, &db, &err)) {
        if (sqlite) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         AFL_TAG ": " AFL_LOGNO(00050) "the database %s: %s", cfg->params,
                                                err ? err : "cannot open it");
            return 0;
        }
        /* A PostgreSQL that is down now may be back by the first request, and
         * mod_dbd retries; post_connect checks the version then. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00051) "cannot check the database's schema version at start-up: %s",
                         err ? err : "cannot connect");
        return 1;
    }
    ok = afl_migrate_check(db, ptemp, afl_migrate_latest(), &why) == 0;
    afl_db_close(db);
    if (!ok)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00052) "refusing to start: the database %s: %s; upgrade it with: %s",
                         sqlite ? cfg->params : "(DBDParams)", why, migrate_cmd(ptemp, cfg));
    return ok;
}
