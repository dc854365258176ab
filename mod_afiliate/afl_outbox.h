/* afl_outbox: the sender that drains the mail outbox (docs/mail.md).
 *
 * Pure unit: driven by the mod_watchdog singleton (mod_afiliate_outbox.c) and
 * by `afiliatectl outbox --once`, on a connection given by the host.
 *
 * One pass: read the ids of up to `batch` due rows; for each, claim it with a
 * lease (one conditional UPDATE: two senders never both win the same row),
 * render the message by its kind (afl_mime; the PDFs from the stored data:
 * 'comprobante', the comprobante and the Tarjeta de NSS; 'constancia', the
 * constancia de vigencia de derechos of Paso 2; 'confirmacion', the e-mail
 * confirmation link, without attachment),
 * send it (afl_smtp) and record the outcome:
 *   - 2xx after the data: 'sent';
 *   - temporary failure: back to 'pending', due again after an exponential
 *     backoff with jitter (backoff_min, doubling, capped at backoff_max; each
 *     delay drawn from [d/2, d]), or 'failed' once attempts reach
 *     max_attempts;
 *   - permanent failure (5xx): 'failed' at once.
 * Rounds repeat while rows are due, up to max_per_pass messages. A relay that
 * cannot be reached (or drops the connection) ends the pass after that
 * message, so the rest wait without spending attempts. No transaction is
 * open while rendering or sending; each row update is a statement of its own.
 *
 * Delivery is at least once: a sender that dies between the relay's 250 and
 * the 'sent' update leaves the row claimed; after the lease it is sent again
 * with the same Message-ID, so the duplicate is recognisable.
 *
 * Logs name outbox ids only, never an address, CURP or NSS. */
#ifndef AFL_OUTBOX_H
#define AFL_OUTBOX_H

#include <apr_pools.h>

#include "afl_pdf.h"
#include "afl_smtp.h"
#include "afl_store.h"

#define AFL_OUTBOX_SUBJECT "Comprobante de tu Número de Seguridad Social (NSS)"
#define AFL_OUTBOX_SUBJECT_CONSTANCIA "IMSS DIGITAL REPORTE DE VIGENCIA DE DERECHOS"
#define AFL_OUTBOX_SUBJECT_CONFIRMACION "Confirma tu correo electrónico para continuar tu trámite"
#define AFL_OUTBOX_DEFAULT_FROM "no-reply@localhost"
#define AFL_OUTBOX_DEFAULT_FROM_NAME "IMSS"
#define AFL_OUTBOX_DEFAULT_MAX_ATTEMPTS 150 /* about 72 h with the default backoff */
#define AFL_OUTBOX_DEFAULT_BACKOFF_MIN 30
#define AFL_OUTBOX_DEFAULT_BACKOFF_MAX 1800
#define AFL_OUTBOX_DEFAULT_BATCH 20
#define AFL_OUTBOX_DEFAULT_MAX_PER_PASS 500

/* Replaces SMTP (unit tests): same contract as afl_smtp_send. */
typedef afl_smtp_result afl_outbox_send_fn(void *baton, const char *from, const char *to,
                                           const char *msg, size_t len, int *code, char *err,
                                           size_t errlen);
typedef long long afl_outbox_clock_fn(void *baton);
/* Non-zero when the host is shutting down: the pass ends before the next message. */
typedef int afl_outbox_stop_fn(void *baton);

typedef struct {
    afl_smtp_conf smtp;
    const char *from;      /* envelope sender and From address */
    const char *from_name; /* display name of From; NULL or "" for none */
    int max_attempts;
    int backoff_min, backoff_max;         /* seconds */
    int lease;                            /* seconds a claim lasts; 0: SMTP timeout + 60 s */
    int batch;                            /* rows read per round */
    int max_per_pass;                     /* messages per pass */
    const afl_pdf_font *font, *font_bold; /* NULL: the standard PDF fonts */
    afl_outbox_send_fn *send;             /* NULL: afl_smtp */
    void *send_baton;
    afl_outbox_clock_fn *clock; /* NULL: wall clock, UNIX seconds */
    void *clock_baton;
    afl_outbox_stop_fn *should_stop; /* NULL: never */
    void *stop_baton;
    /* Signing: the attached comprobante is issued and sealed like the download
     * (one documento row per outbox row, reused by retries). NULL: unsigned. */
    const struct afl_sign_key *sign_key;
    const char *verify_base; /* base of the QR verification URL */
} afl_outbox_conf;

typedef struct {
    int claimed;  /* rows this pass claimed */
    int sent;     /* ... and marked sent */
    int retried;  /* ... put back for a later attempt */
    int failed;   /* ... marked failed */
    int lost;     /* claims lost before the outcome could be written */
    int stopped;  /* 1 if the pass ended early because the relay is unreachable */
    int db_error; /* 1 if a database error ended the pass */
} afl_outbox_stats;

/* Defaults for every field (smtp.url stays NULL: the caller sets it). */
void afl_outbox_conf_defaults(afl_outbox_conf *c);

/* One pass (see above). APR_SUCCESS unless the database failed (the pass
 * stops there; rows already claimed are released by their lease). */
apr_status_t afl_outbox_drain(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                              afl_outbox_stats *stats);

/* The full message of a claimed row: headers, bodies and the PDF. On failure
 * returns an APR error and writes a reason without personal data to err. */
apr_status_t afl_outbox_render(apr_pool_t *p, afl_store *st, const afl_outbox_conf *c,
                               const afl_outbox_row *row, const char **msg, apr_size_t *len,
                               char *err, size_t errlen);

/* Delay in seconds before the next try after `attempts` failed tries; rnd
 * picks the jitter (any value). */
long long afl_outbox_backoff(const afl_outbox_conf *c, int attempts, unsigned rnd);

#endif
