/* afl_doc: the signed documents over the store (see afl_doc.h). */
#include "afl_doc.h"
#include "afl_crash.h"
#include "afl_curp.h"
#include "afl_log.h"
#include "afl_qr.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The person a document names: the stored name, curp and nss (copied into p). */
static afl_pdf_persona persona_of(apr_pool_t *p, const afl_persona *per, const char *curp,
                                  const char *nss)
{
    afl_pdf_persona who = {per->nombres, per->primer_apellido, per->segundo_apellido,
                           apr_pstrdup(p, curp), apr_pstrdup(p, nss)};
    return who;
}

afl_store_status afl_doc_comprobante(apr_pool_t *p, afl_store *st, const char *curp,
                                     afl_comprobante *c)
{
    afl_persona per;
    afl_asegurado aseg;
    afl_store_status s;

    memset(c, 0, sizeof *c);
    s = afl_store_persona(p, st, curp, &per);
    if (s != AFL_STORE_OK)
        return s;
    s = afl_store_asegurado(p, st, curp, &aseg);
    if (s != AFL_STORE_OK)
        return s;
    c->localizacion = strcmp(aseg.origen, "asignado") != 0;
    c->persona = persona_of(p, &per, curp, aseg.nss);
    c->sexo = per.sexo;
    c->entidad_nacimiento = afl_curp_state_name(per.entidad);
    c->umf = aseg.umf_nombre;
    c->emision.folio = apr_psprintf(p, "%013" APR_INT64_T_FMT "%08" APR_INT64_T_FMT,
                                    (apr_int64_t)aseg.creado * 1000, (apr_int64_t)aseg.id);
    return AFL_STORE_OK;
}

afl_store_status afl_doc_constancia(apr_pool_t *p, afl_store *st, const char *curp, const char *nss,
                                    long long when, afl_constancia *c)
{
    afl_persona per;
    afl_asegurado_nss aseg;
    afl_vigencia vig;
    afl_store_status s;

    memset(c, 0, sizeof *c);
    s = afl_store_persona(p, st, curp, &per);
    if (s == AFL_STORE_OK)
        s = afl_store_asegurado_nss(p, st, nss, &aseg);
    if (s == AFL_STORE_OK && strcmp(aseg.curp, curp))
        s = AFL_STORE_NOTFOUND; /* the NSS is not this person's */
    if (s == AFL_STORE_OK)
        s = afl_store_vigencia(p, st, nss, afl_vigencia_today(apr_time_from_sec(when)), &vig);
    if (s != AFL_STORE_OK)
        return s;
    c->persona = persona_of(p, &per, curp, nss);
    c->vigencia = vig;
    c->umf = aseg.umf_nombre;
    c->umf_domicilio = aseg.umf_domicilio;
    c->subdelegacion = aseg.subdelegacion;
    c->emision.issued = apr_time_from_sec(when);
    return AFL_STORE_OK;
}

/* Sequences this process hands out: the next one not handed out yet. Threads
 * that issue at the same moment sign consecutive sequences, and the group
 * committer stores their rows in one batch, in order; another process (or a
 * failure) only makes one of them sign again. A hint: the database's
 * conditional UPDATE decides. */
static pthread_mutex_t handout_mu = PTHREAD_MUTEX_INITIALIZER;
static long long handout_next;
static pthread_cond_t turn_cv = PTHREAD_COND_INITIALIZER;
static long long turn_next; /* sequences below it are on their way to the store */

/* The sequence to sign with, given the database's next. */
static long long hand_out(long long db_next, int restart)
{
    long long seq;

    pthread_mutex_lock(&handout_mu);
    if (restart || handout_next < db_next) {
        handout_next = db_next;
        if (restart || turn_next < db_next)
            turn_next = db_next;
    }
    seq = handout_next++;
    pthread_mutex_unlock(&handout_mu);
    return seq;
}

/* Rows go to the store in the order of their sequences: a thread whose
 * signing ended early waits (briefly) until the rows before its own are on
 * their way, so the group committer takes them in one batch in order and none
 * has to wait for a later commit (AFL_STORE_LATER). Only an ordering hint: on
 * time-out the row goes anyway, and the store still decides. */
#define TURN_WAIT_NS 2000000L

static void wait_turn(long long seq)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += TURN_WAIT_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&handout_mu);
    while (turn_next < seq && pthread_cond_timedwait(&turn_cv, &handout_mu, &until) == 0)
        ;
    if (turn_next <= seq)
        turn_next = seq + 1;
    pthread_cond_broadcast(&turn_cv);
    pthread_mutex_unlock(&handout_mu);
}

/* A sequence handed out and not stored: the next issuer takes it. */
static void give_back(long long seq)
{
    pthread_mutex_lock(&handout_mu);
    if (handout_next > seq)
        handout_next = seq;
    pthread_mutex_unlock(&handout_mu);
}

/* Folio, cadena original and sello of req with sequence seq, outside any
 * transaction. */
static afl_store_status sign(apr_pool_t *p, const afl_doc_req *req, long long seq,
                             afl_store_doc_row *row)
{
    char folio[AFL_FOLIO_LEN + 1];
    afl_cadena c = {
        req->cadena_tipo, apr_time_from_sec(req->emitido), folio, req->rfc, req->nombre, req->curp,
        req->nss};

    memset(row, 0, sizeof *row);
    if (seq < 0 || afl_folio_make(c.fecha, (apr_uint64_t)seq, folio) != 0 ||
        !(row->cadena = afl_cadena_original(p, &c)) ||
        afl_sign_sello(p, req->key, row->cadena, strlen(row->cadena), &row->sello) != APR_SUCCESS) {
        afl_log(AFL_LOG_ERR,
                AFL_LOGNO(00032) "cannot build or sign the cadena original of a document");
        return AFL_STORE_ERROR;
    }
    row->folio = apr_pstrdup(p, folio);
    row->tipo = req->tipo;
    row->nss = req->nss;
    row->curp = req->curp;
    row->nombre = req->nombre;
    row->emitido = req->emitido;
    row->no_serie = afl_sign_serial(req->key);
    row->datos = req->datos;
    return AFL_STORE_OK;
}

afl_store_status afl_doc_issue(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                               afl_store_doc *out)
{
    afl_store_status s;
    afl_store_doc_row row;
    long long next = 0, seq, waited_at = -1;
    int stalls = 0;
    apr_time_t until = apr_time_now() + apr_time_from_sec(AFL_DOC_PATIENCE);

    memset(out, 0, sizeof *out);
    if (req->datos && *req->datos) {
        s = afl_store_documento_reuse(p, st, req->nss, req->tipo, req->datos, out);
        if (s != AFL_STORE_NOTFOUND)
            return s;
    }
    if ((s = afl_store_documento_next(p, st, &next)) != AFL_STORE_OK)
        return s;
    seq = hand_out(next, 0);
    s = sign(p, req, seq, &row);
    while (s == AFL_STORE_OK) {
        next = seq;
        wait_turn(seq);
        s = afl_store_documento_add(p, st, &next, &row);
        if (s == AFL_STORE_OK) {
            AFL_CRASH_POINT("documento-row");
            out->folio = row.folio;
            out->tipo = row.tipo;
            out->nss = row.nss;
            out->nombre = row.nombre;
            out->cadena = row.cadena;
            out->sello = row.sello;
            out->no_serie = row.no_serie;
            out->emitido = row.emitido;
            return AFL_STORE_OK;
        }
        if (s != AFL_STORE_USED && s != AFL_STORE_LATER)
            break;
        if (apr_time_now() > until) {
            afl_log(AFL_LOG_ERR,
                    AFL_LOGNO(00094) "no document folio after %d s: other documents took each",
                              AFL_DOC_PATIENCE);
            s = AFL_STORE_ERROR;
            break;
        }
        if (s == AFL_STORE_LATER) {
            /* Sequences before this one are handed out and not stored yet:
             * the same row, once they are. When the database's next does not
             * move, whoever held them gave up: start again from it. */
            stalls = next == waited_at ? stalls + 1 : 0;
            waited_at = next;
            if (stalls < 3) {
                apr_sleep(1000);
                s = AFL_STORE_OK;
                continue;
            }
            give_back(seq);
            seq = hand_out(next, 1);
        } else {
            seq = hand_out(next, 0); /* another process took it: sign again */
        }
        stalls = 0;
        waited_at = -1;
        s = sign(p, req, seq, &row);
    }
    give_back(seq);
    return s;
}

afl_store_status afl_doc_issue_firma(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                                     const char *verify_base, afl_store_doc *out,
                                     afl_pdf_firma *firma)
{
    afl_store_status s = afl_doc_issue(p, st, req, out);

    memset(firma, 0, sizeof *firma);
    if (s != AFL_STORE_OK)
        return s;
    firma->cadena_original = out->cadena;
    firma->sello = out->sello;
    firma->no_serie = out->no_serie;
    firma->verify_url = afl_qr_verify_url(p, verify_base, out->folio);
    firma->key = req->key;
    return AFL_STORE_OK;
}
