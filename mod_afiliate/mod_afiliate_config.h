/* mod_afiliate: configuration structures shared by the httpd glue units. */
#ifndef MOD_AFILIATE_CONFIG_H
#define MOD_AFILIATE_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#define AFL_UNSET (-1)

/* Server scope: one per virtual host, merged with the main server. */
typedef struct {
    const char *template_dir; /* AfiliateTemplateDir */
    const char *secret_file;  /* AfiliateSecretFile */
    const char *font;         /* AfiliateFont: TrueType file; "" = none (standard fonts) */
    const char *font_bold;    /* AfiliateFontBold: likewise */
    const char *captcha_font; /* AfiliateCaptchaFont: TrueType file for libgd */
    int session_timeout;      /* AfiliateSessionTimeout, seconds */
    apr_array_header_t *trusted_proxies; /* AfiliateTrustedProxy: apr_ipsubnet_t * */

    /* Mail (docs/mail.md). */
    const char *smtp_url;         /* AfiliateSMTPURL; NULL: messages wait in the outbox */
    const char *smtp_credentials; /* AfiliateSMTPCredentials: user:password */
    const char *smtp_ca_file;     /* AfiliateSMTPCAFile; NULL: system store */
    int smtp_require_tls;         /* AfiliateSMTPRequireTLS: AFL_UNSET, 0, 1 */
    const char *mail_from;        /* AfiliateMailFrom: envelope sender, From */
    const char *mail_from_name;   /* AfiliateMailFrom: display name of From */
    int outbox_interval;          /* AfiliateOutboxInterval, seconds */
    int outbox_max_attempts;      /* AfiliateOutboxMaxAttempts */
    int outbox_backoff_min, outbox_backoff_max; /* AfiliateOutboxBackoff, seconds */
    int resend_limit;                           /* AfiliateResendLimit: per trámite */
    int resend_daily_curp;                      /* AfiliateResendDailyPerCurp */
    int resend_daily_address;                   /* AfiliateResendDailyPerAddress */

    /* Signed documents and coverage (docs/documents.md). */
    const char *signing_key_file; /* AfiliateSigningKey: PEM private key */
    const char *public_url;       /* AfiliatePublicURL: base of the QR verification URL */
    const char *periodo_fin;      /* AfiliatePeriodoFin: YYYY-MM-DD, NULL = end of semester */

    /* Loaded in post_config, read-only afterwards. */
    const unsigned char *secret;
    apr_size_t secret_len;
    struct afl_tpl_set *templates;
    const char *mail_host;               /* domain of mail_from: Message-IDs */
    const char *smtp_user, *smtp_pass;   /* from smtp_credentials */
    const struct afl_sign_key *sign_key; /* read with AfiliateSigningKey; NULL = unsigned */
    const struct afl_pdf_font *pdf_font, *pdf_font_bold; /* NULL = standard fonts */
    struct afl_stats *stats;                             /* shared operating counters; NULL: none */
} afl_server_conf;

/* Directory scope: per <Location>. */
typedef struct {
    const char *base;       /* not a directive: the <Location> path itself */
    int rate_limit;         /* AfiliateRateLimit: per address a minute; 0 = off */
    int fail_limit;         /* AfiliateFailureLimit: failures per session in 10 min; 0 = off */
    int address_fail_limit; /* AfiliateAddressFailureLimit: per address in 10 min; 0 = off */
    int curp_limit;         /* AfiliateCurpLimit: accepted forms per CURP a day; 0 = off */
    int email_limit;        /* AfiliateEmailLimit: accepted forms per e-mail a day; 0 = off */
    int max_body;           /* AfiliateMaxBody: bytes of a form body */
} afl_dir_conf;

extern module AP_MODULE_DECLARE_DATA afiliate_module;
extern const command_rec afl_cmds[];

void *afl_create_server_conf(apr_pool_t *p, server_rec *s);
void *afl_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *afl_create_dir_conf(apr_pool_t *p, char *dir);
void *afl_merge_dir_conf(apr_pool_t *p, void *base, void *add);

/* Defaults applied to unset values. */
#define AFL_DEFAULT_BASE "/afiliate"
#define AFL_DEFAULT_SESSION_TIMEOUT 1800
#define AFL_DEFAULT_RATE_LIMIT 300
#define AFL_DEFAULT_FAIL_LIMIT 8
#define AFL_DEFAULT_ADDRESS_FAIL_LIMIT 100
#define AFL_DEFAULT_CURP_LIMIT 10
#define AFL_DEFAULT_EMAIL_LIMIT 20
#define AFL_DEFAULT_MAX_BODY 16384
/* The CAPTCHA image is drawn by libgd, which needs a TrueType file (Debian's
 * fonts-dejavu-core); the PDFs need none (standard fonts). */
#define AFL_DEFAULT_CAPTCHA_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
#define AFL_DEFAULT_OUTBOX_INTERVAL 5
#define AFL_DEFAULT_RESEND_LIMIT 3
#define AFL_DEFAULT_RESEND_DAILY_CURP 5
#define AFL_DEFAULT_RESEND_DAILY_ADDRESS 20

/* The TrueType file an AfiliateFont/AfiliateFontBold value names; NULL when
 * unset or "none" (the PDFs then use the standard fonts). */
static inline const char *afl_conf_font(const char *v)
{
    return v && *v ? v : NULL;
}

/* A server-scope int with its default when unset. */
#define AFL_SC_INT(sc, field, dflt) ((sc)->field == AFL_UNSET ? (dflt) : (sc)->field)

static inline int afl_dir_rate_limit(const afl_dir_conf *d)
{
    return d->rate_limit == AFL_UNSET ? AFL_DEFAULT_RATE_LIMIT : d->rate_limit;
}

static inline int afl_dir_fail_limit(const afl_dir_conf *d)
{
    return d->fail_limit == AFL_UNSET ? AFL_DEFAULT_FAIL_LIMIT : d->fail_limit;
}

static inline int afl_dir_address_fail_limit(const afl_dir_conf *d)
{
    return d->address_fail_limit == AFL_UNSET ? AFL_DEFAULT_ADDRESS_FAIL_LIMIT
                                              : d->address_fail_limit;
}

static inline int afl_dir_curp_limit(const afl_dir_conf *d)
{
    return d->curp_limit == AFL_UNSET ? AFL_DEFAULT_CURP_LIMIT : d->curp_limit;
}

static inline int afl_dir_email_limit(const afl_dir_conf *d)
{
    return d->email_limit == AFL_UNSET ? AFL_DEFAULT_EMAIL_LIMIT : d->email_limit;
}

static inline int afl_dir_max_body(const afl_dir_conf *d)
{
    return d->max_body == AFL_UNSET ? AFL_DEFAULT_MAX_BODY : d->max_body;
}

#endif
