/* afl_outbox: mail outbox sender (see afl_outbox.h). */
#include "afl_outbox.h"
#include "afl_cadena.h"
#include "afl_qr.h"
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
    c->font_path = AFL_OUTBOX_DEFAULT_FONT;
    c->font_bold_path = AFL_OUTBOX_DEFAULT_FONT_BOLD;
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
    "Adjuntamos el comprobante en formato PDF con tu NSS y tu CURP. Puedes imprimirlo o "          \
    "guardarlo para cuando lo necesites."
#define BODY_NOT_YOU "Si tú no realizaste este trámite, ignora este mensaje."
#define BODY_NO_REPLY "Este correo se envió automáticamente; por favor no lo respondas."
#define BODY_SIGNATURE "Instituto Mexicano del Seguro Social"

static void bodies(apr_pool_t *p, const afl_comprobante *c, const char *reason, const char **text,
                   const char **html)
{
    const char *nombre = c->nombres && *c->nombres ? c->nombres : NULL;
    const char *saludo = nombre ? apr_pstrcat(p, "Hola, ", nombre, ":", NULL) : "Hola:";

    *text = apr_pstrcat(p, saludo, "\n\n", opening(reason), "\n\n", BODY_ATTACHED, "\n\n",
                        BODY_NOT_YOU, "\n", BODY_NO_REPLY, "\n\n", BODY_SIGNATURE, "\n", NULL);
    *html = apr_pstrcat(p,
                        "<!DOCTYPE html>\n<html lang=\"es-MX\">\n<head><meta charset=\"UTF-8\">"
                        "<title>",
                        html_escape(p, AFL_OUTBOX_SUBJECT), "</title></head>\n<body>\n<p>",
                        html_escape(p, saludo), "</p>\n<p>", html_escape(p, opening(reason)),
                        "</p>\n<p>", html_escape(p, BODY_ATTACHED), "</p>\n<p>",
                        html_escape(p, BODY_NOT_YOU), "<br>\n", html_escape(p, BODY_NO_REPLY),
                        "</p>\n<p><strong>", html_escape(p, BODY_SIGNATURE),
                        "</strong></p>\n</body>\n</html>\n", NULL);
}

apr_status_t afl_outbox_render(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                               const afl_outbox_row *row, const char **msg, apr_size_t *len,
                               char *err, size_t errlen)
{
    afl_comprobante comp;
    afl_mime_msg m;
    const unsigned char *pdf;
    size_t pdf_len;
    char pdferr[200];
    apr_status_t rv;
    afl_store_status s = afl_store_comprobante(p, st, row->curp, &comp);

    if (s != AFL_STORE_OK) {
        apr_snprintf(err, errlen, "%s",
                     s == AFL_STORE_NOTFOUND ? "the insured person is gone" : "database error");
        return s == AFL_STORE_NOTFOUND ? APR_ENOENT : APR_EGENERAL;
    }
    /* The comprobante as the student downloads it, issued when it was queued. */
    comp.issued = apr_time_from_sec(row->created);
    if (c->sign_key) {
        afl_store_doc_req req;
        afl_store_doc doc;

        memset(&req, 0, sizeof req);
        req.tipo = "comprobante";
        req.cadena_tipo = comp.localizacion ? AFL_CADENA_LOCALIZACION : AFL_CADENA_ASIGNACION;
        req.nss = comp.nss;
        req.curp = comp.curp;
        req.nombre =
            afl_cadena_nombre(p, comp.nombres, comp.primer_apellido, comp.segundo_apellido);
        req.emitido = row->created;
        /* A retry of this message finds the same document (same folio and sello). */
        req.datos = apr_psprintf(p, "{\"outbox\":\"%" APR_INT64_T_FMT "\"}",
                                 (apr_int64_t)row->id);
        req.key = c->sign_key;
        if (afl_store_documento_emitir(p, st, &req, &doc) != AFL_STORE_OK) {
            apr_snprintf(err, errlen, "%s", "database error while issuing the document");
            return APR_EGENERAL;
        }
        comp.folio = doc.folio;
        comp.issued = apr_time_from_sec(doc.emitido);
        comp.firma.cadena_original = doc.cadena;
        comp.firma.sello = doc.sello;
        comp.firma.no_serie = doc.no_serie;
        comp.firma.verify_url =
            c->verify_base ? afl_qr_verify_url(p, c->verify_base, doc.folio) : NULL;
        comp.firma.key = c->sign_key;
    }
    comp.font_path = c->font_path;
    comp.font_bold_path = c->font_bold_path;
    comp.font = c->font;
    comp.font_bold = c->font_bold;
    rv = afl_pdf_comprobante(p, &comp, &pdf, &pdf_len, pdferr, sizeof pdferr);
    if (rv != APR_SUCCESS) {
        apr_snprintf(err, errlen, "cannot build the PDF: %s", pdferr);
        return rv;
    }
    memset(&m, 0, sizeof m);
    m.from = c->from;
    m.from_name = c->from_name;
    m.to = row->recipient;
    m.subject = AFL_OUTBOX_SUBJECT;
    m.message_id = row->message_id;
    m.date = apr_time_now();
    bodies(p, &comp, row->reason, &m.text, &m.html);
    m.attachment_name = apr_pstrcat(p, "comprobanteNSS", comp.nss, ".pdf", NULL);
    m.attachment_type = "application/pdf";
    m.attachment = pdf;
    m.attachment_len = pdf_len;
    rv = afl_mime_build(p, &m, msg, len);
    if (rv != APR_SUCCESS)
        apr_snprintf(err, errlen, "cannot build the MIME message");
    return rv;
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
            afl_log(AFL_LOG_INFO, "outbox %lld sent (attempt %d)", row->id, row->attempts);
        }
    } else if (res == AFL_SMTP_TEMPFAIL && row->attempts < c->max_attempts) {
        long long delay = afl_outbox_backoff(c, row->attempts, random_uint());
        s = afl_store_outbox_retry(p, st, row->id, row->attempts, now + delay, why);
        if (s == AFL_STORE_OK) {
            stats->retried++;
            afl_log(AFL_LOG_WARN,
                    "outbox %lld: delivery failed (attempt %d of %d): %s; next attempt in %lld s",
                    row->id, row->attempts, c->max_attempts, why, delay);
        }
    } else {
        s = afl_store_outbox_fail(p, st, row->id, row->attempts, why);
        if (s == AFL_STORE_OK) {
            stats->failed++;
            afl_log(AFL_LOG_ERR,
                    "outbox %lld: marked failed after attempt %d (%s): %s; requeue with "
                    "afiliatectl outbox requeue",
                    row->id, row->attempts,
                    res == AFL_SMTP_PERMFAIL ? "refused permanently" : "attempts exhausted", why);
        }
    }
    if (s == AFL_STORE_NOTFOUND) {
        stats->lost++;
        afl_log(AFL_LOG_WARN,
                "outbox %lld: the claim expired before the outcome was recorded; another "
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
                afl_log(AFL_LOG_ERR, "outbox %lld: cannot render the message: %s", row.id, why);
            } else {
                char err[200];
                res = deliver(p, c, &ps, row.recipient, msg, len, &code, err, sizeof err);
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
