/* afiliatectl demo-registry: synthetic persons, UMFs and NSS for make run
 * and the tests (docs/data.md). Deterministic for a given seed. */
#include "afiliatectl_demo.h"
#include "afiliatectl.h"
#include "afiliatectl_import.h"
#include "afl_curp.h"
#include "afl_curp_build.h"
#include "afl_nss.h"
#include "afl_store.h"
#include "afl_token.h"
#include "afl_vigencia.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LAST_REG_YEAR 2025 /* latest registration year of the demo NSS */

/* ================================================================ demo-registry */

/* splitmix64 (afl_token_splitmix64): same data everywhere for a seed. */
typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    return afl_token_splitmix64(&r->s);
}

/* Uniform in [0, n). */
static unsigned rng_below(rng *r, unsigned n)
{
    return (unsigned)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Given names: compound names and accents as RENAPO writes them. */
static const char *const names_m[] = {
    "María Fernanda", "María José", "Ana Sofía",
    "Ximena",         "Valeria",    "Camila",
    "Regina",         "Renata",     "Daniela",
    "Sofía",          "Valentina",  "Mariana",
    "Andrea",         "Fernanda",   "Natalia",
    "Paola",          "Alejandra",  "Gabriela",
    "Ana Paula",      "Isabella",   "Victoria",
    "Montserrat",     "Jimena",     "Itzel",
    "Citlali",        "Guadalupe",  "María Guadalupe",
    "Juana",          "Rosa María", "Lucía",
    "Elena",          "Diana",      "Karla",
    "Brenda",         "Carolina",   "Claudia",
    "Adriana",        "Araceli",    "Beatriz",
    "Verónica",       "Patricia",   "Leticia",
    "Mónica",         "Sandra",     "Alma Rosa",
    "Yolanda",        "Norma",      "Gloria",
    "Silvia",         "Teresa",     "Margarita",
    "Josefina",       "Ángela",     "María de los Ángeles",
    "Dulce María",    "Estefanía",  "Nayeli",
    "Xóchitl",        "Yaretzi",    "Abril",
    "Ivanna",         "Romina",     "Aitana",
    "Julieta",        "Emilia",     "Constanza",
    "Luciana",        "Frida",      "Zoé",
    "Ashley",         "Melissa",    "Michelle",
    "Vanessa",        "Jazmín",     "Esmeralda",
    "Perla",          "Rocío",      "Miriam",
    "Noemí",          "Raquel",     "Susana",
    "Lorena",         "Cecilia",    "Liliana",
    "Marisol",        "Anahí",      "Arely",
    "Belén",          "Carmen",     "María Concepción",
    "Dolores",        "Inés",       "Irene",
    "Lourdes",        "Paulina",    "Sara",
    "Sonia",          "Tania",      "Yesenia",
    "Ana Karen",      "Maricruz",   "Ma. del Carmen",
    "Itzayana",       "Begoña",
};

static const char *const names_h[] = {
    "José Luis",     "Juan Carlos",   "Luis Fernando",
    "José Antonio",  "Miguel Ángel",  "Juan Pablo",
    "Jesús",         "Santiago",      "Sebastián",
    "Mateo",         "Leonardo",      "Emiliano",
    "Diego",         "Daniel",        "Alejandro",
    "Ángel",         "Iker",          "Gael",
    "Rodrigo",       "Fernando",      "Ricardo",
    "Eduardo",       "Francisco",     "Javier",
    "Carlos",        "Jorge",         "Luis",
    "Manuel",        "Pedro",         "Raúl",
    "Roberto",       "Sergio",        "Víctor",
    "Óscar",         "Arturo",        "Alberto",
    "Andrés",        "Antonio",       "Armando",
    "César",         "Enrique",       "Ernesto",
    "Gerardo",       "Guillermo",     "Héctor",
    "Hugo",          "Ignacio",       "Iván",
    "Jaime",         "Joel",          "Julio César",
    "Marco Antonio", "Mario",         "Martín",
    "Mauricio",      "Octavio",       "Pablo",
    "Rafael",        "Ramón",         "Rubén",
    "Salvador",      "Saúl",          "Tomás",
    "Ulises",        "Abraham",       "Adrián",
    "Benjamín",      "Bruno",         "Cristian",
    "Axel",          "Kevin",         "Brandon",
    "Erick",         "Isaac",         "Joaquín",
    "Josué",         "Moisés",        "Samuel",
    "Uriel",         "Aarón",         "Alan",
    "Damián",        "Efraín",        "Elías",
    "Emmanuel",      "Fabián",        "Gustavo",
    "Israel",        "José María",    "Juan José",
    "Luis Ángel",    "Jesús Alberto", "Francisco Javier",
    "José de Jesús", "Ramiro",        "Rogelio",
    "Valentín",      "Patricio",      "Tadeo",
    "Maximiliano",   "Íñigo",         "J. Guadalupe",
    "Cuauhtémoc",    "Xavier",
};

/* Surnames, the most frequent first (picked with a skew towards the top). */
static const char *const surnames[] = {
    "Hernández", "García",      "Martínez",      "López",     "González", "Pérez",
    "Rodríguez", "Sánchez",     "Ramírez",       "Cruz",      "Flores",   "Gómez",
    "Morales",   "Vázquez",     "Reyes",         "Jiménez",   "Torres",   "Díaz",
    "Gutiérrez", "Ruiz",        "Mendoza",       "Aguilar",   "Ortiz",    "Moreno",
    "Castillo",  "Romero",      "Álvarez",       "Méndez",    "Chávez",   "Rivera",
    "Juárez",    "Ramos",       "Domínguez",     "Herrera",   "Medina",   "Castro",
    "Vargas",    "Guzmán",      "Velázquez",     "Muñoz",     "Rojas",    "de la Cruz",
    "Contreras", "Salazar",     "Luna",          "Ortega",    "Guerrero", "Santiago",
    "Estrada",   "Bautista",    "Cortés",        "Soto",      "Alvarado", "Espinoza",
    "Lara",      "Ávila",       "Ríos",          "Cervantes", "Silva",    "Delgado",
    "Vega",      "Márquez",     "Sandoval",      "Fernández", "León",     "Carrillo",
    "Mejía",     "Solís",       "Núñez",         "Rosas",     "Valdez",   "Ibarra",
    "Campos",    "Santos",      "Camacho",       "Navarro",   "Peña",     "Maldonado",
    "Rosales",   "Acosta",      "Miranda",       "Trejo",     "Valencia", "Nava",
    "Pacheco",   "Robles",      "Molina",        "Rangel",    "Huerta",   "Padilla",
    "Fuentes",   "Cabrera",     "Meza",          "Ayala",     "Montes",   "Cárdenas",
    "Salinas",   "Zúñiga",      "Ibáñez",        "Ordóñez",   "Patiño",   "Quiñones",
    "Treviño",   "Castañeda",   "Saldaña",       "Peñaloza",  "Escobedo", "Villanueva",
    "Orozco",    "Galván",      "Cisneros",      "Benítez",   "Zamora",   "Arellano",
    "Barrera",   "Beltrán",     "Calderón",      "Duarte",    "Esquivel", "Figueroa",
    "Gallegos",  "Lozano",      "Mata",          "Montoya",   "Ochoa",    "Olvera",
    "Pineda",    "Quintero",    "Salas",         "Tapia",     "Urbina",   "Villegas",
    "Zavala",    "del Río",     "de los Santos", "del Ángel", "de León",  "Magaña",
    "Góngora",   "Nuño",        "Enríquez",      "Téllez",    "Ocaña",    "Cañedo",
    "Yáñez",     "Xicoténcatl", "Tzompa",        "Canché",    "Ek",       "Pech",
    "Chan",      "Uc",          "Bañuelos",      "Montaño",   "Toledo",   "Arriaga",
    "Becerra",   "Mañón",       "Briseño",       "Luján",
};

static const char *const streets[] = {
    "Avenida Insurgentes Sur",
    "Calle Hidalgo",
    "Calle Morelos",
    "Avenida Juárez",
    "Calle 5 de Mayo",
    "Calle Zaragoza",
    "Avenida Reforma",
    "Calle Allende",
    "Calle Guerrero",
    "Calle Independencia",
    "Avenida Revolución",
    "Calle Niños Héroes",
    "Calle Benito Juárez",
    "Calle Emiliano Zapata",
    "Calle Francisco I. Madero",
    "Avenida Universidad",
    "Calle Aldama",
    "Calle Matamoros",
    "Calle Abasolo",
    "Calle Ignacio Allende",
    "Avenida de las Torres",
    "Calle Colima",
    "Calle Durango",
    "Calle Jalapa",
    "Calle Orizaba",
    "Calle Querétaro",
    "Calle Tonalá",
    "Calle Mérida",
    "Avenida Vallarta",
    "Avenida Constitución",
    "Calle Pino Suárez",
    "Calle Xicoténcatl",
    "Calle Cuauhtémoc",
    "Privada de los Fresnos",
    "Cerrada Nogal",
};

static const char *const state_codes[] = {
    "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT",
    "GR", "HG", "JC", "MC", "MN", "MS", "NT", "NL", "OC", "PL", "QT",
    "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS", "NE",
};

/* ASCII e-mail part from a UTF-8 name: first word (or whole, for a surname
 * with particles), lowercase, accents dropped, Ñ -> n. */
static void ascii_slug(const char *in, int first_word_only, char *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)in;

    while (*p && n + 1 < cap) {
        unsigned c = *p;
        if (c == ' ' || c == '.') {
            if (first_word_only && n > 0)
                break;
            p++;
            continue;
        }
        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                out[n++] = (char)c;
            else if (c >= 'A' && c <= 'Z')
                out[n++] = (char)(c - 'A' + 'a');
            p++;
            continue;
        }
        if (c == 0xC3 && p[1]) {
            /* Latin-1 supplement: U+00C0..U+00FF */
            static const char map[] = "aaaaaaaceeeeiiiidnooooo/ouuuuyts"  /* C0..DF */
                                      "aaaaaaaceeeeiiiidnooooo/ouuuuyty"; /* E0..FF */
            unsigned cp = 0xC0 + (p[1] & 0x3F);
            char a = map[cp - 0xC0];
            if (a != '/')
                out[n++] = a;
            p += 2;
            continue;
        }
        p++; /* anything else is dropped */
    }
    out[n] = '\0';
}

typedef struct {
    const char *clave, *serie;
} umf_ref;

typedef struct {
    const char *cp, *colonia;
    apr_array_header_t *umfs; /* umf_ref */
} cp_ref;

typedef struct {
    apr_pool_t *pool;
    apr_hash_t *by_cp;          /* cp -> apr_array_header_t of umf_ref */
    apr_array_header_t *places; /* cp_ref */
} demo_geo;

static int load_umf_row(void *baton, int ncols, const char *const *v)
{
    demo_geo *g = baton;
    apr_array_header_t *list;
    umf_ref *u;

    if (ncols < 3 || !v[0] || !v[1] || !v[2])
        return 0;
    list = apr_hash_get(g->by_cp, v[0], APR_HASH_KEY_STRING);
    if (!list) {
        list = apr_array_make(g->pool, 2, sizeof(umf_ref));
        apr_hash_set(g->by_cp, apr_pstrdup(g->pool, v[0]), APR_HASH_KEY_STRING, list);
    }
    u = apr_array_push(list);
    u->clave = apr_pstrdup(g->pool, v[1]);
    u->serie = apr_pstrdup(g->pool, v[2]);
    return 0;
}

static int load_place_row(void *baton, int ncols, const char *const *v)
{
    demo_geo *g = baton;
    cp_ref *c;
    apr_array_header_t *umfs;

    if (ncols < 2 || !v[0] || !v[1])
        return 0;
    umfs = apr_hash_get(g->by_cp, v[0], APR_HASH_KEY_STRING);
    if (!umfs)
        return 0;
    c = apr_array_push(g->places);
    c->cp = apr_pstrdup(g->pool, v[0]);
    c->colonia = apr_pstrdup(g->pool, v[1]);
    c->umfs = umfs;
    return 0;
}

static const afl_sql_id demo_stmts[] = {
    AFL_SQL_DEMO_UMFS,        AFL_SQL_DEMO_PLACES,        AFL_SQL_DEMO_PERSONA,
    AFL_SQL_DEMO_PERSONA_ADD, AFL_SQL_DEMO_ASEGURADO_ADD, AFL_SQL_DEMO_COBERTURA_ADD,
    AFL_SQL_PERSONA_COUNT,    AFL_SQL_ASEGURADO_COUNT,    AFL_SQL_FOLIO_TAKE,
    AFL_SQL_FOLIO_GET,        AFL_SQL_NSS_TAKEN,
};

typedef struct {
    char nombres[96], ap1[64], ap2[64];
    int y, m, d;
    char sex;
    const char *state;
    const char *status;
    char fecha[24];
} demo_person;

static void make_person(rng *r, demo_person *p)
{
    unsigned u = rng_below(r, 1000);
    int day0 = afl_vigencia_day(1995, 1, 1), day1 = afl_vigencia_day(2010, 12, 31);
    const char *given;

    p->sex = u < 3 ? 'X' : (u < 502 ? 'H' : 'M');
    if (p->sex == 'H')
        given = names_h[rng_below(r, COUNT(names_h))];
    else if (p->sex == 'M')
        given = names_m[rng_below(r, COUNT(names_m))];
    else
        given = rng_below(r, 2) ? names_h[rng_below(r, COUNT(names_h))]
                                : names_m[rng_below(r, COUNT(names_m))];
    snprintf(p->nombres, sizeof p->nombres, "%s", given);
    /* Skewed towards the frequent surnames: index = n * u^2. */
    for (int k = 0; k < 2; k++) {
        double x = (double)rng_below(r, 1u << 30) / (double)(1u << 30);
        size_t idx = (size_t)((double)COUNT(surnames) * x * x);
        snprintf(k ? p->ap2 : p->ap1, sizeof p->ap1, "%s", surnames[idx]);
    }
    if (rng_below(r, 100) < 3)
        p->ap2[0] = '\0'; /* ~3% without a second surname */
    afl_vigencia_civil(day0 + (int)rng_below(r, (unsigned)(day1 - day0 + 1)), &p->y, &p->m, &p->d);
    snprintf(p->fecha, sizeof p->fecha, "%04d-%02d-%02d", p->y, p->m, p->d);
    p->state = state_codes[rng_below(r, COUNT(state_codes))];
    u = rng_below(r, 1000);
    if (u < 970)
        p->status = "AN";
    else if (u < 977)
        p->status = "AH";
    else if (u < 982)
        p->status = "RCN";
    else if (u < 986)
        p->status = "RCC";
    else if (u < 990)
        p->status = "CRA";
    else
        p->status = ctl_inactive_codes[rng_below(r, CTL_INACTIVE_CODES)];
}

typedef struct {
    const char *v[6];
    int seen;
} persona_row;

static int take_persona(void *baton, int ncols, const char *const *v)
{
    persona_row *pr = baton;

    if (ncols >= 6 && !pr->seen) {
        for (int i = 0; i < 6; i++)
            pr->v[i] = v[i];
        pr->seen = 1;
    }
    return 0;
}

static int str_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

typedef struct {
    unsigned long created, existed, collisions, no_curp, with_nss, no_folio;
} demo_stats;

/* NSS for an active person; 0 done (or no folio left), -2 database error. */

/* Demo coverage: about 70 % of the demo insured persons are covered today
 * (an alta that started 1 to 13 months ago and ends 1 to 7 months from now),
 * the rest lapsed (a period that ended 1 day to a year ago). Deterministic
 * for a seed and a day. */
static int demo_cobertura(afl_db *db, apr_pool_t *p, rng *r, const char *nss, const char *curp,
                          long long now, int *dbrv)
{
    int hoy = afl_vigencia_today(apr_time_from_sec(now)), inicio, fin;
    char a[11], b[11];

    if (rng_below(r, 10) < 7) {
        inicio = hoy - 30 - (int)rng_below(r, 370);
        fin = hoy + 30 + (int)rng_below(r, 180);
    } else {
        fin = hoy - 1 - (int)rng_below(r, 365);
        inicio = fin - 120 - (int)rng_below(r, 245);
    }
    afl_vigencia_format_date(inicio, a);
    afl_vigencia_format_date(fin, b);
    {
        const char *args[7] = {apr_pstrcat(p, "demo:", nss, NULL),
                               nss,
                               curp,
                               a,
                               b,
                               apr_ltoa(p, (long)now),
                               apr_ltoa(p, (long)now)};
        if ((*dbrv = afl_db_exec(db, p, AFL_SQL_DEMO_COBERTURA_ADD, NULL, 7, args)))
            return -2;
    }
    return 0;
}

static int give_nss(afl_db *db, apr_pool_t *p, rng *r, const demo_person *dp, const char *curp,
                    const demo_geo *g, long long now, demo_stats *st, int *dbrv)
{
    const cp_ref *place = &APR_ARRAY_IDX(g->places, rng_below(r, g->places->nelts), cp_ref);
    const umf_ref *umf = &APR_ARRAY_IDX(place->umfs, rng_below(r, place->umfs->nelts), umf_ref);
    int serie = atoi(umf->serie);
    int first = dp->y + 15 > LAST_REG_YEAR ? LAST_REG_YEAR : dp->y + 15;
    int reg = first + (int)rng_below(r, (unsigned)(LAST_REG_YEAR - first + 1));
    char given[32], sur[32], probe[12];
    const char *correo, *numext, *numint, *calle;

    ascii_slug(dp->nombres, 1, given, sizeof given);
    ascii_slug(dp->ap1, 0, sur, sizeof sur);
    correo = apr_psprintf(p, "%s.%s%u@ejemplo.mx", given, sur, rng_below(r, 1000));
    calle = streets[rng_below(r, COUNT(streets))];
    numext = apr_psprintf(p, "%u", 1 + rng_below(r, 2999));
    numint = rng_below(r, 4) == 0 ? apr_psprintf(p, "%u", 1 + rng_below(r, 40)) : NULL;
    if (afl_nss_compose(serie, reg % 100, dp->y % 100, 0, probe) != 0)
        return -2; /* serie out of range */
    /* The web assignment's allocator (afl_store_nss_take), on this command's
     * connection and inside its transaction: the registration year falls back
     * to earlier years when a prefix is full. */
    {
        afl_store store = {db, NULL, 1};
        afl_nss_folio f;
        afl_store_status s = afl_store_nss_take(p, &store, serie, reg, first, dp->y, &f);

        if (s == AFL_STORE_ERROR) {
            *dbrv = APR_EGENERAL; /* afl_db_errmsg gives the driver's last error */
            return -2;
        }
        if (s == AFL_STORE_OK) {
            const char *args[13] = {f.nss,
                                    curp,
                                    f.prefix,
                                    apr_itoa(p, f.folio),
                                    correo,
                                    place->cp,
                                    place->colonia,
                                    calle,
                                    numext,
                                    numint,
                                    umf->clave,
                                    apr_ltoa(p, (long)now),
                                    apr_ltoa(p, (long)now)};
            if ((*dbrv = afl_db_exec(db, p, AFL_SQL_DEMO_ASEGURADO_ADD, NULL, 13, args)))
                return -2;
            if (demo_cobertura(db, p, r, f.nss, curp, now, dbrv) != 0)
                return -2;
            st->with_nss++;
            return 0;
        }
    }
    st->no_folio++;
    return 0;
}

static int demo_one(afl_db *db, apr_pool_t *p, unsigned long long seed, unsigned long i,
                    const demo_geo *g, long long now, demo_stats *st, const ctl_opts *o)
{
    rng r = {seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(i + 1))};
    demo_person dp;
    afl_person ap;
    char curp[19];
    int ncand, rv;

    rng_next(&r);
    make_person(&r, &dp);
    memset(&ap, 0, sizeof ap);
    ap.given_names = dp.nombres;
    ap.first_surname = dp.ap1;
    ap.second_surname = dp.ap2;
    ap.birth_year = dp.y;
    ap.birth_month = dp.m;
    ap.birth_day = dp.d;
    ap.sex = dp.sex;
    ap.state = dp.state;
    ncand = dp.y < 2000 ? 10 : 26;
    for (int k = 0; k < ncand; k++) {
        persona_row pr;
        const char *curpp = curp;

        ap.homoclave = (char)(dp.y < 2000 ? '0' + k : 'A' + k);
        if (afl_curp_build(&ap, curp) != 0 || afl_curp_validate(curp, 18, NULL) != AFL_CURP_OK) {
            st->no_curp++;
            return 0;
        }
        memset(&pr, 0, sizeof pr);
        rv = afl_db_select(db, p, AFL_SQL_DEMO_PERSONA, 1, &curpp, take_persona, &pr, NULL);
        if (rv) {
            afiliatectl_err(o->cmd, "person %lu: %s", i + 1, afl_db_errmsg(db, rv));
            return -1;
        }
        if (pr.seen) {
            if (str_eq(pr.v[0], dp.nombres) && str_eq(pr.v[1], dp.ap1) && str_eq(pr.v[2], dp.ap2) &&
                str_eq(pr.v[3], dp.fecha) && pr.v[4] && pr.v[4][0] == dp.sex &&
                str_eq(pr.v[5], dp.state)) {
                st->existed++; /* same person from an earlier run */
                return 0;
            }
            st->collisions++;
            continue; /* homonym: next homoclave */
        }
        const char sexo[2] = {dp.sex, '\0'};
        const char *args[8] = {curp,     dp.nombres, dp.ap1,   *dp.ap2 ? dp.ap2 : NULL,
                               dp.fecha, sexo,       dp.state, dp.status};
        rv = afl_db_exec(db, p, AFL_SQL_DEMO_PERSONA_ADD, NULL, 8, args);
        if (rv) {
            afiliatectl_err(o->cmd, "person %lu: %s", i + 1, afl_db_errmsg(db, rv));
            return -1;
        }
        st->created++;
        /* ~30% of the active persons already hold an NSS. */
        if (ctl_status_active(dp.status) && rng_below(&r, 100) < 30) {
            int dbrv = 0;
            if (give_nss(db, p, &r, &dp, curp, g, now, st, &dbrv) != 0) {
                afiliatectl_err(o->cmd, "person %lu: cannot record the NSS: %s", i + 1,
                                dbrv ? afl_db_errmsg(db, dbrv) : "serie out of range");
                return -1;
            }
        }
        return 0;
    }
    st->no_curp++; /* every homoclave taken */
    return 0;
}

int ctl_do_demo_registry(apr_pool_t *pool, afl_db *db, const ctl_opts *o, long count,
                         unsigned long long seed)
{
    demo_geo g;
    demo_stats st;
    apr_pool_t *iter;
    apr_time_t t0 = apr_time_now();
    long long now = (long long)apr_time_sec(t0);
    int rc = 0, rv;

    if (afl_curp_init() != 0) {
        afiliatectl_err(o->cmd, "cannot initialise CURP validation");
        return 1;
    }
    if (ctl_prepare_all(db, o, demo_stmts, COUNT(demo_stmts)))
        return 1;
    memset(&st, 0, sizeof st);
    g.pool = pool;
    g.by_cp = apr_hash_make(pool);
    g.places = apr_array_make(pool, 256, sizeof(cp_ref));
    rv = afl_db_select(db, pool, AFL_SQL_DEMO_UMFS, 0, NULL, load_umf_row, &g, NULL);
    if (!rv)
        rv = afl_db_select(db, pool, AFL_SQL_DEMO_PLACES, 0, NULL, load_place_row, &g, NULL);
    if (rv) {
        afiliatectl_err(o->cmd, "%s", afl_db_errmsg(db, rv));
        return 1;
    }
    if (g.places->nelts == 0) {
        afiliatectl_err(
            o->cmd, "no postal code is served by a UMF: first import SEPOMEX (import-sepomex) and "
                    "the UMFs (import-umf), or use seed-demo");
        return 1;
    }
    apr_pool_create(&iter, pool);
    if (ctl_begin_txn(db, pool, o))
        return 1;
    for (long i = 0; i < count && rc == 0; i++) {
        if (demo_one(db, iter, seed, (unsigned long)i, &g, now, &st, o))
            rc = 1;
        apr_pool_clear(iter);
    }
    rc = ctl_end_txn(db, o, rc);
    apr_pool_destroy(iter);
    if (rc) {
        afiliatectl_err(o->cmd, "nothing was generated");
        return rc;
    }
    fprintf(stderr,
            "demo-registry: %ld persons (seed %llu) in %.2f s; %lu homonyms resolved with "
            "another homoclave; %lu without a possible CURP; %lu without a free folio\n",
            count, seed, ctl_seconds_since(t0), st.collisions, st.no_curp, st.no_folio);
    printf("demo-registry: %lu new persons, %lu already existed, %lu with NSS; "
           "registry: %lld persons, %lld insured\n",
           st.created, st.existed, st.with_nss,
           ctl_count_of(db, pool, AFL_SQL_PERSONA_COUNT, 0, NULL),
           ctl_count_of(db, pool, AFL_SQL_ASEGURADO_COUNT, 0, NULL));
    return 0;
}

static const char usage_demo_registry[] =
    "usage: afiliatectl demo-registry --count N --seed S --db PATH [--driver sqlite3|pgsql]\n\n"
    "Generates N synthetic persons of the RENAPO registry (born 1995-2010, in the 32\n"
    "states and NE, names with accents and Ñ) with CURPs built from their data.\n"
    "Same seed, same persons: running it again adds no duplicates (persons already\n"
    "present are skipped). ~97% AN, a few AH/RCN/RCC/CRA, ~1% inactive; ~30% of the\n"
    "active ones already hold an NSS (asegurado 'localizado', with an address in an\n"
    "imported postal code and a UMF serving it; folio taken from folio_contador, like\n"
    "the web assignment). Needs SEPOMEX and UMFs imported. One single transaction.\n";

int afiliatectl_demo_registry(apr_pool_t *pool, int argc, const char *const *argv)
{
    ctl_opts o;
    afl_db *db;
    int rc = ctl_parse_opts(argc, argv, OPT_DB | OPT_DRIVER | OPT_COUNT | OPT_SEED, 0, 0,
                            usage_demo_registry, &o);

    if (rc)
        return rc == 1 ? 0 : 2;
    if (!o.count_set || !o.seed_set) {
        afiliatectl_err(o.cmd, "--count N and --seed S are required");
        return 2;
    }
    if (!(db = ctl_open_db(pool, &o, 1)))
        return 1;
    rc = ctl_do_demo_registry(pool, db, &o, o.count, o.seed);
    afl_db_close(db);
    return rc;
}
