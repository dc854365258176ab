/* mod_afiliate: the Afiliate* directives, create and merge rules. */
#include "mod_afiliate_config.h"

#include "http_log.h"
#include "apr_strings.h"

void *afl_create_server_conf(apr_pool_t *p, server_rec *s)
{
    afl_server_conf *c = apr_pcalloc(p, sizeof *c);
    (void)s;
    c->session_timeout = AFL_UNSET;
    return c;
}

void *afl_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    afl_server_conf *base = basev, *add = addv;
    afl_server_conf *c = apr_pcalloc(p, sizeof *c);

    c->template_dir = add->template_dir ? add->template_dir : base->template_dir;
    c->secret_file = add->secret_file ? add->secret_file : base->secret_file;
    c->font = add->font ? add->font : base->font;
    c->font_bold = add->font_bold ? add->font_bold : base->font_bold;
    c->session_timeout =
        add->session_timeout != AFL_UNSET ? add->session_timeout : base->session_timeout;
    return c;
}

void *afl_create_dir_conf(apr_pool_t *p, char *dir)
{
    afl_dir_conf *c = apr_pcalloc(p, sizeof *c);
    /* Routes are relative to the <Location> path; strip a trailing slash. */
    if (dir && *dir == '/') {
        apr_size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        c->base = n == 1 ? "" : apr_pstrmemdup(p, dir, n);
    }
    c->rate_limit = AFL_UNSET;
    c->max_body = AFL_UNSET;
    return c;
}

void *afl_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    afl_dir_conf *base = basev, *add = addv;
    afl_dir_conf *c = apr_pcalloc(p, sizeof *c);

    c->base = add->base ? add->base : base->base;
    c->rate_limit = add->rate_limit != AFL_UNSET ? add->rate_limit : base->rate_limit;
    c->max_body = add->max_body != AFL_UNSET ? add->max_body : base->max_body;
    return c;
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

static const char *set_server_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    afl_server_conf *c = server_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    const char **slot;
    (void)dummy;

    if (!path)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->directive->directive, arg);
    slot = (const char **)((char *)c + (apr_size_t)cmd->info);
    *slot = path;
    return NULL;
}

static const char *set_session_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return parse_int(cmd, arg, 60, 86400, &server_conf(cmd)->session_timeout);
}

static const char *set_rate_limit(cmd_parms *cmd, void *dirv, const char *arg)
{
    afl_dir_conf *d = dirv;
    return parse_int(cmd, arg, 0, 1000000, &d->rate_limit);
}

static const char *set_max_body(cmd_parms *cmd, void *dirv, const char *arg)
{
    afl_dir_conf *d = dirv;
    return parse_int(cmd, arg, 1024, 1048576, &d->max_body);
}

const command_rec afl_cmds[] = {
    AP_INIT_TAKE1("AfiliateTemplateDir", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, template_dir), RSRC_CONF,
                  "Directory holding the page templates (*.html)"),
    AP_INIT_TAKE1("AfiliateSecretFile", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, secret_file), RSRC_CONF,
                  "File holding the server secret (CAPTCHA, tokens); at least 16 bytes"),
    AP_INIT_TAKE1("AfiliateFont", set_server_path, (void *)APR_OFFSETOF(afl_server_conf, font),
                  RSRC_CONF, "TrueType font for PDFs and the CAPTCHA image"),
    AP_INIT_TAKE1("AfiliateFontBold", set_server_path,
                  (void *)APR_OFFSETOF(afl_server_conf, font_bold), RSRC_CONF,
                  "Bold TrueType font for PDF headings"),
    AP_INIT_TAKE1("AfiliateSessionTimeout", set_session_timeout, NULL, RSRC_CONF,
                  "Seconds a trámite stays open without activity (60-86400, default 1800)"),
    AP_INIT_TAKE1("AfiliateRateLimit", set_rate_limit, NULL, ACCESS_CONF | RSRC_CONF,
                  "Form submissions allowed per client address per minute (0 = no limit)"),
    AP_INIT_TAKE1("AfiliateMaxBody", set_max_body, NULL, ACCESS_CONF | RSRC_CONF,
                  "Largest form body accepted, in bytes (1024-1048576, default 16384)"),
    {NULL},
};
