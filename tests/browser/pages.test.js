'use strict';
// The other pages a student may meet (403, 404, 429), the 320 px screen,
// a new CAPTCHA image without losing what was typed, and a check that
// axe-core really reports what it should.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib');

let env;

before(async () => { env = await lib.setup('pages'); });
afterEach(async () => { if (env) await env.closePages(); });
after(async () => { if (env) await env.teardown(); });

test('axe-core reports a page with WCAG problems (the check is live)', async () => {
  const page = await env.page('desktop');
  await page.goto(env.base + '/nss');
  // Break the page the way a careless restyling could.
  await page.evaluate(() => {
    document.documentElement.removeAttribute('lang');
    document.querySelector('label[for=curp]').remove();
    document.querySelector('img.captcha').removeAttribute('alt');
  });
  const { violations } = await lib.axeRun(page);
  const ids = violations.map((v) => v.id).sort();
  for (const rule of ['html-has-lang', 'image-alt', 'label']) {
    assert.ok(ids.includes(rule), `axe-core found ${ids}`);
  }
});

test('desktop: Solicitar otra imagen gives a new CAPTCHA and keeps what was typed', { timeout: 60000 }, async () => {
  const { curp } = env.curp('found');
  const page = await env.page('desktop');
  await page.goto(env.base + '/nss');
  const first = await page.inputValue('input[name=captcha_id]');
  await lib.fillNss(page, env, { curp });
  const image = page.waitForResponse((r) => r.url().includes('/captcha/') && !r.url().includes(first));
  await page.getByRole('link', { name: 'Solicitar otra imagen' }).click();
  assert.equal((await image).status(), 200);
  await page.waitForFunction((id) => document.querySelector('input[name=captcha_id]').value !== id, first);
  const second = await page.inputValue('input[name=captcha_id]');
  assert.notEqual(second, first);
  assert.equal(await page.locator('#captcha-imagen').getAttribute('src'), `/afiliate/captcha/${second}.png`);
  assert.equal(page.url(), env.base + '/nss', 'the page was not reloaded');
  assert.equal(await page.inputValue('#curp'), curp, 'the CURP typed is kept');
  assert.equal(await page.inputValue('#captcha'), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'captcha');
  assert.equal(await lib.text(page, '#captcha-estado'), 'Se muestra una imagen nueva.');
  // The new image's answer is the one that counts.
  await page.fill('#captcha', lib.captchaAnswer(env.server.secret, second));
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  assert.equal(page.url(), env.base + '/resultado');
});

test('narrow (320 px): every step of a new CURP reads without sideways scrolling', { timeout: 60000 }, async () => {
  const page = await env.page('narrow');
  await page.goto(env.base + '/');
  await lib.check(page, 'narrow-01-inicio');
  await page.goto(env.base + '/nss');
  await lib.fillNss(page, env, { curp: env.curp('new'), captcha: 'x' });
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  await lib.check(page, 'narrow-03-formulario-errores');
  await lib.fillNss(page, env, { curp: await page.inputValue('#curp') });
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  await page.fill('#cp', '06700');
  await page.getByRole('button', { name: 'Aceptar' }).click();
  await page.waitForFunction(() => document.querySelector('#colonia').options.length > 1);
  await page.selectOption('#colonia', 'Roma Norte');
  await page.fill('#calle', 'Avenida de los Insurgentes Sur');
  await page.fill('#numero_exterior', '1234');
  await lib.check(page, 'narrow-05-domicilio-lleno');
  // Enter in a field sends the form (not Aceptar, its first button).
  await Promise.all([page.waitForURL(env.base + '/resultado'), page.press('#numero_exterior', 'Enter')]);
  assert.equal(await lib.text(page, 'h1'), 'Asignación de NSS exitosa.');
  await lib.check(page, 'narrow-06-resultado-asignado');
});

test('desktop: address form errors: summary, focus and the Colonia check', { timeout: 60000 }, async () => {
  const page = await env.page('desktop');
  await page.goto(env.base + '/nss');
  await lib.fillNss(page, env, { curp: env.curp('new') });
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  // Continuar with nothing typed.
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'resumen-errores');
  const hrefs = await page.locator('#resumen-errores a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(hrefs, ['#cp', '#colonia', '#calle', '#numero_exterior']);
  await lib.check(page, 'desktop-04b-domicilio-errores');
  // A postal code without a UMF: the lookup says so and the form stays.
  await page.fill('#cp', '00000');
  await page.getByRole('button', { name: 'Aceptar' }).click();
  await page.locator('#cp-estado', { hasText: 'no se encuentra relacionado a ninguna Unidad Médica Familiar' }).waitFor();
  assert.equal(await page.inputValue('#estado'), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'cp');
  assert.equal(page.url(), env.base + '/domicilio');
});

test('desktop: 404 page: the comprobante without a finished Paso 1', async () => {
  const page = await env.page('desktop');
  const resp = await page.goto(env.base + '/comprobante');
  assert.equal(resp.status(), 404);
  assert.equal(await lib.text(page, 'h1'), 'Documento no disponible');
  assert.equal(await page.locator('.aviso').getAttribute('role'), 'alert');
  await lib.check(page, 'desktop-08-aviso-404');
  await lib.submitAndWait(page, 'a:has-text("Iniciar el trámite")');
  assert.equal(page.url(), env.base + '/nss');
});

test('desktop: 403 page: the session cookie was lost', async () => {
  const page = await env.page('desktop');
  await page.goto(env.base + '/nss');
  await lib.fillNss(page, env, { curp: env.curp('found').curp });
  await page.context().clearCookies();
  const resp = page.waitForResponse((r) => r.request().method() === 'POST');
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  assert.equal((await resp).status(), 403);
  assert.equal(await lib.text(page, 'h1'), 'Sesión no válida');
  await lib.check(page, 'desktop-09-aviso-403');
});

test('phone: 429 page: too many submissions in a minute', { timeout: 60000 }, async () => {
  // /afiliate-limitado allows 2 submissions a minute (serve.py).
  const page = await env.page('phone');
  const base = env.server.base + '/afiliate-limitado';
  await page.goto(base + '/nss');
  const statuses = [];
  page.on('response', (r) => { if (r.request().method() === 'POST') statuses.push(r.status()); });
  for (let i = 0; i < 3; i++) {
    await lib.fillNss(page, env, { curp: 'XXXX000000XXXXXX00', captcha: 'x' });
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
  }
  assert.deepEqual(statuses, [400, 400, 429]);
  assert.equal(await lib.text(page, 'h1'), 'Demasiadas solicitudes');
  await lib.check(page, 'phone-10-aviso-429');
});
