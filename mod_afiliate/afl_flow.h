/* afl_flow: every step of Paso 1 and Paso 2, without HTTP. A step takes the
 * decoded input and the store and fills an afl_flow_out: what to answer
 * (a page and its view, a redirect, a notice, a PDF, JSON), with which
 * status, what to log and what was queued for e-mail. The httpd glue only
 * reads the request into an afl_flow_env and turns the outcome into a
 * response, so every rule here runs in a unit test on a real database. */
#ifndef AFL_FLOW_H
#define AFL_FLOW_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "afl_sign.h"
#include "afl_store.h"
#include "afl_tpl.h"

struct afl_pdf_font;

/* The HTTP statuses a step answers with (plain numbers: no httpd header here). */
#define AFL_FLOW_OK 200
#define AFL_FLOW_BAD_REQUEST 400
#define AFL_FLOW_FORBIDDEN 403
#define AFL_FLOW_NOT_FOUND 404
#define AFL_FLOW_UNPROCESSABLE 422
#define AFL_FLOW_TOO_MANY 429
#define AFL_FLOW_UNAVAILABLE 503

/* Failures (a wrong CAPTCHA, a malformed or unknown CURP) are counted per
 * browser session and per client address over windows of this many seconds. */
#define AFL_FLOW_FAIL_WINDOW 600
/* A session past half its failure budget may fail once per this many seconds. */
#define AFL_FLOW_SLOW_SECONDS 10
/* Window of the per-CURP and per-e-mail limits, seconds (a UTC day). */
#define AFL_FLOW_DAY 86400

/* What a request brings to a step. The glue fills it once per request. */
typedef struct afl_flow_env {
    apr_pool_t *pool; /* the request's */
    /* The store, acquired on first use (a form page needs none): get_store
     * returns NULL when the database is unavailable. */
    afl_store *(*get_store)(void *baton);
    void *store_baton;
    afl_store *st; /* cached by the flow */
    const unsigned char *secret;
    apr_size_t secret_len;
    const char *base;      /* <Location> path: part of the rate-limit key */
    const char *sid;       /* session row id (SHA-256 of the cookie); NULL without one */
    const char *csrf;      /* this browser's CSRF token; NULL without a cookie */
    const char *client_ip; /* pseudonymised before it reaches the database */
    long long now;         /* UNIX seconds */
    apr_time_t request_time;
    int session_timeout;    /* seconds */
    int rate_limit;         /* form submissions per minute and address; 0: none */
    int fail_limit;         /* failures per session in AFL_FLOW_FAIL_WINDOW; 0: none */
    int address_fail_limit; /* failures per address in AFL_FLOW_FAIL_WINDOW; 0: none */
    int curp_limit;         /* accepted forms per CURP a day, any address; 0: none */
    int email_limit;        /* accepted forms per e-mail address a day; 0: none */
    int resend_limit, resend_daily_curp, resend_daily_address;
    const char *mail_host;   /* domain of queued Message-IDs */
    const char *periodo_fin; /* AfiliatePeriodoFin, 'YYYY-MM-DD'; NULL: semester end */
    const afl_sign_key *sign_key;
    const struct afl_pdf_font *font, *font_bold;
    const char *public_base; /* base of the verification URL in the QR code */
} afl_flow_env;

/* The decoded input of a step: the urlencoded body (POST), the query string
 * and what follows a prefix route (the postal code of /cp/NNNNN). */
typedef struct {
    apr_table_t *form;
    const char *args;
    const char *tail;
} afl_flow_in;

typedef enum {
    AFL_FLOW_PAGE,     /* render tpl with view at status (notices too: tpl "aviso") */
    AFL_FLOW_REDIRECT, /* 303 to base + location */
    AFL_FLOW_PDF,      /* a document: body, len, filename */
    AFL_FLOW_JSON,     /* body at status */
    AFL_FLOW_FAILED,   /* 500; log says why */
} afl_flow_kind;

typedef enum {
    AFL_FLOW_MAIL_NONE = 0,
    AFL_FLOW_MAIL_COMPROBANTE, /* queued in the outbox with the step's writes */
    AFL_FLOW_MAIL_CONSTANCIA,
} afl_flow_mail;

typedef enum {
    AFL_FLOW_LOG_NONE = 0,
    AFL_FLOW_LOG_WARN,
    AFL_FLOW_LOG_ERR,
} afl_flow_level;

/* What a form step decided, for the operating counters (afl_stats.h). Never
 * anything about who: only which way the step went. */
typedef enum {
    AFL_FLOW_EV_NONE = 0,
    AFL_FLOW_EV_LOCATED,         /* Paso 1: an existing NSS was found */
    AFL_FLOW_EV_NEW_CURP,        /* Paso 1: no NSS yet, on to the address */
    AFL_FLOW_EV_ASSIGNED,        /* Paso 1: a new NSS was assigned */
    AFL_FLOW_EV_REFUSED_CAPTCHA, /* Paso 1: wrong, expired or reused CAPTCHA */
    AFL_FLOW_EV_REFUSED_RATE,    /* any form: a rate or failure limit (429) */
    AFL_FLOW_EV_INVALID_CURP,    /* Paso 1: the CURP's format or check digit */
    AFL_FLOW_EV_NOT_IN_REGISTRY, /* Paso 1: unknown to the registry, or inactive */
    AFL_FLOW_EV_IDENTITY_DOWN,   /* Paso 1: the registry could not be read (503) */
} afl_flow_event;

typedef struct {
    afl_flow_kind kind;
    int status;
    const char *tpl;           /* PAGE */
    afl_tpl_ctx *view;         /* PAGE: "base", "titulo" and the page's values */
    const char *location;      /* REDIRECT: path under the base */
    const unsigned char *body; /* PDF, JSON */
    apr_size_t len;
    const char *filename;      /* PDF */
    int attachment;            /* PDF: download rather than show */
    int cacheable;             /* JSON: the same for every client for an hour */
    int no_store;              /* Cache-Control: no-store */
    int end_session;           /* expire the session cookie */
    const char *session_token; /* a new session cookie: the session id was rotated */
    int retry_after;           /* seconds; 0: no header */
    afl_flow_level log_level;
    const char *log; /* no personal data */
    afl_flow_mail mail;
    afl_flow_event event;
} afl_flow_out;

typedef void afl_flow_step(afl_flow_env *env, const afl_flow_in *in, afl_flow_out *out);

/* Paso 1 */
afl_flow_step afl_flow_inicio;
afl_flow_step afl_flow_nss_form;         /* GET /nss: the form with a new CAPTCHA */
afl_flow_step afl_flow_nss_submit;       /* POST /nss: found, new, refused */
afl_flow_step afl_flow_domicilio;        /* GET /domicilio */
afl_flow_step afl_flow_domicilio_submit; /* POST /domicilio: assigns the NSS */
afl_flow_step afl_flow_resultado;        /* GET /resultado */
afl_flow_step afl_flow_comprobante;      /* GET /comprobante (descargar=1: attachment) */
afl_flow_step afl_flow_tarjeta;          /* GET /tarjeta */
afl_flow_step afl_flow_reenviar;         /* POST /reenviar: Paso 1 or Paso 2 result */
afl_flow_step afl_flow_finalizar;        /* POST /finalizar */
afl_flow_step afl_flow_cp;               /* GET /cp/NNNNN: Estado, Municipio, colonias */
/* Paso 2 */
afl_flow_step afl_flow_vigencia_form;
afl_flow_step afl_flow_vigencia_submit;
afl_flow_step afl_flow_vigencia_resultado;
afl_flow_step afl_flow_constancia;
/* The public verification of a folio. */
afl_flow_step afl_flow_verificar;

/* The templates the steps render and the values each may use. */
extern const afl_tpl_decl afl_flow_templates[];

/* Pieces with rules of their own, exported for the tests. */
const char *afl_flow_inactive_message(apr_pool_t *p, const char *status_curp);
/* The coverage an assignment opens, 'YYYY-MM-DD' both. */
void afl_flow_coverage(apr_pool_t *p, apr_time_t when, const char *periodo_fin, const char **inicio,
                       const char **fin);
const char *afl_flow_mask_nss(apr_pool_t *p, const char *nss);
const char *afl_flow_mask_nombre(apr_pool_t *p, const char *nombre);

#endif
