/* afl_confirm: the e-mail confirmation link of Paso 1 (AfiliateConfirmarCorreo,
 * docs/mail.md "Confirming the e-mail address").
 *
 * A link token names the trámite (its session row id, 64 hex digits) and an
 * expiry (UNIX seconds), and carries an HMAC-SHA256 of both with the server's
 * secret: "<tramite>.<expiry>.<mac>", mac 32 hex digits (128 bits). Any server
 * with the same secret checks it without the database; that a link is used
 * only once is the database's job (afl_store_confirm_use). Pure: no database,
 * no httpd. */
#ifndef AFL_CONFIRM_H
#define AFL_CONFIRM_H

#include <apr_pools.h>
#include <stddef.h>

#define AFL_CONFIRM_DEFAULT_MINUTES 30
#define AFL_CONFIRM_MAC_HEX 32

typedef enum {
    AFL_CONFIRM_VALID = 0,
    AFL_CONFIRM_EXPIRED, /* signed by us, past its expiry */
    AFL_CONFIRM_FORGED,  /* malformed, or not signed with this secret */
} afl_confirm_check;

/* The token for tramite_id (64 lower-case hex digits) valid until expires;
 * NULL when tramite_id is not such an id. */
const char *afl_confirm_token(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                              const char *tramite_id, long long expires);

/* Checks a token at now. The MAC is checked first (in constant time), so a
 * forged token is FORGED whatever expiry it claims. *tramite_id and *expires
 * are set for VALID and EXPIRED; either pointer may be NULL. */
afl_confirm_check afl_confirm_verify(apr_pool_t *p, const unsigned char *secret, size_t secret_len,
                                     const char *token, long long now, const char **tramite_id,
                                     long long *expires);

/* The expiry a token claims, without checking its MAC (the mail sender names
 * it in the message); 0 when the token is malformed. */
long long afl_confirm_expiry(const char *token);

/* "es***@ej***.mx": enough to recognise one's own address on the page that
 * says where the link went, not to learn it. NULL or malformed: "***". */
const char *afl_confirm_mask_email(apr_pool_t *p, const char *email);

#endif
