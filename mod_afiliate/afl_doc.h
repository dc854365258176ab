/* afl_doc: the signed documents over the store. Their data from the stored
 * rows (the web download and the e-mailed attachment both come from here),
 * and issuing one: folio, cadena original, sello and documento row
 * (docs/documents.md). The sello is computed outside any transaction: the
 * store's transaction takes the folio's sequence and stores the row, and the
 * sello follows it (afl_store_documento_take, afl_store_documento_seal). */
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

/* Issues a document, or returns the stored row (see datos). One short
 * transaction takes the next sequence and stores the row with its folio and
 * cadena original (afl_store_documento_take); the cadena is signed after the
 * commit and the sello stored without waiting for another commit. A row
 * found without its sello (its process died in between) gets it here: the
 * signature is deterministic, so it is the same sello. */
afl_store_status afl_doc_issue(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                               afl_store_doc *out);

/* The documento folio (afl_store_documento_get), its sello signed again
 * and stored when the row has none and key (NULL: none) is the one that
 * issued it. */
afl_store_status afl_doc_get(apr_pool_t *p, afl_store *st, const afl_sign_key *key,
                             const char *folio, afl_store_doc *out);

/* Signs again and stores up to max rows that key issued before `before`
 * (UNIX seconds: older than a sello on its way to the store) and that were
 * left without their sello. *sealed (may be NULL): how many. */
afl_store_status afl_doc_seal_unsealed(apr_pool_t *p, afl_store *st, const afl_sign_key *key,
                                       long long before, int max, int *sealed);

/* afl_doc_issue for a PDF: also fills firma from the issued row (cadena
 * original, sello, No. de serie, req->key, and the verification URL under
 * verify_base: NULL or "" gives no URL). firma is zeroed first. */
afl_store_status afl_doc_issue_firma(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                                     const char *verify_base, afl_store_doc *out,
                                     afl_pdf_firma *firma);

#endif
