/* Unit tests: afl_smtp against a real SMTP server on loopback (tests/smtp_sink.py,
 * Debian's python3-aiosmtpd): delivery byte for byte, reply classes, refused
 * connections, mandatory STARTTLS; URL and credentials-file checks. */
#include <check.h>
#include "check_run.h"
#include <apr_general.h>
#include <apr_strings.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "afl_smtp.h"

static apr_pool_t *pool;

/* A sink process: tests/smtp_sink.py, stopped by closing its stdin. */
typedef struct {
    int port;
    char dir[64];
    pid_t pid;
    int in;
} sink;

static sink plain = {0, "", 0, -1}; /* no TLS, no AUTH */
static sink tls = {0, "", 0, -1};   /* STARTTLS offered, AUTH required after it */
static char cert[] = "/tmp/afl_smtp_certXXXXXX";

#define AUTH_USER "afiliate"
#define AUTH_PASS "s3cr3t:con:dos-puntos"

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static int start_sink(sink *k, const char *const *extra)
{
    int in[2], out[2];
    char line[64];
    FILE *f;

    snprintf(k->dir, sizeof k->dir, "/tmp/afl_smtp_sinkXXXXXX");
    /* Close-on-exec: a second sink must not inherit the first one's stdin,
     * or closing it would not stop the first. */
    if (!mkdtemp(k->dir) || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        return 0;
    k->pid = fork();
    if (k->pid == 0) {
        const char *argv[16] = {"python3", "tests/smtp_sink.py", "--dir", k->dir};
        int n = 4;
        for (; extra && *extra && n < 15; extra++)
            argv[n++] = *extra;
        argv[n] = NULL;
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execv("/usr/bin/python3", (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    k->in = in[1];
    f = fdopen(out[0], "r");
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "PORT %d", &k->port) != 1)
        return 0;
    fclose(f);
    return k->port;
}

static void stop_sink(sink *k)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    if (k->in >= 0)
        close(k->in);
    if (k->pid > 0)
        waitpid(k->pid, NULL, 0);
    d = opendir(k->dir);
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", k->dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(k->dir);
}

/* A self-signed certificate for 127.0.0.1 (cert holds both key and certificate). */
static int make_cert(void)
{
    char cmd[512];
    int fd = mkstemp(cert);

    if (fd < 0)
        return 0;
    close(fd);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -days 2 -keyout %s.key -out %s "
             ">/dev/null 2>&1",
             cert, cert);
    return system(cmd) == 0;
}

static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &n);
    port = ntohs(a.sin_port);
    close(s); /* bound, never listening, now closed: connections are refused */
    return port;
}

/* The content of the message holding needle that a sink stored, or NULL. */
static const char *stored_in(const sink *k, const char *needle)
{
    DIR *d = opendir(k->dir);
    struct dirent *e;
    const char *found = NULL;

    while (d && (e = readdir(d)) && !found) {
        char *path, *buf;
        FILE *f;
        long n;

        if (e->d_name[0] == '.')
            continue;
        path = apr_pstrcat(pool, k->dir, "/", e->d_name, NULL);
        f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = apr_palloc(pool, (apr_size_t)n + 1);
        buf[fread(buf, 1, (size_t)n, f)] = '\0';
        fclose(f);
        if (strstr(buf, needle))
            found = buf;
    }
    if (d)
        closedir(d);
    return found;
}

static const char *stored_message(const char *needle)
{
    return stored_in(&plain, needle);
}

static afl_smtp_conf conf_for(int port)
{
    afl_smtp_conf c;
    memset(&c, 0, sizeof c);
    c.url = apr_psprintf(pool, "smtp://127.0.0.1:%d", port);
    c.connect_timeout_ms = 3000;
    c.timeout_ms = 10000;
    return c;
}

static const char *message(const char *id)
{
    return apr_psprintf(pool,
                        "From: no-reply@imss.example.mx\r\nTo: estudiante@ejemplo.mx\r\n"
                        "Subject: prueba\r\nMessage-ID: <%s@imss.example.mx>\r\n\r\n"
                        "Primera linea\r\n.Una linea que empieza con punto\r\n..dos\r\n.\r\n"
                        "Fin\r\n",
                        id);
}

START_TEST(delivers_bytes_unchanged)
{
    afl_smtp_conf c = conf_for(plain.port);
    afl_smtp *s = afl_smtp_open(pool, &c);
    const char *msg = message("bytes-1");
    const char *stored;
    char err[200];
    int code = -1;

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "estudiante@ejemplo.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_SENT);
    ck_assert_int_eq(code, 250);
    stored = stored_message("<bytes-1@");
    ck_assert_ptr_nonnull(stored);
    /* Dot-stuffing is undone by the server: exactly our bytes arrive. */
    ck_assert_str_eq(stored, msg);
}
END_TEST

START_TEST(one_session_many_messages)
{
    afl_smtp_conf c = conf_for(plain.port);
    afl_smtp *s = afl_smtp_open(pool, &c);
    char err[200];
    int code;

    for (int i = 0; i < 5; i++) {
        const char *id = apr_psprintf(pool, "many-%d", i);
        const char *msg = message(id);
        ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "estudiante@ejemplo.mx", msg,
                                       strlen(msg), &code, err, sizeof err),
                         AFL_SMTP_SENT);
    }
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_nonnull(stored_message(apr_psprintf(pool, "<many-%d@", i)));
}
END_TEST

START_TEST(reply_classes)
{
    afl_smtp_conf c = conf_for(plain.port);
    afl_smtp *s = afl_smtp_open(pool, &c);
    const char *msg = message("classes");
    char err[200];
    int code;

    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "permfail@ejemplo.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_PERMFAIL);
    ck_assert_int_eq(code, 550);
    ck_assert_ptr_null(strstr(err, "permfail@")); /* no address in the error text */
    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "tempfail@ejemplo.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_TEMPFAIL);
    ck_assert_int_eq(code, 451);
    /* The same session still delivers afterwards. */
    msg = message("after-classes");
    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "estudiante@ejemplo.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_SENT);
    ck_assert_ptr_nonnull(stored_message("<after-classes@"));
}
END_TEST

START_TEST(refused_connection_is_temporary)
{
    afl_smtp_conf c = conf_for(closed_port());
    afl_smtp *s = afl_smtp_open(pool, &c);
    const char *msg = message("refused");
    char err[200];
    int code = -1;

    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "estudiante@ejemplo.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_TEMPFAIL);
    ck_assert_int_eq(code, 0);
    ck_assert(strlen(err) > 0);
}
END_TEST

START_TEST(required_starttls_never_falls_back)
{
    afl_smtp_conf c = conf_for(plain.port);
    afl_smtp *s;
    const char *msg = message("cleartext");
    char err[200];
    int code;

    c.require_tls = 1; /* the sink offers no STARTTLS */
    s = afl_smtp_open(pool, &c);
    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "estudiante@ejemplo.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_TEMPFAIL);
    ck_assert_ptr_null(stored_message("<cleartext@"));
}
END_TEST

START_TEST(bad_envelope_refused)
{
    afl_smtp_conf c = conf_for(plain.port);
    afl_smtp *s = afl_smtp_open(pool, &c);
    const char *msg = message("envelope");
    char err[200];
    int code;

    ck_assert_int_eq(afl_smtp_send(s, "no-reply@imss.example.mx", "a@b.mx>\r\nRCPT TO:<c@d.mx", msg,
                                   strlen(msg), &code, err, sizeof err),
                     AFL_SMTP_PERMFAIL);
    ck_assert_ptr_null(stored_message("<envelope@"));
}
END_TEST

static afl_smtp_result send_tls(afl_smtp_conf *c, const char *id, int *code)
{
    afl_smtp *s = afl_smtp_open(pool, c);
    const char *msg = message(id);
    char err[200];

    return afl_smtp_send(s, "no-reply@imss.example.mx", "estudiante@ejemplo.mx", msg, strlen(msg),
                         code, err, sizeof err);
}

START_TEST(starttls_with_credentials)
{
    afl_smtp_conf c = conf_for(tls.port);
    int code;

    c.require_tls = 1;
    c.ca_file = cert;
    c.username = AUTH_USER;
    c.password = AUTH_PASS;
    ck_assert_int_eq(send_tls(&c, "tls-ok", &code), AFL_SMTP_SENT);
    ck_assert_ptr_nonnull(stored_in(&tls, "<tls-ok@"));
    /* Opportunistic (not required) also upgrades when the relay offers it. */
    c.require_tls = 0;
    ck_assert_int_eq(send_tls(&c, "tls-try", &code), AFL_SMTP_SENT);
    ck_assert_ptr_nonnull(stored_in(&tls, "<tls-try@"));
}
END_TEST

START_TEST(starttls_unverified_certificate_sends_nothing)
{
    afl_smtp_conf c = conf_for(tls.port);
    int code;

    c.require_tls = 1; /* no ca_file: the self-signed certificate is not trusted */
    c.username = AUTH_USER;
    c.password = AUTH_PASS;
    ck_assert_int_eq(send_tls(&c, "tls-untrusted", &code), AFL_SMTP_TEMPFAIL);
    ck_assert_ptr_null(stored_in(&tls, "<tls-untrusted@"));
}
END_TEST

START_TEST(authentication_failures_are_temporary)
{
    afl_smtp_conf c = conf_for(tls.port);
    int code;

    c.require_tls = 1;
    c.ca_file = cert;
    c.username = AUTH_USER;
    c.password = "wrong";
    ck_assert_int_eq(send_tls(&c, "auth-wrong", &code), AFL_SMTP_TEMPFAIL);
    c.username = NULL; /* the relay requires AUTH: 530 is our configuration */
    ck_assert_int_eq(send_tls(&c, "auth-none", &code), AFL_SMTP_TEMPFAIL);
    ck_assert_int_eq(code, 530);
    ck_assert_ptr_null(stored_in(&tls, "<auth-"));
}
END_TEST

START_TEST(urls)
{
    const char *why;

    ck_assert(afl_smtp_url_ok("smtp://127.0.0.1:2525", NULL));
    ck_assert(afl_smtp_url_ok("smtps://relay.imss.gob.mx:465", NULL));
    ck_assert(afl_smtp_url_ok("SMTP://relay:587/afiliate.imss.gob.mx", NULL));
    ck_assert(!afl_smtp_url_ok("http://relay", &why) && why);
    ck_assert(!afl_smtp_url_ok("smtp://", &why) && why);
    ck_assert(!afl_smtp_url_ok("smtp://:25", &why) && why);
    ck_assert(!afl_smtp_url_ok("smtp://user:pw@relay", &why) && strstr(why, "Credentials"));
    ck_assert(!afl_smtp_url_ok("smtp://relay\r\n", &why) && why);
    ck_assert(!afl_smtp_url_ok("smtp://re lay", &why) && why);
    ck_assert(!afl_smtp_url_ok("smtp://relay/?x=1", &why) && why);
    ck_assert(!afl_smtp_url_ok("", &why) && why);
    ck_assert(!afl_smtp_url_ok(NULL, &why) && why);
}
END_TEST

static const char *write_file(const char *content)
{
    char *path = apr_pstrdup(pool, "/tmp/afl_credXXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq((int)write(fd, content, strlen(content)), (int)strlen(content));
    close(fd);
    return path;
}

START_TEST(credentials_file)
{
    const char *user, *pass, *err, *path;

    path = write_file("afiliate:s3cr:et\n");
    ck_assert_int_eq(afl_smtp_read_credentials(pool, path, &user, &pass, &err), 0);
    ck_assert_str_eq(user, "afiliate");
    ck_assert_str_eq(pass, "s3cr:et");
    unlink(path);
    path = write_file("afiliate:pw");
    ck_assert_int_eq(afl_smtp_read_credentials(pool, path, &user, &pass, &err), 0);
    ck_assert_str_eq(pass, "pw");
    unlink(path);
    path = write_file("afiliate:pw\r\n\r\n");
    ck_assert_int_eq(afl_smtp_read_credentials(pool, path, &user, &pass, &err), 0);
    unlink(path);
    static const char *const bad[] = {"sin-dos-puntos\n", ":pw\n",     "user:\n",
                                      "a:b\nc:d\n",       "a:b\x01\n", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = write_file(bad[i]);
        ck_assert_int_ne(afl_smtp_read_credentials(pool, path, &user, &pass, &err), 0);
        ck_assert_ptr_nonnull(err);
        /* The message never quotes the file's content. */
        ck_assert_ptr_null(strstr(err, "pw"));
        unlink(path);
    }
    ck_assert_int_ne(afl_smtp_read_credentials(pool, "/nonexistent/cred", &user, &pass, &err), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtp");
    TCase *tc = tcase_create("core");
    int failed;
    char keyfile[64];
    const char *tls_args[] = {
        "--tls-cert", cert, "--tls-key", keyfile, "--auth", AUTH_USER ":" AUTH_PASS, NULL};

    apr_initialize();
    signal(SIGPIPE, SIG_IGN);
    if (!make_cert()) {
        fprintf(stderr, "test_smtp: cannot make a certificate with openssl\n");
        return EXIT_FAILURE;
    }
    snprintf(keyfile, sizeof keyfile, "%s.key", cert);
    if (afl_smtp_global_init() != 0 || !start_sink(&plain, NULL) || !start_sink(&tls, tls_args)) {
        fprintf(stderr, "test_smtp: cannot start tests/smtp_sink.py (python3-aiosmtpd)\n");
        return EXIT_FAILURE;
    }
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, delivers_bytes_unchanged);
    tcase_add_test(tc, one_session_many_messages);
    tcase_add_test(tc, reply_classes);
    tcase_add_test(tc, refused_connection_is_temporary);
    tcase_add_test(tc, required_starttls_never_falls_back);
    tcase_add_test(tc, bad_envelope_refused);
    tcase_add_test(tc, starttls_with_credentials);
    tcase_add_test(tc, starttls_unverified_certificate_sends_nothing);
    tcase_add_test(tc, authentication_failures_are_temporary);
    tcase_add_test(tc, urls);
    tcase_add_test(tc, credentials_file);
    suite_add_tcase(s, tc);
    failed = check_run(s);
    stop_sink(&plain);
    stop_sink(&tls);
    unlink(cert);
    unlink(keyfile);
    afl_smtp_global_cleanup();
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
