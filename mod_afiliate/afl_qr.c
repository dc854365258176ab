/* afl_qr: QR codes with libqrencode (afl_qr.h). */
#include "afl_qr.h"
#include "afl_cadena.h"

#include <errno.h>
#include <string.h>

#include <apr_strings.h>

#include <qrencode.h>

apr_status_t afl_qr_encode(apr_pool_t *p, const char *text, afl_qr *qr)
{
    QRcode *code;
    unsigned char *m;
    size_t n, i;

    memset(qr, 0, sizeof *qr);
    if (!text || !*text || strlen(text) > AFL_QR_MAX_TEXT)
        return APR_EINVAL;
    errno = 0;
    code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!code)
        return errno == ENOMEM ? APR_ENOMEM : errno == ERANGE ? APR_EINVAL : APR_EGENERAL;
    if (code->width < 21 || code->width > 177) {
        QRcode_free(code);
        return APR_EGENERAL;
    }
    n = (size_t)code->width * (size_t)code->width;
    m = apr_palloc(p, n);
    for (i = 0; i < n; i++)
        m[i] = code->data[i] & 1; /* bit 0: dark module; the others are libqrencode's */
    qr->version = code->version;
    qr->width = code->width;
    qr->modules = m;
    QRcode_free(code);
    return APR_SUCCESS;
}

const char *afl_qr_verify_url(apr_pool_t *p, const char *base, const char *folio)
{
    size_t n;

    if (!base || !*base || !afl_folio_valid(folio))
        return NULL;
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n == 0)
        return NULL;
    return apr_pstrcat(p, apr_pstrmemdup(p, base, n), "/verificar?folio=", folio, NULL);
}

const char *afl_qr_server_base(apr_pool_t *p, const char *scheme, const char *host, unsigned port,
                               const char *path)
{
    if (!scheme)
        scheme = "http";
    if (port == 0 || (port == 80 && !strcmp(scheme, "http")) ||
        (port == 443 && !strcmp(scheme, "https")))
        return apr_pstrcat(p, scheme, "://", host, path, NULL);
    return apr_psprintf(p, "%s://%s:%u%s", scheme, host, port, path);
}

void afl_qr_runs(const afl_qr *qr, afl_qr_run_fn *fn, void *baton)
{
    if (!qr || !qr->modules || !fn)
        return;
    for (int r = 0; r < qr->width; r++) {
        const unsigned char *row = qr->modules + (size_t)r * (size_t)qr->width;
        int c = 0;
        while (c < qr->width) {
            int start;
            if (!row[c]) {
                c++;
                continue;
            }
            start = c;
            while (c < qr->width && row[c])
                c++;
            fn(baton, r, start, c - start);
        }
    }
}

/* Run of dark modules starting at (r, c) whose left neighbour is light:
 * its length, 0 if (r, c) does not start one. */
static int run_at(const afl_qr *qr, int r, int c)
{
    const unsigned char *row = qr->modules + (size_t)r * (size_t)qr->width;
    int n = 0;

    if (!row[c] || (c > 0 && row[c - 1]))
        return 0;
    while (c + n < qr->width && row[c + n])
        n++;
    return n;
}

apr_status_t afl_qr_rects(apr_pool_t *p, const afl_qr *qr, afl_qr_rect_fn *fn, void *baton)
{
    unsigned char *done; /* run starts already drawn as part of a rectangle above */

    if (!qr || !qr->modules || !fn)
        return APR_SUCCESS;
    done = apr_pcalloc(p, (size_t)qr->width * (size_t)qr->width);
    if (!done)
        return APR_ENOMEM;
    for (int r = 0; r < qr->width; r++) {
        for (int c = 0; c < qr->width; c++) {
            int len = run_at(qr, r, c), h = 1;
            if (!len || done[(size_t)r * (size_t)qr->width + (size_t)c])
                continue;
            while (r + h < qr->width && run_at(qr, r + h, c) == len) {
                done[(size_t)(r + h) * (size_t)qr->width + (size_t)c] = 1;
                h++;
            }
            fn(baton, r, c, len, h);
            c += len - 1;
        }
    }
    return APR_SUCCESS;
}
