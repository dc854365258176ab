/* afl_cadena: cadena original and folios (afl_cadena.h). */
#include "afl_cadena.h"
#include "afl_utf8.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

static const char *const meses[12] = {"enero",      "febrero", "marzo",     "abril",
                                      "mayo",       "junio",   "julio",     "agosto",
                                      "septiembre", "octubre", "noviembre", "diciembre"};

const char *afl_cadena_mes(int month)
{
    return month >= 1 && month <= 12 ? meses[month - 1] : NULL;
}

const char *afl_cadena_tramite(afl_cadena_tipo tipo)
{
    switch (tipo) {
    case AFL_CADENA_ASIGNACION:
        return "Asignación de NSS";
    case AFL_CADENA_LOCALIZACION:
        return "Localización de NSS";
    case AFL_CADENA_TARJETA:
        return "Tarjeta de NSS";
    case AFL_CADENA_CONSTANCIA:
        return "COMPROBANTE DE VIGENCIA DE DERECHOHABIENTES";
    }
    return NULL;
}

int afl_cadena_local(apr_time_t t, apr_time_exp_t *tm, char *buf, size_t n)
{
    if (!buf || n == 0)
        return -1;
    if (apr_time_exp_lt(tm, t) != APR_SUCCESS || tm->tm_mon < 0 || tm->tm_mon > 11) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

void afl_cadena_fecha(apr_time_t t, char *buf, size_t n)
{
    apr_time_exp_t tm;

    if (afl_cadena_local(t, &tm, buf, n) == 0)
        snprintf(buf, n, "%02d de %s %04d, %02d:%02d:%02d", tm.tm_mday, meses[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

const char *afl_cadena_valor(apr_pool_t *p, const char *v)
{
    const unsigned char *s = (const unsigned char *)v, *end;
    char *out, *o;

    if (!v)
        return "";
    end = s + strlen(v);
    out = o = apr_palloc(p, (size_t)(end - s) + 1); /* never longer: '?' replaces >= 1 byte */
    while (*s) {
        size_t n = afl_utf8_decode(s, (size_t)(end - s), NULL);
        if (n == 0) {
            *o++ = '?';
            s++;
        } else if (n == 1) {
            *o++ = (*s == '|' || *s < 0x20 || *s == 0x7F) ? ' ' : (char)*s;
            s++;
        } else {
            memcpy(o, s, n);
            o += n;
            s += n;
        }
    }
    *o = '\0';
    return out;
}

static int empty(const char *s)
{
    return !s || !*s;
}

const char *afl_cadena_nombre(apr_pool_t *p, const char *nombres, const char *primer_apellido,
                              const char *segundo_apellido)
{
    const char *parts[3] = {nombres, primer_apellido, segundo_apellido};
    const char *out = "";

    for (int i = 0; i < 3; i++) {
        if (empty(parts[i]))
            continue;
        out = *out ? apr_pstrcat(p, out, " ", parts[i], NULL) : apr_pstrdup(p, parts[i]);
    }
    return out;
}

const char *afl_cadena_original(apr_pool_t *p, const afl_cadena *c)
{
    const char *tramite;
    char fecha[48];

    if (!c || empty(c->folio) || empty(c->nombre) || empty(c->curp) || empty(c->nss))
        return NULL;
    tramite = afl_cadena_tramite(c->tipo);
    if (!tramite)
        return NULL;
    afl_cadena_fecha(c->fecha, fecha, sizeof fecha);
    if (c->tipo == AFL_CADENA_CONSTANCIA)
        return apr_pstrcat(
            p, "||Invocante:portalimssdigital|Tipo de trámite:", tramite, "|Fecha:", fecha,
            "|Folio:", afl_cadena_valor(p, c->folio),
            empty(c->rfc) ? "" : "|RFC:", empty(c->rfc) ? "" : afl_cadena_valor(p, c->rfc),
            "|Nombre o Razón Social:", afl_cadena_valor(p, c->nombre),
            "|Curp:", afl_cadena_valor(p, c->curp),
            "|Número de Seguridad Social:", afl_cadena_valor(p, c->nss), "||", NULL);
    return apr_pstrcat(
        p, "||Invocante:portalimssdigital|Tipo de trámite:", tramite, "|Fecha:", fecha,
        "|Folio:", afl_cadena_valor(p, c->folio), "|RFC:", afl_cadena_valor(p, c->rfc),
        "|Nombre o Razon Social:", afl_cadena_valor(p, c->nombre),
        "|Curp:", afl_cadena_valor(p, c->curp),
        "|Número Registro Patronal:|Número de Seguridad Social:", afl_cadena_valor(p, c->nss), "||",
        NULL);
}

const char *afl_cadena_campo(apr_pool_t *p, const char *cadena, const char *label)
{
    size_t n, ll;
    const char *s, *end;

    if (!cadena || !label)
        return NULL;
    n = strlen(cadena);
    if (n < 4 || strncmp(cadena, "||", 2) != 0 || strcmp(cadena + n - 2, "||") != 0)
        return NULL;
    ll = strlen(label);
    s = cadena + 2;
    end = cadena + n - 2;
    while (s < end) {
        const char *bar = memchr(s, '|', (size_t)(end - s));
        const char *fe = bar ? bar : end;
        if ((size_t)(fe - s) > ll && !memcmp(s, label, ll) && s[ll] == ':')
            return apr_pstrmemdup(p, s + ll + 1, (apr_size_t)(fe - s - ll - 1));
        if (!bar)
            break;
        s = bar + 1;
    }
    return NULL;
}

/* ---------------------------------------------------------------- folio */

#define FOLIO_MS_MIN 1000000000000LL /* 13 digits */
#define FOLIO_MS_MAX 9999999999999LL

int afl_folio_make(apr_time_t t, apr_uint64_t seq, char out[AFL_FOLIO_LEN + 1])
{
    long long ms = (long long)(t / 1000);

    out[0] = '\0';
    if (t < 0 || ms < FOLIO_MS_MIN || ms > FOLIO_MS_MAX)
        return -1;
    snprintf(out, AFL_FOLIO_LEN + 1, "%013lld%08llu", ms, (unsigned long long)(seq % 100000000ULL));
    return 0;
}

int afl_folio_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < AFL_FOLIO_LEN; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return s[AFL_FOLIO_LEN] == '\0' && s[0] != '0';
}

apr_time_t afl_folio_time(const char *folio)
{
    long long ms = 0;

    if (!afl_folio_valid(folio))
        return 0;
    for (int i = 0; i < 13; i++)
        ms = ms * 10 + (folio[i] - '0');
    return (apr_time_t)ms * 1000;
}
