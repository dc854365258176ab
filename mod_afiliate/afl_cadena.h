/* afl_cadena: the cadena original of the documents and their folios
 * (docs/domain.md, Cadena original and Document folio). Pure unit: APR only, no httpd.
 *
 * Formats, byte for byte (UTF-8):
 *
 *   comprobante, asignación (AFL_CADENA_ASIGNACION), localización
 *   (AFL_CADENA_LOCALIZACION: "Localización de NSS") and the tarjeta
 *   (AFL_CADENA_TARJETA: "Tarjeta de NSS"), the comprobante layout:
 *   ||Invocante:portalimssdigital|Tipo de trámite:Asignación de NSS|Fecha:26 de noviembre
 *   2026, 06:00:00|Folio:F|RFC:R|Nombre o Razon Social:N|Curp:C|Número Registro
 *   Patronal:|Número de Seguridad Social:S||
 *   ("Razon" without accent, RFC always present and empty when there is none,
 *   the empty "Número Registro Patronal:").
 *
 *   constancia (AFL_CADENA_CONSTANCIA), the constancia layout:
 *   ||Invocante:portalimssdigital|Tipo de trámite:COMPROBANTE DE VIGENCIA DE
 *   DERECHOHABIENTES|Fecha:...|Folio:F|[RFC:R|]Nombre o Razón Social:N|Curp:C|Número de
 *   Seguridad Social:S||
 *   ("Razón" with accent; the RFC part only when there is one).
 *
 * Decision for the tarjeta: IMSS builds it from the comprobante's report
 * (ComprobanteAsignacionQR.jrxml), so it uses the comprobante layout, with its own
 * tipo de trámite "Tarjeta de NSS" so that the sello of a tarjeta can never
 * pass for the sello of a comprobante (each document has its own folio too).
 *
 * Fecha: "dd de MMMM yyyy, HH:mm:ss" (Java's pattern: no "de" before the
 * year, Spanish month in lower case, 24-hour clock), in the server's local
 * time zone like afl_pdf (run httpd with TZ=America/Mexico_City).
 *
 * Values: a '|' inside a value would break the cadena apart, so it becomes a
 * space; so do control characters (C0, DEL), and each byte of an invalid
 * UTF-8 sequence becomes '?'. Nothing else is changed (no trimming, no case change): the
 * caller passes the values as the document displays them. */
#ifndef AFL_CADENA_H
#define AFL_CADENA_H

#include <stddef.h>

#include <apr_pools.h>
#include <apr_time.h>

typedef enum {
    AFL_CADENA_ASIGNACION = 0, /* comprobante, NSS assigned */
    AFL_CADENA_LOCALIZACION,   /* comprobante, NSS located (recovered) */
    AFL_CADENA_TARJETA,        /* tarjeta NSS */
    AFL_CADENA_CONSTANCIA      /* constancia de vigencia de derechos */
} afl_cadena_tipo;

typedef struct {
    afl_cadena_tipo tipo;
    apr_time_t fecha;   /* date and time of issue (the same instant the document prints) */
    const char *folio;  /* the document's folio, AFL_FOLIO_LEN digits (afl_folio_make) */
    const char *rfc;    /* NULL or "" when the person has none (students usually) */
    const char *nombre; /* full name as displayed, "Nombres Apellido1 Apellido2" */
    const char *curp;   /* 18 characters */
    const char *nss;    /* 11 digits */
} afl_cadena;

/* The cadena original (NUL-terminated, in p); NULL when c is NULL, the tipo
 * is unknown or folio, nombre, curp or nss is NULL or empty. */
const char *afl_cadena_original(apr_pool_t *p, const afl_cadena *c);

/* The "Tipo de trámite" text: "Asignación de NSS", "Localización de NSS",
 * "Tarjeta de NSS", "COMPROBANTE DE VIGENCIA DE DERECHOHABIENTES"; NULL for
 * an unknown tipo. */
const char *afl_cadena_tramite(afl_cadena_tipo tipo);

/* The Spanish name of month 1..12 ("enero"), NULL outside; the one table of
 * month names, for the cadena and the printed dates (afl_pdf). */
const char *afl_cadena_mes(int month);

/* t in local time into *tm for a date written into buf[0..n): 0 ok; -1
 * when buf cannot take it or t has no local time (buf then holds ""). */
int afl_cadena_local(apr_time_t t, apr_time_exp_t *tm, char *buf, size_t n);

/* "26 de noviembre 2026, 06:00:00" (local time). Needs n >= 33. */
void afl_cadena_fecha(apr_time_t t, char *buf, size_t n);

/* A value made safe for the cadena as described above (in p; "" for NULL). */
const char *afl_cadena_valor(apr_pool_t *p, const char *v);

/* "Nombres Apellido1 Apellido2" with single spaces, empty parts skipped
 * (segundo_apellido may be NULL). In p. */
const char *afl_cadena_nombre(apr_pool_t *p, const char *nombres, const char *primer_apellido,
                              const char *segundo_apellido);

/* The value of the field with this label ("Folio", "Curp", "Tipo de
 * trámite", ...) in a cadena built by afl_cadena_original, copied into p;
 * NULL if the cadena is not of that shape or has no such field. */
const char *afl_cadena_campo(apr_pool_t *p, const char *cadena, const char *label);

/* ---------------------------------------------------------------- folio
 * A document folio is AFL_FOLIO_LEN decimal digits: the 13-digit UNIX time
 * of issue in milliseconds followed by an 8-digit sequence, the shape
 * of IMSS's folios (docs/domain.md, Document folio). The caller passes the
 * sequence from the database (e.g. the documento_contador row, incremented
 * in the same transaction that stores the documento); it is taken modulo
 * 10^8, so folios stay unique as long as one sequence value is not reused
 * within the same millisecond. Issue time and the cadena's Fecha are the
 * same instant: pass the same t to both. */
#define AFL_FOLIO_LEN 21

/* Write the folio for time t and sequence seq into out (AFL_FOLIO_LEN + 1
 * bytes). Returns 0, or -1 when t is outside the 13-digit millisecond range
 * (2001-09-09 .. 2286-11-20); out is "" then. */
int afl_folio_make(apr_time_t t, apr_uint64_t seq, char out[AFL_FOLIO_LEN + 1]);

/* 1 if s is a well-formed folio (AFL_FOLIO_LEN digits, time part >= 10^12). */
int afl_folio_valid(const char *s);

/* The issue time encoded in a valid folio (millisecond precision); 0 if the
 * folio is not valid. */
apr_time_t afl_folio_time(const char *folio);

#endif
