/* afl_doc: the signed documents over the store (see afl_doc.h). */
#include "afl_doc.h"
#include "afl_crash.h"
#include "afl_curp.h"
#include "afl_log.h"
#include "afl_qr.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <stdlib.h>
#include <string.h>

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

/* Folio, cadena original and the other columns of req's row for sequence
 * seq: run inside the store's transaction (afl_store_doc_make), no signing. */
static afl_store_status make_row(apr_pool_t *p, long long seq, afl_store_doc_row *row, void *baton)
{
    const afl_doc_req *req = baton;
    char folio[AFL_FOLIO_LEN + 1];
    afl_cadena c = {
        req->cadena_tipo, apr_time_from_sec(req->emitido), folio, req->rfc, req->nombre, req->curp,
        req->nss};

    if (seq < 0 || afl_folio_make(c.fecha, (apr_uint64_t)seq, folio) != 0 ||
        !(row->cadena = afl_cadena_original(p, &c))) {
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00032) "cannot build the cadena original of a document");
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

/* The sello of cadena by key, or NULL (logged). */
static const char *sign(apr_pool_t *p, const afl_sign_key *key, const char *cadena)
{
    const char *sello = NULL;

    if (afl_sign_sello(p, key, cadena, strlen(cadena), &sello) != APR_SUCCESS || !sello) {
        afl_log(AFL_LOG_ERR, AFL_LOGNO(00096) "cannot sign the cadena original of a document");
        return NULL;
    }
    return sello;
}

/* Gives a stored row without its sello the one key would have stored: the
 * signature is deterministic, so it is the sello the document was (or would
 * have been) printed with. Rows signed with another key keep sello "". */
static afl_store_status complete(apr_pool_t *p, afl_store *st, const afl_sign_key *key,
                                 afl_store_doc *doc)
{
    const char *sello;

    if (*doc->sello || !key)
        return AFL_STORE_OK;
    if (strcmp(doc->no_serie, afl_sign_serial(key)) != 0) {
        afl_log(AFL_LOG_WARN,
                AFL_LOGNO(00097) "a document without its sello was issued with another signing "
                                 "key (serial %s); it cannot be signed again here",
                          doc->no_serie);
        return AFL_STORE_OK;
    }
    if (!(sello = sign(p, key, doc->cadena)))
        return AFL_STORE_ERROR;
    if (afl_store_documento_seal(p, st, doc->folio, sello, 1) != AFL_STORE_OK)
        return AFL_STORE_ERROR;
    doc->sello = sello;
    return AFL_STORE_OK;
}

afl_store_status afl_doc_issue(apr_pool_t *p, afl_store *st, const afl_doc_req *req,
                               afl_store_doc *out)
{
    afl_store_status s;
    afl_store_doc_row row;
    const char *sello;

    memset(out, 0, sizeof *out);
    if (req->datos && *req->datos) {
        s = afl_store_documento_reuse(p, st, req->nss, req->tipo, req->datos, out);
        if (s == AFL_STORE_OK)
            return complete(p, st, req->key, out);
        if (s != AFL_STORE_NOTFOUND)
            return s;
    }
    s = afl_store_documento_take(p, st, make_row, (void *)req, &row);
    if (s != AFL_STORE_OK)
        return s;
    AFL_CRASH_POINT("documento-row");
    /* A failure from here on leaves the row without its sello: the next
     * reader or afl_doc_seal_unsealed signs it again, to the same sello. So
     * a sello that could not be stored (the store logged why) does not keep
     * the student from the document. */
    if (!(sello = sign(p, req->key, row.cadena)))
        return AFL_STORE_ERROR;
    afl_store_documento_seal(p, st, row.folio, sello, 0);
    out->folio = row.folio;
    out->tipo = row.tipo;
    out->nss = row.nss;
    out->nombre = row.nombre;
    out->cadena = row.cadena;
    out->sello = sello;
    out->no_serie = row.no_serie;
    out->emitido = row.emitido;
    return AFL_STORE_OK;
}

afl_store_status afl_doc_get(apr_pool_t *p, afl_store *st, const afl_sign_key *key,
                             const char *folio, afl_store_doc *out)
{
    afl_store_status s = afl_store_documento_get(p, st, folio, out);
    return s == AFL_STORE_OK ? complete(p, st, key, out) : s;
}

afl_store_status afl_doc_seal_unsealed(apr_pool_t *p, afl_store *st, const afl_sign_key *key,
                                       long long before, int max, int *sealed)
{
    apr_array_header_t *folios, *cadenas;
    afl_store_status s;
    int n = 0;

    if (sealed)
        *sealed = 0;
    s = afl_store_documento_unsealed(p, st, afl_sign_serial(key), before, max, &folios, &cadenas);
    for (int i = 0; s == AFL_STORE_OK && i < folios->nelts; i++) {
        const char *sello = sign(p, key, APR_ARRAY_IDX(cadenas, i, const char *));
        s = sello
                ? afl_store_documento_seal(p, st, APR_ARRAY_IDX(folios, i, const char *), sello, 1)
                : AFL_STORE_ERROR;
        n += s == AFL_STORE_OK;
    }
    if (n)
        afl_log(AFL_LOG_INFO,
                AFL_LOGNO(00098) "%d document(s) left without their sello signed again", n);
    if (sealed)
        *sealed = n;
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
