/* afl_pdfcache: the rendered signed documents of this process (see afl_pdfcache.h). */
#include "afl_pdfcache.h"
#include "afl_pdf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

typedef struct {
    afl_pdfcache_key key;
    unsigned char *pdf; /* malloc'd, NULL = empty slot */
    size_t len;
} slot;

static slot slots[AFL_PDFCACHE_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static afl_pdfcache_stats stats;

static void kb_put(afl_pdfcache_kb *kb, const void *v, size_t n)
{
    if (kb->len + n > kb->cap) {
        size_t cap = (kb->cap ? kb->cap : 256) * 2;
        char *nb;
        while (cap < kb->len + n)
            cap *= 2;
        nb = apr_palloc(kb->p, cap);
        if (kb->len)
            memcpy(nb, kb->buf, kb->len);
        kb->buf = nb;
        kb->cap = cap;
    }
    memcpy(kb->buf + kb->len, v, n);
    kb->len += n;
}

void afl_pdfcache_kb_init(afl_pdfcache_kb *kb, apr_pool_t *p, const char *kind)
{
    kb->p = p;
    kb->buf = NULL;
    kb->len = kb->cap = 0;
    afl_pdfcache_kb_str(kb, kind);
}

void afl_pdfcache_kb_str(afl_pdfcache_kb *kb, const char *s)
{
    unsigned char tag = s ? 's' : 'n';
    kb_put(kb, &tag, 1);
    if (s) {
        unsigned long long n = strlen(s);
        kb_put(kb, &n, sizeof n);
        kb_put(kb, s, (size_t)n);
    }
}

void afl_pdfcache_kb_int(afl_pdfcache_kb *kb, long long v)
{
    unsigned char tag = 'i';
    kb_put(kb, &tag, 1);
    kb_put(kb, &v, sizeof v);
}

void afl_pdfcache_kb_ptr(afl_pdfcache_kb *kb, const void *v)
{
    unsigned char tag = 'p';
    kb_put(kb, &tag, 1);
    kb_put(kb, &v, sizeof v);
}

int afl_pdfcache_key_make(afl_pdfcache_kb *kb, afl_pdfcache_key *out)
{
    unsigned int n = 0;

    if (!EVP_Digest(kb->buf, kb->len, out->digest, &n, EVP_sha256(), NULL) ||
        n != sizeof out->digest)
        return -1;
    return 0;
}

static slot *slot_of(const afl_pdfcache_key *k)
{
    unsigned int i;
    memcpy(&i, k->digest, sizeof i);
    return &slots[i % AFL_PDFCACHE_SLOTS];
}

int afl_pdfcache_get(const afl_pdfcache_key *k, apr_pool_t *p, const unsigned char **pdf,
                     size_t *len)
{
    slot *s = slot_of(k);
    int hit = 0;

    pthread_mutex_lock(&lock);
    if (s->pdf && memcmp(s->key.digest, k->digest, sizeof k->digest) == 0) {
        unsigned char *copy = apr_palloc(p, s->len);
        memcpy(copy, s->pdf, s->len);
        *pdf = copy;
        *len = s->len;
        hit = 1;
        stats.hits++;
    } else {
        stats.misses++;
    }
    pthread_mutex_unlock(&lock);
    return hit;
}

void afl_pdfcache_put(const afl_pdfcache_key *k, const unsigned char *pdf, size_t len)
{
    slot *s = slot_of(k);
    unsigned char *copy;

    if (!pdf || len == 0 || len > AFL_PDF_MAX)
        return;
    copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, pdf, len);
    pthread_mutex_lock(&lock);
    free(s->pdf);
    s->key = *k;
    s->pdf = copy;
    s->len = len;
    stats.stores++;
    pthread_mutex_unlock(&lock);
}

void afl_pdfcache_clear(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < AFL_PDFCACHE_SLOTS; i++) {
        free(slots[i].pdf);
        slots[i].pdf = NULL;
        slots[i].len = 0;
    }
    pthread_mutex_unlock(&lock);
}

void afl_pdfcache_get_stats(afl_pdfcache_stats *out)
{
    pthread_mutex_lock(&lock);
    *out = stats;
    pthread_mutex_unlock(&lock);
}
