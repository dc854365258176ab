/* Unit tests: afl_tpl (HTML templates; output encoding, OWASP ASVS 5.3.1-5.3.3). */
#include "afl_tpl.h"

#include <check.h>
#include "check_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *const any_names[] = {"v",     "a",    "b",     "items", "n",     "flag",
                                        "empty", "list", "inner", "title", "outer", NULL};

/* Load one template "t" (plus optional partials "p", "q") from memory. */
static afl_tpl_set *load3(const char *t, const char *p, const char *q, const char **err)
{
    afl_tpl_source src[4];
    afl_tpl_decl decls[] = {{"t", any_names}, {NULL, NULL}};
    afl_tpl_set *set = NULL;
    int n = 0;

    src[n++] = (afl_tpl_source){"t", t, strlen(t)};
    if (p)
        src[n++] = (afl_tpl_source){"p", p, strlen(p)};
    if (q)
        src[n++] = (afl_tpl_source){"q", q, strlen(q)};
    src[n] = (afl_tpl_source){NULL, NULL, 0};
    *err = NULL;
    if (afl_tpl_load_mem(pool, src, decls, &set, err) != APR_SUCCESS)
        return NULL;
    return set;
}

static afl_tpl_set *load(const char *t)
{
    const char *err;
    afl_tpl_set *set = load3(t, NULL, NULL, &err);

    ck_assert_msg(set != NULL, "load failed: %s", err ? err : "?");
    return set;
}

/* The load error for template text t (asserts that loading fails). */
static const char *load_err(const char *t, const char *p)
{
    const char *err;

    ck_assert_ptr_null(load3(t, p, NULL, &err));
    ck_assert_ptr_nonnull(err);
    return err;
}

static const char *render(afl_tpl_set *set, afl_tpl_ctx *ctx)
{
    const char *out = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(afl_tpl_render(pool, set, "t", ctx, &out, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

static const char *render1(const char *t, afl_tpl_ctx *ctx)
{
    return render(load(t), ctx);
}

#define ck_contains(hay, needle)                                                                   \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay), (needle))

/* ------------------------------------------------------------------ escaping */

START_TEST(escapes_html_specials)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);

    afl_tpl_set_str(c, "v", "<script>alert('x')</script> & \"q\"");
    ck_assert_str_eq(render1("<p>{{v}}</p>", c),
                     "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>");
    /* Attribute context: a quote cannot close the attribute. */
    afl_tpl_set_str(c, "v", "\" onmouseover=\"alert(1)");
    ck_assert_str_eq(render1("<input value=\"{{v}}\">", c),
                     "<input value=\"&quot; onmouseover=&quot;alert(1)\">");
    afl_tpl_set_str(c, "v", "O'Hara");
    ck_assert_str_eq(render1("<input value='{{v}}'>", c), "<input value='O&#39;Hara'>");
}
END_TEST

START_TEST(keeps_utf8_as_is)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);

    /* The ASVS 5.3 payload: <>&"' ñ 😀 U+202E. Non-ASCII is never turned into entities
     * (that is what breaks "ñ" into "Ã±" with toasc=1); U+202E stays as its bytes, inert
     * inside a text node. */
    afl_tpl_set_str(c, "v", "<>&\"'\xC3\xB1\xF0\x9F\x98\x80\xE2\x80\xAE");
    ck_assert_str_eq(render1("{{v}}", c),
                     "&lt;&gt;&amp;&quot;&#39;\xC3\xB1\xF0\x9F\x98\x80\xE2\x80\xAE");
    afl_tpl_set_str(c, "v", "Peñón de los Baños, Cuauhtémoc, Nuevo León ü €");
    ck_assert_str_eq(render1("{{v}}", c), "Peñón de los Baños, Cuauhtémoc, Nuevo León ü €");
}
END_TEST

START_TEST(invalid_utf8_becomes_replacement_char)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);

    afl_tpl_set_str(c, "v",
                    "a\xC0\xAF"     /* overlong '/' */
                    "b\xED\xA0\x80" /* surrogate */
                    "c\xFF\x80<");
    ck_assert_str_eq(render1("{{v}}", c), "a\xEF\xBF\xBD\xEF\xBF\xBD"
                                          "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                          "c\xEF\xBF\xBD\xEF\xBF\xBD&lt;");
    /* Truncated sequence at the end of the value. */
    afl_tpl_set_str(c, "v", "x\xE2\x80");
    ck_assert_str_eq(render1("[{{v}}]", c), "[x\xEF\xBF\xBD\xEF\xBF\xBD]");
}
END_TEST

START_TEST(escape_function)
{
    ck_assert_str_eq(afl_tpl_escape(pool, "a<b>&'\"ñ", strlen("a<b>&'\"ñ")),
                     "a&lt;b&gt;&amp;&#39;&quot;ñ");
    ck_assert_str_eq(afl_tpl_escape(pool, "", 0), "");
    ck_assert_str_eq(afl_tpl_escape(pool, "plain text", 10), "plain text");
}
END_TEST

START_TEST(template_text_is_verbatim)
{
    /* Markup, single braces, lone "}}" and CSS pass through untouched. */
    const char *t = "<style>p { color: red; }</style> a }} b { c } ñ\r\n";

    ck_assert_str_eq(render1(t, NULL), t);
    ck_assert_str_eq(render1("", NULL), "");
    ck_assert_str_eq(render1("{{v}}", NULL), ""); /* missing renders as nothing */
}
END_TEST

START_TEST(spaces_inside_tags)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);

    afl_tpl_set_str(c, "v", "x");
    ck_assert_str_eq(render1("{{ v }}|{{\tv\t}}|{{# v }}y{{/ v }}|{{ ^v}}n{{/v}}", c), "x|x|y|");
}
END_TEST

/* ------------------------------------------------------------------ sections */

START_TEST(section_over_list)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    const char *t = "<ul>{{#items}}<li>{{n}}</li>{{/items}}</ul>";

    ck_assert_str_eq(render1(t, c), "<ul></ul>");
    afl_tpl_set_str(afl_tpl_add_item(c, "items"), "n", "uno");
    afl_tpl_set_str(afl_tpl_add_item(c, "items"), "n", "<dos>");
    afl_tpl_add_item(c, "items"); /* item without n */
    ck_assert_str_eq(render1(t, c), "<ul><li>uno</li><li>&lt;dos&gt;</li><li></li></ul>");
}
END_TEST

START_TEST(section_over_scalars)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    const char *t = "{{#flag}}yes{{/flag}}{{#v}}[{{v}}]{{/v}}";

    ck_assert_str_eq(render1(t, c), "");
    afl_tpl_set_bool(c, "flag", 1);
    afl_tpl_set_str(c, "v", "val");
    ck_assert_str_eq(render1(t, c), "yes[val]");
    afl_tpl_set_bool(c, "flag", 0);
    afl_tpl_set_str(c, "v", "");
    ck_assert_str_eq(render1(t, c), "");
    afl_tpl_set_str(c, "v", NULL);
    ck_assert_str_eq(render1(t, c), "");
}
END_TEST

START_TEST(inverted_sections)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    const char *t = "{{^flag}}no-flag{{/flag}} {{^items}}no-items{{/items}}";

    ck_assert_str_eq(render1(t, c), "no-flag no-items"); /* missing */
    afl_tpl_set_bool(c, "flag", 0);
    ck_assert_str_eq(render1(t, c), "no-flag no-items"); /* false / "" */
    afl_tpl_set_bool(c, "flag", 1);
    afl_tpl_add_item(c, "items");
    ck_assert_str_eq(render1(t, c), " ");
    /* An if/else pair. */
    ck_assert_str_eq(render1("{{#flag}}A{{/flag}}{{^flag}}B{{/flag}}", c), "A");
}
END_TEST

START_TEST(nested_lookup)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool), *it;
    const char *t = "{{#items}}({{n}}:{{title}}{{#inner}}<{{n}}/{{outer}}/{{title}}>{{/inner}})"
                    "{{/items}}";

    afl_tpl_set_str(c, "title", "T");
    afl_tpl_set_str(c, "n", "root-n");
    it = afl_tpl_add_item(c, "items");
    afl_tpl_set_str(it, "n", "1");
    afl_tpl_set_str(it, "outer", "o1");
    afl_tpl_set_str(afl_tpl_add_item(it, "inner"), "n", "1a");
    afl_tpl_add_item(it, "inner"); /* no n: resolves in the enclosing item */
    it = afl_tpl_add_item(c, "items");
    afl_tpl_set_str(it, "title", "shadowed");
    ck_assert_str_eq(render1(t, c), "(1:T<1a/o1/T><1/o1/T>)(root-n:shadowed)");
}
END_TEST

START_TEST(lookup_follows_render_stack)
{
    /* "outer" lives in an item of "a"; "b" is a list of the root. Inside b's items,
     * names resolve in b's item, then a's item, then the root (Mustache semantics). */
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);

    afl_tpl_set_str(afl_tpl_add_item(c, "a"), "outer", "A1");
    afl_tpl_add_item(c, "b");
    afl_tpl_add_item(c, "b");
    ck_assert_str_eq(render1("{{#a}}{{#b}}[{{outer}}]{{/b}}{{/a}}", c), "[A1][A1]");
}
END_TEST

START_TEST(data_model)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    char name[8] = "v", value[8] = "abc";

    afl_tpl_set_str(c, name, value); /* copies: later changes to the buffers do not show */
    strcpy(name, "zz");
    strcpy(value, "zzz");
    afl_tpl_set_fmt(c, "n", "%d-%s", 42, "x");
    ck_assert_str_eq(render1("{{v}} {{n}}", c), "abc 42-x");
    afl_tpl_set_strn(c, "v", "replaced");
    ck_assert_str_eq(render1("{{v}}", c), "replaced");
    /* A string replaces a list and back. */
    afl_tpl_add_item(c, "v");
    ck_assert_str_eq(render1("{{v}}|{{#v}}item{{/v}}", c), "|item");
    afl_tpl_set_str(c, "v", "s");
    ck_assert_str_eq(render1("{{v}}|{{#v}}item{{/v}}", c), "s|item");
    /* Many names (forces the entry array to grow). */
    for (int i = 0; i < 100; i++)
        afl_tpl_set_fmt(c, apr_psprintf(pool, "k%d", i), "%d", i);
    afl_tpl_set_str(c, "a", "still-here");
    ck_assert_str_eq(render1("{{a}}", c), "still-here");
}
END_TEST

START_TEST(comments)
{
    ck_assert_str_eq(render1("a{{! a comment }}b{{!\nmulti\nline {{ }\n}}c", NULL), "abc");
    /* Line numbers still count the comment's lines. */
    ck_contains(load_err("{{!\n\n}}\n{{nope}}", NULL), "t.html:4:");
}
END_TEST

/* ------------------------------------------------------------------ partials */

START_TEST(partials)
{
    const char *err;
    afl_tpl_set *set = load3("{{> p}}<main>{{#items}}{{> q}}{{/items}}</main>{{>p}}",
                             "<h1>{{title}}</h1>", "<li>{{n}} of {{title}}</li>", &err);
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);

    ck_assert_msg(set != NULL, "%s", err);
    afl_tpl_set_str(c, "title", "Títúlo");
    afl_tpl_set_str(afl_tpl_add_item(c, "items"), "n", "1");
    afl_tpl_set_str(afl_tpl_add_item(c, "items"), "n", "2");
    ck_assert_str_eq(render(set, c), "<h1>Títúlo</h1><main><li>1 of Títúlo</li><li>2 of "
                                     "Títúlo</li></main><h1>Títúlo</h1>");
    /* Partials are not renderable on their own unless declared. */
    ck_assert_int_eq(afl_tpl_has(set, "t"), 1);
    ck_assert_int_eq(afl_tpl_has(set, "p"), 0);
    {
        const char *out;
        ck_assert_int_eq(afl_tpl_render(pool, set, "p", c, &out, NULL), APR_NOTFOUND);
        ck_assert_int_eq(afl_tpl_render(pool, set, "nope", c, &out, NULL), APR_NOTFOUND);
    }
}
END_TEST

START_TEST(missing_partial_refused)
{
    const char *err = load_err("ok\n{{> cabecera}}", NULL);

    ck_contains(err, "t.html:2:");
    ck_contains(err, "partial 'cabecera' not found");
}
END_TEST

START_TEST(partial_cycles_refused)
{
    const char *err;

    ck_contains(load_err("{{> t}}", NULL), "includes itself");
    ck_assert_ptr_null(load3("{{> p}}", "{{> q}}", "x\n{{> p}}", &err));
    ck_contains(err, "q.html:2: partial 'p' includes itself (p -> q -> p)");
}
END_TEST

START_TEST(partial_depth_limited)
{
    /* t -> d1 -> ... -> dN: AFL_TPL_MAX_PARTIAL_DEPTH levels are fine, one more is not. */
    for (int levels = AFL_TPL_MAX_PARTIAL_DEPTH; levels <= AFL_TPL_MAX_PARTIAL_DEPTH + 1;
         levels++) {
        afl_tpl_source src[AFL_TPL_MAX_PARTIAL_DEPTH + 3];
        afl_tpl_decl decls[] = {{"t", any_names}, {NULL, NULL}};
        afl_tpl_set *set = NULL;
        const char *err = NULL;
        int i;

        src[0] = (afl_tpl_source){"t", "{{> d1}}", 8};
        for (i = 1; i <= levels; i++) {
            const char *body = i < levels ? apr_psprintf(pool, "%d{{> d%d}}", i, i + 1) : "leaf";
            src[i] = (afl_tpl_source){apr_psprintf(pool, "d%d", i), body, strlen(body)};
        }
        src[i] = (afl_tpl_source){NULL, NULL, 0};
        if (levels == AFL_TPL_MAX_PARTIAL_DEPTH) {
            ck_assert_int_eq(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_SUCCESS);
            ck_assert_str_eq(render(set, NULL), "1234567leaf");
        } else {
            ck_assert_int_ne(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_SUCCESS);
            ck_contains(err, "nested deeper than 8 levels");
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ load errors */

START_TEST(unknown_placeholder_refused)
{
    afl_tpl_source src[] = {{"inicio", "<h1>{{titulo}}</h1>\n\n<p>{{nombre}}</p>", 36},
                            {NULL, NULL, 0}};
    static const char *const allowed[] = {"titulo", "curp", NULL};
    afl_tpl_decl decls[] = {{"inicio", allowed}, {NULL, NULL}};
    afl_tpl_set *set = NULL;
    const char *err = NULL;

    src[0].len = strlen(src[0].text);
    ck_assert_int_eq(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_EGENERAL);
    ck_assert_ptr_null(set);
    ck_assert_str_eq(err, "inicio.html:3: placeholder 'nombre' is not allowed in template "
                          "'inicio' (allowed: titulo, curp)");
    /* Section names are checked too. */
    src[0].text = "{{#lista}}{{/lista}}";
    src[0].len = strlen(src[0].text);
    ck_assert_int_ne(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_SUCCESS);
    ck_contains(err, "inicio.html:1: placeholder 'lista' is not allowed");
}
END_TEST

START_TEST(unknown_placeholder_in_partial_refused)
{
    afl_tpl_source src[] = {{"inicio", "{{titulo}}{{> pie}}", 19},
                            {"resultado", "{{> pie}}", 9},
                            {"pie", "<footer>\n{{version}}</footer>", 29},
                            {NULL, NULL, 0}};
    static const char *const a1[] = {"titulo", "version", NULL};
    static const char *const a2[] = {"nss", NULL};
    afl_tpl_decl decls[] = {{"inicio", a1}, {"resultado", a2}, {NULL, NULL}};
    afl_tpl_set *set = NULL;
    const char *err = NULL;

    ck_assert_int_ne(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_SUCCESS);
    ck_assert_str_eq(err, "pie.html:2: placeholder 'version' is not allowed in template "
                          "'resultado', which includes 'pie' (allowed: nss)");
}
END_TEST

START_TEST(unbalanced_sections_refused)
{
    ck_assert_str_eq(load_err("a\n{{#items}}\nb", NULL),
                     "t.html:2: section 'items' is never closed (no '{{/items}}')");
    ck_assert_str_eq(load_err("{{#a}}\n{{#b}}\n{{/a}}{{/b}}", NULL),
                     "t.html:3: '{{/a}}' closes section 'b' opened at line 2");
    ck_assert_str_eq(load_err("x\n\n{{/a}}", NULL),
                     "t.html:3: '{{/a}}' closes a section that is not open");
    ck_contains(load_err("{{^a}}", NULL), "section 'a' is never closed");
}
END_TEST

START_TEST(section_depth_limited)
{
    char *t = "";

    for (int i = 0; i < AFL_TPL_MAX_SECTION_DEPTH + 1; i++)
        t = apr_pstrcat(pool, "{{#a}}", t, "{{/a}}", NULL);
    ck_contains(load_err(t, NULL), "nested deeper than 32");
}
END_TEST

START_TEST(raw_output_refused)
{
    ck_contains(load_err("{{{v}}}", NULL), "not supported: values are always HTML-escaped");
    ck_contains(load_err("x {{& v}}", NULL), "t.html:1: '{{&' (unescaped output)");
    ck_contains(load_err("{{=<% %>=}}", NULL), "changing delimiters");
}
END_TEST

START_TEST(bad_tags_refused)
{
    ck_assert_str_eq(load_err("a\n{{v", NULL),
                     "t.html:2: unterminated tag '{{v' (no closing '}}')");
    ck_contains(load_err("{{}}", NULL), "invalid name ''");
    ck_contains(load_err("{{ a b }}", NULL), "invalid name 'a b'");
    ck_contains(load_err("{{a.b}}", NULL), "invalid name 'a.b'");
    ck_contains(load_err("{{> ../etc/passwd}}", NULL), "invalid name '../etc/passwd'");
    ck_contains(load_err("{{1a}}", NULL), "invalid name");
    ck_contains(load_err("{{\xC3\xB1}}", NULL), "invalid name '?"
                                                "?'"); /* quoted safely */
    ck_contains(load_err("{{!never closed", NULL), "unterminated tag");
}
END_TEST

START_TEST(bad_bytes_refused)
{
    afl_tpl_source src[] = {{"t", "ok\nok\n\0", 7}, {NULL, NULL, 0}};
    afl_tpl_decl decls[] = {{"t", any_names}, {NULL, NULL}};
    afl_tpl_set *set;
    const char *err;

    ck_assert_str_eq(load_err("a\nb\xC3(", NULL), "t.html:2: invalid UTF-8 at byte 3");
    ck_contains(load_err("\xED\xA0\x80", NULL), "invalid UTF-8");
    ck_assert_int_ne(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_SUCCESS);
    ck_assert_str_eq(err, "t.html:3: NUL byte at byte 6");
    /* A BOM is dropped. */
    ck_assert_str_eq(render1("\xEF\xBB\xBFhola", NULL), "hola");
}
END_TEST

START_TEST(missing_required_template_refused)
{
    afl_tpl_source src[] = {{"t", "x", 1}, {NULL, NULL, 0}};
    afl_tpl_decl decls[] = {{"t", any_names}, {"resultado", any_names}, {NULL, NULL}};
    afl_tpl_set *set;
    const char *err;

    ck_assert_int_ne(afl_tpl_load_mem(pool, src, decls, &set, &err), APR_SUCCESS);
    ck_assert_str_eq(err, "template 'resultado' is required but resultado.html does not exist");
}
END_TEST

/* ------------------------------------------------------------------ files */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void rm_tmpdir(void)
{
    char *cmd = apr_psprintf(pool, "rm -rf '%s'", tmpdir);

    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

START_TEST(load_from_directory)
{
    static const char *const a_inicio[] = {"titulo", "errores", "mensaje", NULL};
    static const char *const a_res[] = {"titulo", "nss", NULL};
    afl_tpl_decl decls[] = {{"inicio", a_inicio}, {"resultado", a_res}, {NULL, NULL}};
    afl_tpl_set *set = NULL;
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    const char *err = NULL, *out;
    apr_size_t len;

    strcpy(tmpdir, "/tmp/test_tpl.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    write_file("cabecera.html", "<!doctype html><title>{{titulo}}</title>\n");
    write_file("inicio.html", "{{> cabecera}}<ul>{{#errores}}<li>{{mensaje}}</li>{{/errores}}"
                              "</ul>");
    write_file("resultado.html", "{{> cabecera}}<p>NSS: {{nss}}</p>");
    write_file("notes.txt", "{{ignored because not .html}}");
    write_file(".hidden.html", "{{ignored because hidden}}");

    ck_assert_msg(afl_tpl_load(pool, tmpdir, decls, &set, &err) == APR_SUCCESS, "%s", err);
    afl_tpl_set_str(c, "titulo", "Obtén o localiza tu NSS");
    afl_tpl_set_str(afl_tpl_add_item(c, "errores"), "mensaje", "Este campo es obligatorio");
    ck_assert_int_eq(afl_tpl_render(pool, set, "inicio", c, &out, &len), APR_SUCCESS);
    ck_assert_str_eq(out, "<!doctype html><title>Obtén o localiza tu NSS</title>\n"
                          "<ul><li>Este campo es obligatorio</li></ul>");

    /* An agency typo in the shared header: start-up fails naming file and line. */
    write_file("cabecera.html", "<!doctype html>\n<title>{{titluo}}</title>\n");
    ck_assert_int_ne(afl_tpl_load(pool, tmpdir, decls, &set, &err), APR_SUCCESS);
    ck_assert_str_eq(err, apr_psprintf(pool,
                                       "%s/cabecera.html:2: placeholder 'titluo' is not allowed "
                                       "in template 'inicio', which includes 'cabecera' "
                                       "(allowed: titulo, errores, mensaje)",
                                       tmpdir));

    /* A required template deleted. */
    write_file("cabecera.html", "<title>{{titulo}}</title>");
    ck_assert_int_eq(unlink(apr_pstrcat(pool, tmpdir, "/resultado.html", NULL)), 0);
    ck_assert_int_ne(afl_tpl_load(pool, tmpdir, decls, &set, &err), APR_SUCCESS);
    ck_assert_str_eq(err, apr_psprintf(pool,
                                       "template 'resultado' is required but "
                                       "%s/resultado.html does not exist",
                                       tmpdir));

    /* A file name that cannot be a template name. */
    write_file("resultado.html", "{{nss}}");
    write_file("inicio (copia).html", "x");
    ck_assert_int_ne(afl_tpl_load(pool, tmpdir, decls, &set, &err), APR_SUCCESS);
    ck_contains(err, "inicio (copia).html: file name is not a valid template name");
    rm_tmpdir();

    ck_assert_int_ne(afl_tpl_load(pool, "/nonexistent/dir", decls, &set, &err), APR_SUCCESS);
    ck_contains(err, "/nonexistent/dir: cannot open template directory");
}
END_TEST

/* ------------------------------------------------------------------ limits, threads */

START_TEST(runaway_nesting_bounded)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    char *t = "x";
    const char *out;
    afl_tpl_set *set;

    /* 20 items nested 10 deep = 20^10 iterations without a budget. */
    for (int i = 0; i < 20; i++)
        afl_tpl_add_item(c, "list");
    for (int i = 0; i < 10; i++)
        t = apr_pstrcat(pool, "{{#list}}", t, "{{/list}}", NULL);
    set = load(t);
    ck_assert_int_eq(afl_tpl_render(pool, set, "t", c, &out, NULL), APR_ENOSPC);
}
END_TEST

START_TEST(output_size_bounded)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    char *big = apr_palloc(pool, 1 << 20);
    const char *out;
    afl_tpl_set *set = load("{{#list}}{{v}}{{v}}{{v}}{{/list}}");

    memset(big, '<', (1 << 20) - 1); /* 4 MiB once escaped, 12 MiB rendered */
    big[(1 << 20) - 1] = '\0';
    afl_tpl_set_strn(c, "v", big);
    afl_tpl_add_item(c, "list");
    ck_assert_int_eq(afl_tpl_render(pool, set, "t", c, &out, NULL), APR_ENOSPC);
}
END_TEST

typedef struct {
    const afl_tpl_set *set;
    const afl_tpl_ctx *ctx;
    const char *expect;
    int bad;
} thread_arg;

static void *APR_THREAD_FUNC render_thread(apr_thread_t *th, void *data)
{
    thread_arg *a = data;
    apr_pool_t *p;

    apr_pool_create_unmanaged(&p);
    for (int i = 0; i < 2000; i++) {
        const char *out;

        if (afl_tpl_render(p, a->set, "t", a->ctx, &out, NULL) != APR_SUCCESS ||
            strcmp(out, a->expect) != 0)
            a->bad++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

START_TEST(concurrent_renders)
{
    afl_tpl_set *set = load("{{#items}}<li>{{n}} {{v}}</li>{{/items}}");
    afl_tpl_ctx *c = afl_tpl_ctx_make(pool);
    apr_thread_t *th[4];
    thread_arg args[4];
    apr_status_t rv;

    afl_tpl_set_str(c, "v", "<&>");
    for (int i = 0; i < 20; i++)
        afl_tpl_set_fmt(afl_tpl_add_item(c, "items"), "n", "%d", i);
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){set, c, render(set, c), 0};
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, render_thread, &args[i], pool),
                         APR_SUCCESS);
    }
    for (int i = 0; i < 4; i++) {
        apr_thread_join(&rv, th[i]);
        ck_assert_int_eq(args[i].bad, 0);
    }
}
END_TEST

static Suite *tpl_suite(void)
{
    Suite *s = suite_create("afl_tpl");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, escapes_html_specials);
    tcase_add_test(tc, keeps_utf8_as_is);
    tcase_add_test(tc, invalid_utf8_becomes_replacement_char);
    tcase_add_test(tc, escape_function);
    tcase_add_test(tc, template_text_is_verbatim);
    tcase_add_test(tc, spaces_inside_tags);
    tcase_add_test(tc, section_over_list);
    tcase_add_test(tc, section_over_scalars);
    tcase_add_test(tc, inverted_sections);
    tcase_add_test(tc, nested_lookup);
    tcase_add_test(tc, lookup_follows_render_stack);
    tcase_add_test(tc, data_model);
    tcase_add_test(tc, comments);
    tcase_add_test(tc, partials);
    tcase_add_test(tc, missing_partial_refused);
    tcase_add_test(tc, partial_cycles_refused);
    tcase_add_test(tc, partial_depth_limited);
    tcase_add_test(tc, unknown_placeholder_refused);
    tcase_add_test(tc, unknown_placeholder_in_partial_refused);
    tcase_add_test(tc, unbalanced_sections_refused);
    tcase_add_test(tc, section_depth_limited);
    tcase_add_test(tc, raw_output_refused);
    tcase_add_test(tc, bad_tags_refused);
    tcase_add_test(tc, bad_bytes_refused);
    tcase_add_test(tc, missing_required_template_refused);
    tcase_add_test(tc, load_from_directory);
    tcase_add_test(tc, runaway_nesting_bounded);
    tcase_add_test(tc, output_size_bounded);
    tcase_add_test(tc, concurrent_renders);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_main(tpl_suite());
}
