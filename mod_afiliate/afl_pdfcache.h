/* afl_pdfcache: the rendered signed documents of this process, by content.
 *
 * A document is a pure function of what afl_pdf is given (names, NSS, folio,
 * date of issue, the cadena original and its sello, the QR's URL, the key, the
 * fonts): libharu writes no clock, random /ID or counter into the file, so two
 * renderings of the same input are the same bytes. A re-download of a
 * document (same trámite, same folio) therefore asks afl_pdf for the same
 * input again; this cache gives back the bytes made the first time instead
 * of rendering, deflating and sealing them again.
 *
 * The key is a SHA-256 of every input field (length-prefixed, NULL apart
 * from ""), so any change of any field is another document. Bytes are only
 * ever stored after a complete, sealed rendering. Bounded: AFL_PDFCACHE_SLOTS
 * direct-mapped slots of at most AFL_PDF_MAX bytes each (a colliding entry
 * replaces the older one), malloc'd outside request pools, shared by the
 * threads of the process under one mutex. Nothing is shared across processes
 * or written to disk: a new child renders each document once. */
#ifndef AFL_PDFCACHE_H
#define AFL_PDFCACHE_H

#include <stddef.h>

#include <apr_pools.h>

#define AFL_PDFCACHE_SLOTS 128

typedef struct {
    unsigned char digest[32];
} afl_pdfcache_key;

/* Input of a key: fields appended in order, then afl_pdfcache_key_make. */
typedef struct {
    apr_pool_t *p;
    char *buf;
    size_t len, cap;
} afl_pdfcache_kb;

void afl_pdfcache_kb_init(afl_pdfcache_kb *kb, apr_pool_t *p, const char *kind);
void afl_pdfcache_kb_str(afl_pdfcache_kb *kb, const char *s); /* NULL differs from "" */
void afl_pdfcache_kb_int(afl_pdfcache_kb *kb, long long v);
void afl_pdfcache_kb_ptr(afl_pdfcache_kb *kb, const void *v); /* identity within the process */
/* 0 ok, -1 when the digest could not be made (then do not use the cache). */
int afl_pdfcache_key_make(afl_pdfcache_kb *kb, afl_pdfcache_key *out);

/* 1 and a copy of the bytes in p when the document is cached, else 0. */
int afl_pdfcache_get(const afl_pdfcache_key *k, apr_pool_t *p, const unsigned char **pdf,
                     size_t *len);
/* Stores a copy (documents over AFL_PDF_MAX bytes are not kept). */
void afl_pdfcache_put(const afl_pdfcache_key *k, const unsigned char *pdf, size_t len);
/* Empties the cache (tests; a process that changes key or fonts). */
void afl_pdfcache_clear(void);

typedef struct {
    unsigned long hits, misses, stores;
} afl_pdfcache_stats;
void afl_pdfcache_get_stats(afl_pdfcache_stats *out);

#endif
