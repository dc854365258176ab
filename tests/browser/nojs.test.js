'use strict';
// The whole procedure with JavaScript turned off: the pages are plain HTML
// forms; Aceptar posts the address form and the server fills Estado,
// Municipio and the colonias.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib');

let env;

before(async () => { env = await lib.setup('nojs'); });
afterEach(async () => { if (env) await env.closePages(); });
after(async () => { if (env) await env.teardown(); });

async function noJsPage(profile) {
  const page = await env.page(profile, { javaScriptEnabled: false });
  // axe-core and the checks run through the DevTools protocol, which works
  // with JavaScript disabled for the page itself; make sure that is so.
  await page.goto(env.base + '/');
  assert.equal(await page.evaluate(() => 1 + 1), 2);
  return page;
}

for (const profile of ['desktop', 'phone']) {
  test(`${profile}, no JavaScript: a new CURP from the landing page to Finalizar Trámite`, { timeout: 90000 }, async () => {
    const curp = env.curp('new');
    const page = await noJsPage(profile);
    const label = `nojs-${profile}`;
    await lib.check(page, `${label}-01-inicio`);
    await lib.submitAndWait(page, 'a:has-text("Paso 1")');
    await lib.check(page, `${label}-02-formulario`);

    // A first attempt with a wrong CAPTCHA: the summary takes the focus (autofocus).
    await lib.fillNss(page, env, { curp, captcha: 'equivocado' });
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'resumen-errores');
    assert.deepEqual(await page.locator('#resumen-errores a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))),
      ['#captcha']);
    await lib.check(page, `${label}-03-formulario-errores`);
    // Without JavaScript a summary link goes to the field by its fragment.
    await page.getByRole('link', { name: 'El captcha no fue válido, favor de intentar nuevamente' }).click();
    assert.match(page.url(), /#captcha$/);

    // "Solicitar otra imagen" reloads the form with a new image.
    const before = await page.inputValue('input[name=captcha_id]');
    await lib.submitAndWait(page, 'a:has-text("Solicitar otra imagen")');
    assert.notEqual(await page.inputValue('input[name=captcha_id]'), before);

    await lib.fillNss(page, env, { curp });
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    assert.equal(page.url(), env.base + '/domicilio');
    await lib.check(page, `${label}-04-domicilio`);

    // Aceptar without JavaScript: the server answers with the form filled.
    await page.fill('#cp', '06700');
    await page.fill('#calle', 'Orizaba');
    const posted = page.waitForRequest((r) => r.method() === 'POST');
    await lib.submitAndWait(page, 'button:has-text("Aceptar")');
    assert.match((await posted).postData(), /(^|&)aceptar=1(&|$)/);
    assert.equal(page.url(), env.base + '/domicilio');
    assert.equal(await page.inputValue('#estado'), 'Ciudad de México');
    assert.equal(await page.inputValue('#municipio'), 'Cuauhtémoc');
    assert.equal(await page.inputValue('#cp'), '06700');
    assert.equal(await page.inputValue('#calle'), 'Orizaba', 'what was typed is kept');
    assert.ok((await page.locator('#colonia option').allInnerTexts()).includes('Roma Norte'));
    assert.equal(await page.locator('#resumen-errores').count(), 0, 'Aceptar shows no errors');
    assert.match(await lib.text(page, '#cp-estado'), /Cuauhtémoc, Ciudad de México/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'colonia', 'focus on Colonia');
    await lib.check(page, `${label}-05-domicilio-aceptar`);

    await page.selectOption('#colonia', 'Roma Norte');
    await page.fill('#numero_exterior', '101');
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    assert.equal(page.url(), env.base + '/resultado');
    assert.equal(await lib.text(page, 'h1'), 'Asignación de NSS exitosa.');
    const nss = await lib.text(page, '.nss strong');
    assert.match(nss, /^\d{11}$/);
    await lib.check(page, `${label}-06-resultado-asignado`);

    await lib.imprimir(page);
    await lib.descargar(page, nss, `${label}-asignado`);
    await lib.finalizar(page, env);
  });
}

test('desktop, no JavaScript: a CURP that has an NSS', { timeout: 60000 }, async () => {
  const { curp, nss } = env.curp('found');
  const page = await noJsPage('desktop');
  await page.goto(env.base + '/nss');
  await lib.fillNss(page, env, { curp });
  await lib.submitAndWait(page, 'button:has-text("Continuar")');
  assert.equal(await lib.text(page, 'h1'), 'Tu Número de Seguridad Social ha sido localizado');
  await lib.check(page, 'nojs-desktop-07-resultado-localizado');
  await lib.reenviar(page, env, 'nojs-desktop-07b-resultado-reenviado');
  await lib.imprimir(page);
  await lib.descargar(page, nss, 'nojs-desktop-localizado');
  await lib.finalizar(page, env);
});
