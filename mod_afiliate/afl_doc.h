/* afl_doc: the signed documents over the store. Their data from the stored
 * rows (the web download and the e-mailed attachment both come from here),
 * and issuing one: folio, cadena original, sello and documento row
 * (docs/documents.md). The sello is computed outside any transaction: the
 * store's transaction only takes the folio's sequence it was made with and
 * stores the whole row (afl_store_documento_add). */
#ifndef AFL_DOC_H
#define AFL_DOC_H

#include <apr_pools.h>

#include "afl_cadena.h"
#include "afl_pdf.h"
#include "afl_sign.h"
#include "afl_store.h"

/* The stored data of the comprobante of curp (RENAPO person, insured row and
 * UMF): everything but issued and the fonts, which are the caller's. */
afl_store_status afl_doc_comprobante(apr_pool_t *p, afl_store *st, const char *curp,
                                     afl_comprobante *c);

/* The stored data of the constancia of curp and nss on the day of `when`
 * (UNIX seconds): person, UMF, subdelegación and coverage; issued = when.
 * Folio, firma and fonts are the caller's. AFL_STORE_NOTFOUND when the person
 * or the NSS is gone or the NSS is not curp's. */
afl_store_status afl_doc_constancia(apr_pool_t *p, afl_store *st, const char *curp, const char *nss,
                                    long long when, afl_constancia *c);

typedef struct {
    const char *tipo;                      /* comprobante | tarjeta | constancia */
    afl_cadena_tipo cadena_tipo;           /* layout of the cadena original */
    const char *nss, *curp, *nombre, *rfc; /* rfc NULL for none */
    long long emitido;                     /* UNIX seconds */
    const char *datos; /* e.g. {"tramite":"<session id>"}; a row with the same nss, tipo
                          and datos is reused instead of issuing a new one; NULL/"": never */
    const afl_sign_key *key;
} afl_doc_req;

/* Issues a document, or returns the stored row (see datos). Takes a sequence
 * (the database's next, or the one after those this process has handed out
 * to documents being issued now), builds the folio and the cadena original and
 * signs it, all outside any transaction; then one short transaction takes
 * that sequence and stores the row (afl_store_documento_add). When another
 * document took the sequence, nothing was written and it signs again with a
 * new one; when earlier sequences are not stored yet, it stores the same row
 * once they are (or, if they never are, starts again from the database's
 * next). After AFL_DOC_PATIENCE seconds of such rounds it gives up with
 * AFL_STORE_ERROR (the caller answers 503). */
#define AFL_DOC_PATIENCE 10
afl_store_status afl_doc_issue(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                               afl_store_doc *out);

/* afl_doc_issue for a PDF: also fills firma from the issued row (cadena
 * original, sello, No. de serie, req->key, and the verification URL under
 * verify_base: NULL or "" gives no URL). firma is zeroed first. */
afl_store_status afl_doc_issue_firma(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                                     const char *verify_base, afl_store_doc *out,
                                     afl_pdf_firma *firma);

#endif
