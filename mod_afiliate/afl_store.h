/* afl_store: every database operation of the web procedure, on an afl_db
 * connection. No httpd header: the glue hands in mod_dbd's connection
 * (afl_db_wrap), afiliatectl and the tests their own (afl_db_open).
 *
 * Its statements are rows of the one table of afl_sql.c (ids below
 * AFL_SQL_STORE_END), prepared once per connection by afl_store_prepare_all()
 * and run through afl_db. No PDF, mail or network work ever happens while a
 * transaction of this unit is open. */
#ifndef AFL_STORE_H
#define AFL_STORE_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "afl_db.h"
#include "afl_vigencia.h"

typedef struct afl_commit afl_commit; /* afl_commit.h */

typedef struct {
    afl_db *db; /* the connection, its prepared statements */
    /* SQLite in a server: the process's group committer (afl_commit.h); every
     * write goes through it. NULL: plain apr_dbd transactions (PostgreSQL,
     * which commits concurrently on its own, and the CLI). */
    afl_commit *commit;
    int in_txn; /* set by the committer while it runs bodies on this connection */
} afl_store;

typedef enum {
    AFL_STORE_OK = 0,
    AFL_STORE_NOTFOUND = 1,
    AFL_STORE_EXHAUSTED = 2, /* no folio left in any allowed prefix */
    AFL_STORE_LIMITED = 3,   /* a limit refused the operation; nothing was written */
    AFL_STORE_USED = 4,      /* the CAPTCHA id had been used already; nothing was written */
    AFL_STORE_ERROR = -1,    /* database failure: the caller answers 503 */
} afl_store_status;

/* Per-connection settings and statement preparation. Both log (tagged) and
 * return an error when the connection is unusable; the handler then finds no
 * prepared statements and answers 503. */
apr_status_t afl_store_configure(apr_pool_t *p, afl_store *st);
/* Prepares the store's statements on st->db (a wrapper: with a pool that
 * lives as long as the connection, afl_db_wrap). */
apr_status_t afl_store_prepare_all(afl_store *st);
/* True when every statement is prepared on this connection. */
int afl_store_ready(const afl_store *st);

typedef struct {
    const char *nombres, *primer_apellido, *segundo_apellido; /* segundo "" if none */
    const char *fecha_nacimiento;                             /* YYYY-MM-DD */
    char sexo;
    const char *entidad;     /* two-letter code */
    const char *status_curp; /* AN, AH, ... BD ... */
} afl_persona;

/* 1 if a RENAPO status code means the CURP is active. */
int afl_store_status_active(const char *status);

afl_store_status afl_store_persona(apr_pool_t *p, afl_store *st, const char *curp,
                                   afl_persona *out);

typedef struct {
    const char *nss;
    const char *origen; /* asignado | localizado */
    long long id;
    long long creado;
    const char *umf_clave, *umf_nombre; /* "" when none */
} afl_asegurado;

afl_store_status afl_store_asegurado(apr_pool_t *p, afl_store *st, const char *curp,
                                     afl_asegurado *out);

/* Records a CAPTCHA id as used. AFL_STORE_OK when this call used it first,
 * AFL_STORE_NOTFOUND when it had been used already. */
afl_store_status afl_store_captcha_use(apr_pool_t *p, afl_store *st, const char *id,
                                       long long expires);

/* Counts one hit in the fixed window [window, window + len) for key and
 * gives the count so far. */
afl_store_status afl_store_rate_hit(apr_pool_t *p, afl_store *st, const char *key, long long window,
                                    long long *count);
/* The counts of two keys in window without counting (0 where a key has no row):
 * one statement. */
afl_store_status afl_store_rate_get_pair(apr_pool_t *p, afl_store *st, long long window,
                                         const char *key_a, const char *key_b, long long *a,
                                         long long *b);

/* Counts one hit in window for each of the n keys (NULL ones skipped), in one
 * transaction. */
afl_store_status afl_store_rate_hits(apr_pool_t *p, afl_store *st, long long window,
                                     const char *const *keys, int n);

/* The step a trámite has reached. The database keeps the names below
 * (tramite.paso); afl_store converts at its boundary only. */
typedef enum {
    AFL_PASO_NINGUNO = 0,  /* no row, or a name this build does not know */
    AFL_PASO_FORMULARIO,   /* "formulario" */
    AFL_PASO_DOMICILIO,    /* "domicilio": a new NSS waits for the address */
    AFL_PASO_RESULTADO,    /* "resultado": Paso 1 done */
    AFL_PASO_VIGENCIA,     /* "vigencia": Paso 2 done */
    AFL_PASO_CONFIRMACION, /* "confirmacion": Paso 1 waits for the e-mail link
                              (AfiliateConfirmarCorreo) */
} afl_paso;

/* The stored name of a step ("" for AFL_PASO_NINGUNO), and back. */
const char *afl_paso_name(afl_paso paso);
afl_paso afl_paso_parse(const char *name);

typedef struct {
    const char *csrf;
    afl_paso paso;
    const char *curp, *correo, *nss, *origen; /* "" when unset */
    int reenvios;
    long long expira;
} afl_tramite;

afl_store_status afl_store_tramite_put(apr_pool_t *p, afl_store *st, const char *id,
                                       const afl_tramite *t, long long now);
afl_store_status afl_store_tramite_get(apr_pool_t *p, afl_store *st, const char *id, long long now,
                                       afl_tramite *out);
afl_store_status afl_store_tramite_touch(apr_pool_t *p, afl_store *st, const char *id,
                                         long long expira);
afl_store_status afl_store_tramite_del(apr_pool_t *p, afl_store *st, const char *id);

typedef struct {
    const char *cp, *estado, *municipio;
    apr_array_header_t *colonias; /* const char* */
    int umf;                      /* afl_store_cp_lookup: 1 if a UMF serves cp */
} afl_cp_info;

afl_store_status afl_store_cp(apr_pool_t *p, afl_store *st, const char *cp, afl_cp_info *out);

/* afl_store_cp and whether any UMF serves cp (out->umf), in one statement:
 * the JSON look-up of the address form. NOTFOUND: no colonia (umf 0). */
afl_store_status afl_store_cp_lookup(apr_pool_t *p, afl_store *st, const char *cp,
                                     afl_cp_info *out);

typedef struct {
    const char *clave, *nombre, *serie;
} afl_umf;

/* UMFs serving a postal code (apr array of afl_umf, possibly empty). */
afl_store_status afl_store_umfs(apr_pool_t *p, afl_store *st, const char *cp,
                                apr_array_header_t **out);

typedef struct {
    const char *curp, *correo;
    int birth_year; /* full year */
    int reg_year;   /* full current year */
    const afl_umf *umf;
    const char *cp, *colonia, *calle, *numero_exterior, *numero_interior;
    const char *tramite_id; /* the session row moved to 'resultado' in the same transaction */
    const char *curp_hmac;  /* pseudonym for the audit row */
    long long now;
    long long session_expira;
    const char *msgid_host; /* domain of the queued message's Message-ID */
    /* Coverage the assignment opens (cobertura row 'asignacion:' || nss, 'YYYY-MM-DD'
     * both); NULL: none */
    const char *cobertura_inicio, *cobertura_fin;
} afl_assign_req;

/* The one NSS folio allocator, of the web assignment and of afiliatectl
 * demo-registry: the next free NSS of UMF serie for a person born in
 * birth_year, in the prefix of registration year reg_year, falling back to
 * earlier years down to min_year while a prefix is full (10000 folios). A
 * folio whose NSS exists already (loaded from elsewhere) is skipped; the
 * counter still moves. Runs inside the caller's write transaction, so a
 * rollback gives the folio back: folio_contador has no gap. AFL_STORE_EXHAUSTED
 * when no prefix has a folio left. */
typedef struct {
    const char *prefix; /* serie, registration year, birth year: six digits */
    int folio;          /* 0..9999 */
    const char *nss;    /* the eleven digits */
} afl_nss_folio;

afl_store_status afl_store_nss_take(apr_pool_t *p, afl_store *st, int serie, int reg_year,
                                    int min_year, int birth_year, afl_nss_folio *out);

/* One CURP gets exactly one NSS: inside one short transaction (BEGIN IMMEDIATE
 * on SQLite), returns the existing NSS or takes the next folio of the prefix
 * (falling back to previous registration years when it is full), inserts the
 * insured row, the audit row, moves the session to its result and queues the
 * comprobante for correo in the outbox ('asignacion' or, when the CURP turned
 * out to have an NSS already, 'localizacion'). *nss and *assigned tell what
 * happened. */
afl_store_status afl_store_assign(apr_pool_t *p, afl_store *st, const afl_assign_req *req,
                                  const char **nss, int *assigned);

/* The daily counts an accepted form adds to (docs/directives.md, "Limits"): one
 * per CURP and one per e-mail address (keys are HMACs; NULL counts nothing),
 * moved and checked in the form's own transaction. When a count would pass its
 * limit the form answers AFL_STORE_LIMITED and writes nothing, no count moves,
 * and by_curp tells whether the CURP's limit refused (else the address's). */
typedef struct {
    long long window; /* start of the day */
    const char *curp_key, *correo_key;
    int curp_limit, correo_limit;
    int by_curp; /* out */
} afl_store_daily;

/* Records a located NSS on the session (and the e-mail given), with its audit row
 * and the comprobante queued for t->correo, in one transaction. */
afl_store_status afl_store_locate(apr_pool_t *p, afl_store *st, const char *tramite_id,
                                  const afl_tramite *t, const char *curp_hmac,
                                  const char *msgid_host, long long now);

/* afl_store_locate with the form's CAPTCHA id burned and its daily counts
 * (daily, NULL: none) moved in the same transaction (one commit for the whole
 * POST). AFL_STORE_USED when the id had been used already, AFL_STORE_LIMITED
 * when a daily limit refuses: then nothing is written. */
afl_store_status afl_store_locate_form(apr_pool_t *p, afl_store *st, const char *captcha_id,
                                       long long captcha_expires, afl_store_daily *daily,
                                       const char *tramite_id, const afl_tramite *t,
                                       const char *curp_hmac, const char *msgid_host,
                                       long long now);

/* A new trámite at its next step: burns the form's CAPTCHA id, moves its daily
 * counts and stores the session row in one transaction. AFL_STORE_USED and
 * AFL_STORE_LIMITED as above. */
afl_store_status afl_store_tramite_start(apr_pool_t *p, afl_store *st, const char *captcha_id,
                                         long long captcha_expires, afl_store_daily *daily,
                                         const char *tramite_id, const afl_tramite *t,
                                         long long now);

/* Paso 2 succeeded: records it on the session (paso 'vigencia'), with its
 * audit row and the constancia queued for t->correo (outbox kind
 * 'constancia', reason 'vigencia'), and moves its daily counts, in one
 * transaction. AFL_STORE_LIMITED as above. */
afl_store_status afl_store_vigencia_record(apr_pool_t *p, afl_store *st, afl_store_daily *daily,
                                           const char *tramite_id, const afl_tramite *t,
                                           const char *curp_hmac, const char *msgid_host,
                                           long long now);

afl_store_status afl_store_audit(apr_pool_t *p, afl_store *st, long long now, const char *evento,
                                 const char *curp_hmac, const char *detalle);

/* ---- e-mail confirmation (AfiliateConfirmarCorreo, docs/mail.md) */

/* Paso 1's form with confirmation: burns the CAPTCHA id, moves the daily
 * counts, stores the session row (t->paso AFL_PASO_CONFIRMACION) and queues the
 * message with the link (outbox kind 'confirmacion') for t->correo, in one
 * transaction. AFL_STORE_USED when the CAPTCHA id had been used already,
 * AFL_STORE_LIMITED when a daily limit refuses: then nothing is written. */
afl_store_status afl_store_confirm_start(apr_pool_t *p, afl_store *st, const char *captcha_id,
                                         long long captcha_expires, afl_store_daily *daily,
                                         const char *tramite_id, const afl_tramite *t,
                                         const char *enlace, const char *msgid_host, long long now);

typedef struct {
    const char *tramite_id; /* the trámite the link names (its session row id) */
    long long used_until;   /* keep the "used" record until no link of it can be valid */
    const char *new_id;     /* the session id the trámite continues under */
    const afl_tramite *t;   /* its next state: 'resultado' (located) or 'domicilio' */
    const char *curp_hmac;  /* located: the audit row's pseudonym */
    const char *msgid_host; /* located: the comprobante's Message-ID */
    long long now;
} afl_confirm_req;

/* A confirmation link is opened: in one transaction, records the trámite's
 * link as used, takes the row waiting at 'confirmacion' and stores it under
 * new_id at its next step; for a located NSS also what afl_store_locate
 * writes (the e-mail on the insured row, the audit row, the comprobante
 * queued). AFL_STORE_USED: a link of this trámite was used before;
 * AFL_STORE_NOTFOUND: no trámite waits (expired or ended). Both write nothing. */
afl_store_status afl_store_confirm_use(apr_pool_t *p, afl_store *st, const afl_confirm_req *req);

/* AFL_STORE_OK when a link of this trámite was used (and not purged yet). */
afl_store_status afl_store_confirm_used(apr_pool_t *p, afl_store *st, const char *tramite_id);

/* The same row, for an event whose record may be lost in a crash (a
 * document printed or downloaded again): with the group committer it is
 * posted (afl_commit_post), committed by the leader at work or by this
 * thread, and the caller does not wait for the fsync when another thread
 * leads. Without one (PostgreSQL, afiliatectl), as afl_store_audit. */
afl_store_status afl_store_audit_later(apr_pool_t *p, afl_store *st, long long now,
                                       const char *evento, const char *curp_hmac,
                                       const char *detalle);

/* "Reenviar": queues the comprobante (or, for kind "constancia", the constancia) again for the
 * trámite's e-mail, in one transaction with three limits, each checked atomically: the trámite's
 * own count (tramite.reenvios < limit_tramite, and the trámite must be at its result), then one
 * count per day for curp_key and for address_key (rows of `limite`, window = start of the day).
 * AFL_STORE_LIMITED when any refuses; then nothing is written and no count moves. */
typedef struct {
    const char *tramite_id;
    const char *kind;          /* "comprobante" (NULL: the same; the trámite at 'resultado') or
                                  "constancia" (the trámite at 'vigencia') */
    const char *curp, *correo; /* of the trámite */
    int limit_tramite;
    const char *curp_key, *address_key; /* pseudonymous limite keys; NULL = no bucket */
    int limit_curp, limit_address;
    long long window; /* start of the daily window */
    const char *msgid_host;
    long long now;
    /* kind "confirmacion" (the trámite at 'confirmacion'): the new link, and the
     * session row's new expiry (0: unchanged) */
    const char *enlace;
    long long tramite_expira;
} afl_resend_req;

afl_store_status afl_store_resend(apr_pool_t *p, afl_store *st, const afl_resend_req *req);

/* ---- outbox (see afl_outbox.h for the sender) */

typedef struct {
    long long id;
    const char *kind;       /* comprobante | constancia | confirmacion */
    const char *reason;     /* asignacion | localizacion | reenvio | vigencia | confirmacion */
    const char *recipient;  /* e-mail address */
    const char *message_id; /* "<outbox-ID.TOKEN@host>" */
    const char *curp;       /* of the insured person: the document's data */
    const char *nss;        /* of the insured person */
    const char *enlace;     /* kind 'confirmacion': the link ("" otherwise; no insured person) */
    int attempts;           /* this claim included */
    long long created;
} afl_outbox_row;

typedef struct {
    long long pending, sending, sent, failed;
} afl_outbox_counts;

/* Ids (long long) of up to limit rows due at now: pending ones whose
 * next_attempt_at has come and claimed ones whose lease expired. */
afl_store_status afl_store_outbox_due(apr_pool_t *p, afl_store *st, long long now, int limit,
                                      apr_array_header_t **ids);

/* Claims row id until lease_until with one conditional UPDATE (attempts + 1)
 * and reads it. AFL_STORE_NOTFOUND when it is not due any more (another
 * sender claimed it first). */
afl_store_status afl_store_outbox_claim(apr_pool_t *p, afl_store *st, long long id, long long now,
                                        long long lease_until, afl_outbox_row *out);

/* Outcome of a claimed row; attempts is the claim's (its fencing token).
 * AFL_STORE_NOTFOUND when the claim was lost (lease expired and the row was
 * claimed again): nothing is changed then. error: short, no personal data. */
afl_store_status afl_store_outbox_sent(apr_pool_t *p, afl_store *st, long long id, int attempts,
                                       long long now);
afl_store_status afl_store_outbox_retry(apr_pool_t *p, afl_store *st, long long id, int attempts,
                                        long long next_at, const char *error);
afl_store_status afl_store_outbox_fail(apr_pool_t *p, afl_store *st, long long id, int attempts,
                                       const char *error);

afl_store_status afl_store_outbox_counts(apr_pool_t *p, afl_store *st, afl_outbox_counts *out);

/* Puts failed rows back to pending, due at now, attempts 0: row id, or every
 * failed row when id <= 0. *count (may be NULL) gets the rows requeued. */
afl_store_status afl_store_outbox_requeue(apr_pool_t *p, afl_store *st, long long id, long long now,
                                          int *count);

/* ---- signed documents (docs/documents.md; issued by afl_doc_issue) */

typedef struct {
    const char *folio, *tipo, *nss, *nombre, *cadena, *no_serie;
    const char *sello; /* "" while the row waits for it (afl_store_documento_seal) */
    long long emitido;
    int reused; /* the row existed already */
} afl_store_doc;

/* The documento of this nss and tipo stored with these datos (the latest),
 * for a document printed again: AFL_STORE_NOTFOUND when none. */
afl_store_status afl_store_documento_reuse(apr_pool_t *p, afl_store *st, const char *nss,
                                           const char *tipo, const char *datos, afl_store_doc *out);

/* A documento row: folio and cadena made with a sequence, sello '' until
 * afl_store_documento_seal stores it. */
typedef struct {
    const char *folio, *tipo, *nss, *curp, *nombre, *cadena, *no_serie;
    long long emitido;
    const char *datos; /* "" or NULL: none */
} afl_store_doc_row;

/* Fills row for sequence seq (folio, cadena and the other columns). Runs
 * inside the store's transaction: it builds text, never signs, and never
 * calls back into the store. */
typedef afl_store_status afl_store_doc_make(apr_pool_t *p, long long seq, afl_store_doc_row *row,
                                            void *baton);

/* In one short transaction: takes the next sequence of documento_contador,
 * has make build the row with it and inserts the row without its sello (a
 * rollback gives the sequence back: never lost, never given twice). row is
 * what make filled. The caller signs the cadena after the commit and stores
 * the sello with afl_store_documento_seal. */
afl_store_status afl_store_documento_take(apr_pool_t *p, afl_store *st, afl_store_doc_make *make,
                                          void *baton, afl_store_doc_row *row);

/* Stores the sello of the row folio if it has none yet. wait 0: through the
 * group committer's next batch without waiting for its commit (the caller
 * already has the sello; a row left without one is signed again from its
 * cadena, see afl_doc.h); else committed before it returns. */
afl_store_status afl_store_documento_seal(apr_pool_t *p, afl_store *st, const char *folio,
                                          const char *sello, int wait);

/* Up to max rows issued before `before` (UNIX seconds) and still without
 * their sello, whose cadena the key no_serie signs: folios[i] and cadenas[i]
 * (char *). */
afl_store_status afl_store_documento_unsealed(apr_pool_t *p, afl_store *st, const char *no_serie,
                                              long long before, int max,
                                              apr_array_header_t **folios,
                                              apr_array_header_t **cadenas);

/* The documento with this folio (AFL_STORE_NOTFOUND when none). */
afl_store_status afl_store_documento_get(apr_pool_t *p, afl_store *st, const char *folio,
                                         afl_store_doc *out);

/* ---- coverage */

/* afl_vigencia_eval() of the cobertura rows of nss on day dia. */
afl_store_status afl_store_vigencia(apr_pool_t *p, afl_store *st, const char *nss, int dia,
                                    afl_vigencia *out);

typedef struct {
    const char *curp;
    const char *umf_clave, *umf_nombre, *umf_domicilio, *subdelegacion; /* "" when none */
} afl_asegurado_nss;

/* The insured person with this NSS. */
afl_store_status afl_store_asegurado_nss(apr_pool_t *p, afl_store *st, const char *nss,
                                         afl_asegurado_nss *out);

/* An observer of the database calls, for the operating counters: called
 * after every statement with AFL_STORE_OBS_CALL and its latency, and with
 * AFL_STORE_OBS_ERROR (usec 0) for every database failure this unit logs
 * (statements, transaction start, commit). One per process, set before use
 * (the glue in child_init); NULL: none. It must not call back into the store. */
typedef enum { AFL_STORE_OBS_CALL, AFL_STORE_OBS_ERROR } afl_store_obs;
typedef void afl_store_observer(afl_store_obs what, apr_interval_time_t usec);
void afl_store_set_observer(afl_store_observer *fn);

/* Pending (or being sent) outbox messages and the creation time of the oldest
 * (UNIX seconds; 0 when there is none). */
afl_store_status afl_store_outbox_backlog(apr_pool_t *p, afl_store *st, long long *count,
                                          long long *oldest);

/* Statements run by this process so far (every connection), for the benchmarks. */
apr_uint32_t afl_store_statements(void);

/* RENAPO web service answers (docs/renapo.md). The last answer about curp:
 * found or not, and when (UNIX seconds); AFL_STORE_NOTFOUND if never asked. */
afl_store_status afl_store_renapo_consulta(apr_pool_t *p, afl_store *st, const char *curp,
                                           int *encontrado, long long *consultado);
/* Records an answer in one transaction: per (NULL: not found) is written into
 * renapo_persona, the answer and its time into renapo_consulta, and an audit
 * row 'identidad_renapo' (curp_hmac, found or not). No network inside. */
afl_store_status afl_store_renapo_record(apr_pool_t *p, afl_store *st, const char *curp,
                                         const afl_persona *per, long long now,
                                         const char *curp_hmac);

/* Deletes expired CAPTCHA ids, sessions and rate windows, in one transaction. */
afl_store_status afl_store_purge(apr_pool_t *p, afl_store *st, long long now);

#endif
