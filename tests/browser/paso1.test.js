'use strict';
// Paso 1 in a real browser, with JavaScript, on a desktop and a phone:
// found and new CURP, Imprimir / Descargar / Finalizar Trámite, the error
// summary and its focus, the processing message and the double click.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib');

const PROCESANDO = 'Su petición se está procesando… espere un momento.';
let env;

before(async () => { env = await lib.setup('paso1'); });
afterEach(async () => { if (env) await env.closePages(); });
after(async () => { if (env) await env.teardown(); });

for (const profile of ['desktop', 'phone']) {
  test(`${profile}: Paso 1 with a CURP that has an NSS`, { timeout: 60000 }, async () => {
    const { curp, nss } = env.curp('found');
    const page = await env.page(profile);
    await page.goto(env.base + '/');
    await lib.check(page, `${profile}-01-inicio`);

    await lib.submitAndWait(page, 'a:has-text("Paso 1")');
    assert.equal(page.url(), env.base + '/nss');
    assert.equal(await page.locator('img.captcha').getAttribute('alt') !== '', true);
    await lib.check(page, `${profile}-02-formulario`);

    await lib.fillNss(page, env, { curp });
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    assert.equal(page.url(), env.base + '/resultado');
    assert.equal(await lib.text(page, 'h1'), 'Tu Número de Seguridad Social ha sido localizado');
    assert.match(await lib.text(page, 'main'), /estudiante@ejemplo\.mx/);
    await lib.check(page, `${profile}-07-resultado-localizado`);

    await lib.reenviar(page, env, `${profile}-07b-resultado-reenviado`);
    await lib.imprimir(page);
    await lib.descargar(page, nss, `${profile}-localizado`);
    await lib.finalizar(page, env);
  });

  test(`${profile}: Paso 1 with a new CURP: address with the postal code lookup`, { timeout: 60000 }, async () => {
    const curp = env.curp('new');
    const page = await env.page(profile);
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
    await page.goto(env.base + '/nss');
    await lib.fillNss(page, env, { curp });
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    assert.equal(page.url(), env.base + '/domicilio');
    assert.equal(await lib.text(page, 'h1'), 'Asignación de Número de Seguridad Social');
    assert.match(await lib.text(page, '.datos'), new RegExp(curp));
    await lib.check(page, `${profile}-04-domicilio`);

    // Typing the postal code and clicking Aceptar fills Estado, Municipio
    // and the Colonia list without leaving the page.
    await page.fill('#cp', '06700');
    const cpAnswer = page.waitForResponse((r) => r.url().endsWith('/cp/06700'));
    await page.getByRole('button', { name: 'Aceptar' }).click();
    assert.equal((await cpAnswer).status(), 200);
    await page.waitForFunction(() => document.querySelector('#estado').value !== '');
    assert.equal(page.url(), env.base + '/domicilio', 'Aceptar with JavaScript stays on the page');
    assert.equal(await page.inputValue('#estado'), 'Ciudad de México');
    assert.equal(await page.inputValue('#municipio'), 'Cuauhtémoc');
    const colonias = await page.locator('#colonia option').allInnerTexts();
    assert.ok(colonias.includes('Roma Norte'), `colonias: ${colonias}`);
    assert.match(await lib.text(page, '#cp-estado'), /Ciudad de México/);
    await page.selectOption('#colonia', 'Roma Norte');
    await page.fill('#calle', 'Orizaba');
    await page.fill('#numero_exterior', '101');
    await page.fill('#numero_interior', '3B');
    await lib.check(page, `${profile}-05-domicilio-lleno`);

    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    assert.equal(page.url(), env.base + '/resultado');
    assert.equal(await lib.text(page, 'h1'), 'Asignación de NSS exitosa.');
    const nss = (await lib.text(page, '.nss strong'));
    assert.match(nss, /^\d{11}$/);
    await lib.check(page, `${profile}-06-resultado-asignado`);
    assert.deepEqual(posts, ['/afiliate/nss', '/afiliate/domicilio'], 'one POST per step');

    await lib.imprimir(page);
    await lib.descargar(page, nss, `${profile}-asignado`);
    await lib.finalizar(page, env);
  });

  test(`${profile}: the error summary is announced, focused and linked to the fields`, { timeout: 60000 }, async () => {
    const page = await env.page(profile);
    await page.goto(env.base + '/nss');
    await lib.fillNss(page, env, {
      curp: 'XXXX000000XXXXXX00', correo: 'estudiante@ejemplo.mx', confirmacion: 'otro@ejemplo.mx',
      captcha: 'nada',
    });
    await lib.submitAndWait(page, 'button:has-text("Continuar")');
    const summary = page.locator('#resumen-errores');
    assert.equal(await summary.getAttribute('role'), 'alert');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'resumen-errores',
      'focus moves to the error summary');
    const links = summary.locator('a');
    assert.deepEqual(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href'))),
      ['#curp', '#correo_confirmacion', '#captcha']);
    for (const id of ['curp', 'correo_confirmacion', 'captcha']) {
      const field = page.locator(`#${id}`);
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      const described = (await field.getAttribute('aria-describedby')).split(' ');
      assert.ok(described.includes(`${id}-error`), `${id} is described by its error`);
      assert.ok((await lib.text(page, `#${id}-error`)).length > 0);
    }
    // What was typed is kept, except the CAPTCHA, which is a new one.
    assert.equal(await page.inputValue('#curp'), 'XXXX000000XXXXXX00');
    assert.equal(await page.inputValue('#captcha'), '');
    await lib.check(page, `${profile}-03-formulario-errores`);

    // A link of the summary takes the student to the field, focused.
    await links.first().click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'curp');
  });

  test(`${profile}: while a submission runs: processing message, buttons disabled`, { timeout: 60000 }, async () => {
    const page = await env.page(profile);
    // The submission is stopped after the page's own handler has run, so the
    // page can be looked at as it is while the server works.
    await page.addInitScript(() => {
      document.addEventListener('submit', (ev) => { ev.preventDefault(); window.__envios = (window.__envios || 0) + 1; });
    });
    await page.goto(env.base + '/nss');
    await lib.fillNss(page, env, { curp: env.curp('found').curp });
    assert.equal(await lib.text(page, '.procesando'), '');
    await page.getByRole('button', { name: 'Continuar' }).click();
    await page.locator('.procesando', { hasText: PROCESANDO }).waitFor();
    assert.equal(await page.locator('.procesando').getAttribute('role'), 'status');
    assert.equal(await page.locator('#form-nss').getAttribute('aria-busy'), 'true');
    await page.waitForFunction(() => [...document.querySelectorAll('form button')].every((b) => b.disabled));
    await page.screenshot({ path: `${lib.SHOTS}/${profile}-02b-procesando.png`, scale: 'css', animations: 'disabled' });
  });

  test(`${profile}: a double click sends the form once`, { timeout: 60000 }, async () => {
    const page = await env.page(profile);
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
    // Hold the submission a moment, as a busy server would.
    await page.route('**/afiliate/nss', async (route) => {
      if (route.request().method() === 'POST') await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.goto(env.base + '/nss');
    await lib.fillNss(page, env, { curp: env.curp('found').curp });
    const navigated = page.waitForURL(env.base + '/resultado', { timeout: 30000 });
    // A double click, then an impatient third one while the server works.
    // (Mouse clicks: a locator click would wait for the held navigation.
    // Without the page's guard, Chromium sends the form three times here.)
    const button = page.getByRole('button', { name: 'Continuar' });
    await button.scrollIntoViewIfNeeded();
    const box = await button.boundingBox();
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await page.mouse.dblclick(x, y);
    await new Promise((r) => setTimeout(r, 300));
    await page.mouse.click(x, y);
    await navigated;
    await page.unroute('**/afiliate/nss');
    assert.equal(await lib.text(page, 'h1'), 'Tu Número de Seguridad Social ha sido localizado');
    assert.deepEqual(posts, ['/afiliate/nss'], 'the form was sent once');
  });
}
