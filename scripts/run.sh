#!/usr/bin/env bash
# `make run`: seed the embedded database once, write var/httpd.conf, run apache2
# in the foreground on 127.0.0.1:$PORT until Ctrl-C or SIGTERM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

PORT=${PORT:-8080}
# Documents print the local date and time: Mexico City's unless TZ says otherwise.
export TZ=${TZ:-America/Mexico_City}
MPM=${MPM:-event}
# Apache's children (www-data) must reach the data, and the checkout may be closed to
# them (a clone under /root): the data lives in this checkout's runtime folder, and
# var/ here is a link to it (scripts/runtime.py).
var=$(/usr/bin/python3 scripts/runtime.py var)
htdocs=$(/usr/bin/python3 scripts/runtime.py htdocs)
db="$var/data/afiliate.db"
mkdir -p "$var/data"

if [ ! -s "$var/afiliate.secret" ]; then
  umask 077
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$var/afiliate.secret"
  echo >> "$var/afiliate.secret"
  umask 022
  echo "run: generated var/afiliate.secret"
fi
if [ "$(id -u)" -eq 0 ]; then chown www-data:www-data "$var/afiliate.secret"; chmod 600 "$var/afiliate.secret"; fi

# The documents' signing key (sello digital): made once, never overwritten.
if [ ! -s "$var/afiliate-signing.key" ]; then
  build/afiliatectl keygen --out-dir "$var"
fi
chmod 600 "$var/afiliate-signing.key"
if [ "$(id -u)" -eq 0 ]; then chown www-data:www-data "$var/afiliate-signing.key"; fi

if [ ! -s "$db" ]; then
  echo "run: creating $db (schema, SEPOMEX subset, demo UMFs, 100,000 demo persons)"
  build/afiliatectl seed-demo --db "$db" --count 100000
fi
# Idempotent: brings a database made by an older build up to the current schema.
build/afiliatectl init-db --db "$db" >/dev/null
ln -sfn data/afiliate.db "$var/afiliate.db"

# RENAPO=double: identity from the RENAPO test double (docs/renapo.md), HTTPS with mutual
# TLS on 127.0.0.1:$RENAPO_PORT, answering from the demo database's registry.
renapo=()
double_pid=
case "${RENAPO:-}" in
  "") ;;
  double)
    pki="$var/renapo-pki"
    RENAPO_PORT=${RENAPO_PORT:-8443}
    /usr/bin/python3 tests/renapo_double.py --pki "$pki" --port "$RENAPO_PORT" --sqlite "$db" &
    double_pid=$!
    for _ in $(seq 50); do [ -s "$pki/client.pem" ] && break; sleep 0.1; done
    renapo=(--extra "AfiliateIdentitySource remote"
            --extra "AfiliateRenapoURL https://127.0.0.1:$RENAPO_PORT/renapo/v1/curp"
            --extra "AfiliateRenapoCAFile \"$pki/ca.pem\""
            --extra "AfiliateRenapoClientCert \"$pki/client.pem\" \"$pki/client.key\"")
    ;;
  *) echo "run: RENAPO must be empty or 'double', not '$RENAPO'" >&2; exit 2 ;;
esac
stop_double() { [ -z "$double_pid" ] || kill -TERM "$double_pid" 2>/dev/null || true; }
trap stop_double EXIT

conf=$(/usr/bin/python3 scripts/genconf.py --root "$var" --port "$PORT" --mpm "$MPM" \
       --module "$top/build/mod_afiliate.so" --db "$db" --htdocs "$htdocs" --secret "$var/afiliate.secret" \
       --signing-key "$var/afiliate-signing.key" \
       ${SMTP_URL:+--extra "AfiliateSMTPURL $SMTP_URL"} "${renapo[@]}")
/usr/sbin/apache2 -d "$var" -f "$conf" -t >/dev/null

echo "run: serving http://127.0.0.1:$PORT/afiliate/ (Ctrl-C to stop; log: var/error_log, var/ is $var)"
if [ -n "$double_pid" ]; then
  echo "run: identity from the RENAPO test double, https://127.0.0.1:$RENAPO_PORT/renapo/v1/curp/<CURP>" \
       "(AfiliateIdentitySource remote, mutual TLS; certificates in $pki)"
fi
if [ -n "${SMTP_URL:-}" ]; then
  echo "run: mail goes to $SMTP_URL (AfiliateSMTPURL); watch it with: build/afiliatectl outbox status --db $db"
else
  echo "run: mail delivery disabled: AfiliateSMTPURL not set; messages wait in the outbox" \
       "(make run SMTP_URL=smtp://127.0.0.1:2525 to deliver them)"
fi
/usr/sbin/apache2 -d "$var" -f "$conf" -DFOREGROUND &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop TERM INT HUP
# wait returns early when a trapped signal arrives; wait again for the real exit.
wait "$pid" || true
wait "$pid" 2>/dev/null || true
echo "run: apache2 stopped"
