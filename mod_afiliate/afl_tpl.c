/* HTML templates: parse once at start-up, render many times. See afl_tpl.h.
 * One file on purpose, about 900 lines: parser, name check and renderer share
 * the compiled node layout, which no other unit should see. */
#include "afl_tpl.h"
#include "afl_utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* ------------------------------------------------------------------ compiled form
 * A template compiles to a flat array of nodes. A section node's body is the nodes
 * that follow it up to (not including) index 'end', so rendering is a loop with jumps
 * and recursion only for section bodies and partials; closing tags leave no node. */

enum { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL };

struct tpl;

typedef struct {
    int type;
    unsigned line;
    uint32_t hash;             /* of the name (not TEXT) */
    apr_size_t len;            /* bytes of text or name */
    const char *s;             /* text, or NUL-terminated name */
    apr_size_t end;            /* sections: index of the first node after the body */
    const struct tpl *partial; /* N_PARTIAL: resolved after every file is parsed */
} node;

typedef struct tpl {
    const char *name; /* "inicio" */
    const char *file; /* path used in messages */
    node *nodes;
    apr_size_t nnodes;
    int declared;
    /* Load-time bookkeeping. */
    int color;              /* partial-graph DFS: 0 new, 1 on the path, 2 done */
    int height;             /* deepest {{> }} chain below this template */
    apr_size_t static_size; /* bytes of literal text, partials included: buffer hint */
    unsigned checked_for;   /* last declaration index + 1 whose names were checked */
} tpl;

struct afl_tpl_set {
    apr_hash_t *by_name; /* name -> tpl *; only read (apr_hash_get) after load */
};

/* FNV-1a: names are short, and a hash compare rejects most mismatches in lookups. */
static uint32_t name_hash(const char *s, apr_size_t n)
{
    uint32_t h = 2166136261u;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* ------------------------------------------------------------------ output buffer */

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap; /* cap includes room for the final NUL */
} obuf;

/* Make room for n more bytes plus the NUL. Doubling inside the pool wastes at most the
 * final size in abandoned buffers, and keeps appends amortised O(1). */
static int ob_reserve(obuf *b, apr_size_t n)
{
    apr_size_t need, cap;
    char *nb;

    if (n <= b->cap - b->len - 1)
        return 1;
    if (n > AFL_TPL_MAX_OUTPUT - b->len)
        return 0;
    need = b->len + n + 1;
    cap = b->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > AFL_TPL_MAX_OUTPUT + 1)
        cap = AFL_TPL_MAX_OUTPUT + 1;
    nb = apr_palloc(b->p, cap);
    memcpy(nb, b->buf, b->len);
    b->buf = nb;
    b->cap = cap;
    return 1;
}

static int ob_put(obuf *b, const char *s, apr_size_t n)
{
    if (!ob_reserve(b, n))
        return 0;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    return 1;
}

/* What the escaper does with each byte: 0 copy, 1-5 replace by entity[k], 6 non-ASCII
 * (check the UTF-8 sequence). One table lookup per byte keeps the common case, a run of
 * plain text, a tight loop. */
static const unsigned char byte_class[256] = {
    ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5, [0x80 ... 0xFF] = 6,
};
static const struct {
    const char *s;
    apr_size_t n;
} entity[6] = {{"", 0}, {"&amp;", 5}, {"&lt;", 4}, {"&gt;", 4}, {"&quot;", 6}, {"&#39;", 5}};

/* Append s[0..n) HTML-escaped. Runs of bytes that need nothing are copied in one go;
 * non-ASCII is copied as is when it is valid UTF-8 and each byte that does not start a
 * valid sequence becomes U+FFFD, so the output is valid UTF-8 whatever the input. */
static int ob_escape(obuf *b, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, run = 0;

    while (i < n) {
        unsigned k = byte_class[u[i]];
        const char *rep;
        apr_size_t rlen, len;

        if (!k) {
            i++;
            continue;
        }
        if (k == 6) {
            len = afl_utf8_decode(u + i, n - i, NULL);
            if (len) {
                i += len;
                continue;
            }
            rep = "\xEF\xBF\xBD";
            rlen = 3;
        } else {
            rep = entity[k].s;
            rlen = entity[k].n;
        }
        if (!ob_put(b, s + run, i - run) || !ob_put(b, rep, rlen))
            return 0;
        run = ++i;
    }
    return ob_put(b, s + run, n - run);
}

char *afl_tpl_escape(apr_pool_t *p, const char *s, apr_size_t n)
{
    obuf b = {p, NULL, 0, 0};

    b.cap = n + n / 8 + 16;
    b.buf = apr_palloc(p, b.cap);
    if (!ob_escape(&b, s, n))
        return NULL;
    b.buf[b.len] = '\0';
    return b.buf;
}

/* ------------------------------------------------------------------ data model */

typedef struct {
    const char *name;
    apr_size_t nlen;
    uint32_t hash;
    const char *value;         /* string value, NULL for a list */
    apr_size_t vlen;           /* strlen(value), kept so rendering need not rescan */
    apr_array_header_t *items; /* list of afl_tpl_ctx *, NULL for a string */
} entry;

struct afl_tpl_ctx {
    apr_pool_t *p;
    entry *e;
    int n, cap;
};

afl_tpl_ctx *afl_tpl_ctx_make(apr_pool_t *p)
{
    afl_tpl_ctx *c = apr_pcalloc(p, sizeof *c);

    c->p = p;
    return c;
}

/* The entry for name, created empty if absent. */
static entry *ctx_entry(afl_tpl_ctx *c, const char *name)
{
    apr_size_t nlen = strlen(name);
    uint32_t h = name_hash(name, nlen);
    entry *e;
    int i;

    for (i = 0; i < c->n; i++)
        if (c->e[i].hash == h && c->e[i].nlen == nlen && !memcmp(c->e[i].name, name, nlen))
            return &c->e[i];
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 8;
        entry *ne = apr_palloc(c->p, sizeof *ne * (apr_size_t)cap);

        if (c->n)
            memcpy(ne, c->e, sizeof *ne * (apr_size_t)c->n);
        c->e = ne;
        c->cap = cap;
    }
    e = &c->e[c->n++];
    e->name = name;
    e->nlen = nlen;
    e->hash = h;
    e->value = "";
    e->vlen = 0;
    e->items = NULL;
    return e;
}

void afl_tpl_set_strn(afl_tpl_ctx *ctx, const char *name, const char *value)
{
    entry *e = ctx_entry(ctx, name);

    e->value = value ? value : "";
    e->vlen = strlen(e->value);
    e->items = NULL;
}

void afl_tpl_set_str(afl_tpl_ctx *ctx, const char *name, const char *value)
{
    entry *e = ctx_entry(ctx, name);

    if (e->name == name) /* new entry: own the name too */
        e->name = apr_pstrdup(ctx->p, name);
    e->vlen = value ? strlen(value) : 0;
    e->value = value ? apr_pstrmemdup(ctx->p, value, e->vlen) : "";
    e->items = NULL;
}

void afl_tpl_set_fmt(afl_tpl_ctx *ctx, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *v;

    va_start(ap, fmt);
    v = apr_pvsprintf(ctx->p, fmt, ap);
    va_end(ap);
    afl_tpl_set_str(ctx, name, v);
}

void afl_tpl_set_bool(afl_tpl_ctx *ctx, const char *name, int value)
{
    afl_tpl_set_str(ctx, name, value ? "1" : "");
}

afl_tpl_ctx *afl_tpl_add_item(afl_tpl_ctx *ctx, const char *list)
{
    entry *e = ctx_entry(ctx, list);
    afl_tpl_ctx *item;

    if (e->name == list)
        e->name = apr_pstrdup(ctx->p, list);
    if (!e->items) {
        e->items = apr_array_make(ctx->p, 4, sizeof(afl_tpl_ctx *));
        e->value = NULL;
        e->vlen = 0;
    }
    item = afl_tpl_ctx_make(ctx->p);
    APR_ARRAY_PUSH(e->items, afl_tpl_ctx *) = item;
    return item;
}

/* ------------------------------------------------------------------ rendering */

/* The context stack while rendering: the innermost item first. It lives on the C
 * stack, so rendering allocates nothing but the output. */
typedef struct frame {
    const afl_tpl_ctx *ctx;
    const struct frame *up;
} frame;

typedef struct {
    obuf out;
    apr_size_t steps;
} rstate;

static const entry *lookup(const frame *f, const node *n)
{
    for (; f; f = f->up) {
        const afl_tpl_ctx *c = f->ctx;
        int i;

        for (i = 0; i < c->n; i++) {
            const entry *e = &c->e[i];

            if (e->hash == n->hash && e->nlen == n->len && !memcmp(e->name, n->s, n->len))
                return e;
        }
    }
    return NULL;
}

static int truthy(const entry *e)
{
    if (!e)
        return 0;
    return e->items ? e->items->nelts > 0 : e->value[0] != '\0';
}

static apr_status_t render_nodes(rstate *st, const tpl *t, apr_size_t from, apr_size_t to,
                                 const frame *f)
{
    apr_size_t i = from;
    apr_status_t rv;

    while (i < to) {
        const node *n = &t->nodes[i];
        const entry *e;

        if (++st->steps > AFL_TPL_MAX_STEPS)
            return APR_ENOSPC;
        switch (n->type) {
        case N_TEXT:
            if (!ob_put(&st->out, n->s, n->len))
                return APR_ENOSPC;
            i++;
            break;
        case N_VAR:
            e = lookup(f, n);
            if (e && e->value && !ob_escape(&st->out, e->value, e->vlen))
                return APR_ENOSPC;
            i++;
            break;
        case N_SECTION:
            e = lookup(f, n);
            if (e && e->items) {
                int k;

                for (k = 0; k < e->items->nelts; k++) {
                    frame item = {APR_ARRAY_IDX(e->items, k, const afl_tpl_ctx *), f};

                    rv = render_nodes(st, t, i + 1, n->end, &item);
                    if (rv != APR_SUCCESS)
                        return rv;
                }
            } else if (truthy(e)) {
                rv = render_nodes(st, t, i + 1, n->end, f);
                if (rv != APR_SUCCESS)
                    return rv;
            }
            i = n->end;
            break;
        case N_INVERTED:
            if (!truthy(lookup(f, n))) {
                rv = render_nodes(st, t, i + 1, n->end, f);
                if (rv != APR_SUCCESS)
                    return rv;
            }
            i = n->end;
            break;
        default: /* N_PARTIAL; depth was bounded at load */
            rv = render_nodes(st, n->partial, 0, n->partial->nnodes, f);
            if (rv != APR_SUCCESS)
                return rv;
            i++;
            break;
        }
    }
    return APR_SUCCESS;
}

int afl_tpl_has(const afl_tpl_set *set, const char *name)
{
    const tpl *t = set && name ? apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING) : NULL;

    return t && t->declared;
}

apr_status_t afl_tpl_render(apr_pool_t *p, const afl_tpl_set *set, const char *name,
                            const afl_tpl_ctx *ctx, const char **out, apr_size_t *len)
{
    static const afl_tpl_ctx empty = {NULL, NULL, 0, 0};
    const tpl *t;
    rstate st;
    frame top;
    apr_status_t rv;

    if (!set || !name || !(t = apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING)) ||
        !t->declared)
        return APR_NOTFOUND;
    top.ctx = ctx ? ctx : &empty;
    top.up = NULL;
    st.steps = 0;
    st.out.p = p;
    st.out.len = 0;
    /* Literal text plus half again for values usually fits in one allocation. */
    st.out.cap = t->static_size + t->static_size / 2 + 256;
    if (st.out.cap > AFL_TPL_MAX_OUTPUT + 1)
        st.out.cap = AFL_TPL_MAX_OUTPUT + 1;
    st.out.buf = apr_palloc(p, st.out.cap);
    rv = render_nodes(&st, t, 0, t->nnodes, &top);
    if (rv != APR_SUCCESS)
        return rv;
    st.out.buf[st.out.len] = '\0';
    *out = st.out.buf;
    if (len)
        *len = st.out.len;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ parsing */

typedef struct {
    apr_pool_t *p;
    const char *dir;          /* for messages about missing files; NULL when loading from memory */
    apr_array_header_t *tpls; /* tpl *, sorted by name */
    apr_hash_t *by_name;
    const char *err;
} loader;

static apr_status_t fail(loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static apr_status_t fail(loader *l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    l->err = apr_pvsprintf(l->p, fmt, ap);
    va_end(ap);
    return APR_EGENERAL;
}

/* Template text quoted in an error message: at most 40 bytes, printable ASCII only, so
 * a message about a broken file cannot itself break the log line. */
static const char *quote(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *q;
    apr_size_t i;

    if (n > 40)
        n = 40;
    q = apr_pstrmemdup(p, s, n);
    for (i = 0; i < n; i++)
        if ((unsigned char)q[i] < 0x20 || (unsigned char)q[i] >= 0x7F)
            q[i] = '?';
    return q;
}

static int valid_name(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || n > AFL_TPL_MAX_NAME)
        return 0;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (i = 1; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static unsigned count_lines(const char *s, apr_size_t n)
{
    unsigned k = 0;
    const char *e = s + n;

    while ((s = memchr(s, '\n', (apr_size_t)(e - s))) != NULL) {
        k++;
        s++;
    }
    return k;
}

static node *push_node(apr_array_header_t *a, int type, unsigned line, const char *s,
                       apr_size_t len)
{
    node *n = &APR_ARRAY_PUSH(a, node);

    memset(n, 0, sizeof *n);
    n->type = type;
    n->line = line;
    n->s = s;
    n->len = len;
    return n;
}

/* Compile text[0..len) (a private, NUL-terminated copy) into t->nodes. */
static apr_status_t parse(loader *l, tpl *t, const char *text, apr_size_t len)
{
    apr_array_header_t *a = apr_array_make(l->p, 16, sizeof(node));
    apr_size_t open[AFL_TPL_MAX_SECTION_DEPTH];
    int depth = 0;
    apr_size_t pos = 0, i;
    unsigned line = 1;

    /* An editor's byte order mark is not content. */
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        pos = 3;

    /* The whole file must be UTF-8 without NUL, so a page is valid UTF-8 by construction. */
    for (i = pos; i < len;) {
        apr_size_t k =
            text[i] ? afl_utf8_decode((const unsigned char *)text + i, len - i, NULL) : 0;

        if (!k)
            return fail(l, "%s:%u: %s at byte %" APR_SIZE_T_FMT, t->file, 1 + count_lines(text, i),
                        text[i] ? "invalid UTF-8" : "NUL byte", i);
        i += k;
    }

    while (pos < len) {
        const char *o = memmem(text + pos, len - pos, "{{", 2);
        apr_size_t q, b, e, tag;
        const char *c;
        char sigil;
        unsigned tagline;

        if (!o) {
            push_node(a, N_TEXT, line, text + pos, len - pos);
            t->static_size += len - pos;
            break;
        }
        tag = (apr_size_t)(o - text);
        if (tag > pos) {
            push_node(a, N_TEXT, line, text + pos, tag - pos);
            t->static_size += tag - pos;
            line += count_lines(text + pos, tag - pos);
        }
        tagline = line;
        q = tag + 2;
        while (q < len && (text[q] == ' ' || text[q] == '\t'))
            q++;
        sigil = q < len ? text[q] : '\0';
        if (sigil == '{' || sigil == '&')
            return fail(l,
                        "%s:%u: '{{%c' (unescaped output) is not supported: values are always "
                        "HTML-escaped",
                        t->file, tagline, sigil);
        if (sigil == '=')
            return fail(l, "%s:%u: '{{=' (changing delimiters) is not supported", t->file, tagline);
        if (sigil == '!' || sigil == '#' || sigil == '^' || sigil == '/' || sigil == '>')
            q++;
        else
            sigil = '\0';
        c = q <= len ? memmem(text + q, len - q, "}}", 2) : NULL;
        if (!c)
            return fail(l, "%s:%u: unterminated tag '%s' (no closing '}}')", t->file, tagline,
                        quote(l->p, text + tag, len - tag));
        e = (apr_size_t)(c - text);
        pos = e + 2;
        if (sigil == '!') {
            line += count_lines(text + tag, e - tag);
            continue;
        }
        b = q;
        while (b < e && (text[b] == ' ' || text[b] == '\t'))
            b++;
        while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t'))
            e--;
        if (!valid_name(text + b, e - b))
            return fail(l,
                        "%s:%u: invalid name '%s' in tag (names are letters, digits, '_' and "
                        "'-', starting with a letter or '_', at most %d bytes)",
                        t->file, tagline, quote(l->p, text + b, e - b), AFL_TPL_MAX_NAME);
        {
            /* Names are copied so they are NUL-terminated for messages and lookups. */
            const char *name = apr_pstrmemdup(l->p, text + b, e - b);
            apr_size_t nlen = e - b;
            node *n, *top;

            switch (sigil) {
            case '#':
            case '^':
                if (depth == AFL_TPL_MAX_SECTION_DEPTH)
                    return fail(l, "%s:%u: sections nested deeper than %d levels", t->file, tagline,
                                AFL_TPL_MAX_SECTION_DEPTH);
                open[depth++] = (apr_size_t)a->nelts;
                n = push_node(a, sigil == '#' ? N_SECTION : N_INVERTED, tagline, name, nlen);
                n->hash = name_hash(name, nlen);
                break;
            case '/':
                if (depth == 0)
                    return fail(l, "%s:%u: '{{/%s}}' closes a section that is not open", t->file,
                                tagline, name);
                top = &APR_ARRAY_IDX(a, open[depth - 1], node);
                if (strcmp(top->s, name) != 0)
                    return fail(l, "%s:%u: '{{/%s}}' closes section '%s' opened at line %u",
                                t->file, tagline, name, top->s, top->line);
                top->end = (apr_size_t)a->nelts;
                depth--;
                break;
            case '>':
                push_node(a, N_PARTIAL, tagline, name, nlen);
                break;
            default:
                n = push_node(a, N_VAR, tagline, name, nlen);
                n->hash = name_hash(name, nlen);
                break;
            }
        }
    }
    if (depth > 0) {
        const node *top = &APR_ARRAY_IDX(a, open[depth - 1], node);

        return fail(l, "%s:%u: section '%s' is never closed (no '{{/%s}}')", t->file, top->line,
                    top->s, top->s);
    }
    t->nodes = (node *)a->elts;
    t->nnodes = (apr_size_t)a->nelts;
    return APR_SUCCESS;
}

static int cmp_source(const void *x, const void *y)
{
    return strcmp(((const afl_tpl_source *)x)->name, ((const afl_tpl_source *)y)->name);
}

/* Resolve {{> }} names, and compute partial nesting depth and literal size, refusing
 * cycles and chains deeper than AFL_TPL_MAX_PARTIAL_DEPTH. Recursion is bounded by that
 * depth. */
static apr_status_t walk_partials(loader *l, tpl *t, int depth, const char *path)
{
    apr_size_t i;
    apr_status_t rv;

    if (t->color == 2)
        return APR_SUCCESS;
    t->color = 1;
    path = path ? apr_pstrcat(l->p, path, " -> ", t->name, NULL) : t->name;
    for (i = 0; i < t->nnodes; i++) {
        node *n = &t->nodes[i];
        tpl *pt;

        if (n->type != N_PARTIAL)
            continue;
        pt = apr_hash_get(l->by_name, n->s, APR_HASH_KEY_STRING);
        if (!pt) {
            if (l->dir)
                return fail(l, "%s:%u: partial '%s' not found (no %s/%s.html)", t->file, n->line,
                            n->s, l->dir, n->s);
            return fail(l, "%s:%u: partial '%s' not found", t->file, n->line, n->s);
        }
        if (pt->color == 1)
            return fail(l, "%s:%u: partial '%s' includes itself (%s -> %s)", t->file, n->line, n->s,
                        path, n->s);
        if (depth + 1 > AFL_TPL_MAX_PARTIAL_DEPTH)
            return fail(l, "%s:%u: partials nested deeper than %d levels (%s -> %s)", t->file,
                        n->line, AFL_TPL_MAX_PARTIAL_DEPTH, path, n->s);
        rv = walk_partials(l, pt, depth + 1, path);
        if (rv != APR_SUCCESS)
            return rv;
        if (depth + 1 + pt->height > AFL_TPL_MAX_PARTIAL_DEPTH)
            return fail(l, "%s:%u: partials nested deeper than %d levels (%s -> %s ...)", t->file,
                        n->line, AFL_TPL_MAX_PARTIAL_DEPTH, path, n->s);
        n->partial = pt;
        if (pt->height + 1 > t->height)
            t->height = pt->height + 1;
        t->static_size += pt->static_size;
        if (t->static_size > AFL_TPL_MAX_OUTPUT)
            t->static_size = AFL_TPL_MAX_OUTPUT;
    }
    t->color = 2;
    return APR_SUCCESS;
}

/* Check every name used by t, and by the partials it includes, against the allow-list
 * of declaration number idx (root is the declared template, for messages). */
static apr_status_t check_names(loader *l, const afl_tpl_decl *d, unsigned idx, apr_hash_t *ok,
                                const tpl *root, tpl *t)
{
    apr_size_t i;
    apr_status_t rv;

    if (t->checked_for == idx + 1)
        return APR_SUCCESS; /* already checked through another {{> }} of the same root */
    t->checked_for = idx + 1;
    for (i = 0; i < t->nnodes; i++) {
        const node *n = &t->nodes[i];

        if (n->type == N_PARTIAL) {
            rv = check_names(l, d, idx, ok, root, (tpl *)n->partial);
            if (rv != APR_SUCCESS)
                return rv;
        } else if (n->type != N_TEXT && !apr_hash_get(ok, n->s, (apr_ssize_t)n->len)) {
            const char *allowed = "", *via = "";
            const char *const *a;

            for (a = d->allowed; a && *a; a++)
                allowed = apr_pstrcat(l->p, allowed, a == d->allowed ? "" : ", ", *a, NULL);
            if (t != root)
                via = apr_psprintf(l->p, ", which includes '%s'", t->name);
            return fail(l,
                        "%s:%u: placeholder '%s' is not allowed in template '%s'%s (allowed: %s)",
                        t->file, n->line, n->s, root->name, via, *allowed ? allowed : "none");
        }
    }
    return APR_SUCCESS;
}

static apr_status_t build(loader *l, afl_tpl_source *src, apr_size_t nsrc,
                          const afl_tpl_decl *decls, afl_tpl_set **out, const char **err)
{
    apr_size_t i;
    unsigned k;
    apr_status_t rv = APR_SUCCESS;

    /* Sorted, so that the first error reported does not depend on directory order. */
    if (nsrc > 1)
        qsort(src, nsrc, sizeof *src, cmp_source);
    l->by_name = apr_hash_make(l->p);
    for (i = 0; i < nsrc; i++) {
        tpl *t = apr_pcalloc(l->p, sizeof *t);
        const char *text;

        t->name = apr_pstrdup(l->p, src[i].name);
        t->file = l->dir ? apr_pstrcat(l->p, l->dir, "/", t->name, ".html", NULL)
                         : apr_pstrcat(l->p, t->name, ".html", NULL);
        if (!valid_name(t->name, strlen(t->name))) {
            rv = fail(l,
                      "%s: file name is not a valid template name (use letters, digits, "
                      "'_' and '-')",
                      quote(l->p, t->file, strlen(t->file)));
            goto done;
        }
        if (apr_hash_get(l->by_name, t->name, APR_HASH_KEY_STRING)) {
            rv = fail(l, "%s: template defined twice", t->file);
            goto done;
        }
        if (src[i].len > AFL_TPL_MAX_FILE) {
            rv = fail(l, "%s: larger than %d bytes", t->file, AFL_TPL_MAX_FILE);
            goto done;
        }
        text = apr_pstrmemdup(l->p, src[i].text, src[i].len);
        rv = parse(l, t, text, src[i].len);
        if (rv != APR_SUCCESS)
            goto done;
        apr_hash_set(l->by_name, t->name, APR_HASH_KEY_STRING, t);
        APR_ARRAY_PUSH(l->tpls, tpl *) = t;
    }
    for (i = 0; i < (apr_size_t)l->tpls->nelts; i++) {
        rv = walk_partials(l, APR_ARRAY_IDX(l->tpls, i, tpl *), 0, NULL);
        if (rv != APR_SUCCESS)
            goto done;
    }
    for (k = 0; decls && decls[k].name; k++) {
        const afl_tpl_decl *d = &decls[k];
        tpl *t = apr_hash_get(l->by_name, d->name, APR_HASH_KEY_STRING);
        apr_hash_t *ok = apr_hash_make(l->p);
        const char *const *a;

        if (!t) {
            if (l->dir)
                rv = fail(l, "template '%s' is required but %s/%s.html does not exist", d->name,
                          l->dir, d->name);
            else
                rv = fail(l, "template '%s' is required but %s.html does not exist", d->name,
                          d->name);
            goto done;
        }
        for (a = d->allowed; a && *a; a++)
            apr_hash_set(ok, *a, APR_HASH_KEY_STRING, *a);
        t->declared = 1;
        rv = check_names(l, d, k, ok, t, t);
        if (rv != APR_SUCCESS)
            goto done;
    }
    {
        afl_tpl_set *set = apr_palloc(l->p, sizeof *set);

        set->by_name = l->by_name;
        *out = set;
    }
done:
    if (rv != APR_SUCCESS && err)
        *err = l->err;
    return rv;
}

apr_status_t afl_tpl_load_mem(apr_pool_t *p, const afl_tpl_source *sources,
                              const afl_tpl_decl *decls, afl_tpl_set **out, const char **err)
{
    loader l = {p, NULL, NULL, NULL, NULL};
    apr_size_t n = 0;
    afl_tpl_source *copy;

    while (sources && sources[n].name)
        n++;
    /* build() sorts the array: work on a copy, the caller's may be const data. */
    copy = n ? apr_pmemdup(p, sources, sizeof *copy * n) : NULL;
    l.tpls = apr_array_make(p, (int)n + 1, sizeof(tpl *));
    return build(&l, copy, n, decls, out, err);
}

/* Read one file into memory, refusing anything but a regular file of sane size. */
static apr_status_t read_file(loader *l, const char *path, afl_tpl_source *src)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char *buf = NULL;
    apr_size_t got = 0;
    char ebuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, l->p);
    if (rv != APR_SUCCESS) {
        l->err =
            apr_psprintf(l->p, "%s: cannot open: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    if (rv == APR_SUCCESS && fi.filetype != APR_REG) {
        apr_file_close(f);
        return fail(l, "%s: not a regular file", path);
    }
    if (rv == APR_SUCCESS && fi.size > AFL_TPL_MAX_FILE) {
        apr_file_close(f);
        return fail(l, "%s: larger than %d bytes", path, AFL_TPL_MAX_FILE);
    }
    if (rv == APR_SUCCESS) {
        buf = apr_palloc(l->p, (apr_size_t)fi.size + 1);
        rv = fi.size ? apr_file_read_full(f, buf, (apr_size_t)fi.size, &got) : APR_SUCCESS;
    }
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        l->err =
            apr_psprintf(l->p, "%s: cannot read: %s", path, apr_strerror(rv, ebuf, sizeof ebuf));
        return rv;
    }
    src->text = buf;
    src->len = got;
    return APR_SUCCESS;
}

apr_status_t afl_tpl_load(apr_pool_t *p, const char *dir, const afl_tpl_decl *decls,
                          afl_tpl_set **out, const char **err)
{
    loader l = {p, dir, NULL, NULL, NULL};
    apr_array_header_t *src = apr_array_make(p, 16, sizeof(afl_tpl_source));
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;
    char ebuf[120];

    l.tpls = apr_array_make(p, 16, sizeof(tpl *));
    rv = apr_dir_open(&d, dir, p);
    if (rv != APR_SUCCESS) {
        if (err)
            *err = apr_psprintf(p, "%s: cannot open template directory: %s", dir,
                                apr_strerror(rv, ebuf, sizeof ebuf));
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        apr_size_t n = strlen(fi.name);
        afl_tpl_source *s;

        if (fi.name[0] == '.' || n <= 5 || strcmp(fi.name + n - 5, ".html") != 0)
            continue;
        if (fi.filetype != APR_REG && fi.filetype != APR_LNK)
            continue;
        s = &APR_ARRAY_PUSH(src, afl_tpl_source);
        s->name = apr_pstrmemdup(p, fi.name, n - 5);
        rv = read_file(&l, apr_pstrcat(p, dir, "/", fi.name, NULL), s);
        if (rv != APR_SUCCESS) {
            apr_dir_close(d);
            if (err)
                *err = l.err;
            return rv;
        }
    }
    apr_dir_close(d);
    return build(&l, (afl_tpl_source *)src->elts, (apr_size_t)src->nelts, decls, out, err);
}
