/* afl_outbox: mail outbox sender (see afl_outbox.h). */
#include "afl_outbox.h"
#include "afl_cadena.h"
#include "afl_confirm.h"
#include "afl_crash.h"
#include "afl_doc.h"
#include "afl_form.h"
#include "afl_log.h"
#include "afl_mime.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <string.h>
#include <time.h>

void afl_outbox_conf_defaults(afl_outbox_conf *c)
{
    memset(c, 0, sizeof *c);
    c->smtp.connect_timeout_ms = 10000;
    c->smtp.timeout_ms = 60000;
    c->from = AFL_OUTBOX_DEFAULT_FROM;
    c->from_name = AFL_OUTBOX_DEFAULT_FROM_NAME;
    c->max_attempts = AFL_OUTBOX_DEFAULT_MAX_ATTEMPTS;
    c->backoff_min = AFL_OUTBOX_DEFAULT_BACKOFF_MIN;
    c->backoff_max = AFL_OUTBOX_DEFAULT_BACKOFF_MAX;
    c->batch = AFL_OUTBOX_DEFAULT_BATCH;
    c->max_per_pass = AFL_OUTBOX_DEFAULT_MAX_PER_PASS;
}

long long afl_outbox_backoff(const afl_outbox_conf *c, int attempts, unsigned rnd)
{
    long long lo = c->backoff_min > 0 ? c->backoff_min : 1;
    long long hi = c->backoff_max >= lo ? c->backoff_max : lo;
    long long d = lo;

    for (int i = 1; i < attempts && d < hi; i++)
        d *= 2;
    if (d > hi)
        d = hi;
    /* Equal jitter: a delay in [d/2, d], so senders that failed together
     * do not all come back at the same second. */
    return d - (long long)(rnd % (unsigned long long)(d / 2 + 1));
}

static long long clock_now(const afl_outbox_conf *c)
{
    return c->clock ? c->clock(c->clock_baton) : (long long)time(NULL);
}

static unsigned random_uint(void)
{
    unsigned v = 0;
    if (apr_generate_random_bytes((unsigned char *)&v, sizeof v) != APR_SUCCESS)
        v = (unsigned)time(NULL);
    return v;
}

/* ------------------------------------------------------------------ rendering */

static const char *html_escape(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    char *out, *o;

    for (const char *t = s; *t; t++)
        n += *t == '&' ? 5 : (*t == '<' || *t == '>') ? 4 : (*t == '"' || *t == '\'') ? 6 : 1;
    o = out = apr_palloc(p, n + 1);
    for (; *s; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;
        if (rep) {
            size_t k = strlen(rep);
            memcpy(o, rep, k);
            o += k;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static const char *opening(const char *reason)
{
    if (!strcmp(reason, "asignacion"))
        return "Se te asignó un Número de Seguridad Social (NSS) en el trámite "
               "“Obtén o localiza tu NSS” del IMSS.";
    if (!strcmp(reason, "reenvio"))
        return "Te reenviamos, como lo solicitaste, el comprobante de tu Número de Seguridad "
               "Social (NSS) del trámite “Obtén o localiza tu NSS” del IMSS.";
    return "Se localizó tu Número de Seguridad Social (NSS) en el trámite "
           "“Obtén o localiza tu NSS” del IMSS.";
}

#define BODY_ATTACHED                                                                              \
    "Adjuntamos el comprobante con tu NSS y tu CURP y tu Tarjeta de NSS, en formato PDF. Puedes "  \
    "imprimirlos o guardarlos para cuando los necesites."
#define BODY_ATTACHED_CONSTANCIA                                                                   \
    "Adjuntamos la constancia en formato PDF con tu NSS, tu CURP y tu vigencia de derechos. "      \
    "Puedes imprimirla o guardarla para cuando la necesites."
#define BODY_NOT_YOU "Si tú no realizaste este trámite, ignora este mensaje."
#define BODY_NO_REPLY "Este correo se envió automáticamente; por favor no lo respondas."
#define BODY_SIGNATURE "Instituto Mexicano del Seguro Social"

static const char *opening_constancia(const char *reason)
{
    if (!strcmp(reason, "reenvio"))
        return "Te reenviamos, como lo solicitaste, tu constancia de vigencia de derechos del "
               "trámite “Obtén tu constancia de vigencia de derechos” del IMSS.";
    return "Te enviamos tu constancia de vigencia de derechos del trámite “Obtén tu constancia "
           "de vigencia de derechos” del IMSS.";
}

static void bodies(apr_pool_t *p, const char *subject, const char *nombres,
                   const char *opening_text, const char *attached, const char **text,
                   const char **html)
{
    const char *nombre = nombres && *nombres ? nombres : NULL;
    const char *saludo = nombre ? apr_pstrcat(p, "Hola, ", nombre, ":", NULL) : "Hola:";

    *text = apr_pstrcat(p, saludo, "\n\n", opening_text, "\n\n", attached, "\n\n", BODY_NOT_YOU,
                        "\n", BODY_NO_REPLY, "\n\n", BODY_SIGNATURE, "\n", NULL);
    *html =
        apr_pstrcat(p,
                    "<!DOCTYPE html>\n<html lang=\"es-MX\">\n<head><meta charset=\"UTF-8\">"
                    "<title>",
                    html_escape(p, subject), "</title></head>\n<body>\n<p>", html_escape(p, saludo),
                    "</p>\n<p>", html_escape(p, opening_text), "</p>\n<p>",
                    html_escape(p, attached), "</p>\n<p>", html_escape(p, BODY_NOT_YOU), "<br>\n",
                    html_escape(p, BODY_NO_REPLY), "</p>\n<p><strong>",
                    html_escape(p, BODY_SIGNATURE), "</strong></p>\n</body>\n</html>\n", NULL);
}

/* Issues (or, for a retry of the same outbox row, finds again) one sealed
 * document naming who and fills how's firma; its folio and issued come from
 * the documento row. Without a signing key nothing is issued, the firma
 * stays zeroed and the rest of how as it was. */
static apr_status_t seal(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                         const afl_outbox_row *row, const char *tipo, afl_cadena_tipo ct,
                         const afl_pdf_persona *who, afl_pdf_emision *how, char *err, size_t errlen)
{
    afl_doc_req req;
    afl_store_doc doc;

    memset(&how->firma, 0, sizeof how->firma);
    if (!c->sign_key)
        return APR_SUCCESS;
    req = (afl_doc_req){
        .tipo = tipo,
        .cadena_tipo = ct,
        .nss = who->nss,
        .curp = who->curp,
        .nombre = afl_cadena_nombre(p, who->nombres, who->primer_apellido, who->segundo_apellido),
        .emitido = row->created,
        /* A retry of this message finds the same document (same folio and sello). */
        .datos = apr_psprintf(p, "{\"outbox\":\"%" APR_INT64_T_FMT "\"}", (apr_int64_t)row->id),
        .key = c->sign_key};
    if (afl_doc_issue_firma(p, st, &req, c->verify_base, &doc, &how->firma) != AFL_STORE_OK) {
        apr_snprintf(err, errlen, "database error while issuing the %s", tipo);
        return APR_EGENERAL;
    }
    how->folio = doc.folio;
    how->issued = apr_time_from_sec(doc.emitido);
    return APR_SUCCESS;
}

/* A store read that found nothing (the person is gone) or failed. */
static apr_status_t store_failed(afl_store_status s, char *err, size_t errlen)
{
    apr_snprintf(err, errlen, "%s",
                 s == AFL_STORE_NOTFOUND ? "the insured person is gone" : "database error");
    return s == AFL_STORE_NOTFOUND ? APR_ENOENT : APR_EGENERAL;
}

/* The headers every message of a row shares. */
static void envelope(afl_mime_msg *m, const afl_outbox_conf *c, const afl_outbox_row *row,
                     const char *subject)
{
    memset(m, 0, sizeof *m);
    m->from = c->from;
    m->from_name = c->from_name;
    m->to = row->recipient;
    m->subject = subject;
    m->message_id = row->message_id;
    m->date = apr_time_now();
}

/* The MIME text of m. */
static apr_status_t build(apr_pool_t *p, afl_mime_msg *m, const char **msg, apr_size_t *len,
                          char *err, size_t errlen)
{
    apr_status_t rv = afl_mime_build(p, m, msg, len);
    if (rv != APR_SUCCESS)
        apr_snprintf(err, errlen, "cannot build the MIME message");
    return rv;
}

/* The message of row with its attached PDFs, once they are built (pdf_rv, pdferr: the
 * outcome of building them). */
static apr_status_t finish(apr_pool_t *p, const afl_outbox_conf *c, const afl_outbox_row *row,
                           apr_status_t pdf_rv, const char *pdferr, const char *subject,
                           const char *nombres, const char *opening_text, const char *attached,
                           afl_mime_part *parts, size_t n_parts, const char **msg, apr_size_t *len,
                           char *err, size_t errlen)
{
    afl_mime_msg m;

    if (pdf_rv != APR_SUCCESS) {
        apr_snprintf(err, errlen, "cannot build the PDF: %s", pdferr);
        return pdf_rv;
    }
    envelope(&m, c, row, subject);
    bodies(p, subject, nombres, opening_text, attached, &m.text, &m.html);
    m.attachments = parts;
    m.n_attachments = n_parts;
    return build(p, &m, msg, len, err, errlen);
}

/* The constancia de vigencia de derechos (Paso 2), as GET /constancia builds it. */
static apr_status_t render_constancia(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                                      const afl_outbox_row *row, const char **msg, apr_size_t *len,
                                      char *err, size_t errlen)
{
    afl_persona per;
    afl_pdf_persona who;
    afl_pdf_emision how = {
        .issued = apr_time_from_sec(row->created), .font = c->font, .font_bold = c->font_bold};
    afl_constancia con;
    afl_mime_part part;
    char pdferr[200];
    apr_status_t rv;
    afl_store_status s = afl_store_persona(p, st, row->curp, &per);

    if (s != AFL_STORE_OK)
        return store_failed(s, err, errlen);
    who = (afl_pdf_persona){per.nombres, per.primer_apellido, per.segundo_apellido, row->curp,
                            row->nss};
    rv = seal(p, st, c, row, "constancia", AFL_CADENA_CONSTANCIA, &who, &how, err, errlen);
    if (rv != APR_SUCCESS)
        return rv;
    /* Coverage on the day of issue, like the download. */
    s = afl_doc_constancia(p, st, row->curp, row->nss, apr_time_sec(how.issued), &con);
    if (s != AFL_STORE_OK)
        return store_failed(s, err, errlen);
    /* Unsigned: the outbox row makes the folio (the download's rule for an
     * unrecorded document: date and sequence 0). */
    if (!how.folio) {
        char buf[AFL_FOLIO_LEN + 1];
        afl_folio_make(how.issued, 0, buf);
        how.folio = apr_pstrdup(p, buf);
    }
    con.emision = how;
    memset(&part, 0, sizeof part);
    part.name = apr_pstrcat(p, "comprobanteVigenciaDerechos", row->nss, ".pdf", NULL);
    part.type = "application/pdf";
    rv = afl_pdf_constancia(p, &con, &part.data, &part.len, pdferr, sizeof pdferr);
    return finish(p, c, row, rv, pdferr, AFL_OUTBOX_SUBJECT_CONSTANCIA, per.nombres,
                  opening_constancia(row->reason), BODY_ATTACHED_CONSTANCIA, &part, 1, msg, len,
                  err, errlen);
}

#define BODY_CONFIRMACION                                                                               \
    "Recibimos una solicitud del trámite “Obtén o localiza tu NSS” del IMSS con esta dirección " \
    "de correo electrónico. Para continuar, abre la siguiente liga:"
#define BODY_CONFIRMACION_USO                                                                      \
    "La liga sirve una sola vez y puedes abrirla en cualquier dispositivo. Hasta que la abras no " \
    "se mostrará ni se enviará tu Número de Seguridad Social (NSS)."

/* The e-mail confirmation link (AfiliateConfirmarCorreo): no attachment, no
 * personal data but the link itself; the expiry is the one the link carries. */
static apr_status_t render_confirmacion(apr_pool_t *p, const afl_outbox_conf *c,
                                        const afl_outbox_row *row, const char **msg,
                                        apr_size_t *len, char *err, size_t errlen)
{
    const char *link = row->enlace, *token = link ? strstr(link, "?t=") : NULL;
    long long expires = token ? afl_confirm_expiry(token + 3) : 0;
    const char *vigencia, *text, *html;
    char fecha[40], hora[16];
    afl_mime_msg m;

    if (!link || !*link || !expires) {
        apr_snprintf(err, errlen, "the confirmation message has no valid link");
        return APR_EINVAL;
    }
    afl_pdf_format_date(apr_time_from_sec(expires), fecha, sizeof fecha);
    afl_pdf_format_time(apr_time_from_sec(expires), hora, sizeof hora);
    vigencia = apr_pstrcat(p, "La liga es válida hasta las ", hora, " h del ", fecha, ".", NULL);
    text = apr_pstrcat(p, "Hola:\n\n", BODY_CONFIRMACION, "\n\n", link, "\n\n", vigencia, " ",
                       BODY_CONFIRMACION_USO, "\n\n", BODY_NOT_YOU, "\n", BODY_NO_REPLY, "\n\n",
                       BODY_SIGNATURE, "\n", NULL);
    html = apr_pstrcat(
        p, "<!DOCTYPE html>\n<html lang=\"es-MX\">\n<head><meta charset=\"UTF-8\"><title>",
        html_escape(p, AFL_OUTBOX_SUBJECT_CONFIRMACION),
        "</title></head>\n<body>\n<p>Hola:</p>\n<p>", html_escape(p, BODY_CONFIRMACION),
        "</p>\n<p><a href=\"", html_escape(p, link), "\">", html_escape(p, link), "</a></p>\n<p>",
        html_escape(p, vigencia), " ", html_escape(p, BODY_CONFIRMACION_USO), "</p>\n<p>",
        html_escape(p, BODY_NOT_YOU), "<br>\n", html_escape(p, BODY_NO_REPLY), "</p>\n<p><strong>",
        html_escape(p, BODY_SIGNATURE), "</strong></p>\n</body>\n</html>\n", NULL);
    envelope(&m, c, row, AFL_OUTBOX_SUBJECT_CONFIRMACION);
    m.text = text;
    m.html = html;
    m.no_attachment = 1;
    return build(p, &m, msg, len, err, errlen);
}

apr_status_t afl_outbox_render(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                               const afl_outbox_row *row, const char **msg, apr_size_t *len,
                               char *err, size_t errlen)
{
    afl_comprobante comp;
    afl_tarjeta tj;
    afl_mime_part parts[2];
    char pdferr[200];
    apr_status_t rv;
    afl_store_status s;

    if (row->kind && !strcmp(row->kind, "constancia"))
        return render_constancia(p, st, c, row, msg, len, err, errlen);
    if (row->kind && !strcmp(row->kind, "confirmacion"))
        return render_confirmacion(p, c, row, msg, len, err, errlen);
    s = afl_doc_comprobante(p, st, row->curp, &comp);
    if (s != AFL_STORE_OK)
        return store_failed(s, err, errlen);
    /* The comprobante and the tarjeta as the student downloads them, issued
     * when the message was queued. */
    comp.emision.issued = apr_time_from_sec(row->created);
    comp.emision.font = c->font;
    comp.emision.font_bold = c->font_bold;
    /* Unsigned, the tarjeta shows the comprobante's folio; signed, seal gives
     * each its own folio and firma. */
    tj.persona = comp.persona;
    tj.emision = comp.emision;
    rv = seal(p, st, c, row, "comprobante",
              comp.localizacion ? AFL_CADENA_LOCALIZACION : AFL_CADENA_ASIGNACION, &comp.persona,
              &comp.emision, err, errlen);
    if (rv == APR_SUCCESS)
        rv = seal(p, st, c, row, "tarjeta", AFL_CADENA_TARJETA, &tj.persona, &tj.emision, err,
                  errlen);
    if (rv != APR_SUCCESS)
        return rv;
    memset(parts, 0, sizeof parts);
    parts[0].name = apr_pstrcat(p, "comprobanteNSS", comp.persona.nss, ".pdf", NULL);
    parts[1].name = apr_pstrcat(p, "tarjetaNSS", comp.persona.nss, ".pdf", NULL);
    parts[0].type = parts[1].type = "application/pdf";
    rv = afl_pdf_comprobante(p, &comp, &parts[0].data, &parts[0].len, pdferr, sizeof pdferr);
    if (rv == APR_SUCCESS)
        rv = afl_pdf_tarjeta(p, &tj, &parts[1].data, &parts[1].len, pdferr, sizeof pdferr);
    return finish(p, c, row, rv, pdferr, AFL_OUTBOX_SUBJECT, comp.persona.nombres,
                  opening(row->reason), BODY_ATTACHED, parts, 2, msg, len, err, errlen);
}

/* ------------------------------------------------------------------ the pass */

typedef struct {
    afl_smtp *smtp; /* opened on first use, kept for the pass (one connection) */
} pass_state;

static afl_smtp_result deliver(apr_pool_t *p, const afl_outbox_conf *c, pass_state *ps,
                               const char *to, const char *msg, size_t len, int *code, char *err,
                               size_t errlen)
{
    if (c->send)
        return c->send(c->send_baton, c->from, to, msg, len, code, err, errlen);
    if (!ps->smtp)
        ps->smtp = afl_smtp_open(p, &c->smtp);
    if (!ps->smtp) {
        *code = 0;
        apr_snprintf(err, errlen, "cannot create a libcurl handle");
        return AFL_SMTP_TEMPFAIL;
    }
    return afl_smtp_send(ps->smtp, c->from, to, msg, len, code, err, errlen);
}

/* Records the outcome of one claimed row. Returns -1 on a database error. */
static int settle(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c, const afl_outbox_row *row,
                  afl_smtp_result res, const char *why, afl_outbox_stats *stats)
{
    afl_store_status s;
    long long now = clock_now(c);

    if (res == AFL_SMTP_SENT) {
        s = afl_store_outbox_sent(p, st, row->id, row->attempts, now);
        if (s == AFL_STORE_OK) {
            stats->sent++;
            afl_log(AFL_LOG_INFO, AFL_LOGNO(00016) "outbox %lld sent (attempt %d)", row->id,
                                            row->attempts);
        }
    } else if (res == AFL_SMTP_TEMPFAIL && row->attempts < c->max_attempts) {
        long long delay = afl_outbox_backoff(c, row->attempts, random_uint());
        s = afl_store_outbox_retry(p, st, row->id, row->attempts, now + delay, why);
        if (s == AFL_STORE_OK) {
            stats->retried++;
            afl_log(AFL_LOG_WARN,
                    AFL_LOGNO(00017) "outbox %lld: delivery failed (attempt %d of %d): %s; next "
                                     "attempt in %lld s",
                              row->id, row->attempts, c->max_attempts, why, delay);
        }
    } else {
        s = afl_store_outbox_fail(p, st, row->id, row->attempts, why);
        if (s == AFL_STORE_OK) {
            stats->failed++;
            afl_log(AFL_LOG_ERR,
                    AFL_LOGNO(00018) "outbox %lld: marked failed after attempt %d (%s): %s; requeue with "
                               "afiliatectl outbox requeue",
                        row->id, row->attempts,
                        res == AFL_SMTP_PERMFAIL ? "refused permanently" : "attempts exhausted",
                        why);
        }
    }
    if (s == AFL_STORE_NOTFOUND) {
        stats->lost++;
        afl_log(
            AFL_LOG_WARN,
            AFL_LOGNO(00019) "outbox %lld: the claim expired before the outcome was recorded; another "
                       "sender has the message",
                row->id);
    }
    return s == AFL_STORE_ERROR ? -1 : 0;
}

/* 1 when a temporary failure says the relay itself is unusable now (no
 * reply, a dropped connection, 421), 0 for a deferral of this message. */
static int relay_down(afl_smtp_result res, int code)
{
    return res == AFL_SMTP_TEMPFAIL && !(code >= 450 && code <= 452);
}

apr_status_t afl_outbox_drain(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                              afl_outbox_stats *stats)
{
    pass_state ps = {NULL};
    int lease = c->lease > 0
                    ? c->lease
                    : (int)((c->smtp.timeout_ms > 0 ? c->smtp.timeout_ms : 60000) / 1000) + 60;
    int batch = c->batch > 0 ? c->batch : AFL_OUTBOX_DEFAULT_BATCH;
    int budget = c->max_per_pass > 0 ? c->max_per_pass : AFL_OUTBOX_DEFAULT_MAX_PER_PASS;
    apr_status_t result = APR_SUCCESS;

    memset(stats, 0, sizeof *stats);
    while (budget > 0 && !stats->stopped) {
        apr_array_header_t *ids;
        int claimed_before = stats->claimed;

        if (afl_store_outbox_due(p, st, clock_now(c), batch < budget ? batch : budget, &ids) !=
            AFL_STORE_OK) {
            stats->db_error = 1;
            result = APR_EGENERAL;
            break;
        }
        for (int i = 0; i < ids->nelts && budget > 0 && !stats->stopped; i++) {
            long long id = APR_ARRAY_IDX(ids, i, long long);
            long long now = clock_now(c);
            apr_pool_t *mp;
            afl_outbox_row row;
            afl_store_status s;
            afl_smtp_result res;
            const char *msg = NULL;
            apr_size_t len = 0;
            int code = 0;
            char why[256];

            if (c->should_stop && c->should_stop(c->stop_baton)) {
                stats->stopped = 1;
                break;
            }
            apr_pool_create(&mp, p);
            s = afl_store_outbox_claim(mp, st, id, now, now + lease, &row);
            if (s == AFL_STORE_NOTFOUND) {
                apr_pool_destroy(mp);
                continue; /* another sender was first */
            }
            if (s != AFL_STORE_OK) {
                apr_pool_destroy(mp);
                stats->db_error = 1;
                result = APR_EGENERAL;
                break;
            }
            stats->claimed++;
            budget--;
            AFL_CRASH_POINT("outbox-claim");
            why[0] = '\0';
            if (row.attempts > c->max_attempts) {
                /* Claimed again and again by senders that died with it. */
                res = AFL_SMTP_PERMFAIL;
                apr_snprintf(why, sizeof why, "claimed %d times without an outcome", row.attempts);
            } else if (!afl_email_valid(row.recipient) || !afl_mime_address_ok(row.recipient)) {
                res = AFL_SMTP_PERMFAIL;
                apr_snprintf(why, sizeof why, "the recipient address is not acceptable");
            } else if (afl_outbox_render(mp, st, c, &row, &msg, &len, why, sizeof why) !=
                       APR_SUCCESS) {
                res = AFL_SMTP_TEMPFAIL;
                afl_log(AFL_LOG_ERR, AFL_LOGNO(00020) "outbox %lld: cannot render the message: %s",
                                               row.id, why);
            } else {
                char err[200];
                res = deliver(p, c, &ps, row.recipient, msg, len, &code, err, sizeof err);
                if (res == AFL_SMTP_SENT)
                    AFL_CRASH_POINT("smtp-data");
                if (res != AFL_SMTP_SENT)
                    apr_snprintf(why, sizeof why, "%s", err);
                if (relay_down(res, code))
                    stats->stopped = 1;
            }
            /* The outcome is known: record it even through a short database
             * hiccup (SQLITE_BUSY under load), or the row waits for its lease
             * and, if it was sent, goes out twice. */
            for (int tries = 0;; tries++) {
                if (settle(mp, st, c, &row, res, why, stats) == 0)
                    break;
                if (tries == 4) {
                    stats->db_error = 1;
                    result = APR_EGENERAL;
                    break;
                }
                apr_sleep(apr_time_from_msec(250));
            }
            apr_pool_destroy(mp);
            if (result != APR_SUCCESS)
                break;
        }
        if (result != APR_SUCCESS || ids->nelts < batch || stats->claimed == claimed_before)
            break;
    }
    if (ps.smtp)
        afl_smtp_close(ps.smtp);
    return result;
}
