'use strict';
// E-mail confirmation (AfiliateConfirmarCorreo On) in a real browser. The
// link is clicked in a "mail client" on another site (a page of
// https://correo.example, served by the browser itself) on a phone that never
// saw the trámite and runs no JavaScript: the link's page sets the
// SameSite=Strict session cookie and moves on by itself, and the next page
// gets that cookie. The same cookie is not sent when another site links to a
// page of the procedure directly, which is why the link answers with a page
// and not a redirect.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const lib = require('./lib');

const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const MAIL = 'https://correo.example/bandeja';

let env;

before(async () => {
  env = await lib.setup('confirmar', { conf: ['AfiliateConfirmarCorreo On'] });
});
afterEach(async () => { if (env) await env.closePages(); });
after(async () => { if (env) await env.teardown(); });

/** The link queued for correo (the outbox row; this server sends no mail). */
function queuedLink(correo) {
  const r = spawnSync(PYTHON, ['-c',
    'import sqlite3, sys\n' +
    'c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)\n' +
    'print(c.execute("SELECT enlace FROM outbox WHERE kind = \'confirmacion\' AND '
    + 'recipient = ? ORDER BY id DESC", (sys.argv[2],)).fetchone()[0])',
    env.server.db, correo], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const link = new URL(r.stdout.trim());
  assert.equal(link.pathname, '/afiliate/confirmar');
  // httpd names itself by its ServerName; the test reaches it on loopback.
  return env.server.base + link.pathname + link.search;
}

/** A page of another site with one link, the way a webmail shows the message. */
async function mailClient(page, href) {
  await page.route(MAIL, (route) => route.fulfill({
    status: 200, contentType: 'text/html; charset=UTF-8',
    body: `<!DOCTYPE html><html lang="es-MX"><title>Correo</title><a id="liga" href="${href}">Abrir</a></html>`,
  }));
  await page.goto(MAIL);
}

test('the link, clicked on another site on a phone without JavaScript, continues the trámite', { timeout: 90000 }, async () => {
  const { curp } = env.curp('found');
  const correo = `liga-${Date.now()}@ejemplo.mx`;
  const desktop = await env.page('desktop');
  await desktop.goto(env.base + '/nss');
  await lib.fillNss(desktop, env, { curp, correo });
  await lib.submitAndWait(desktop, 'button:has-text("Continuar")');
  assert.equal(desktop.url(), env.base + '/confirmar');
  assert.equal(await lib.text(desktop, 'h1'), 'Revisa tu correo electrónico');
  assert.match(await lib.text(desktop, 'main'), /li\*\*\*@ej\*\*\*\.mx/);
  await lib.check(desktop, 'confirmar-01-revisa-tu-correo');

  const phone = await env.page('phone', { javaScriptEnabled: false });
  const link = queuedLink(correo);
  await mailClient(phone, link);
  const opened = phone.waitForRequest((r) => r.url().startsWith(env.base + '/confirmar?t='));
  const next = phone.waitForRequest((r) => r.url() === env.base + '/resultado');
  await phone.click('#liga');
  const first = await opened;
  // A phone that never saw the trámite: no cookie of ours goes with the click.
  assert.equal((await first.allHeaders()).cookie, undefined);
  // The page it gets moves on by itself (no JavaScript here), same-site, with the cookie.
  const second = await next;
  assert.match((await second.allHeaders()).cookie || '', /afiliate_tramite=[0-9a-f]{32}/);
  await phone.waitForURL(env.base + '/resultado');
  assert.equal(await lib.text(phone, 'h1'), 'Tu Número de Seguridad Social ha sido localizado');
  const [cookie] = await phone.context().cookies();
  assert.equal(cookie.name, 'afiliate_tramite');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');

  // The same cookie is withheld when another site links to a page of the
  // procedure directly: a redirect from the link would have lost it.
  await mailClient(phone, env.base + '/comprobante');
  await phone.click('#liga');
  await phone.waitForURL(env.base + '/comprobante');
  assert.equal(await lib.text(phone, 'h1'), 'Documento no disponible');
  // Back on our own site the session is there.
  await phone.goto(env.base + '/resultado');
  assert.equal(await lib.text(phone, 'h1'), 'Tu Número de Seguridad Social ha sido localizado');

  // The link a second time, from any site: "ya usada".
  await mailClient(phone, link);
  await phone.click('#liga');
  await phone.waitForLoadState('load');
  assert.equal(await lib.text(phone, 'h1'), 'Liga ya usada');
});
