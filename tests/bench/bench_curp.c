/* Benchmark: afl_curp_validate on one thread for about 2 s over a mixed set
 * (7 in 8 valid). Prints validations per second and ns per validation. */
#include "afl_curp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_INPUTS 256

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const char *const states[] = {"DF", "NE", "JC", "NL", "MC", "YN", "ZS", "AS"};
    static const char *const invalid[] = {"SABC560626MDFLRN02", "SABC560626ZDFLRN01",
                                          "SABC561326MDFLRN01", " sabc560626mdflrn0",
                                          "BUEY560626MDFLRN05", "SBBC560626MDFLRN01"};
    static char inputs[N_INPUTS][24];
    size_t lens[N_INPUTS];
    double seconds = argc > 1 ? atof(argv[1]) : 2.0, t0, t1;
    unsigned long long n = 0;
    unsigned seed = 42, ok = 0;
    volatile unsigned sink = 0; /* keeps the results alive */

    if (afl_curp_init() != 0) {
        fprintf(stderr, "afl_curp_init failed\n");
        return 1;
    }
    /* Valid CURPs with varied letters, dates and centuries; every 8th one is
     * invalid for one of several reasons. Some carry blanks or lower case. */
    for (int i = 0; i < N_INPUTS; i++) {
        char *s = inputs[i];
        if (i % 8 == 7) {
            strcpy(s, invalid[(i / 8) % 6]);
        } else {
            int dv;
            seed = seed * 1103515245u + 12345u;
            snprintf(s, sizeof inputs[i], "%c%c%c%c%02u%02u%02u%c%s%c%c%c%c",
                     'A' + (seed >> 3) % 26, "AEIOUX"[(seed >> 7) % 6], 'A' + (seed >> 9) % 26,
                     'A' + (seed >> 13) % 26, (seed >> 17) % 100, 1 + (seed >> 5) % 12,
                     1 + (seed >> 11) % 28, "HMX"[seed % 3], states[(seed >> 20) % 8],
                     "BCDFGHJKLMNPQRSTVWXYZ"[(seed >> 2) % 21], "BCDFGHJKLMNPQRSTVWXYZ"[i % 21],
                     "BCDFGHJKLMNPQRSTVWXYZ"[(seed >> 23) % 21],
                     i % 2 ? '0' + (seed >> 8) % 10 : 'A' + (seed >> 8) % 26);
            if (afl_curp_is_inconvenient(s))
                s[1] = 'X';
            dv = afl_curp_check_digit(s);
            s[17] = (char)('0' + dv);
            s[18] = '\0';
            if (i % 16 == 3) { /* surrounding blanks and lower case */
                memmove(s + 1, s, 19);
                s[0] = ' ';
                s[1] = (char)(s[1] | 0x20);
            }
        }
        lens[i] = strlen(s);
        ok += afl_curp_validate(s, lens[i], NULL) == AFL_CURP_OK;
    }

    t0 = now();
    do {
        for (int r = 0; r < 64; r++)
            for (int i = 0; i < N_INPUTS; i++)
                sink += (unsigned)afl_curp_validate(inputs[i], lens[i], NULL);
        n += 64 * N_INPUTS;
        t1 = now();
    } while (t1 - t0 < seconds);

    (void)sink;
    printf("inputs: %d (%u valid)\n", N_INPUTS, ok);
    printf("curp validations per second (1 thread): %.0f\n", (double)n / (t1 - t0));
    printf("ns per validation: %.1f\n", (t1 - t0) * 1e9 / (double)n);
    return 0;
}
