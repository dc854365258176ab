#include "afl_pdf.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include <hpdf.h>

#include "afl_cadena.h"
#include "afl_log.h"
#include "afl_qr.h"
#include "afl_sign.h"

/* ================================================================ dates */

static const char *const month_names[12] = {"enero",      "febrero", "marzo",     "abril",
                                            "mayo",       "junio",   "julio",     "agosto",
                                            "septiembre", "octubre", "noviembre", "diciembre"};

const char *afl_pdf_month_name(int month)
{
    if (month < 1 || month > 12)
        return NULL;
    return month_names[month - 1];
}

void afl_pdf_format_date(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (!buf || n == 0)
        return;
    if (apr_time_exp_lt(&tm, t) != APR_SUCCESS || tm.tm_mon < 0 || tm.tm_mon > 11) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, n, "%02d de %s de %04d", tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900);
}

void afl_pdf_format_time(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (!buf || n == 0)
        return;
    if (apr_time_exp_lt(&tm, t) != APR_SUCCESS) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *afl_pdf_sexo_name(char sexo)
{
    switch (sexo) {
    case 'H':
        return "Hombre";
    case 'M':
        return "Mujer";
    case 'X':
        return "No binario";
    default:
        return NULL;
    }
}

/* ====================================================== TrueType reduction
 *
 * libharu 2.3 subsets glyf/loca but copies cmap, hmtx and post whole, and the
 * name table with its licence text: ~60 KB per DejaVu face even for a page of
 * text. The reduction below (libharu still subsets what it gets):
 *   - keeps the glyphs of the CP1252 repertoire plus their components and
 *     renumbers them densely (glyf, long loca, hmtx, hhea, maxp; composite
 *     components remapped);
 *   - writes a format-4 cmap (3,1) with only the CP1252 characters;
 *   - writes post format 3 (no glyph names);
 *   - keeps name records 0-6 in English (Windows) and Roman (Mac) only, the
 *     same default as fontTools' subsetter (libharu needs IDs 2 and 6);
 *   - drops the hinting: glyph instructions, cvt, fpgm, prep (see
 *     ttf_strip_glyph);
 *   - keeps OS/2, hhea and maxp as they are and drops the tables libharu
 *     never embeds (GPOS, GSUB, kern, ...).
 * Every read is bounds-checked; any surprise makes the caller fall back to
 * the original file. */

#define TTF_MAX_FILE (32 * 1024 * 1024)

/* Unicode of CP1252 bytes 0x80..0x9F; 0 = undefined in CP1252. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

typedef struct {
    const unsigned char *p;
    size_t len;
} span_t;

static uint16_t rd16(const unsigned char *b)
{
    return (uint16_t)((b[0] << 8) | b[1]);
}

static uint32_t rd32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static void wr16(unsigned char *b, uint16_t v)
{
    b[0] = (unsigned char)(v >> 8);
    b[1] = (unsigned char)v;
}

static void wr32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static int ttf_table(const unsigned char *f, size_t flen, const char *tag, span_t *out)
{
    unsigned n, i;

    out->p = NULL;
    out->len = 0;
    if (flen < 12)
        return 0;
    n = rd16(f + 4);
    if (12 + (size_t)n * 16 > flen)
        return 0;
    for (i = 0; i < n; i++) {
        const unsigned char *e = f + 12 + i * 16;
        if (memcmp(e, tag, 4) == 0) {
            uint32_t off = rd32(e + 8), len = rd32(e + 12);
            if (off > flen || len > flen - off)
                return 0;
            out->p = f + off;
            out->len = len;
            return 1;
        }
    }
    return 0;
}

typedef struct {
    span_t head, maxp, hhea, hmtx, loca, glyf, cmap, name, os2, post;
    unsigned num_glyphs, num_hmetrics;
    int loca_long;
    span_t cmap4; /* the (3,1) format-4 subtable */
} ttf_t;

/* Glyph id for a code point through the original format-4 cmap; 0 if none. */
static unsigned ttf_gid(const ttf_t *t, unsigned u)
{
    const unsigned char *s = t->cmap4.p;
    size_t len = t->cmap4.len;
    unsigned segx2 = rd16(s + 6), seg = segx2 / 2, i;
    const unsigned char *ends = s + 14, *starts = ends + segx2 + 2, *deltas = starts + segx2,
                        *ranges = deltas + segx2;

    for (i = 0; i < seg; i++) {
        unsigned end = rd16(ends + 2 * i), start = rd16(starts + 2 * i);
        unsigned ro;

        if (u > end)
            continue;
        if (u < start)
            return 0;
        ro = rd16(ranges + 2 * i);
        if (ro == 0)
            return (u + rd16(deltas + 2 * i)) & 0xFFFF;
        {
            size_t at = (size_t)(ranges + 2 * i - s) + ro + 2 * (size_t)(u - start);
            unsigned g;
            if (at + 2 > len)
                return 0;
            g = rd16(s + at);
            return g ? (g + rd16(deltas + 2 * i)) & 0xFFFF : 0;
        }
    }
    return 0;
}

static int ttf_glyph(const ttf_t *t, unsigned gid, size_t *off, size_t *len)
{
    size_t a, b;

    if (gid >= t->num_glyphs)
        return 0;
    if (t->loca_long) {
        a = rd32(t->loca.p + 4 * gid);
        b = rd32(t->loca.p + 4 * gid + 4);
    } else {
        a = 2 * (size_t)rd16(t->loca.p + 2 * gid);
        b = 2 * (size_t)rd16(t->loca.p + 2 * gid + 2);
    }
    if (b < a || b > t->glyf.len)
        return 0;
    *off = a;
    *len = b - a;
    return 1;
}

static int ttf_parse(const unsigned char *f, size_t flen, ttf_t *t)
{
    unsigned i, n;

    memset(t, 0, sizeof *t);
    if (flen < 12 || (rd32(f) != 0x00010000 && rd32(f) != 0x74727565 /* 'true' */))
        return 0;
    if (!ttf_table(f, flen, "head", &t->head) || !ttf_table(f, flen, "maxp", &t->maxp) ||
        !ttf_table(f, flen, "hhea", &t->hhea) || !ttf_table(f, flen, "hmtx", &t->hmtx) ||
        !ttf_table(f, flen, "loca", &t->loca) || !ttf_table(f, flen, "glyf", &t->glyf) ||
        !ttf_table(f, flen, "cmap", &t->cmap) || !ttf_table(f, flen, "name", &t->name) ||
        !ttf_table(f, flen, "OS/2", &t->os2))
        return 0;
    ttf_table(f, flen, "post", &t->post);

    if (t->head.len < 54 || t->maxp.len < 6 || t->hhea.len < 36 || t->os2.len < 10)
        return 0;
    t->loca_long = rd16(t->head.p + 50) != 0;
    t->num_glyphs = rd16(t->maxp.p + 4);
    t->num_hmetrics = rd16(t->hhea.p + 34);
    if (t->num_glyphs == 0 || t->num_hmetrics == 0 || t->num_hmetrics > t->num_glyphs)
        return 0;
    if (t->hmtx.len < (size_t)t->num_hmetrics * 4 + (size_t)(t->num_glyphs - t->num_hmetrics) * 2)
        return 0;
    if (t->loca.len < (size_t)(t->num_glyphs + 1) * (t->loca_long ? 4 : 2))
        return 0;

    /* cmap: the Windows Unicode BMP subtable, format 4 (what libharu reads). */
    if (t->cmap.len < 4)
        return 0;
    n = rd16(t->cmap.p + 2);
    if (4 + (size_t)n * 8 > t->cmap.len)
        return 0;
    for (i = 0; i < n; i++) {
        const unsigned char *e = t->cmap.p + 4 + i * 8;
        uint32_t off = rd32(e + 4);
        if (rd16(e) == 3 && rd16(e + 2) == 1 && off + 14 <= t->cmap.len &&
            rd16(t->cmap.p + off) == 4) {
            size_t sublen = rd16(t->cmap.p + off + 2);
            unsigned segx2 = rd16(t->cmap.p + off + 6);
            if (sublen > t->cmap.len - off || segx2 == 0 || (segx2 & 1) ||
                16 + 4 * (size_t)segx2 > sublen)
                return 0;
            t->cmap4.p = t->cmap.p + off;
            t->cmap4.len = sublen;
            break;
        }
    }
    return t->cmap4.p != NULL;
}

/* Mark gid and, for a composite glyph, its components (iteratively, with the
 * keep[] array as the visited set, so a cyclic font cannot loop). */
static int ttf_keep(const ttf_t *t, unsigned char *keep, unsigned gid, unsigned *stack)
{
    unsigned sp = 0;

    if (keep[gid])
        return 1;
    keep[gid] = 1;
    stack[sp++] = gid;
    while (sp > 0) {
        unsigned g = stack[--sp];
        size_t off, len, pos;
        uint16_t flags;

        if (!ttf_glyph(t, g, &off, &len))
            return 0;
        if (len < 10 || (int16_t)rd16(t->glyf.p + off) >= 0)
            continue; /* empty or simple glyph */
        pos = off + 10;
        do {
            unsigned comp;
            if (pos + 4 > off + len)
                return 0;
            flags = rd16(t->glyf.p + pos);
            comp = rd16(t->glyf.p + pos + 2);
            pos += 4 + ((flags & 0x0001) ? 4 : 2); /* ARG_1_AND_2_ARE_WORDS */
            if (flags & 0x0008)                    /* WE_HAVE_A_SCALE */
                pos += 2;
            else if (flags & 0x0040) /* WE_HAVE_AN_X_AND_Y_SCALE */
                pos += 4;
            else if (flags & 0x0080) /* WE_HAVE_A_TWO_BY_TWO */
                pos += 8;
            if (comp >= t->num_glyphs)
                return 0;
            if (!keep[comp]) {
                keep[comp] = 1;
                stack[sp++] = comp; /* each gid pushed at most once: sp < num_glyphs */
            }
        } while (flags & 0x0020); /* MORE_COMPONENTS */
    }
    return 1;
}

typedef struct {
    char tag[5];
    unsigned char *data;
    size_t len;
} out_table;

static uint32_t ttf_checksum(const unsigned char *d, size_t len)
{
    uint32_t sum = 0;
    size_t i;

    for (i = 0; i + 4 <= len; i += 4)
        sum += rd32(d + i);
    if (i < len) {
        unsigned char last[4] = {0, 0, 0, 0};
        memcpy(last, d + i, len - i);
        sum += rd32(last);
    }
    return sum;
}

static unsigned char *dup_span(apr_pool_t *p, span_t s)
{
    return s.len ? apr_pmemdup(p, s.p, s.len) : NULL;
}

/* The reduced name table: IDs 0-6, Windows/Unicode/English-US and
 * Mac/Roman/English. NULL when IDs 2 or 6 are missing. */
static unsigned char *ttf_reduce_name(apr_pool_t *p, span_t name, size_t *out_len)
{
    unsigned count, stroff, i, kept = 0, have2 = 0, have6 = 0;
    size_t strbytes = 0, hdr, pos;
    unsigned char *out;

    if (name.len < 6)
        return NULL;
    count = rd16(name.p + 2);
    stroff = rd16(name.p + 4);
    if (6 + (size_t)count * 12 > name.len || stroff > name.len)
        return NULL;
    for (i = 0; i < count; i++) {
        const unsigned char *r = name.p + 6 + i * 12;
        unsigned plat = rd16(r), enc = rd16(r + 2), lang = rd16(r + 4), id = rd16(r + 6);
        size_t len = rd16(r + 8), off = rd16(r + 10);
        if (id > 6 ||
            !((plat == 3 && enc == 1 && lang == 0x409) || (plat == 1 && enc == 0 && lang == 0)))
            continue;
        if (stroff + off + len > name.len)
            return NULL;
        kept++;
        strbytes += len;
        have2 |= id == 2;
        have6 |= id == 6;
    }
    if (!have2 || !have6)
        return NULL;
    hdr = 6 + (size_t)kept * 12;
    out = apr_pcalloc(p, hdr + strbytes);
    wr16(out + 2, (uint16_t)kept);
    wr16(out + 4, (uint16_t)hdr);
    pos = 0;
    kept = 0;
    /* Records keep the source order, which is already sorted as the spec
     * requires (platform, encoding, language, name id). */
    for (i = 0; i < count; i++) {
        const unsigned char *r = name.p + 6 + i * 12;
        unsigned plat = rd16(r), enc = rd16(r + 2), lang = rd16(r + 4), id = rd16(r + 6);
        size_t len = rd16(r + 8), off = rd16(r + 10);
        unsigned char *w;
        if (id > 6 ||
            !((plat == 3 && enc == 1 && lang == 0x409) || (plat == 1 && enc == 0 && lang == 0)))
            continue;
        w = out + 6 + kept * 12;
        memcpy(w, r, 8);
        wr16(w + 8, (uint16_t)len);
        wr16(w + 10, (uint16_t)pos);
        memcpy(out + hdr + pos, name.p + stroff + off, len);
        pos += len;
        kept++;
    }
    *out_len = hdr + strbytes;
    return out;
}

/* Format-4 cmap with one subtable (3,1) for the given (code, gid) pairs,
 * sorted by code; consecutive codes with consecutive gids share a segment. */
static unsigned char *ttf_make_cmap(apr_pool_t *p, const uint16_t *codes, const uint16_t *gids,
                                    unsigned n, size_t *out_len)
{
    uint16_t segstart[260], segend[260], segdelta[260];
    unsigned seg = 0, i, sr = 1, es = 0;
    size_t sublen;
    unsigned char *out, *s;

    for (i = 0; i < n; i++) {
        uint16_t delta = (uint16_t)(gids[i] - codes[i]);
        if (seg > 0 && segend[seg - 1] + 1 == codes[i] && segdelta[seg - 1] == delta) {
            segend[seg - 1] = codes[i];
        } else {
            segstart[seg] = segend[seg] = codes[i];
            segdelta[seg] = delta;
            seg++;
        }
    }
    segstart[seg] = segend[seg] = 0xFFFF; /* required final segment */
    segdelta[seg] = 1;
    seg++;
    while (sr * 2 <= seg) {
        sr *= 2;
        es++;
    }
    sublen = 16 + (size_t)seg * 8;
    out = apr_pcalloc(p, 12 + sublen);
    wr16(out + 2, 1);  /* one subtable */
    wr16(out + 4, 3);  /* Windows */
    wr16(out + 6, 1);  /* Unicode BMP */
    wr32(out + 8, 12); /* offset */
    s = out + 12;
    wr16(s, 4);
    wr16(s + 2, (uint16_t)sublen);
    wr16(s + 6, (uint16_t)(seg * 2));
    wr16(s + 8, (uint16_t)(sr * 2));
    wr16(s + 10, (uint16_t)es);
    wr16(s + 12, (uint16_t)(seg * 2 - sr * 2));
    for (i = 0; i < seg; i++) {
        wr16(s + 14 + 2 * i, segend[i]);
        wr16(s + 16 + 2 * seg + 2 * i, segstart[i]);
        wr16(s + 16 + 4 * seg + 2 * i, segdelta[i]);
        /* idRangeOffset stays 0 */
    }
    *out_len = 12 + sublen;
    return out;
}

/* Copy one glyph without its TrueType instructions (hinting) into dst, which
 * has room for len bytes, renumbering composite components through newid[]
 * (num_glyphs entries); returns the new length, or (size_t)-1 if the glyph
 * is malformed. PDF viewers rasterize at print or zoom resolution where
 * hinting adds little, and DejaVu's instructions are ~40% of its glyph
 * data: dropping them is what keeps a comprobante under 30 KB whatever the
 * name contains. */
static size_t ttf_strip_glyph(const unsigned char *src, size_t len, unsigned char *dst,
                              const uint16_t *newid, unsigned num_glyphs)
{
    int16_t nc;
    size_t pos, ilen;

    if (len == 0)
        return 0;
    if (len < 10)
        return (size_t)-1;
    nc = (int16_t)rd16(src);
    if (nc >= 0) {
        pos = 10 + 2 * (size_t)nc; /* after endPtsOfContours */
        if (pos + 2 > len)
            return (size_t)-1;
        ilen = rd16(src + pos);
        if (pos + 2 + ilen > len)
            return (size_t)-1;
        memcpy(dst, src, pos);
        wr16(dst + pos, 0);
        memcpy(dst + pos + 2, src + pos + 2 + ilen, len - pos - 2 - ilen);
        return len - ilen;
    } else {
        uint16_t flags;

        memcpy(dst, src, len);
        pos = 10;
        do {
            if (pos + 4 > len)
                return (size_t)-1;
            flags = rd16(src + pos);
            if (rd16(src + pos + 2) >= num_glyphs)
                return (size_t)-1;
            wr16(dst + pos, flags & (uint16_t)~0x0100); /* WE_HAVE_INSTRUCTIONS */
            wr16(dst + pos + 2, newid[rd16(src + pos + 2)]);
            pos += 4 + ((flags & 0x0001) ? 4 : 2);
            if (flags & 0x0008)
                pos += 2;
            else if (flags & 0x0040)
                pos += 4;
            else if (flags & 0x0080)
                pos += 8;
        } while (flags & 0x0020);
        if (pos > len)
            return (size_t)-1;
        return pos; /* the instructions, if any, followed the last component */
    }
}

/* Reduce the font file in f to the CP1252 repertoire; see above. Returns 0
 * when the font does not have the expected layout. */
static int ttf_reduce(apr_pool_t *p, const unsigned char *f, size_t flen, unsigned char **out,
                      size_t *out_len)
{
    ttf_t t;
    unsigned char *keep;
    unsigned *stack;
    uint16_t codes[224], gids[224];
    unsigned n = 0, b, g, nkept = 0;
    uint16_t *newid;
    out_table tab[13];
    unsigned ntab = 0, i, sr = 1, es = 0;
    size_t glyf_len = 0, pos, total;
    unsigned char *glyf, *loca, *hmtx, *hhea, *maxp, *head, *post, *buf;
    uint32_t sum;

    if (!ttf_parse(f, flen, &t))
        return 0;
    keep = apr_pcalloc(p, t.num_glyphs);
    stack = apr_palloc(p, sizeof(unsigned) * t.num_glyphs);
    if (!ttf_keep(&t, keep, 0, stack))
        return 0;
    for (b = 0x20; b <= 0xFF; b++) {
        unsigned u = b < 0x80 ? b : b < 0xA0 ? cp1252_high[b - 0x80] : b;
        if (b == 0x7F || u == 0)
            continue;
        g = ttf_gid(&t, u);
        if (g == 0 || g >= t.num_glyphs)
            continue;
        if (!ttf_keep(&t, keep, g, stack))
            return 0;
        codes[n] = (uint16_t)u;
        gids[n] = (uint16_t)g;
        n++;
    }
    if (n < 95) /* not even ASCII: not a text font we can use */
        return 0;
    /* sort by code point (insertion sort; n <= 224) */
    for (i = 1; i < n; i++) {
        uint16_t c = codes[i], gg = gids[i];
        unsigned j = i;
        while (j > 0 && codes[j - 1] > c) {
            codes[j] = codes[j - 1];
            gids[j] = gids[j - 1];
            j--;
        }
        codes[j] = c;
        gids[j] = gg;
    }

    /* Renumber the kept glyphs densely, in their original order (so .notdef
     * stays 0): ~230 glyphs instead of ~6000 make libharu's per-glyph tables
     * (loca, hmtx, its usage flags) small and its parsing fast. */
    newid = apr_pcalloc(p, sizeof(uint16_t) * t.num_glyphs);
    for (g = 0; g < t.num_glyphs; g++) {
        size_t off, len;
        if (!keep[g])
            continue;
        if (!ttf_glyph(&t, g, &off, &len))
            return 0;
        newid[g] = (uint16_t)nkept++;
        glyf_len += (len + 3) & ~(size_t)3;
    }
    for (i = 0; i < n; i++)
        gids[i] = newid[gids[i]];

    /* glyf (stripped, 4-byte aligned) + long loca + all-long hmtx */
    glyf = apr_pcalloc(p, glyf_len ? glyf_len : 4); /* upper bound: stripping only shrinks */
    loca = apr_palloc(p, 4 * ((size_t)nkept + 1));
    hmtx = apr_palloc(p, 4 * (size_t)nkept);
    pos = 0;
    for (g = 0; g < t.num_glyphs; g++) {
        size_t off, len;
        unsigned ng = newid[g], m = g < t.num_hmetrics ? g : t.num_hmetrics - 1;
        if (!keep[g])
            continue;
        wr32(loca + 4 * ng, (uint32_t)pos);
        /* glyphs past numberOfHMetrics share the last advance width */
        memcpy(hmtx + 4 * ng, t.hmtx.p + 4 * m, 2);
        if (g < t.num_hmetrics)
            memcpy(hmtx + 4 * ng + 2, t.hmtx.p + 4 * g + 2, 2);
        else
            memcpy(hmtx + 4 * ng + 2, t.hmtx.p + 4 * t.num_hmetrics + 2 * (g - t.num_hmetrics), 2);
        ttf_glyph(&t, g, &off, &len);
        len = ttf_strip_glyph(t.glyf.p + off, len, glyf + pos, newid, t.num_glyphs);
        if (len == (size_t)-1)
            return 0;
        pos += (len + 3) & ~(size_t)3;
    }
    wr32(loca + 4 * nkept, (uint32_t)pos);
    glyf_len = pos;

    hhea = apr_pmemdup(p, t.hhea.p, t.hhea.len);
    wr16(hhea + 34, (uint16_t)nkept); /* numberOfHMetrics */
    maxp = apr_pmemdup(p, t.maxp.p, t.maxp.len);
    wr16(maxp + 4, (uint16_t)nkept); /* numGlyphs */

    head = apr_pmemdup(p, t.head.p, 54);
    wr32(head + 8, 0);  /* checkSumAdjustment, set below */
    wr16(head + 50, 1); /* long loca */

    post = apr_pcalloc(p, 32);
    if (t.post.len >= 16)
        memcpy(post, t.post.p, 16); /* italic angle, underline, fixed pitch */
    wr32(post, 0x00030000);

    /* Tables in tag order (binary, as the directory must be sorted). */
#define ADD(tg, d, l)                                                                              \
    do {                                                                                           \
        memcpy(tab[ntab].tag, tg, 5);                                                              \
        tab[ntab].data = (d);                                                                      \
        tab[ntab].len = (l);                                                                       \
        ntab++;                                                                                    \
    } while (0)
    ADD("OS/2", dup_span(p, t.os2), t.os2.len);
    {
        size_t cl;
        unsigned char *cm = ttf_make_cmap(p, codes, gids, n, &cl);
        ADD("cmap", cm, cl);
    }
    ADD("glyf", glyf, glyf_len);
    ADD("head", head, 54);
    ADD("hhea", hhea, t.hhea.len);
    ADD("hmtx", hmtx, 4 * (size_t)nkept);
    ADD("loca", loca, 4 * ((size_t)nkept + 1));
    ADD("maxp", maxp, t.maxp.len);
    {
        size_t nl;
        unsigned char *nm = ttf_reduce_name(p, t.name, &nl);
        if (!nm)
            return 0;
        ADD("name", nm, nl);
    }
    ADD("post", post, 32);
#undef ADD

    total = 12 + 16 * (size_t)ntab;
    for (i = 0; i < ntab; i++)
        total += (tab[i].len + 3) & ~(size_t)3;
    buf = apr_pcalloc(p, total);
    while (sr * 2 <= ntab) {
        sr *= 2;
        es++;
    }
    wr32(buf, 0x00010000);
    wr16(buf + 4, (uint16_t)ntab);
    wr16(buf + 6, (uint16_t)(sr * 16));
    wr16(buf + 8, (uint16_t)es);
    wr16(buf + 10, (uint16_t)(ntab * 16 - sr * 16));
    pos = 12 + 16 * (size_t)ntab;
    {
        size_t head_at = 0;
        for (i = 0; i < ntab; i++) {
            unsigned char *e = buf + 12 + 16 * i;
            memcpy(e, tab[i].tag, 4);
            wr32(e + 4, ttf_checksum(tab[i].data, tab[i].len));
            wr32(e + 8, (uint32_t)pos);
            wr32(e + 12, (uint32_t)tab[i].len);
            if (tab[i].len)
                memcpy(buf + pos, tab[i].data, tab[i].len);
            if (memcmp(tab[i].tag, "head", 4) == 0)
                head_at = pos;
            pos += (tab[i].len + 3) & ~(size_t)3;
        }
        sum = ttf_checksum(buf, total);
        wr32(buf + head_at + 8, 0xB1B0AFBAu - sum);
    }
    *out = buf;
    *out_len = total;
    return 1;
}

/* ======================================================= document context */

typedef struct {
    HPDF_STATUS error_no;
    HPDF_STATUS detail_no;
} pdf_err;

/* libharu error handler. It only records the first error: returning to
 * libharu (instead of longjmp) lets every call unwind normally, so nothing
 * it allocated mid-call leaks, and the drawing code checks doc_ok() at
 * phase boundaries. The context is per document (user_data), never global. */
static void pdf_on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    pdf_err *e = user_data;

    if (e->error_no == 0) {
        e->error_no = error_no;
        e->detail_no = detail_no;
    }
}

typedef struct {
    apr_pool_t *p;       /* result pool */
    apr_pool_t *scratch; /* fonts read from disk, converted strings */
    HPDF_Doc pdf;
    HPDF_Page page;
    HPDF_Font regular;
    HPDF_Font bold;
    int fake_bold; /* no bold face: stroke the regular one */
    iconv_t cd;
    pdf_err err;
    float y;            /* cursor: baseline of the next line, from the bottom */
    float left;         /* margins */
    float right;        /* x of the right margin */
    const char *footer; /* CP1252, drawn at the bottom of every page */
    char *msg;          /* first failure, English */
    apr_status_t rv;
    /* seal (firma_prepare): written by doc_save when key is set */
    const afl_sign_key *key;
    const char *tipo, *folio, *cadena, *sello, *serie;
} doc_t;

/* Page geometry: US Letter ("carta"), the usual paper in Mexico. Content
 * stays above CONTENT_BOTTOM, the footer below it. */
#define PAGE_W 612.0f
#define PAGE_H 792.0f
#define MARGIN 56.0f
#define CONTENT_BOTTOM (MARGIN + 24.0f)

/* Colours: IMSS green for headings and the band, dark grey for labels. */
#define GREEN_R 0.0f
#define GREEN_G 0.388f
#define GREEN_B 0.255f

static int doc_ok(doc_t *d)
{
    if (d->rv == APR_SUCCESS && d->err.error_no != 0) {
        d->rv = APR_EGENERAL;
        d->msg = apr_psprintf(d->p, "libharu error 0x%04X (detail %u)", (unsigned)d->err.error_no,
                              (unsigned)d->err.detail_no);
    }
    return d->rv == APR_SUCCESS;
}

static void doc_fail(doc_t *d, apr_status_t rv, const char *msg)
{
    if (d->rv == APR_SUCCESS) {
        d->rv = rv;
        d->msg = apr_pstrdup(d->p, msg);
    }
}

/* Length of the UTF-8 sequence at s (at most n bytes), 1 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t want, i;

    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        want = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        want = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        want = 4;
    else
        return 1;
    if (want > n)
        return 1;
    for (i = 1; i < want; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return want;
}

/* UTF-8 -> CP1252 for drawing. Characters outside CP1252 and invalid bytes
 * become '?', control characters a space: the document is always produced,
 * and what could not be represented is visible rather than silently lost. */
static const char *cp(doc_t *d, const char *utf8)
{
    size_t inleft, outleft, cap;
    char *in, *out, *res;
    unsigned char *q;

    if (!utf8)
        return "";
    inleft = strlen(utf8);
    cap = inleft + 1; /* one CP1252 byte per character, never more bytes */
    res = apr_palloc(d->scratch, cap);
    in = (char *)utf8;
    out = res;
    outleft = cap - 1;
    iconv(d->cd, NULL, NULL, NULL, NULL);
    while (inleft > 0) {
        size_t r = iconv(d->cd, &in, &inleft, &out, &outleft);
        size_t skip;

        if (r != (size_t)-1)
            break;
        if (errno == EILSEQ || errno == EINVAL) {
            /* EINVAL: a sequence cut short by the end of the string */
            skip = errno == EINVAL ? inleft : utf8_seq_len((const unsigned char *)in, inleft);
            in += skip;
            inleft -= skip;
            if (outleft == 0)
                break;
            *out++ = '?';
            outleft--;
        } else {
            break; /* E2BIG cannot happen with cap; stop rather than loop */
        }
    }
    *out = '\0';
    for (q = (unsigned char *)res; *q; q++)
        if (*q < 0x20 || *q == 0x7F)
            *q = ' ';
    return res;
}

/* Read a whole font file into p. */
static apr_status_t read_file(apr_pool_t *p, const char *path, unsigned char **data, size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t got = 0;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && (fi.size <= 0 || fi.size > TTF_MAX_FILE))
        rv = APR_EINVAL;
    if (rv == APR_SUCCESS) {
        *data = apr_palloc(p, (apr_size_t)fi.size);
        rv = apr_file_read_full(f, *data, (apr_size_t)fi.size, &got);
        *len = got;
    }
    apr_file_close(f);
    return rv;
}

/* Hand the reduced font to libharu through an anonymous memory file: libharu
 * 2.3 can only load a TrueType font by path. Returns the font name, or NULL
 * (libharu's error is then cleared so the caller can fall back). */
static const char *load_reduced(doc_t *d, const unsigned char *font, size_t len)
{
    int fd = memfd_create("afl-font", MFD_CLOEXEC);
    char path[64];
    size_t done = 0;
    const char *name;

    if (fd < 0) {
        afl_log(AFL_LOG_WARN, "pdf: memfd_create failed (%s); embedding fonts whole",
                strerror(errno));
        return NULL;
    }
    while (done < len) {
        ssize_t w = write(fd, font + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return NULL;
        }
        done += (size_t)w;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    name = HPDF_LoadTTFontFromFile(d->pdf, path, HPDF_TRUE);
    /* libharu opened its own descriptor (kept until HPDF_Free); the memfd
     * lives as long as that one does. */
    close(fd);
    if (!name || d->err.error_no) {
        afl_log(AFL_LOG_WARN,
                "pdf: libharu refused a reduced font (error 0x%04X); embedding the "
                "file whole",
                (unsigned)d->err.error_no);
        HPDF_ResetError(d->pdf);
        d->err.error_no = d->err.detail_no = 0;
        return NULL;
    }
    return name;
}

struct afl_pdf_font {
    const char *path;          /* the file, for the unreduced fallback */
    const unsigned char *data; /* reduced TTF, or NULL: embed the file as it is */
    size_t len;
};

/* Read and reduce into p; the whole file only lives in a temporary pool. */
static apr_status_t font_prepare(apr_pool_t *p, const char *path, afl_pdf_font *f)
{
    apr_pool_t *tmp;
    unsigned char *raw = NULL, *small = NULL;
    size_t raw_len = 0, small_len = 0;
    apr_status_t rv;

    f->path = apr_pstrdup(p, path);
    f->data = NULL;
    f->len = 0;
    rv = apr_pool_create(&tmp, p);
    if (rv != APR_SUCCESS)
        return rv;
    rv = read_file(tmp, path, &raw, &raw_len);
    if (rv == APR_SUCCESS && ttf_reduce(tmp, raw, raw_len, &small, &small_len)) {
        f->data = apr_pmemdup(p, small, small_len);
        f->len = small_len;
    } else if (rv == APR_SUCCESS) {
        afl_log(AFL_LOG_WARN, "pdf: cannot reduce font %s; embedding it whole (larger PDFs)", path);
    }
    apr_pool_destroy(tmp);
    return rv;
}

apr_status_t afl_pdf_font_load(apr_pool_t *p, const char *path, const afl_pdf_font **font)
{
    afl_pdf_font *f;
    apr_status_t rv;

    *font = NULL;
    if (!path || !*path)
        return APR_EINVAL;
    f = apr_pcalloc(p, sizeof *f);
    rv = font_prepare(p, path, f);
    if (rv == APR_SUCCESS)
        *font = f;
    return rv;
}

/* Load a font into the document: the preloaded one if given, else from
 * path (read and reduced for this document only). */
static HPDF_Font load_font(doc_t *d, const char *path, const afl_pdf_font *pre)
{
    afl_pdf_font local;
    const char *name = NULL;
    apr_status_t rv;
    HPDF_Font font;

    if (!pre) {
        rv = font_prepare(d->scratch, path, &local);
        if (rv != APR_SUCCESS) {
            char e[120];
            doc_fail(
                d, APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv,
                apr_psprintf(d->p, "cannot read font %s: %s", path, apr_strerror(rv, e, sizeof e)));
            return NULL;
        }
        pre = &local;
    }
    if (pre->data)
        name = load_reduced(d, pre->data, pre->len);
    if (!name)
        name = HPDF_LoadTTFontFromFile(d->pdf, pre->path, HPDF_TRUE);
    if (!name || !doc_ok(d)) {
        d->rv = APR_ENOENT;
        d->msg = apr_psprintf(d->p, "cannot use font %s (libharu error 0x%04X)", pre->path,
                              (unsigned)d->err.error_no);
        return NULL;
    }
    font = HPDF_GetFont(d->pdf, name, "CP1252");
    if (!font || !doc_ok(d)) {
        doc_fail(d, APR_ENOENT, "font has no CP1252 mapping");
        return NULL;
    }
    return font;
}

static void new_page(doc_t *d);

static apr_status_t doc_begin(doc_t *d, apr_pool_t *p, const char *font_path,
                              const char *font_bold_path, const afl_pdf_font *font,
                              const afl_pdf_font *font_bold)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->cd = (iconv_t)-1;
    d->rv = APR_SUCCESS;
    if (apr_pool_create(&d->scratch, p) != APR_SUCCESS) {
        d->scratch = NULL;
        doc_fail(d, APR_ENOMEM, "out of memory");
        return d->rv;
    }
    if (!font && (!font_path || !*font_path)) {
        doc_fail(d, APR_EINVAL, "no font configured");
        return d->rv;
    }
    d->cd = iconv_open("CP1252", "UTF-8");
    if (d->cd == (iconv_t)-1) {
        doc_fail(d, APR_EGENERAL, "iconv cannot convert UTF-8 to CP1252");
        return d->rv;
    }
    d->pdf = HPDF_New(pdf_on_error, &d->err);
    if (!d->pdf) {
        doc_fail(d, APR_ENOMEM, "HPDF_New failed");
        return d->rv;
    }
    HPDF_SetCompressionMode(d->pdf, HPDF_COMP_ALL);
    d->regular = load_font(d, font_path, font);
    if (!d->regular)
        return d->rv;
    if (font_bold || (font_bold_path && *font_bold_path)) {
        d->bold = load_font(d, font_bold_path, font_bold);
        if (!d->bold)
            return d->rv;
    } else {
        d->bold = d->regular;
        d->fake_bold = 1;
    }
    d->left = MARGIN;
    d->right = PAGE_W - MARGIN;
    new_page(d);
    doc_ok(d);
    return d->rv;
}

/* Free everything but the result; safe after any failure. */
static void doc_end(doc_t *d)
{
    if (d->pdf)
        HPDF_Free(d->pdf);
    d->pdf = NULL;
    if (d->cd != (iconv_t)-1)
        iconv_close(d->cd);
    d->cd = (iconv_t)-1;
    if (d->scratch)
        apr_pool_destroy(d->scratch);
    d->scratch = NULL;
}

static void draw_footer(doc_t *d);
static void seal_dict(doc_t *d);
static void seal_patch(doc_t *d, unsigned char *buf, size_t len);

/* Serialize into pool memory: SaveToStream, then ReadFromStream until EOF. */
static void doc_save(doc_t *d, const unsigned char **pdf, size_t *len)
{
    HPDF_UINT32 size;
    unsigned char *buf;
    size_t off = 0;

    draw_footer(d);
    seal_dict(d);
    if (!doc_ok(d))
        return;
    if (HPDF_SaveToStream(d->pdf) != HPDF_OK || !doc_ok(d)) {
        doc_fail(d, APR_EGENERAL, "HPDF_SaveToStream failed");
        return;
    }
    size = HPDF_GetStreamSize(d->pdf);
    if (size == 0) {
        doc_fail(d, APR_EGENERAL, "empty PDF stream");
        return;
    }
    buf = apr_palloc(d->p, size);
    while (off < size) {
        HPDF_UINT32 n = (HPDF_UINT32)(size - off);
        HPDF_STATUS st = HPDF_ReadFromStream(d->pdf, buf + off, &n);
        off += n;
        if (st == HPDF_STREAM_EOF || n == 0)
            break;
        if (st != HPDF_OK) {
            doc_fail(d, APR_EGENERAL, "HPDF_ReadFromStream failed");
            return;
        }
    }
    if (off != size) {
        doc_fail(d, APR_EGENERAL, "short PDF stream");
        return;
    }
    seal_patch(d, buf, size);
    if (d->rv != APR_SUCCESS)
        return;
    *pdf = buf;
    *len = size;
}

/* ========================================================= drawing helpers
 * All take UTF-8 and are no-ops once the document has failed. Reusable by
 * the tarjeta and the constancia. */

static void set_font(doc_t *d, int bold, float size)
{
    HPDF_Page_SetFontAndSize(d->page, bold ? d->bold : d->regular, size);
    if (bold && d->fake_bold) {
        HPDF_Page_SetTextRenderingMode(d->page, HPDF_FILL_THEN_STROKE);
        HPDF_Page_SetLineWidth(d->page, size / 30.0f);
    } else {
        HPDF_Page_SetTextRenderingMode(d->page, HPDF_FILL);
    }
}

/* One line of text at (x, y), already CP1252. */
static void text_at(doc_t *d, float x, float y, int bold, float size, const char *cp1252)
{
    if (!doc_ok(d) || !*cp1252)
        return;
    HPDF_Page_BeginText(d->page);
    set_font(d, bold, size);
    HPDF_Page_TextOut(d->page, x, y, cp1252);
    HPDF_Page_EndText(d->page);
}

/* Split CP1252 text into lines of at most width points, breaking at spaces
 * (a word longer than a line is broken where it must). Draws each line at x
 * starting at baseline y and returns the number of lines. When draw is 0 it
 * only counts (for layout before drawing). */
static int wrap_lines(doc_t *d, float x, float y, float width, int bold, float size, float leading,
                      const char *cp1252, int draw)
{
    HPDF_Font font = bold ? d->bold : d->regular;
    const char *s = cp1252;
    int lines = 0;

    while (*s == ' ')
        s++;
    while (*s && doc_ok(d)) {
        HPDF_UINT n = (HPDF_UINT)strlen(s);
        HPDF_UINT fit = HPDF_Font_MeasureText(font, (const HPDF_BYTE *)s, n, width, size, 0, 0,
                                              HPDF_TRUE, NULL);
        HPDF_UINT take;

        if (fit == 0) /* one word wider than the line: cut it */
            fit = HPDF_Font_MeasureText(font, (const HPDF_BYTE *)s, n, width, size, 0, 0,
                                        HPDF_FALSE, NULL);
        if (fit == 0)
            fit = 1;
        take = fit;
        while (take > 0 && s[take - 1] == ' ')
            take--;
        if (draw && take > 0) {
            char *line = apr_pstrndup(d->scratch, s, take);
            text_at(d, x, y - lines * leading, bold, size, line);
        }
        lines++;
        s += fit;
        while (*s == ' ')
            s++;
    }
    return lines;
}

static void rgb_fill(doc_t *d, float r, float g, float b)
{
    HPDF_Page_SetRGBFill(d->page, r, g, b);
}

/* Text for the bottom of every page (UTF-8); set it before the content so
 * pages added by ensure_space() get it too. */
static void set_footer(doc_t *d, const char *text)
{
    d->footer = cp(d, text);
}

/* Small grey text at the bottom of the current page, above a rule. */
static void draw_footer(doc_t *d)
{
    const float y = MARGIN - 6;

    if (!doc_ok(d) || !d->page || !d->footer || !*d->footer)
        return;
    HPDF_Page_SetRGBStroke(d->page, 0.7f, 0.7f, 0.7f);
    HPDF_Page_SetLineWidth(d->page, 0.5f);
    HPDF_Page_MoveTo(d->page, d->left, y + 14);
    HPDF_Page_LineTo(d->page, d->right, y + 14);
    HPDF_Page_Stroke(d->page);
    rgb_fill(d, 0.35f, 0.35f, 0.35f);
    HPDF_Page_SetRGBStroke(d->page, 0.35f, 0.35f, 0.35f);
    wrap_lines(d, d->left, y, d->right - d->left, 0, 8, 10, d->footer, 1);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
}

/* Finish the current page (footer) and start another. */
static void new_page(doc_t *d)
{
    if (!doc_ok(d))
        return;
    draw_footer(d);
    d->page = HPDF_AddPage(d->pdf);
    HPDF_Page_SetWidth(d->page, PAGE_W);
    HPDF_Page_SetHeight(d->page, PAGE_H);
    d->y = PAGE_H - MARGIN;
}

/* Start a new page unless `need` points fit below the cursor: long values
 * (names, the constancia's lists) flow onto another page instead of running
 * into the footer. */
static void ensure_space(doc_t *d, float need)
{
    if (d->y - need < CONTENT_BOTTOM)
        new_page(d);
}

/* Full-width coloured band at the top with a title and a subtitle. */
static void header_band(doc_t *d, const char *title, const char *subtitle)
{
    const float band = 84.0f;

    if (!doc_ok(d))
        return;
    rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_Rectangle(d->page, 0, PAGE_H - band, PAGE_W, band);
    HPDF_Page_Fill(d->page);
    rgb_fill(d, 1, 1, 1);
    HPDF_Page_SetRGBStroke(d->page, 1, 1, 1);
    text_at(d, d->left, PAGE_H - 38, 1, 17, cp(d, title));
    wrap_lines(d, d->left, PAGE_H - 62, d->right - d->left, 0, 12, 14, cp(d, subtitle), 1);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y = PAGE_H - band - 34;
}

/* Section heading in green with a rule under it. */
static void section(doc_t *d, const char *title)
{
    if (!doc_ok(d))
        return;
    ensure_space(d, 24 + 24); /* never a heading alone at the bottom */
    rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    text_at(d, d->left, d->y, 1, 12, cp(d, title));
    HPDF_Page_SetLineWidth(d->page, 0.8f);
    HPDF_Page_MoveTo(d->page, d->left, d->y - 5);
    HPDF_Page_LineTo(d->page, d->right, d->y - 5);
    HPDF_Page_Stroke(d->page);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y -= 24;
}

#define LABEL_W 196.0f

/* "Label    value" row; the value wraps inside its column. */
static void row(doc_t *d, const char *label, const char *value)
{
    const float size = 10.0f, leading = 13.0f;
    float vx = d->left + LABEL_W;
    int lines;

    const char *l = cp(d, label), *v = cp(d, value);
    int llines;

    if (!doc_ok(d))
        return;
    llines = wrap_lines(d, d->left, d->y, LABEL_W - 8, 1, 9.5f, leading, l, 0);
    lines = wrap_lines(d, vx, d->y, d->right - vx, 0, size, leading, v, 0);
    if (lines < llines)
        lines = llines;
    if (lines < 1)
        lines = 1;
    ensure_space(d, (lines - 1) * leading + 10);
    rgb_fill(d, 0.30f, 0.30f, 0.30f);
    HPDF_Page_SetRGBStroke(d->page, 0.30f, 0.30f, 0.30f);
    wrap_lines(d, d->left, d->y, LABEL_W - 8, 1, 9.5f, leading, l, 1);
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    wrap_lines(d, vx, d->y, d->right - vx, 0, size, leading, v, 1);
    /* hairline under the row */
    HPDF_Page_SetRGBStroke(d->page, 0.85f, 0.85f, 0.85f);
    HPDF_Page_SetLineWidth(d->page, 0.5f);
    HPDF_Page_MoveTo(d->page, d->left, d->y - (lines - 1) * leading - 5);
    HPDF_Page_LineTo(d->page, d->right, d->y - (lines - 1) * leading - 5);
    HPDF_Page_Stroke(d->page);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    d->y -= lines * leading + 6;
}

/* Wrapped paragraph at the cursor. */
static void paragraph(doc_t *d, float size, const char *text)
{
    const float leading = size * 1.4f;
    int lines;

    const char *t = cp(d, text);

    if (!doc_ok(d))
        return;
    lines = wrap_lines(d, d->left, d->y, d->right - d->left, 0, size, leading, t, 0);
    ensure_space(d, (lines - 1) * leading + size * 0.4f);
    wrap_lines(d, d->left, d->y, d->right - d->left, 0, size, leading, t, 1);
    d->y -= lines * leading + size * 0.6f;
}

/* A highlighted box with a caption and a big value (the NSS). */
static void highlight(doc_t *d, const char *caption, const char *value)
{
    const float h = 58.0f;
    float top;

    if (!doc_ok(d))
        return;
    ensure_space(d, h);
    top = d->y + 14;
    HPDF_Page_SetRGBFill(d->page, 0.93f, 0.96f, 0.94f);
    HPDF_Page_SetRGBStroke(d->page, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_SetLineWidth(d->page, 1.0f);
    HPDF_Page_Rectangle(d->page, d->left, top - h, d->right - d->left, h);
    HPDF_Page_FillStroke(d->page);
    rgb_fill(d, 0.30f, 0.30f, 0.30f);
    HPDF_Page_SetRGBStroke(d->page, 0.30f, 0.30f, 0.30f);
    text_at(d, d->left + 14, top - 20, 1, 10, cp(d, caption));
    rgb_fill(d, 0, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
    text_at(d, d->left + 14, top - 46, 1, 22, cp(d, value));
    d->y = top - h - 26;
}

/* Document information; no personal data in it (it is visible in viewers'
 * property dialogs and in search indexes). */
static void set_info(doc_t *d, const char *title, apr_time_t when)
{
    apr_time_exp_t tm;
    HPDF_Date date;

    if (!doc_ok(d))
        return;
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_TITLE, cp(d, title));
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_AUTHOR, "Instituto Mexicano del Seguro Social");
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_CREATOR, "mod_afiliate");
    if (apr_time_exp_lt(&tm, when) == APR_SUCCESS) {
        long off = tm.tm_gmtoff < 0 ? -(long)tm.tm_gmtoff : (long)tm.tm_gmtoff;
        date.year = tm.tm_year + 1900;
        date.month = tm.tm_mon + 1;
        date.day = tm.tm_mday;
        date.hour = tm.tm_hour;
        date.minutes = tm.tm_min;
        date.seconds = tm.tm_sec;
        date.ind = tm.tm_gmtoff == 0 ? 'Z' : tm.tm_gmtoff < 0 ? '-' : '+';
        date.off_hour = (HPDF_INT)(off / 3600);
        date.off_minutes = (HPDF_INT)((off % 3600) / 60);
        HPDF_SetInfoDateAttr(d->pdf, HPDF_INFO_CREATION_DATE, date);
    }
    doc_ok(d);
}

static int empty(const char *s)
{
    return !s || !*s;
}

/* Width of CP1252 text in the given face and size. */
static float text_width(doc_t *d, int bold, float size, const char *cp1252)
{
    HPDF_Font font = bold ? d->bold : d->regular;
    HPDF_TextWidth tw =
        HPDF_Font_TextWidth(font, (const HPDF_BYTE *)cp1252, (HPDF_UINT)strlen(cp1252));

    return (float)tw.width * size / 1000.0f;
}

static void grey(doc_t *d, float g)
{
    rgb_fill(d, g, g, g);
    HPDF_Page_SetRGBStroke(d->page, g, g, g);
}

/* ========================================================= sello digital */

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Name of the private catalog entry and of its document-seal key. */
#define SEAL_DICT "AfiliateSello"
#define SEAL_SIG "SelloDocumento"

static const char hexdig[] = "0123456789ABCDEF";

/* Check the firma of a document and fill in what the key provides: the
 * sello of the cadena and the serial. Fails the document on an
 * inconsistent firma (a key without a cadena, a key that cannot sign). */
static void firma_prepare(doc_t *d, const afl_pdf_firma *f, const char *tipo, const char *folio)
{
    if (!doc_ok(d) || !f)
        return;
    d->tipo = tipo;
    d->folio = folio;
    d->cadena = empty(f->cadena_original) ? NULL : f->cadena_original;
    d->sello = empty(f->sello) ? NULL : f->sello;
    d->serie = empty(f->no_serie) ? NULL : f->no_serie;
    if (!f->key)
        return;
    if (!d->cadena) {
        doc_fail(d, APR_EINVAL, "a signing key was given without a cadena original");
        return;
    }
    if (!afl_sign_is_private(f->key)) {
        doc_fail(d, APR_EINVAL, "the signing key is not a private key");
        return;
    }
    {
        const char *cf = afl_cadena_campo(d->scratch, d->cadena, "Folio");
        if (!cf || strcmp(cf, folio) != 0) {
            doc_fail(d, APR_EINVAL, "the cadena original is not of this folio");
            return;
        }
    }
    /* a sello or serial given by the caller (e.g. from the documento row)
     * must be this key's: a sealed document never carries a wrong one */
    if (!d->sello) {
        if (afl_sign_sello(d->p, f->key, d->cadena, strlen(d->cadena), &d->sello) != APR_SUCCESS) {
            doc_fail(d, APR_EGENERAL, "cannot sign the cadena original");
            return;
        }
    } else if (afl_sign_verify_sello(f->key, d->cadena, strlen(d->cadena), d->sello) !=
               AFL_SIGN_OK) {
        doc_fail(d, APR_EINVAL, "the sello digital given is not the key's signature of the cadena");
        return;
    }
    if (!d->serie)
        d->serie = afl_sign_serial(f->key);
    if (strcmp(d->serie, afl_sign_serial(f->key)) != 0) {
        doc_fail(d, APR_EINVAL, "the No. de serie given is not the key's");
        return;
    }
    d->key = f->key;
}

static HPDF_STATUS add_hex(doc_t *d, HPDF_Dict dict, const char *key, const void *v, size_t n)
{
    HPDF_Binary b = HPDF_Binary_New(d->pdf->mmgr, (HPDF_BYTE *)v, (HPDF_UINT)n);

    if (!b)
        return HPDF_FAILD_TO_ALLOC_MEM;
    return HPDF_Dict_Add(dict, key, b);
}

/* The private catalog dictionary, with a zeroed document seal. */
static void seal_dict(doc_t *d)
{
    HPDF_Dict dict;
    size_t n;
    unsigned char *zeros;

    if (!doc_ok(d) || !d->key)
        return;
    n = afl_sign_size(d->key);
    zeros = apr_pcalloc(d->scratch, n);
    dict = HPDF_Dict_New(d->pdf->mmgr);
    if (!dict || HPDF_Dict_AddNumber(dict, "V", 1) != HPDF_OK ||
        add_hex(d, dict, "Tipo", d->tipo, strlen(d->tipo)) != HPDF_OK ||
        add_hex(d, dict, "Folio", d->folio, strlen(d->folio)) != HPDF_OK ||
        add_hex(d, dict, "CadenaOriginal", d->cadena, strlen(d->cadena)) != HPDF_OK ||
        add_hex(d, dict, "SelloDigital", d->sello, strlen(d->sello)) != HPDF_OK ||
        add_hex(d, dict, "NoSerie", d->serie, strlen(d->serie)) != HPDF_OK ||
        add_hex(d, dict, SEAL_SIG, zeros, n) != HPDF_OK ||
        HPDF_Dict_Add(d->pdf->catalog, SEAL_DICT, dict) != HPDF_OK) {
        doc_ok(d);
        doc_fail(d, APR_EGENERAL, "cannot add the seal dictionary");
    }
}

/* Where the hex digits of the document seal are: the only "/SelloDocumento
 * <" of the file, followed by 2 * siglen hex digits and '>'. 0 ok. */
static int seal_region(const unsigned char *buf, size_t len, size_t siglen, size_t *at)
{
    static const char needle[] = "/" SEAL_SIG " <";
    const size_t nl = sizeof needle - 1;
    const unsigned char *hit, *again;
    size_t pos;

    hit = memmem(buf, len, needle, nl);
    if (!hit)
        return -1;
    pos = (size_t)(hit - buf) + nl;
    again = memmem(buf + pos, len - pos, needle, nl);
    if (again)
        return -1;
    if (siglen == 0 || pos + 2 * siglen >= len || buf[pos + 2 * siglen] != '>')
        return -1;
    for (size_t i = 0; i < 2 * siglen; i++)
        if (hexval(buf[pos + i]) < 0)
            return -1;
    *at = pos;
    return 0;
}

/* Sign the file (seal digits all '0') and write the signature in place. */
static void seal_patch(doc_t *d, unsigned char *buf, size_t len)
{
    size_t at, n;
    const unsigned char *sig;
    size_t siglen;

    if (!d->key || d->rv != APR_SUCCESS)
        return;
    n = afl_sign_size(d->key);
    if (seal_region(buf, len, n, &at) != 0) {
        doc_fail(d, APR_EGENERAL, "seal placeholder not found in the PDF");
        return;
    }
    for (size_t i = 0; i < 2 * n; i++)
        if (buf[at + i] != '0') {
            doc_fail(d, APR_EGENERAL, "seal placeholder is not zeroed");
            return;
        }
    if (afl_sign_raw(d->scratch, d->key, buf, len, &sig, &siglen) != APR_SUCCESS || siglen != n) {
        doc_fail(d, APR_EGENERAL, "cannot sign the document");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        buf[at + 2 * i] = (unsigned char)hexdig[sig[i] >> 4];
        buf[at + 2 * i + 1] = (unsigned char)hexdig[sig[i] & 15];
    }
}

/* ------------------------------------------------------------- QR code */

typedef struct {
    doc_t *d;
} qr_baton;

static void qr_run(void *baton, int row, int col, int len)
{
    qr_baton *b = baton;

    HPDF_Page_Rectangle(b->d->page, (HPDF_REAL)col, (HPDF_REAL)row, (HPDF_REAL)len, 1);
}

/* The QR code of text as a size x size square whose top-left corner is at
 * (x, top); modules are unit squares in a scaled, y-flipped space, so the
 * content stream holds small integers. Returns 0, or -1 (document failed)
 * when the text cannot be encoded. */
static int draw_qr(doc_t *d, float x, float top, float size, const char *text)
{
    afl_qr qr;
    qr_baton b;
    float m;

    if (!doc_ok(d))
        return -1;
    if (afl_qr_encode(d->scratch, text, &qr) != APR_SUCCESS) {
        doc_fail(d, APR_EINVAL, "cannot encode the QR code (URL too long?)");
        return -1;
    }
    m = size / (float)qr.width;
    b.d = d;
    HPDF_Page_GSave(d->page);
    HPDF_Page_Concat(d->page, m, 0, 0, -m, x, top);
    rgb_fill(d, 0, 0, 0);
    afl_qr_runs(&qr, qr_run, &b);
    HPDF_Page_Fill(d->page);
    HPDF_Page_GRestore(d->page);
    return doc_ok(d) ? 0 : -1;
}

/* Size of the QR code at the top right of the comprobante and constancia. */
#define QR_SIZE 78.0f
#define QR_GAP 14.0f

/* The QR code at the right margin with its top at top, "Verifica este
 * documento" under it. Returns the width the content beside it must leave
 * free (0 when there is no QR) and sets *bottom to the lowest y used. */
static float qr_corner(doc_t *d, const afl_pdf_firma *f, float top, float *bottom)
{
    float x = d->right - QR_SIZE;

    *bottom = top;
    if (!doc_ok(d) || !f || empty(f->verify_url))
        return 0;
    if (draw_qr(d, x, top, QR_SIZE, f->verify_url) != 0)
        return 0;
    grey(d, 0.30f);
    text_at(d, x + (QR_SIZE - text_width(d, 1, 6.5f, "Verifica este documento")) / 2,
            top - QR_SIZE - 9, 1, 6.5f, "Verifica este documento");
    grey(d, 0);
    *bottom = top - QR_SIZE - 12;
    return QR_SIZE + QR_GAP;
}

/* The "Sello digital" section, full width: cadena original and sello
 * digital wrapped in a small font, the No. de serie and the verification
 * URL (the QR code itself is drawn elsewhere: qr_corner, the tarjeta's
 * card). Nothing when the firma has neither a cadena nor a URL. */
static void firma_block(doc_t *d, const afl_pdf_firma *f)
{
    const float small = 6.6f, lead = 8.0f, lab = 7.0f, w = d->right - d->left;
    const char *cad, *sel, *tail;
    int ncad = 0, nsel = 0, ntail = 0;
    float h = 0;

    if (!doc_ok(d) || !f || (!d->cadena && empty(f->verify_url)))
        return;
    cad = d->cadena ? cp(d, d->cadena) : NULL;
    sel = d->sello ? cp(d, d->sello) : NULL;
    /* "No. de serie: X. Verifica este documento en: URL" */
    tail = apr_pstrcat(d->scratch, d->serie ? "No. de serie: " : "", d->serie ? d->serie : "",
                       d->serie && !empty(f->verify_url) ? ". " : "",
                       empty(f->verify_url) ? "" : "Verifica este documento en: ",
                       empty(f->verify_url) ? "" : f->verify_url, NULL);
    tail = cp(d, tail);
    if (cad) {
        ncad = wrap_lines(d, d->left, 0, w, 0, small, lead, cad, 0);
        h += lab + 2 + ncad * lead + 3;
    }
    if (sel) {
        nsel = wrap_lines(d, d->left, 0, w, 0, small, lead, sel, 0);
        h += lab + 2 + nsel * lead + 3;
    }
    if (*tail) {
        ntail = wrap_lines(d, d->left, 0, w, 0, small, lead, tail, 0);
        h += ntail * lead;
    }
    ensure_space(d, 24 + h); /* the heading never alone at the bottom of a page */
    section(d, "Sello digital");
    d->y += 6;
    if (cad) {
        grey(d, 0.30f);
        text_at(d, d->left, d->y, 1, lab, cp(d, "Cadena original"));
        grey(d, 0);
        d->y -= lab + 2;
        wrap_lines(d, d->left, d->y, w, 0, small, lead, cad, 1);
        d->y -= ncad * lead + 3;
    }
    if (sel) {
        grey(d, 0.30f);
        text_at(d, d->left, d->y, 1, lab, cp(d, "Sello digital"));
        grey(d, 0);
        d->y -= lab + 2;
        wrap_lines(d, d->left, d->y, w, 0, small, lead, sel, 1);
        d->y -= nsel * lead + 3;
    }
    if (*tail) {
        wrap_lines(d, d->left, d->y, w, 0, small, lead, tail, 1);
        d->y -= ntail * lead;
    }
    d->y -= 6;
}

/* ========================================================== comprobante */

apr_status_t afl_pdf_comprobante(apr_pool_t *p, const afl_comprobante *c, const unsigned char **pdf,
                                 size_t *len, char *errbuf, size_t errlen)
{
    doc_t d;
    const char *tramite, *sexo, *nombre;
    char fecha[32], hora[16];
    float right, qr_bottom;

    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (!c || empty(c->nombres) || empty(c->primer_apellido) || empty(c->curp) || empty(c->nss) ||
        empty(c->folio) || !afl_pdf_sexo_name(c->sexo)) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "comprobante: missing or invalid field");
        return APR_EINVAL;
    }
    tramite = c->localizacion ? "Localización de NSS" : "Asignación de NSS";
    sexo = afl_pdf_sexo_name(c->sexo);
    nombre = empty(c->segundo_apellido) ? apr_pstrcat(p, c->nombres, " ", c->primer_apellido, NULL)
                                        : apr_pstrcat(p, c->nombres, " ", c->primer_apellido, " ",
                                                      c->segundo_apellido, NULL);
    afl_pdf_format_date(c->issued, fecha, sizeof fecha);
    afl_pdf_format_time(c->issued, hora, sizeof hora);

    if (doc_begin(&d, p, c->font_path, c->font_bold_path, c->font, c->font_bold) == APR_SUCCESS) {
        firma_prepare(&d, &c->firma, "comprobante", c->folio);
        set_info(&d,
                 c->localizacion ? "Comprobante de Localización de NSS"
                                 : "Comprobante de Asignación de NSS",
                 c->issued);
        set_footer(&d, apr_psprintf(d.scratch,
                                    "Documento generado electrónicamente el %s a las %s. "
                                    "Folio: %s.",
                                    fecha, hora, c->folio));
        header_band(&d, "Instituto Mexicano del Seguro Social",
                    c->localizacion ? "Comprobante de Localización de Número de Seguridad Social"
                                    : "Comprobante de Asignación de Número de Seguridad Social");
        /* the QR code at the top right; title, text and NSS box beside it */
        right = d.right;
        d.right -= qr_corner(&d, &c->firma, d.y + 12, &qr_bottom);

        rgb_fill(&d, GREEN_R, GREEN_G, GREEN_B);
        HPDF_Page_SetRGBStroke(d.page, GREEN_R, GREEN_G, GREEN_B);
        text_at(&d, d.left, d.y, 1, 16, cp(&d, tramite));
        rgb_fill(&d, 0, 0, 0);
        HPDF_Page_SetRGBStroke(d.page, 0, 0, 0);
        d.y -= 22;
        paragraph(&d, 11,
                  c->localizacion
                      ? "Tu Número de Seguridad Social (NSS) fue localizado en los registros "
                        "del IMSS. Es el mismo que ya tenías: no necesitas tramitar otro."
                      : "Se te asignó un Número de Seguridad Social (NSS).");
        d.y -= 8;
        highlight(&d, "Tu Número de Seguridad Social", c->nss);
        d.right = right;
        if (d.y > qr_bottom - 24)
            d.y = qr_bottom - 24;

        section(&d, "Datos personales");
        row(&d, "Nombre", nombre);
        row(&d, "CURP", c->curp);
        row(&d, "Número de Seguridad Social (NSS)", c->nss);
        row(&d, "Sexo", sexo);
        row(&d, "Lugar de nacimiento",
            empty(c->entidad_nacimiento) ? "No disponible" : c->entidad_nacimiento);
        row(&d, "Unidad de Medicina Familiar", empty(c->umf) ? "Sin asignar" : c->umf);

        d.y -= 4;
        section(&d, "Datos del comprobante");
        row(&d, "Tipo de trámite", tramite);
        row(&d, "Fecha y hora de emisión", apr_pstrcat(d.scratch, fecha, ", ", hora, " h", NULL));
        row(&d, "Folio", c->folio);

        d.y -= 4;
        section(&d, "Información importante");
        paragraph(&d, 9.5f,
                  "Este número es permanente y único para toda la vida: es el mismo mientras "
                  "estudias y cuando empieces a trabajar. Consérvalo, lo necesitarás en todos "
                  "tus trámites ante el IMSS.");
        paragraph(&d, 9.5f,
                  empty(c->umf)
                      ? "Para recibir atención médica debes registrarte en la Unidad de Medicina "
                        "Familiar (UMF) que corresponde a tu domicilio. Acude a ella con una "
                        "identificación oficial con fotografía, un comprobante de domicilio "
                        "reciente, tu CURP y este comprobante."
                      : "Para recibir atención médica debes registrarte en tu Unidad de Medicina "
                        "Familiar (UMF), la indicada arriba. Acude a ella con una identificación "
                        "oficial con fotografía, un comprobante de domicilio reciente, tu CURP y "
                        "este comprobante.");
        paragraph(&d, 9.5f,
                  "Como estudiante, el Seguro Facultativo te da atención médica gratuita "
                  "mientras conserves tu condición de estudiante.");
        firma_block(&d, &c->firma);
        doc_save(&d, pdf, len);
    }
    if (d.rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "comprobante: %s", d.msg ? d.msg : "failed");
    }
    doc_end(&d);
    return d.rv;
}

/* ================================================================ tarjeta */

/* ID-1 card (85.6 x 54 mm) in points. */
#define CARD_W 242.65f
#define CARD_H 153.07f
#define CARD_PAD 9.0f
#define CARD_QR 68.0f

/* The card with its top-left corner at (x, top). */
static void draw_card(doc_t *d, float x, float top, const afl_tarjeta *t, const char *nombre)
{
    const float strip = 26.0f, tw = CARD_W - 2 * CARD_PAD - CARD_QR - 8;
    float tx = x + CARD_PAD, y;
    const char *n = cp(d, nombre), *sub = cp(d, "Número de Seguridad Social");
    float nsize = 7.5f, nlead = 9.0f;
    int nlines;

    if (!doc_ok(d))
        return;
    /* white card, dashed cut line on its edge */
    HPDF_Page_SetRGBFill(d->page, 1, 1, 1);
    HPDF_Page_Rectangle(d->page, x, top - CARD_H, CARD_W, CARD_H);
    HPDF_Page_Fill(d->page);
    rgb_fill(d, GREEN_R, GREEN_G, GREEN_B);
    HPDF_Page_Rectangle(d->page, x, top - strip, CARD_W, strip);
    HPDF_Page_Fill(d->page);
    rgb_fill(d, 1, 1, 1);
    HPDF_Page_SetRGBStroke(d->page, 1, 1, 1);
    text_at(d, tx, top - 17.5f, 1, 12, "IMSS");
    text_at(d, x + CARD_W - CARD_PAD - text_width(d, 0, 7, sub), top - 16.5f, 0, 7, sub);

    y = top - strip - 12;
    grey(d, 0.35f);
    text_at(d, tx, y, 1, 5.8f, cp(d, "NÚMERO DE SEGURIDAD SOCIAL (NSS)"));
    grey(d, 0);
    y -= 18;
    text_at(d, tx, y, 1, 17, cp(d, t->nss));

    y -= 13;
    grey(d, 0.35f);
    text_at(d, tx, y, 1, 5.8f, "NOMBRE");
    grey(d, 0);
    y -= 9;
    nlines = wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 0);
    if (nlines > 2) {
        nsize = 6.2f;
        nlead = 7.4f;
        nlines = wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 0);
    }
    wrap_lines(d, tx, y, tw, 1, nsize, nlead, n, 1);
    y -= (nlines - 1) * nlead + 12;

    grey(d, 0.35f);
    text_at(d, tx, y, 1, 5.8f, "CURP");
    grey(d, 0);
    y -= 9;
    text_at(d, tx, y, 0, 8, cp(d, t->curp));

    /* folio and short sello along the bottom edge */
    grey(d, 0.35f);
    text_at(d, tx, top - CARD_H + 16, 0, 5.5f,
            cp(d, apr_pstrcat(d->scratch, "Folio: ", t->folio, NULL)));
    if (d->sello)
        text_at(d, tx, top - CARD_H + 8, 0, 5.5f,
                cp(d, apr_pstrcat(d->scratch, "Sello digital: ",
                                  apr_pstrndup(d->scratch, d->sello, 28), "…", NULL)));
    grey(d, 0);

    if (!empty(t->firma.verify_url))
        draw_qr(d, x + CARD_W - CARD_PAD - CARD_QR, top - strip - 10, CARD_QR, t->firma.verify_url);

    /* the cut line, drawn last so nothing covers it */
    HPDF_Page_SetRGBStroke(d->page, 0.2f, 0.2f, 0.2f);
    HPDF_Page_SetLineWidth(d->page, 0.8f);
    {
        const HPDF_UINT16 dash[2] = {4, 3};
        HPDF_Page_SetDash(d->page, dash, 2, 0);
    }
    HPDF_Page_Rectangle(d->page, x, top - CARD_H, CARD_W, CARD_H);
    HPDF_Page_Stroke(d->page);
    HPDF_Page_SetDash(d->page, NULL, 0, 0);
    HPDF_Page_SetRGBStroke(d->page, 0, 0, 0);
}

apr_status_t afl_pdf_tarjeta(apr_pool_t *p, const afl_tarjeta *t, const unsigned char **pdf,
                             size_t *len, char *errbuf, size_t errlen)
{
    doc_t d;
    const char *nombre;
    char fecha[32], hora[16];
    float top;

    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (!t || empty(t->nombres) || empty(t->primer_apellido) || empty(t->curp) || empty(t->nss) ||
        empty(t->folio)) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "tarjeta: missing or invalid field");
        return APR_EINVAL;
    }
    nombre = afl_cadena_nombre(p, t->nombres, t->primer_apellido, t->segundo_apellido);
    afl_pdf_format_date(t->issued, fecha, sizeof fecha);
    afl_pdf_format_time(t->issued, hora, sizeof hora);

    if (doc_begin(&d, p, t->font_path, t->font_bold_path, t->font, t->font_bold) == APR_SUCCESS) {
        firma_prepare(&d, &t->firma, "tarjeta", t->folio);
        set_info(&d, "Tarjeta de Número de Seguridad Social", t->issued);
        set_footer(&d, apr_psprintf(d.scratch,
                                    "Documento generado electrónicamente el %s a las %s. "
                                    "Folio: %s.",
                                    fecha, hora, t->folio));
        header_band(&d, "Instituto Mexicano del Seguro Social",
                    "Tarjeta de Número de Seguridad Social");
        paragraph(&d, 10.5f,
                  "Esta es tu tarjeta de Número de Seguridad Social (NSS). Imprímela a tamaño "
                  "real (100 %), sin ajustar a la página, recórtala y guárdala con tus "
                  "documentos.");
        d.y -= 4;
        grey(&d, 0.35f);
        text_at(&d, d.left, d.y, 1, 8.5f, cp(&d, "Recorta por la línea punteada"));
        grey(&d, 0);
        top = d.y - 8;
        draw_card(&d, d.left, top, t, nombre);
        d.y = top - CARD_H - 30;

        section(&d, "Datos de la tarjeta");
        row(&d, "Nombre", nombre);
        row(&d, "CURP", t->curp);
        row(&d, "Número de Seguridad Social (NSS)", t->nss);
        row(&d, "Fecha de emisión", apr_pstrcat(d.scratch, fecha, ", ", hora, NULL));
        row(&d, "Folio", t->folio);
        d.y -= 4;
        paragraph(&d, 9.5f,
                  "Tu NSS es permanente y único para toda la vida. Con él te registras en tu "
                  "Unidad de Medicina Familiar y haces tus trámites ante el IMSS. El código QR "
                  "lleva a la página donde cualquier persona puede comprobar que esta tarjeta "
                  "fue emitida por el IMSS.");
        firma_block(&d, &t->firma);
        doc_save(&d, pdf, len);
    }
    if (d.rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "tarjeta: %s", d.msg ? d.msg : "failed");
    }
    doc_end(&d);
    return d.rv;
}

/* ============================================================= constancia */

#define RED_R 0.72f
#define RED_G 0.11f
#define RED_B 0.11f

/* "dd de <mes> de aaaa" of a day number. */
static const char *fecha_dia(doc_t *d, int day)
{
    char buf[32];

    afl_pdf_format_date(afl_vigencia_noon(day), buf, sizeof buf);
    return apr_pstrdup(d->scratch, buf);
}

/* The big "Vigente: SÍ / NO" box (one line, one size, so text extraction
 * keeps it together) with an explanatory paragraph under it. */
static void status_box(doc_t *d, int vigente, const char *explain)
{
    const float big = 24.0f, pad = 12.0f, size = 10.0f, lead = 12.5f;
    const float w = d->right - d->left - 2 * pad;
    float top, h, base, vx;
    const char *label = cp(d, "Vigente: "), *value = cp(d, vigente ? "SÍ" : "NO");
    const char *e = cp(d, explain);
    float r = vigente ? GREEN_R : RED_R, g = vigente ? GREEN_G : RED_G,
          b = vigente ? GREEN_B : RED_B;
    int lines;

    if (!doc_ok(d))
        return;
    lines = wrap_lines(d, d->left + pad, 0, w, 0, size, lead, e, 0);
    h = pad + big * 0.75f + 12 + lines * lead + pad - 3;
    ensure_space(d, h);
    top = d->y + 14;
    if (vigente)
        HPDF_Page_SetRGBFill(d->page, 0.91f, 0.96f, 0.92f);
    else
        HPDF_Page_SetRGBFill(d->page, 0.99f, 0.92f, 0.92f);
    HPDF_Page_SetRGBStroke(d->page, r, g, b);
    HPDF_Page_SetLineWidth(d->page, 1.5f);
    HPDF_Page_Rectangle(d->page, d->left, top - h, d->right - d->left, h);
    HPDF_Page_FillStroke(d->page);
    base = top - pad - big * 0.75f;
    grey(d, 0.2f);
    text_at(d, d->left + pad, base, 1, big, label);
    vx = d->left + pad + text_width(d, 1, big, label);
    rgb_fill(d, r, g, b);
    HPDF_Page_SetRGBStroke(d->page, r, g, b);
    text_at(d, vx, base, 1, big, value);
    grey(d, 0);
    wrap_lines(d, d->left + pad, base - 12 - size * 0.8f, w, 0, size, lead, e, 1);
    d->y = top - h - 24;
}

apr_status_t afl_pdf_constancia(apr_pool_t *p, const afl_constancia *c, const unsigned char **pdf,
                                size_t *len, char *errbuf, size_t errlen)
{
    doc_t d;
    const char *nombre, *explain, *inicio, *fin;
    char fecha[32], hora[16];
    const afl_vigencia *v;
    float right, qr_bottom;

    *pdf = NULL;
    *len = 0;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (!c || empty(c->nombres) || empty(c->primer_apellido) || empty(c->curp) || empty(c->nss) ||
        empty(c->folio) || c->vigencia.estado < AFL_VIGENCIA_SIN_COBERTURA ||
        c->vigencia.estado > AFL_VIGENCIA_FUTURA ||
        (c->vigencia.estado != AFL_VIGENCIA_SIN_COBERTURA &&
         c->vigencia.hasta < c->vigencia.desde)) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "constancia: missing or invalid field");
        return APR_EINVAL;
    }
    v = &c->vigencia;
    nombre = afl_cadena_nombre(p, c->nombres, c->primer_apellido, c->segundo_apellido);
    afl_pdf_format_date(c->issued, fecha, sizeof fecha);
    afl_pdf_format_time(c->issued, hora, sizeof hora);

    if (doc_begin(&d, p, c->font_path, c->font_bold_path, c->font, c->font_bold) == APR_SUCCESS) {
        int vig = v->estado == AFL_VIGENCIA_VIGENTE;

        firma_prepare(&d, &c->firma, "constancia", c->folio);
        set_info(&d, "Constancia de Vigencia de Derechos", c->issued);
        set_footer(&d, apr_psprintf(d.scratch,
                                    "Constancia generada electrónicamente el %s a las %s. "
                                    "Folio: %s. Refleja la vigencia registrada a esa fecha.",
                                    fecha, hora, c->folio));
        header_band(&d, "Instituto Mexicano del Seguro Social",
                    "Constancia de Vigencia de Derechos");

        inicio = v->estado == AFL_VIGENCIA_SIN_COBERTURA ? "Sin registro" : fecha_dia(&d, v->desde);
        if (v->estado == AFL_VIGENCIA_SIN_COBERTURA)
            fin = "Sin registro";
        else if (v->hasta == AFL_VIGENCIA_ABIERTA)
            fin = "Sin fecha de término (mientras seas estudiante)";
        else
            fin = fecha_dia(&d, v->hasta);
        switch (v->estado) {
        case AFL_VIGENCIA_VIGENTE:
            explain = v->hasta == AFL_VIGENCIA_ABIERTA
                          ? "Tienes derecho a recibir atención médica en el IMSS mientras "
                            "conserves tu condición de estudiante."
                          : apr_pstrcat(d.scratch,
                                        "Tienes derecho a recibir atención médica en el IMSS "
                                        "hasta el ",
                                        fin, ".", NULL);
            break;
        case AFL_VIGENCIA_VENCIDA:
            explain = apr_pstrcat(d.scratch, "Tu cobertura terminó el ", fin,
                                  ". Para recuperarla, tu escuela debe reportar tu inscripción "
                                  "al IMSS.",
                                  NULL);
            break;
        case AFL_VIGENCIA_FUTURA:
            explain =
                apr_pstrcat(d.scratch, "Tu cobertura inicia el ", inicio,
                            ". Antes de esa fecha no tienes derecho a atención médica.", NULL);
            break;
        default:
            explain = "No hay un periodo de cobertura registrado para tu NSS. Tu escuela debe "
                      "reportar tu inscripción al IMSS.";
            break;
        }
        right = d.right;
        d.right -= qr_corner(&d, &c->firma, d.y + 14, &qr_bottom);
        status_box(&d, vig, explain);
        d.right = right;
        if (d.y > qr_bottom - 20)
            d.y = qr_bottom - 20;

        section(&d, "Datos del asegurado");
        row(&d, "Nombre", nombre);
        row(&d, "CURP", c->curp);
        row(&d, "Número de Seguridad Social (NSS)", c->nss);
        row(&d, "Régimen", "Voluntario — Modalidad 32 Seguro Facultativo");

        section(&d, "Vigencia de derechos");
        row(&d, "Vigente", vig ? "SÍ" : "NO");
        row(&d, "Fecha de inicio de vigencia", inicio);
        row(&d, "Fecha de fin de vigencia", fin);
        if (v->has_proxima)
            row(&d, "Nueva vigencia a partir del", fecha_dia(&d, v->proxima));

        section(&d, "Unidad de Medicina Familiar");
        row(&d, "Unidad de Medicina Familiar", empty(c->umf) ? "Sin asignar" : c->umf);
        if (!empty(c->umf_domicilio))
            row(&d, "Domicilio", c->umf_domicilio);
        if (!empty(c->subdelegacion))
            row(&d, "Subdelegación", c->subdelegacion);

        section(&d, "Datos de la constancia");
        row(&d, "Fecha y hora de emisión", apr_pstrcat(d.scratch, fecha, ", ", hora, " h", NULL));
        row(&d, "Folio", c->folio);
        d.y -= 2;
        paragraph(&d, 8.5f,
                  "El Seguro Facultativo cubre la atención médica, quirúrgica, farmacéutica, "
                  "hospitalaria y de maternidad del Seguro de Enfermedades y Maternidad, sin "
                  "beneficiarios, mientras conserves tu condición de estudiante.");
        firma_block(&d, &c->firma);
        doc_save(&d, pdf, len);
    }
    if (d.rv != APR_SUCCESS) {
        *pdf = NULL;
        *len = 0;
        if (errlen > 0)
            snprintf(errbuf, errlen, "constancia: %s", d.msg ? d.msg : "failed");
    }
    doc_end(&d);
    return d.rv;
}

/* =========================================================== verification */

/* A PDF literal string "(...)" at *sp (balanced parentheses, backslash
 * escapes, octal codes) decoded into p; *sp moves past it. NULL if it does
 * not end before end. */
static char *literal_string(apr_pool_t *p, const unsigned char **sp, const unsigned char *end,
                            size_t *n)
{
    const unsigned char *s = *sp + 1;
    char *out = apr_palloc(p, (size_t)(end - s) + 1);
    size_t o = 0;
    int depth = 1;

    while (s < end) {
        unsigned char c = *s++;
        if (c == '\\') {
            if (s >= end)
                return NULL;
            c = *s++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case '\r': /* line continuation */
                if (s < end && *s == '\n')
                    s++;
                continue;
            case '\n':
                continue;
            default:
                if (c >= '0' && c <= '7') {
                    unsigned v = c - '0';
                    for (int k = 0; k < 2 && s < end && *s >= '0' && *s <= '7'; k++)
                        v = v * 8 + (unsigned)(*s++ - '0');
                    c = (unsigned char)v;
                }
                break; /* '(', ')', '\\' and unknown escapes: the character itself */
            }
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            out[o] = '\0';
            *n = o;
            *sp = s;
            return out;
        }
        out[o++] = (char)c;
    }
    return NULL;
}

/* A PDF hex string "<...>" at *sp decoded into p. NULL if malformed. */
static char *hex_string(apr_pool_t *p, const unsigned char **sp, const unsigned char *end,
                        size_t *n)
{
    const unsigned char *h = *sp + 1, *s = h;
    char *val, *v;

    while (s < end && *s != '>')
        s++;
    if (s >= end)
        return NULL;
    val = v = apr_palloc(p, (size_t)(s - h) / 2 + 2);
    for (const unsigned char *q = h; q < s;) {
        int hi, lo;
        while (q < s && is_ws(*q))
            q++;
        if (q >= s)
            break;
        hi = hexval(*q++);
        while (q < s && is_ws(*q))
            q++;
        lo = q < s ? hexval(*q++) : 0; /* odd count: a trailing 0 (PDF rule) */
        if (hi < 0 || lo < 0)
            return NULL;
        *v++ = (char)(hi * 16 + lo);
    }
    *v = '\0';
    *n = (size_t)(v - val);
    *sp = s + 1;
    return val;
}

/* Parse the seal dictionary that starts at s (just after "/AfiliateSello"):
 * "<<", entries "/Name string" (hex, as written here, or literal, as a PDF
 * tool may rewrite them) or "/Name number", ">>". Fills out. 0 ok. */
static int parse_seal(apr_pool_t *p, const unsigned char *s, const unsigned char *end,
                      afl_pdf_sellado *out, int *version)
{
    while (s < end && is_ws(*s))
        s++;
    if (end - s < 2 || s[0] != '<' || s[1] != '<')
        return -1;
    s += 2;
    for (;;) {
        const unsigned char *name;
        size_t nlen, vlen = 0;
        const char **slot = NULL;
        char *val;

        while (s < end && is_ws(*s))
            s++;
        if (end - s >= 2 && s[0] == '>' && s[1] == '>')
            return 0;
        if (s >= end || *s != '/')
            return -1;
        name = ++s;
        while (s < end && !is_ws(*s) && *s != '<' && *s != '(' && *s != '/' && *s != '>')
            s++;
        nlen = (size_t)(s - name);
        while (s < end && is_ws(*s))
            s++;
        if (s >= end)
            return -1;
        if (*s >= '0' && *s <= '9') {
            int n = 0;
            while (s < end && *s >= '0' && *s <= '9' && n < 1000000)
                n = n * 10 + (*s++ - '0');
            if (nlen == 1 && name[0] == 'V')
                *version = n;
            continue;
        }
        if (*s == '<')
            val = hex_string(p, &s, end, &vlen);
        else if (*s == '(')
            val = literal_string(p, &s, end, &vlen);
        else
            return -1;
        if (!val)
            return -1;
        if (memchr(val, '\0', vlen))
            val = NULL; /* binary (the document seal itself) */
#define SLOT(key, field)                                                                           \
    if (nlen == sizeof key - 1 && !memcmp(name, key, nlen))                                        \
        slot = &out->field;
        SLOT("Tipo", tipo)
        SLOT("Folio", folio)
        SLOT("CadenaOriginal", cadena_original)
        SLOT("SelloDigital", sello)
        SLOT("NoSerie", no_serie)
#undef SLOT
        if (slot) {
            if (!val || *slot)
                return -1; /* not text, or a key twice */
            *slot = val;
        }
    }
}

apr_status_t afl_pdf_extract(apr_pool_t *p, const unsigned char *pdf, size_t len,
                             afl_pdf_sellado *out, const char **reason)
{
    static const char needle[] = "/" SEAL_DICT;
    const unsigned char *hit, *after;
    int version = 0;

    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (!pdf || len < 8 || memcmp(pdf, "%PDF-", 5) != 0) {
        *reason = "not a PDF file";
        return APR_EINVAL;
    }
    hit = memmem(pdf, len, needle, sizeof needle - 1);
    if (!hit) {
        *reason = "the document carries no sello digital (not issued by mod_afiliate, or "
                  "issued without a signing key)";
        return APR_EINVAL;
    }
    after = hit + sizeof needle - 1;
    if (memmem(after, len - (size_t)(after - pdf), needle, sizeof needle - 1)) {
        *reason = "the document carries more than one seal dictionary";
        return APR_EINVAL;
    }
    if (parse_seal(p, after, pdf + len, out, &version) != 0 || version != 1 || !out->tipo ||
        !out->folio || !out->cadena_original || !out->sello || !out->no_serie) {
        memset(out, 0, sizeof *out);
        *reason = "the seal dictionary is malformed";
        return APR_EINVAL;
    }
    if (strcmp(out->tipo, "comprobante") && strcmp(out->tipo, "tarjeta") &&
        strcmp(out->tipo, "constancia")) {
        memset(out, 0, sizeof *out);
        *reason = "unknown document type in the seal";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

int afl_pdf_verify(apr_pool_t *p, const unsigned char *pdf, size_t len, const afl_sign_key *pub,
                   afl_pdf_sellado *out, const char **reason)
{
    afl_pdf_sellado s;
    size_t at, n;
    unsigned char *copy, sig[AFL_SIGN_MAX_SIG];
    const char *folio;

    if (out)
        memset(out, 0, sizeof *out);
    *reason = NULL;
    if (!pub) {
        *reason = "no public key";
        return 1;
    }
    if (afl_pdf_extract(p, pdf, len, &s, reason) != APR_SUCCESS)
        return 1;
    if (strcmp(s.no_serie, afl_sign_serial(pub)) != 0) {
        *reason = apr_psprintf(p,
                               "signed with another key (No. de serie %.40s; the public key "
                               "given is %s)",
                               s.no_serie, afl_sign_serial(pub));
        return 1;
    }
    n = afl_sign_size(pub);
    if (seal_region(pdf, len, n, &at) != 0) {
        *reason = "the document seal is missing or malformed";
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(pdf[at + 2 * i]), lo = hexval(pdf[at + 2 * i + 1]);
        sig[i] = (unsigned char)(hi * 16 + lo);
    }
    copy = apr_pmemdup(p, pdf, len);
    memset(copy + at, '0', 2 * n);
    if (afl_sign_verify_raw(pub, copy, len, sig, n) != AFL_SIGN_OK) {
        *reason = "the document was altered after it was issued (the document seal does not "
                  "match its content)";
        return 1;
    }
    switch (afl_sign_verify_sello(pub, s.cadena_original, strlen(s.cadena_original), s.sello)) {
    case AFL_SIGN_OK:
        break;
    case AFL_SIGN_BAD_ENCODING:
        *reason = "the sello digital is malformed";
        return 1;
    default:
        *reason = "the sello digital does not match the cadena original";
        return 1;
    }
    folio = afl_cadena_campo(p, s.cadena_original, "Folio");
    if (!afl_folio_valid(s.folio) || !folio || strcmp(folio, s.folio) != 0) {
        *reason = "the folio of the cadena original is not the document's";
        return 1;
    }
    if (out)
        *out = s;
    return 0;
}
