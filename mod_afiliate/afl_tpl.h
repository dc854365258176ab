/* HTML templates that an agency can restyle without recompiling (pure unit: APR only).
 *
 * Templates are UTF-8 files "<name>.html" in one directory (htdocs/templates/). They are
 * all parsed once at start-up into a read-only afl_tpl_set; rendering only reads the
 * set, so any number of threads may render from one set at the same time.
 *
 * Syntax (a subset of Mustache; docs/templates.md is the agency-facing description):
 *
 *   {{name}}              the value of name, ALWAYS HTML-escaped: & < > " ' become
 *                         &amp; &lt; &gt; &quot; &#39;. UTF-8 is copied as is (ñ stays
 *                         ñ, never &#241;); a byte that is not valid UTF-8 becomes
 *                         U+FFFD, so the page is valid UTF-8 whatever the data.
 *                         A missing name renders as nothing.
 *   {{#name}} ... {{/name}}
 *                         section: rendered once if name is a non-empty string (a
 *                         "true" value), once per item if name is a list; inside, names
 *                         are looked up first in the item, then outwards. Not rendered
 *                         when name is missing, "" or an empty list.
 *   {{^name}} ... {{/name}}
 *                         inverted section: rendered exactly when {{#name}} would not be.
 *   {{> name}}            the template name.html of the same directory, rendered in the
 *                         current context (a header or footer). Partials may include
 *                         partials up to AFL_TPL_MAX_PARTIAL_DEPTH levels; a cycle is
 *                         refused at load.
 *   {{! text }}           comment, not output; may span lines.
 *
 * Spaces are allowed inside the braces ({{ name }}). Names are ASCII letters, digits,
 * '_' and '-', starting with a letter or '_', at most AFL_TPL_MAX_NAME bytes.
 * There is deliberately NO construct for raw output: Mustache's {{{name}}} and
 * {{&name}}, and delimiter changes {{=<% %>=}}, are refused at load. A value is only
 * ever text, never markup. Use values inside element content or double-quoted
 * attributes only (not inside <script>, <style>, URLs or unquoted attributes: HTML
 * escaping does not make those safe).
 *
 * Allowed names: the caller declares each template it will render and the names it may
 * use (afl_tpl_decl). Loading fails when a declared template is missing, or when a
 * template, or any partial it includes, uses a name outside that list: a typo in a
 * restyled template stops the server at start-up instead of silently printing nothing.
 * Files that are not declared are partials: they are parsed, and checked against the
 * list of every declared template that includes them.
 *
 * Load errors are English, one line, "<file>:<line>: <what>", e.g.
 *   templates/inicio.html:12: placeholder 'nombre' is not allowed in template 'inicio'
 *   (allowed: titulo, curp, correo)
 * Other refusals: invalid UTF-8 or a NUL byte, an unterminated tag, an invalid name, an
 * unclosed or mismatched section, a partial that does not exist, a partial cycle or too
 * deep, a file larger than AFL_TPL_MAX_FILE. A UTF-8 byte order mark at the start of a
 * file is ignored (editors on Windows add one).
 */
#ifndef AFL_TPL_H
#define AFL_TPL_H

#include <apr_errno.h>
#include <apr_pools.h>

#define AFL_TPL_MAX_NAME 64            /* bytes in a placeholder or template name */
#define AFL_TPL_MAX_PARTIAL_DEPTH 8    /* nested {{> }} levels */
#define AFL_TPL_MAX_SECTION_DEPTH 32   /* nested sections within one file */
#define AFL_TPL_MAX_FILE (1024 * 1024) /* bytes per template file */
#define AFL_TPL_MAX_OUTPUT (8u << 20)  /* bytes per rendered page */
#define AFL_TPL_MAX_STEPS (1u << 20)   /* template elements visited per render */

typedef struct afl_tpl_set afl_tpl_set;
typedef struct afl_tpl_ctx afl_tpl_ctx;

/* One template the program renders, and the placeholder and section names it (and the
 * partials it includes) may use. Arrays of these end with {NULL, NULL}. */
typedef struct {
    const char *name;           /* file "<name>.html" */
    const char *const *allowed; /* NULL-terminated list of names */
} afl_tpl_decl;

/* A template given in memory, for afl_tpl_load_mem(). Arrays end with {NULL, NULL, 0}. */
typedef struct {
    const char *name; /* template name, as if from "<name>.html" */
    const char *text;
    apr_size_t len;
} afl_tpl_source;

/* Load every "*.html" file of dir into a set allocated in p (keep p for as long as the
 * set is used: the whole server lifetime). On failure returns an APR error and sets
 * *err to an English message naming the file, line and offending item; *out is unset.
 * I/O errors keep their APR status; template errors return APR_EGENERAL. */
apr_status_t afl_tpl_load(apr_pool_t *p, const char *dir, const afl_tpl_decl *decls,
                          afl_tpl_set **out, const char **err);

/* The same from memory (tests, fuzzing). Texts are copied. Error messages name
 * "<name>.html". */
apr_status_t afl_tpl_load_mem(apr_pool_t *p, const afl_tpl_source *sources,
                              const afl_tpl_decl *decls, afl_tpl_set **out, const char **err);

/* 1 if the set holds a declared template of that name. */
int afl_tpl_has(const afl_tpl_set *set, const char *name);

/* ------------------------------------------------------------------ data model
 * A context is a set of names, each a string or a list of child contexts. Everything
 * is allocated in the context's pool; a context is not thread-safe while being filled,
 * but one finished context may be rendered concurrently. Setting a name again replaces
 * its value (a string replaces a list and vice versa). */

afl_tpl_ctx *afl_tpl_ctx_make(apr_pool_t *p);

/* name = value; both are copied. NULL value means "". */
void afl_tpl_set_str(afl_tpl_ctx *ctx, const char *name, const char *value);

/* name = value without copying either: both must live as long as ctx (literals,
 * strings in the same pool). The fast path for hot loops. */
void afl_tpl_set_strn(afl_tpl_ctx *ctx, const char *name, const char *value);

/* name = printf(fmt, ...). */
void afl_tpl_set_fmt(afl_tpl_ctx *ctx, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* name = "1" (true) or "" (false): {{#name}} and {{^name}} test it. */
void afl_tpl_set_bool(afl_tpl_ctx *ctx, const char *name, int value);

/* Append a new, empty item to the list name (created on first use) and return it. The
 * item's parent is ctx: names missing in the item are looked up in ctx. */
afl_tpl_ctx *afl_tpl_add_item(afl_tpl_ctx *ctx, const char *list);

/* ------------------------------------------------------------------ rendering */

/* Render the declared template name with ctx (NULL = empty context) into a
 * NUL-terminated buffer allocated in p; *len (if not NULL) gets its length without the
 * NUL. Returns APR_NOTFOUND for an undeclared name, APR_ENOSPC when the page would
 * exceed AFL_TPL_MAX_OUTPUT bytes or AFL_TPL_MAX_STEPS elements (runaway nesting of
 * list sections), else APR_SUCCESS. */
apr_status_t afl_tpl_render(apr_pool_t *p, const afl_tpl_set *set, const char *name,
                            const afl_tpl_ctx *ctx, const char **out, apr_size_t *len);

/* The HTML-escaped form of s[0..n) (same rules as {{name}}), as a new NUL-terminated
 * string in p; for the few places that build markup outside templates, and for tests. */
char *afl_tpl_escape(apr_pool_t *p, const char *s, apr_size_t n);

#endif
