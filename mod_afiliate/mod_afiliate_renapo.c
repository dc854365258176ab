/* mod_afiliate: RENAPO settings and the breaker's shared memory (httpd glue,
 * see mod_afiliate_renapo.h). */
#include "mod_afiliate_renapo.h"
#include "mod_afiliate_outbox.h"

#include "http_config.h"
#include "http_log.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "afl_breaker.h"
#include "afl_identity.h"
#include "afl_log.h"
#include "afl_renapo.h"

#include <sys/stat.h>

APLOG_USE_MODULE(afiliate);

/* A secret file (key, credentials) readable by group or others: a warning. */
static void warn_if_shared(server_rec *s, const char *directive, const char *path)
{
    struct stat sb;

    if (path && stat(path, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00078) "%s %s is readable by its group or others: make it mode 0600, "
                                "owned by root",
                         directive, path);
}

/* A PEM file named by directive (path NULL: none, *out empty). 0 when unusable. */
static int read_pem(apr_pool_t *p, server_rec *s, const char *directive, const char *path,
                    afl_renapo_pem *out)
{
    const char *err = NULL;

    out->data = NULL;
    out->len = 0;
    if (!path)
        return 1;
    if (afl_renapo_read_pem(p, path, out, &err) != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00079) "%s: %s", directive, err);
        return 0;
    }
    return 1;
}

int afl_renapo_configure(apr_pool_t *pconf, server_rec *s, afl_server_conf *sc)
{
    afl_identity *id;
    int mode = AFL_SC_INT(sc, identity_source, AFL_IDENTITY_LOCAL);

    sc->identity = NULL;
    if (mode == AFL_IDENTITY_LOCAL)
        return 1;
    if (!sc->renapo_url) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     AFL_TAG ": " AFL_LOGNO(00080) "AfiliateIdentitySource %s needs AfiliateRenapoURL (the https:// "
                                "address of RENAPO's consulta por CURP)",
                         mode == AFL_IDENTITY_REMOTE ? "remote" : "remote+local");
        return 0;
    }
    if (sc->renapo_client_key && !sc->renapo_client_cert) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, 0, s,
            AFL_TAG ": " AFL_LOGNO(00081) "AfiliateRenapoClientKey needs AfiliateRenapoClientCert");
        return 0;
    }
    id = apr_pcalloc(pconf, sizeof *id);
    id->mode = mode;
    id->renapo.url = sc->renapo_url;
    id->renapo.timeout_ms = AFL_SC_INT(sc, renapo_timeout, AFL_RENAPO_DEFAULT_TIMEOUT_MS);
    /* Read now, as root: the children use the copies in memory. */
    if (!read_pem(pconf, s, "AfiliateRenapoCAFile", sc->renapo_ca_file, &id->renapo.ca) ||
        !read_pem(pconf, s, "AfiliateRenapoClientCert", sc->renapo_client_cert, &id->renapo.cert) ||
        !read_pem(pconf, s, "AfiliateRenapoClientKey", sc->renapo_client_key, &id->renapo.key))
        return 0;
    if (sc->renapo_credentials) {
        const char *err = NULL;
        if (afl_renapo_read_credentials(pconf, sc->renapo_credentials, &id->renapo.bearer,
                                        &id->renapo.userpwd, &err) != 0) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         AFL_TAG ": " AFL_LOGNO(00082) "AfiliateRenapoCredentialsFile: %s", err);
            return 0;
        }
        warn_if_shared(s, "AfiliateRenapoCredentialsFile", sc->renapo_credentials);
    }
    warn_if_shared(s, "AfiliateRenapoClientKey",
                   sc->renapo_client_key ? sc->renapo_client_key : NULL);
    id->cache_ttl = AFL_SC_INT(sc, renapo_cache_ttl, AFL_IDENTITY_DEFAULT_CACHE_TTL);
    id->breaker_conf.failures = AFL_SC_INT(sc, breaker_failures, AFL_BREAKER_DEFAULT_FAILURES);
    id->breaker_conf.window = AFL_SC_INT(sc, breaker_window, AFL_BREAKER_DEFAULT_WINDOW);
    id->breaker_conf.cooldown = AFL_SC_INT(sc, breaker_cooldown, AFL_BREAKER_DEFAULT_COOLDOWN);
    id->breaker_conf.max_inflight =
        AFL_SC_INT(sc, breaker_max_inflight, AFL_BREAKER_DEFAULT_MAX_INFLIGHT);
    sc->identity = id;
    return 1;
}

int afl_renapo_post_config(apr_pool_t *pconf, server_rec *s)
{
    int curl_ready = 0;

    for (server_rec *v = s; v; v = v->next) {
        afl_server_conf *sc = ap_get_module_config(v->module_config, &afiliate_module);
        apr_shm_t *shm = NULL;
        apr_status_t rv;

        if (!sc->template_dir || !sc->identity)
            continue;
        if (!curl_ready) {
            if (!afl_curl_start(pconf, v))
                return HTTP_INTERNAL_SERVER_ERROR;
            afl_renapo_global_init();
            curl_ready = 1;
        }
        /* A new breaker per configuration cycle: a restart starts it closed. */
        rv = apr_shm_create(&shm, sizeof(afl_breaker), NULL, pconf);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, v,
                         AFL_TAG ": " AFL_LOGNO(00083) "cannot create the shared memory of the RENAPO breaker");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        sc->identity->breaker = apr_shm_baseaddr_get(shm);
        afl_breaker_init(sc->identity->breaker);
    }
    return OK;
}
