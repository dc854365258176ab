/* afl_sign: the sello digital of the documents (docs/domain.md, Sello
 * digital), through OpenSSL 3 EVP. Pure unit: APR and OpenSSL only, no httpd.
 *
 * Algorithms: Ed25519 (what `afiliatectl keygen` makes; 64-byte signatures,
 * an 88-character base64 sello) and, for keys made elsewhere, RSA of at least
 * 2048 bits with PKCS#1 v1.5 and SHA-256 (256-byte signatures, the
 * 344-character sello of the IMSS notaría). The algorithm
 * follows the key; nothing else is accepted.
 *
 * Files: PEM. The private key is PKCS#8 ("BEGIN PRIVATE KEY", unencrypted:
 * the server reads it at start-up with nobody to type a pass phrase, so the
 * file's protection is its mode, 0600, readable by root only; httpd reads it
 * while still root, like AfiliateSecretFile). The public key is a
 * SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"); a private-key file is accepted
 * wherever a public key is wanted.
 *
 * No. de serie: the first AFL_SIGN_SERIAL_LEN upper-case hex digits of the
 * SHA-256 of the DER SubjectPublicKeyInfo. It names the key on the documents
 * ("No. de serie" in IMSS documents is the serial of the signing
 * certificate) and lets a verifier tell "signed with another key" apart from
 * "altered".
 *
 * Sello: base64 (RFC 4648, with padding, no line breaks) of the signature
 * over the exact bytes given, normally the UTF-8 cadena original
 * (afl_cadena.h). Both algorithms are deterministic: signing the same bytes
 * with the same key gives the same sello, so a document can be rebuilt
 * identically from its stored data. Anyone holding the public key checks it
 * with e.g. `openssl pkeyutl -verify -pubin -inkey afiliate-signing.pub
 * -rawin -in cadena.txt -sigfile sello.bin` (Ed25519).
 *
 * Thread safety: a loaded key is immutable and shared read-only between
 * threads (OpenSSL 3 allows concurrent use of one EVP_PKEY); every signature
 * or verification creates its own EVP_MD_CTX. Keys are freed by a cleanup
 * of the pool they were loaded into. Nothing is logged. */
#ifndef AFL_SIGN_H
#define AFL_SIGN_H

#include <stddef.h>

#include <apr_pools.h>

typedef struct afl_sign_key afl_sign_key;

/* Length of the No. de serie in hex digits. */
#define AFL_SIGN_SERIAL_LEN 20

/* Largest signature any accepted key makes (RSA-4096), in bytes. */
#define AFL_SIGN_MAX_SIG 512

/* Largest key file read. */
#define AFL_SIGN_MAX_FILE 65536

/* File names `afiliatectl keygen --out-dir DIR` writes in DIR. */
#define AFL_SIGN_PRIVATE_NAME "afiliate-signing.key"
#define AFL_SIGN_PUBLIC_NAME "afiliate-signing.pub"

/* Load a private key from a PEM file (or from memory: pem/len). *key lives
 * in p. Returns APR_SUCCESS; the file's open/read error (APR_ENOENT, ...);
 * APR_EINVAL when the file is not a PEM private key of an accepted algorithm
 * (or is over AFL_SIGN_MAX_FILE). err (if errlen > 0) gets an English
 * message; it never quotes the file's content. */
apr_status_t afl_sign_load_private(apr_pool_t *p, const char *path, const afl_sign_key **key,
                                   char *err, size_t errlen);
apr_status_t afl_sign_private_from_pem(apr_pool_t *p, const char *pem, size_t len,
                                       const afl_sign_key **key, char *err, size_t errlen);

/* The same for a public key; a private-key PEM is accepted too (its public
 * half is used, and afl_sign_is_private() still says 1). */
apr_status_t afl_sign_load_public(apr_pool_t *p, const char *path, const afl_sign_key **key,
                                  char *err, size_t errlen);
apr_status_t afl_sign_public_from_pem(apr_pool_t *p, const char *pem, size_t len,
                                      const afl_sign_key **key, char *err, size_t errlen);

/* A new Ed25519 key pair in memory (OpenSSL's CSPRNG). APR_EGENERAL if
 * OpenSSL fails. */
apr_status_t afl_sign_generate(apr_pool_t *p, const afl_sign_key **key, char *err, size_t errlen);

/* PEM texts of the key, NUL-terminated, in p: the PKCS#8 private key (NULL
 * for a public-only key) and the public key. */
const char *afl_sign_private_pem(apr_pool_t *p, const afl_sign_key *key);
const char *afl_sign_public_pem(apr_pool_t *p, const afl_sign_key *key);

/* Write a private key's two PEM files: priv_path created with mode 0600 and
 * pub_path with 0644, both refused if they already exist (APR_EEXIST: a key
 * in use is never overwritten by accident). On any failure neither file is
 * left behind. */
apr_status_t afl_sign_write_pair(apr_pool_t *p, const afl_sign_key *key, const char *priv_path,
                                 const char *pub_path, char *err, size_t errlen);

/* afl_sign_generate + afl_sign_write_pair; *key (may be NULL) gets the key. */
apr_status_t afl_sign_keygen(apr_pool_t *p, const char *priv_path, const char *pub_path,
                             const afl_sign_key **key, char *err, size_t errlen);

/* 1 if the key can sign. */
int afl_sign_is_private(const afl_sign_key *key);

/* "Ed25519" or "RSA-<bits>". */
const char *afl_sign_algorithm(const afl_sign_key *key);

/* The No. de serie (AFL_SIGN_SERIAL_LEN upper-case hex digits); lives as
 * long as the key. */
const char *afl_sign_serial(const afl_sign_key *key);

/* Size in bytes of the key's signatures (64 for Ed25519, 256 for RSA-2048). */
size_t afl_sign_size(const afl_sign_key *key);

/* Sign len bytes of data with a private key: the raw signature (exactly
 * afl_sign_size() bytes, in p). APR_EINVAL for a public-only key,
 * APR_EGENERAL if OpenSSL fails. */
apr_status_t afl_sign_raw(apr_pool_t *p, const afl_sign_key *key, const void *data, size_t len,
                          const unsigned char **sig, size_t *siglen);

/* The same as a base64 sello, NUL-terminated, in p. */
apr_status_t afl_sign_sello(apr_pool_t *p, const afl_sign_key *key, const void *data, size_t len,
                            const char **sello);

/* 1 when sello is key's sello of data, else 0. A sello this thread has just made
 * with afl_sign_sello for the same key and data is recognised without signing again
 * (a documento row is sealed and then printed in one request). Otherwise Ed25519,
 * which signs deterministically and faster than it verifies, signs again and
 * compares (stricter than a verification: only the signature this key makes
 * passes); RSA verifies, much faster than it signs. Scratch memory from p. */
int afl_sign_sello_is_keys(apr_pool_t *p, const afl_sign_key *key, const void *data, size_t len,
                           const char *sello);

typedef enum {
    AFL_SIGN_OK = 0,
    AFL_SIGN_BAD_ENCODING, /* the sello is not base64 of the key's signature size */
    AFL_SIGN_MISMATCH      /* well formed, but not a signature of these bytes by this key */
} afl_sign_result;

/* Check a raw signature / a base64 sello over data with any key. */
afl_sign_result afl_sign_verify_raw(const afl_sign_key *key, const void *data, size_t len,
                                    const unsigned char *sig, size_t siglen);
afl_sign_result afl_sign_verify_sello(const afl_sign_key *key, const void *data, size_t len,
                                      const char *sello);

/* Strict base64 (RFC 4648 alphabet, padding required, no blanks): decodes
 * into out (room for outcap bytes); returns the byte count or -1. */
long afl_sign_base64_decode(const char *b64, unsigned char *out, size_t outcap);

#endif
