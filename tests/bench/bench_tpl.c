/* Benchmark: afl_tpl_render on one thread for about 2 s. The page is about 5 KB of
 * Spanish HTML (header and footer partials, a form, a 20-row table). Prints renders per
 * second of a finished context, then of context building + rendering, as a request
 * handler does it. Optional argument: seconds per measurement (default 2). */
#include "afl_tpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char cabecera[] =
    "<!doctype html>\n<html lang=\"es-MX\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{titulo}} | IMSS</title>\n<link rel=\"stylesheet\" href=\"/afiliacion/estilo.css\">\n"
    "</head>\n<body>\n<header class=\"barra\"><a href=\"/\" class=\"logo\">IMSS</a>\n"
    "<nav><a href=\"/afiliacion/\">Inicio</a> <a href=\"/afiliacion/ayuda\">Ayuda</a> "
    "<a href=\"/afiliacion/privacidad\">Aviso de privacidad</a></nav></header>\n"
    "<main id=\"contenido\">\n<h1>{{titulo}}</h1>\n";

static const char pie[] =
    "</main>\n<footer class=\"pie\">\n<p>Instituto Mexicano del Seguro Social. Todos los "
    "derechos reservados.</p>\n<p>Si tienes dudas sobre este trámite llama al 800 623 2323, "
    "opción 4, de lunes a viernes de 8:00 a 20:00 horas.</p>\n<p>Folio de la sesión: "
    "{{folio}}</p>\n</footer>\n</body>\n</html>\n";

static const char pagina[] =
    "{{> cabecera}}"
    "{{#errores}}<div class=\"alerta\" role=\"alert\"><p>Revisa los campos marcados:</p><ul>"
    "{{#lista_errores}}<li><a href=\"#{{campo}}\">{{mensaje}}</a></li>{{/lista_errores}}</ul>"
    "</div>{{/errores}}\n"
    "<p class=\"intro\">Para obtener o localizar tu Número de Seguridad Social (NSS) ten a la "
    "mano tu CURP y un correo electrónico personal al que tengas acceso. Te enviaremos ahí "
    "el documento que lo acredita. El trámite es gratuito y no necesitas acudir a una "
    "oficina.</p>\n"
    "<form method=\"post\" action=\"/afiliacion/enviar\" novalidate>\n"
    "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">\n"
    "<input type=\"hidden\" name=\"captcha_id\" value=\"{{captcha_id}}\">\n"
    "<div class=\"campo\"><label for=\"curp\">CURP</label>\n"
    "<input id=\"curp\" name=\"curp\" value=\"{{curp}}\" maxlength=\"18\" autocomplete=\"off\" "
    "spellcheck=\"false\">{{#err_curp}}<p class=\"error\">{{err_curp}}</p>{{/err_curp}}</div>\n"
    "<div class=\"campo\"><label for=\"correo\">Correo electrónico</label>\n"
    "<input id=\"correo\" name=\"correo\" type=\"email\" value=\"{{correo}}\" maxlength=\"254\">"
    "{{#err_correo}}<p class=\"error\">{{err_correo}}</p>{{/err_correo}}</div>\n"
    "<div class=\"campo\"><label for=\"correo_confirmacion\">Confirma tu correo "
    "electrónico</label>\n<input id=\"correo_confirmacion\" name=\"correo_confirmacion\" "
    "type=\"email\" value=\"{{correo_confirmacion}}\" maxlength=\"254\">"
    "{{#err_conf}}<p class=\"error\">{{err_conf}}</p>{{/err_conf}}</div>\n"
    "<div class=\"campo\"><img src=\"/afiliacion/captcha.png?id={{captcha_id}}\" alt=\"Imagen "
    "con caracteres\" width=\"200\" height=\"70\">\n<label for=\"captcha\">Escribe los "
    "caracteres de la imagen, respetando mayúsculas y minúsculas</label>\n<input "
    "id=\"captcha\" name=\"captcha\" maxlength=\"16\" autocomplete=\"off\"></div>\n"
    "<button type=\"submit\">Continuar</button>\n</form>\n"
    "<h2>Unidades de Medicina Familiar cercanas</h2>\n"
    "<table class=\"umf\"><thead><tr><th>Clave</th><th>Unidad</th><th>Domicilio</th>"
    "<th>Municipio</th></tr></thead>\n<tbody>\n"
    "{{#umf}}<tr><td>{{clave}}</td><td>{{nombre}}</td><td>{{domicilio}}</td><td>{{municipio}}"
    "</td></tr>\n{{/umf}}"
    "{{^umf}}<tr><td colspan=\"4\">Sin unidades</td></tr>{{/umf}}"
    "</tbody></table>\n"
    "<p class=\"nota\">Tus datos personales son tratados conforme a la Ley General de "
    "Protección de Datos Personales en Posesión de Sujetos Obligados. Consulta el aviso de "
    "privacidad integral en el enlace al pie de esta página.</p>\n"
    "{{> pie}}";

static const char *const allowed[] = {
    "titulo",     "errores", "lista_errores", "campo",  "mensaje",    "csrf",
    "captcha_id", "curp",    "err_curp",      "correo", "err_correo", "correo_confirmacion",
    "err_conf",   "umf",     "clave",         "nombre", "domicilio",  "municipio",
    "folio",      NULL};

static afl_tpl_ctx *make_ctx(apr_pool_t *p)
{
    afl_tpl_ctx *c = afl_tpl_ctx_make(p);
    int i;

    afl_tpl_set_strn(c, "titulo", "Obtén o localiza tu NSS");
    afl_tpl_set_bool(c, "errores", 1);
    afl_tpl_set_strn(afl_tpl_add_item(c, "lista_errores"), "mensaje",
                     "Los correos electrónicos no coinciden");
    afl_tpl_set_strn(c, "csrf", "q7Vt3b2yXc1mZ0pLr9sW4A");
    afl_tpl_set_strn(c, "captcha_id", "c-81f2e4b7a9d0");
    afl_tpl_set_strn(c, "curp", "SABC560626MDFLRN01");
    afl_tpl_set_strn(c, "correo", "ana.lopez@example.com");
    afl_tpl_set_strn(c, "correo_confirmacion", "ana.lopes@example.com");
    afl_tpl_set_strn(c, "err_conf", "Los correos electrónicos no coinciden");
    afl_tpl_set_strn(c, "folio", "7F3A-19C2");
    for (i = 0; i < 20; i++) {
        afl_tpl_ctx *u = afl_tpl_add_item(c, "umf");

        afl_tpl_set_fmt(u, "clave", "%03d", 100 + i);
        afl_tpl_set_fmt(u, "nombre", "UMF No. %d \"Dr. Ignacio García Téllez\"", 10 + i);
        afl_tpl_set_fmt(u, "domicilio", "Av. Cuauhtémoc %d, Col. Narvarte & Piedad", 330 + i);
        afl_tpl_set_strn(u, "municipio", "Benito Juárez");
    }
    return c;
}

int main(int argc, char **argv)
{
    afl_tpl_source src[] = {{"cabecera", cabecera, sizeof cabecera - 1},
                            {"pie", pie, sizeof pie - 1},
                            {"pagina", pagina, sizeof pagina - 1},
                            {NULL, NULL, 0}};
    afl_tpl_decl decls[] = {{"pagina", allowed}, {NULL, NULL}};
    double seconds = argc > 1 ? atof(argv[1]) : 2.0, t0, t1;
    unsigned long long n = 0;
    apr_pool_t *root, *req;
    afl_tpl_set *set;
    afl_tpl_ctx *ctx;
    const char *err, *out;
    apr_size_t len = 0;
    apr_status_t rv;

    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_pool_create(&req, root);
    rv = afl_tpl_load_mem(root, src, decls, &set, &err);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "load failed: %s\n", err);
        return 1;
    }
    if (afl_tpl_render(req, set, "pagina", make_ctx(req), &out, &len) != APR_SUCCESS) {
        fprintf(stderr, "render failed\n");
        return 1;
    }
    printf("page size: %lu bytes, 20-item list\n", (unsigned long)len);

    /* Rendering alone: one finished context, rendered again and again. */
    ctx = make_ctx(root);
    t0 = now();
    do {
        for (int r = 0; r < 256; r++) {
            apr_pool_clear(req);
            if (afl_tpl_render(req, set, "pagina", ctx, &out, &len) != APR_SUCCESS)
                return 1;
        }
        n += 256;
        t1 = now();
    } while (t1 - t0 < seconds);
    printf("template renders per second (1 thread): %.0f\n", (double)n / (t1 - t0));

    /* As a handler does it: build the context (61 values, 20 of them formatted), render. */
    n = 0;
    t0 = now();
    do {
        for (int r = 0; r < 256; r++) {
            apr_pool_clear(req);
            if (afl_tpl_render(req, set, "pagina", make_ctx(req), &out, &len) != APR_SUCCESS)
                return 1;
        }
        n += 256;
        t1 = now();
    } while (t1 - t0 < seconds);
    printf("context builds + renders per second (1 thread): %.0f\n", (double)n / (t1 - t0));
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}
