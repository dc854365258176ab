/* mod_afiliate: the Afiliate* directives, create and merge rules. */
#include "mod_afiliate_config.h"

#include "apr_network_io.h"

#include "http_log.h"
#include "apr_strings.h"

#include "afl_crash.h"
#include "afl_identity.h"
#include "afl_mime.h"
#include "afl_sign.h"
#include "afl_smtp.h"
#include "afl_vigencia.h"

/* A member of a configuration struct and how it merges: from the added
 * configuration when its leader is set there, else from the base. A member
 * leads itself, or follows the member given with it in one directive. */
typedef enum {
    M_PTR, /* a pointer, NULL when unset */
    M_INT, /* an int, AFL_UNSET when unset */
} member_kind;

typedef struct {
    apr_size_t offset, leader;
    member_kind kind, leader_kind;
} member;

#define S_(kind, f)                                                                                \
    {                                                                                              \
        APR_OFFSETOF(afl_server_conf, f), APR_OFFSETOF(afl_server_conf, f), kind, kind             \
    }
#define S_WITH(kind, f, lkind, lead)                                                               \
    {                                                                                              \
        APR_OFFSETOF(afl_server_conf, f), APR_OFFSETOF(afl_server_conf, lead), kind, lkind         \
    }
#define D_(kind, f)                                                                                \
    {                                                                                              \
        APR_OFFSETOF(afl_dir_conf, f), APR_OFFSETOF(afl_dir_conf, f), kind, kind                   \
    }

#define COUNT(a) (sizeof(a) / sizeof *(a))

static const member server_members[] = {
    S_(M_PTR, template_dir),
    S_(M_PTR, secret_file),
    S_(M_PTR, font),
    S_(M_PTR, font_bold),
    S_(M_PTR, captcha_font),
    S_(M_PTR, trusted_proxies),
    S_(M_INT, session_timeout),
    S_(M_PTR, smtp_url),
    S_(M_PTR, smtp_credentials),
    S_(M_PTR, smtp_ca_file),
    S_(M_INT, smtp_require_tls),
    /* The display name goes with the address it was given with. */
    S_(M_PTR, mail_from),
    S_WITH(M_PTR, mail_from_name, M_PTR, mail_from),
    S_(M_INT, outbox_interval),
    S_(M_INT, outbox_max_attempts),
    /* Both bounds of the back-off from the one AfiliateOutboxBackoff that set them. */
    S_(M_INT, outbox_backoff_min),
    S_WITH(M_INT, outbox_backoff_max, M_INT, outbox_backoff_min),
    S_(M_INT, resend_limit),
    S_(M_INT, resend_daily_curp),
    S_(M_INT, resend_daily_address),
    /* The key loaded from the file named in the same configuration. */
    S_(M_PTR, signing_key_file),
    S_WITH(M_PTR, sign_key, M_PTR, signing_key_file),
    S_(M_PTR, public_url),
    S_(M_PTR, periodo_fin),
    S_(M_INT, identity_source),
    S_(M_PTR, renapo_url),
    S_(M_INT, renapo_timeout),
    S_(M_PTR, renapo_ca_file),
    /* The key goes with the certificate it was given with. */
    S_(M_PTR, renapo_client_cert),
    S_WITH(M_PTR, renapo_client_key, M_PTR, renapo_client_cert),
    S_(M_PTR, renapo_credentials),
    S_(M_INT, renapo_cache_ttl),
    /* The knobs of the breaker go together. */
    S_(M_INT, breaker_failures),
    S_WITH(M_INT, breaker_window, M_INT, breaker_failures),
    S_WITH(M_INT, breaker_cooldown, M_INT, breaker_failures),
    S_WITH(M_INT, breaker_max_inflight, M_INT, breaker_failures),
    S_(M_INT, confirm_email),
    S_(M_INT, confirm_minutes),
};

static const member dir_members[] = {
    D_(M_PTR, base),       D_(M_INT, rate_limit),
    D_(M_INT, fail_limit), D_(M_INT, address_fail_limit),
    D_(M_INT, curp_limit), D_(M_INT, email_limit),
    D_(M_INT, max_body),
};

/* A new configuration of size bytes: its int members AFL_UNSET, the rest 0. */
static void *created(apr_pool_t *p, apr_size_t size, const member *m, size_t n)
{
    char *conf = apr_pcalloc(p, size);

    for (; n--; m++)
        if (m->kind == M_INT)
            *(int *)(conf + m->offset) = AFL_UNSET;
    return conf;
}

static int member_set(const void *conf, apr_size_t offset, member_kind kind)
{
    const char *at = (const char *)conf + offset;

    return kind == M_INT ? *(const int *)at != AFL_UNSET : *(const void *const *)at != NULL;
}

/* A configuration of size bytes: every member from add or base (see member). */
static void *merged(apr_pool_t *p, apr_size_t size, const void *base, const void *add,
                    const member *m, size_t n)
{
    char *c = apr_pcalloc(p, size);

    for (; n--; m++) {
        const char *from = member_set(add, m->leader, m->leader_kind) ? add : base;

        if (m->kind == M_INT)
            *(int *)(c + m->offset) = *(const int *)(from + m->offset);
        else
            *(const void **)(c + m->offset) = *(const void *const *)(from + m->offset);
    }
    return c;
}

void *afl_create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return created(p, sizeof(afl_server_conf), server_members, COUNT(server_members));
}

void *afl_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    return merged(p, sizeof(afl_server_conf), basev, addv, server_members, COUNT(server_members));
}

void *afl_create_dir_conf(apr_pool_t *p, char *dir)
{
    afl_dir_conf *c = created(p, sizeof *c, dir_members, COUNT(dir_members));
    /* Routes are relative to the <Location> path; strip a trailing slash. */
    if (dir && *dir == '/') {
        apr_size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        c->base = n == 1 ? "" : apr_pstrmemdup(p, dir, n);
    }
    return c;
}

void *afl_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    return merged(p, sizeof(afl_dir_conf), basev, addv, dir_members, COUNT(dir_members));
}

static afl_server_conf *server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &afiliate_module);
}

/* Parse a whole decimal number within [lo, hi]; NULL on success, else an error string. */
static const char *parse_int(cmd_parms *cmd, const char *arg, int lo, int hi, int *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || v < lo || v > hi)
        return apr_psprintf(cmd->pool, "%s must be a whole number between %d and %d, not '%s'",
                            cmd->directive->directive, lo, hi, arg);
    *out = (int)v;
    return NULL;
}

/* arg relative to the server root into *slot; NULL, or the directive's error. */
static const char *server_path_into(cmd_parms *cmd, const char *arg, const char **slot)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->directive->directive, arg);
    *slot = path;
    return NULL;
}

/* A path directive: the afl_server_conf member's offset in the command's info. */
static const char *set_server_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return server_path_into(cmd, arg,
                            (const char **)((char *)server_conf(cmd) + (apr_size_t)cmd->info));
}

/* An On/Off directive: the afl_server_conf int member's offset in the command's info. */
static const char *set_server_flag(cmd_parms *cmd, void *dummy, int on)
{
    (void)dummy;
    *(int *)((char *)server_conf(cmd) + (apr_size_t)cmd->info) = on ? 1 : 0;
    return NULL;
}

/* AfiliateFont, AfiliateFontBold: a TrueType file, or "none" for the standard
 * PDF fonts (stored as "", so that it still overrides the main server's). */
static const char *set_pdf_font(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (ap_cstr_casecmp(arg, "none") == 0) {
        *(const char **)((char *)server_conf(cmd) + (apr_size_t)cmd->info) = "";
        return NULL;
    }
    return set_server_path(cmd, dummy, arg);
}

/* A whole-number directive: where it goes and its bounds, in the command's info. */
typedef struct {
    int per_dir;       /* 1: a member of afl_dir_conf, 0: of afl_server_conf */
    apr_size_t offset; /* of the int member */
    int lo, hi;
} int_directive;

#define SERVER_INT(name, field, lo, hi)                                                            \
    static const int_directive name = {0, APR_OFFSETOF(afl_server_conf, field), lo, hi}
#define DIR_INT(name, field, lo, hi)                                                               \
    static const int_directive name = {1, APR_OFFSETOF(afl_dir_conf, field), lo, hi}

SERVER_INT(int_session_timeout, session_timeout, 60, 86400);
DIR_INT(int_rate_limit, rate_limit, 0, 1000000);
DIR_INT(int_fail_limit, fail_limit, 0, 1000000);
DIR_INT(int_address_fail_limit, address_fail_limit, 0, 1000000);
DIR_INT(int_curp_limit, curp_limit, 0, 1000000);
DIR_INT(int_email_limit, email_limit, 0, 1000000);
DIR_INT(int_max_body, max_body, 1024, 1048576);
SERVER_INT(int_outbox_interval, outbox_interval, 1, 3600);
SERVER_INT(int_outbox_max_attempts, outbox_max_attempts, 1, 10000);
SERVER_INT(int_resend_limit, resend_limit, 0, 100);
SERVER_INT(int_resend_daily_curp, resend_daily_curp, 1, 1000);
SERVER_INT(int_resend_daily_address, resend_daily_address, 1, 1000000);
SERVER_INT(int_renapo_timeout, renapo_timeout, 100, 120000);
SERVER_INT(int_renapo_cache_ttl, renapo_cache_ttl, 0, 31536000);
SERVER_INT(int_confirm_minutes, confirm_minutes, 1, 1440);

static const char *set_int(cmd_parms *cmd, void *dirv, const char *arg)
{
    const int_directive *d = cmd->info;
    char *conf = d->per_dir ? (char *)dirv : (char *)server_conf(cmd);

    return parse_int(cmd, arg, d->lo, d->hi, (int *)(conf + d->offset));
}

/* One address or network (a.b.c.d, a.b.c.d/bits, an IPv6 address) per argument. */
static const char *set_trusted_proxy(cmd_parms *cmd, void *dummy, const char *arg)
{
    afl_server_conf *sc = server_conf(cmd);
    char *ip = apr_pstrdup(cmd->pool, arg), *bits = strchr(ip, '/');
    apr_ipsubnet_t *net = NULL;

    (void)dummy;
    if (bits)
        *bits++ = '\0';
    if (apr_ipsubnet_create(&net, ip, bits, cmd->pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool,
                            "AfiliateTrustedProxy takes addresses or networks "
                            "(192.0.2.10, 10.0.0.0/8, 2001:db8::1), not '%s'",
                            arg);
    if (!sc->trusted_proxies)
        sc->trusted_proxies = apr_array_make(cmd->pool, 2, sizeof(apr_ipsubnet_t *));
    APR_ARRAY_PUSH(sc->trusted_proxies, apr_ipsubnet_t *) = net;
    return NULL;
}

/* ---- mail */

static const char *set_smtp_url(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *why = NULL;
    (void)dummy;

    if (!afl_smtp_url_ok(arg, &why))
        return apr_psprintf(cmd->pool,
                            "AfiliateSMTPURL must be an smtp:// or smtps:// URL with a host "
                            "(%s)",
                            why);
    server_conf(cmd)->smtp_url = arg;
    return NULL;
}

static const char *set_mail_from(cmd_parms *cmd, void *dummy, const char *addr, const char *name)
{
    afl_server_conf *c = server_conf(cmd);
    (void)dummy;

    if (!afl_mime_address_ok(addr))
        return apr_psprintf(cmd->pool,
                            "AfiliateMailFrom needs a bare e-mail address such as "
                            "no-reply@example.gob.mx, not '%s'",
                            addr);
    if (name && !afl_mime_encode_header(cmd->pool, name))
        return "AfiliateMailFrom: the display name must be one line of UTF-8 text";
    c->mail_from = addr;
    c->mail_from_name = name;
    return NULL;
}

static const char *set_outbox_backoff(cmd_parms *cmd, void *dummy, const char *lo, const char *hi)
{
    afl_server_conf *c = server_conf(cmd);
    const char *err;
    (void)dummy;

    if ((err = parse_int(cmd, lo, 1, 86400, &c->outbox_backoff_min)) != NULL)
        return err;
    if (!hi)
        hi = lo;
    if ((err = parse_int(cmd, hi, 1, 86400, &c->outbox_backoff_max)) != NULL)
        return err;
    if (c->outbox_backoff_max < c->outbox_backoff_min)
        return "AfiliateOutboxBackoff: the maximum must not be below the minimum";
    return NULL;
}

/* ---- signed documents */

/* The key is read here, while httpd parses its configuration as root, so
 * that `apache2 -t` already refuses a missing or unusable key. */
static const char *set_signing_key(cmd_parms *cmd, void *dummy, const char *arg)
{
    afl_server_conf *c = server_conf(cmd);
    const char *path = NULL, *bad = server_path_into(cmd, arg, &path);
    char err[256];
    (void)dummy;

    if (bad)
        return bad;
    if (afl_sign_load_private(cmd->pool, path, &c->sign_key, err, sizeof err) != APR_SUCCESS)
        return apr_psprintf(cmd->pool,
                            "AfiliateSigningKey %s is not a usable private key: %s (make one "
                            "with afiliatectl keygen --out-dir DIR)",
                            path, err);
    c->signing_key_file = path;
    return NULL;
}

static const char *set_public_url(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_size_t n = strlen(arg);
    (void)dummy;

    if ((strncmp(arg, "https://", 8) && strncmp(arg, "http://", 7)) || n < 10 || n > 200 ||
        strpbrk(arg, " \t\"'<>?#"))
        return apr_psprintf(cmd->pool,
                            "AfiliatePublicURL must be an absolute http:// or https:// URL "
                            "without query or fragment, such as "
                            "https://afiliate.example.gob.mx/afiliate, not '%s'",
                            arg);
    while (n > 8 && arg[n - 1] == '/')
        n--;
    server_conf(cmd)->public_url = apr_pstrmemdup(cmd->pool, arg, n);
    return NULL;
}

static const char *set_periodo_fin(cmd_parms *cmd, void *dummy, const char *arg)
{
    int day;
    (void)dummy;

    if (afl_vigencia_parse_date(arg, &day) != 0)
        return apr_psprintf(cmd->pool,
                            "AfiliatePeriodoFin must be a date YYYY-MM-DD (the last day of the "
                            "current school period), not '%s'",
                            arg);
    server_conf(cmd)->periodo_fin = arg;
    return NULL;
}

/* ---- identity from RENAPO (docs/renapo.md) */

static const char *set_identity_source(cmd_parms *cmd, void *dummy, const char *arg)
{
    int mode = afl_identity_mode_parse(arg);
    (void)dummy;

    if (mode < 0)
        return apr_psprintf(
            cmd->pool, "AfiliateIdentitySource takes local, remote or remote+local, not '%s'", arg);
    server_conf(cmd)->identity_source = mode;
    return NULL;
}

static const char *set_renapo_url(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_size_t n = strlen(arg);
    (void)dummy;

    if (strncmp(arg, "https://", 8) || n < 10 || n > 500 || strpbrk(arg, " \t\"'<>?#"))
        return apr_psprintf(cmd->pool,
                            "AfiliateRenapoURL must be an https:// URL without query or "
                            "fragment (the CURP is appended after a '/'), not '%s'",
                            arg);
    for (const char *c = arg; *c; c++)
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
            return "AfiliateRenapoURL holds a control or non-ASCII character";
    server_conf(cmd)->renapo_url = arg;
    return NULL;
}

static const char *set_renapo_client_cert(cmd_parms *cmd, void *dummy, const char *cert,
                                          const char *key)
{
    afl_server_conf *c = server_conf(cmd);
    const char *err = server_path_into(cmd, cert, &c->renapo_client_cert);
    (void)dummy;

    if (!err && key)
        err = server_path_into(cmd, key, &c->renapo_client_key);
    return err;
}

static const char *set_renapo_breaker(cmd_parms *cmd, void *dummy, const char *args)
{
    afl_server_conf *c = server_conf(cmd);
    const char *err;
    char *f = ap_getword_conf(cmd->pool, &args);
    char *w = ap_getword_conf(cmd->pool, &args);
    char *d = ap_getword_conf(cmd->pool, &args);
    char *m = ap_getword_conf(cmd->pool, &args);
    (void)dummy;

    if (!*f || !*w || !*d || *args)
        return "AfiliateRenapoBreaker takes three or four numbers: failures window-seconds "
               "cooldown-seconds [max-in-flight] (e.g. 5 30 30 16)";
    if ((err = parse_int(cmd, f, 1, 100000, &c->breaker_failures)) != NULL ||
        (err = parse_int(cmd, w, 1, 86400, &c->breaker_window)) != NULL ||
        (err = parse_int(cmd, d, 1, 86400, &c->breaker_cooldown)) != NULL)
        return err;
    c->breaker_max_inflight = AFL_UNSET;
    if (*m && (err = parse_int(cmd, m, 1, 100000, &c->breaker_max_inflight)) != NULL)
        return err;
    return NULL;
}

#ifdef AFL_TEST_CRASH_POINTS
/* Test builds only (make test-crash): the named point this server's children
 * abort() at. Kept by afl_crash, not in a configuration struct: it is no
 * directive of the shipped module. */
static const char *set_test_crash_at(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;

    if (!afl_crash_known(arg))
        return apr_psprintf(cmd->pool, "AfiliateTestCrashAt: unknown crash point '%s'", arg);
    afl_crash_set(arg);
    return NULL;
}
#endif

const command_rec afl_cmds[] = {
    AP_INIT_TAKE1("AfiliateTemplateDir", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, template_dir), RSRC_CONF,
                  "Directory holding the page templates (*.html)"),
    AP_INIT_TAKE1("AfiliateSecretFile", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, secret_file), RSRC_CONF,
                  "File holding the server secret (CAPTCHA, tokens); at least 16 bytes"),
    AP_INIT_TAKE1("AfiliateFont", set_pdf_font, (void *)APR_OFFSETOF(afl_server_conf, font),
                  RSRC_CONF,
                  "TrueType font embedded in the PDFs, reduced with pyftsubset; none (default): "
                  "the standard PDF font Helvetica"),
    AP_INIT_TAKE1("AfiliateFontBold", set_pdf_font,
                  (void *)APR_OFFSETOF(afl_server_conf, font_bold), RSRC_CONF,
                  "Bold TrueType font of the PDFs' headings; none (default): Helvetica-Bold, or "
                  "AfiliateFont stroked when that is set"),
    AP_INIT_TAKE1("AfiliateCaptchaFont", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, captcha_font), RSRC_CONF,
                  "TrueType font of the CAPTCHA image (default DejaVu Sans Bold)"),
    AP_INIT_TAKE1("AfiliateSessionTimeout", set_int, (void *)&int_session_timeout, RSRC_CONF,
                  "Seconds a trámite stays open without activity (60-86400, default 1800)"),
    AP_INIT_TAKE1("AfiliateRateLimit", set_int, (void *)&int_rate_limit, ACCESS_CONF | RSRC_CONF,
                  "Form submissions allowed per client address per minute (0 = no limit)"),
    AP_INIT_ITERATE("AfiliateTrustedProxy", set_trusted_proxy, NULL, RSRC_CONF,
                    "Proxies or TLS terminators whose X-Forwarded-Proto: https marks the "
                    "session cookie Secure (addresses or networks)"),
    AP_INIT_TAKE1("AfiliateFailureLimit", set_int, (void *)&int_fail_limit, ACCESS_CONF | RSRC_CONF,
                  "Failed attempts (CAPTCHA, CURP) a browser session may make in 10 minutes "
                  "before it is refused; slowed from half of it (0 = no limit, default 8)"),
    AP_INIT_TAKE1("AfiliateAddressFailureLimit", set_int, (void *)&int_address_fail_limit,
                  ACCESS_CONF | RSRC_CONF,
                  "Failed attempts from one client address in 10 minutes before its wrong "
                  "CAPTCHAs are refused (0 = no limit, default 100)"),
    AP_INIT_TAKE1("AfiliateCurpLimit", set_int, (void *)&int_curp_limit, ACCESS_CONF | RSRC_CONF,
                  "Accepted CURP forms (Paso 1 and Paso 2) per CURP per day, from any "
                  "address (0 = no limit, default 10)"),
    AP_INIT_TAKE1("AfiliateEmailLimit", set_int, (void *)&int_email_limit, ACCESS_CONF | RSRC_CONF,
                  "Accepted CURP forms per e-mail address per day, from any address "
                  "(0 = no limit, default 20)"),
    AP_INIT_TAKE1("AfiliateMaxBody", set_int, (void *)&int_max_body, ACCESS_CONF | RSRC_CONF,
                  "Largest form body accepted, in bytes (1024-1048576, default 16384)"),
    AP_INIT_TAKE1("AfiliateSMTPURL", set_smtp_url, NULL, RSRC_CONF,
                  "Mail relay, smtp://host[:port] or smtps://host[:port]; unset: messages "
                  "wait in the outbox"),
    AP_INIT_TAKE1("AfiliateSMTPCredentials", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, smtp_credentials), RSRC_CONF,
                  "File holding one line user:password for the relay (read at start-up)"),
    AP_INIT_TAKE1("AfiliateSMTPCAFile", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, smtp_ca_file), RSRC_CONF,
                  "PEM file with the CA certificates that sign the relay's certificate "
                  "(default: the system's trust store)"),
    AP_INIT_FLAG("AfiliateSMTPRequireTLS", set_server_flag,
                 (void *)APR_OFFSETOF(afl_server_conf, smtp_require_tls), RSRC_CONF,
                 "On: smtp:// must switch to TLS with STARTTLS or nothing is sent (default "
                 "Off; use On in production)"),
    AP_INIT_TAKE12("AfiliateMailFrom", set_mail_from, NULL, RSRC_CONF,
                   "Sender address of the messages, and optionally its display name"),
    AP_INIT_TAKE1("AfiliateOutboxInterval", set_int, (void *)&int_outbox_interval, RSRC_CONF,
                  "Seconds between two passes of the outbox sender (1-3600, default 5)"),
    AP_INIT_TAKE1("AfiliateOutboxMaxAttempts", set_int, (void *)&int_outbox_max_attempts, RSRC_CONF,
                  "Delivery attempts before a message is marked failed (1-10000, default 150)"),
    AP_INIT_TAKE12("AfiliateOutboxBackoff", set_outbox_backoff, NULL, RSRC_CONF,
                   "First and longest delay between attempts, in seconds (default 30 1800)"),
    AP_INIT_TAKE1("AfiliateResendLimit", set_int, (void *)&int_resend_limit, RSRC_CONF,
                  "Resends allowed per trámite (0-100, default 3)"),
    AP_INIT_TAKE1("AfiliateResendDailyPerCurp", set_int, (void *)&int_resend_daily_curp, RSRC_CONF,
                  "Resends allowed per CURP per day (1-1000, default 5)"),
    AP_INIT_TAKE1("AfiliateResendDailyPerAddress", set_int, (void *)&int_resend_daily_address,
                  RSRC_CONF, "Resends allowed per client address per day (1-1000000, default 20)"),
    AP_INIT_TAKE1("AfiliateSigningKey", set_signing_key, NULL, RSRC_CONF,
                  "PEM private key (Ed25519 or RSA >= 2048) that signs the documents; read at "
                  "start-up (afiliatectl keygen makes one)"),
    AP_INIT_TAKE1("AfiliatePublicURL", set_public_url, NULL, RSRC_CONF,
                  "Absolute base URL of the procedure for the documents' QR code, e.g. "
                  "https://afiliate.example.gob.mx/afiliate"),
    AP_INIT_TAKE1("AfiliatePeriodoFin", set_periodo_fin, NULL, RSRC_CONF,
                  "Last day (YYYY-MM-DD) of the current school period: end of the coverage an "
                  "assignment opens (default: end of the current semester)"),
    AP_INIT_TAKE1("AfiliateIdentitySource", set_identity_source, NULL, RSRC_CONF,
                  "Where a CURP's identity comes from: local (the registry mirror, default), "
                  "remote (RENAPO's web service) or remote+local (the mirror when RENAPO fails)"),
    AP_INIT_TAKE1("AfiliateRenapoURL", set_renapo_url, NULL, RSRC_CONF,
                  "https:// base URL of RENAPO's consulta por CURP; the CURP is appended"),
    AP_INIT_TAKE1("AfiliateRenapoTimeout", set_int, (void *)&int_renapo_timeout, RSRC_CONF,
                  "Total time limit of one RENAPO request, in milliseconds (100-120000, "
                  "default 3000)"),
    AP_INIT_TAKE1("AfiliateRenapoCAFile", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, renapo_ca_file), RSRC_CONF,
                  "PEM file with the CA certificates of RENAPO's server (default: the system's)"),
    AP_INIT_TAKE12("AfiliateRenapoClientCert", set_renapo_client_cert, NULL, RSRC_CONF,
                   "PEM client certificate for mutual TLS with RENAPO, and optionally its key"),
    AP_INIT_TAKE1("AfiliateRenapoClientKey", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, renapo_client_key), RSRC_CONF,
                  "PEM private key of AfiliateRenapoClientCert"),
    AP_INIT_TAKE1("AfiliateRenapoCredentialsFile", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, renapo_credentials), RSRC_CONF,
                  "File whose first line is 'Bearer TOKEN' or 'user:password' for RENAPO "
                  "(read at start-up, never logged)"),
    AP_INIT_TAKE1("AfiliateRenapoCacheTTL", set_int, (void *)&int_renapo_cache_ttl, RSRC_CONF,
                  "Seconds a recorded RENAPO answer is fresh (0-31536000, default 86400; 0: "
                  "always ask)"),
    AP_INIT_RAW_ARGS("AfiliateRenapoBreaker", set_renapo_breaker, NULL, RSRC_CONF,
                     "Circuit breaker: failures window-seconds cooldown-seconds [max-in-flight] "
                     "(default 5 30 30 16)"),
    AP_INIT_FLAG("AfiliateConfirmarCorreo", set_server_flag,
                 (void *)APR_OFFSETOF(afl_server_conf, confirm_email), RSRC_CONF,
                 "On: Paso 1 shows or e-mails nothing until the student opens the link sent "
                 "to the e-mail address given (default Off)"),
    AP_INIT_TAKE1("AfiliateConfirmarCorreoVigencia", set_int, (void *)&int_confirm_minutes,
                  RSRC_CONF, "Minutes an e-mail confirmation link is valid (1-1440, default 30)"),
#ifdef AFL_TEST_CRASH_POINTS
    AP_INIT_TAKE1("AfiliateTestCrashAt", set_test_crash_at, NULL, RSRC_CONF,
                  "test builds only: the named point where children abort()"),
#endif
    {NULL},
};
