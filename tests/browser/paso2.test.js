'use strict';
// Paso 2 (constancia de vigencia de derechos) in a real browser.
//
// The route /afiliate/vigencia does not exist yet; until it does this test is
// reported as skipped. When Paso 2 lands, write its walk here the way
// paso1.test.js does: for each profile (desktop, phone) and once with
// { javaScriptEnabled: false }, go from the landing page's "Paso 2" link,
// fill the form with lib.fillNss-like helpers (the CAPTCHA answer comes from
// lib.captchaAnswer), call lib.check(page, '<profile>-2x-<step>') on every page
// (axe-core, layout, screenshot), and fetch the constancia like lib.imprimir /
// lib.descargar do for the comprobante.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib');

let env;

before(async () => { env = await lib.setup('paso2'); });
afterEach(async () => { if (env) await env.closePages(); });
after(async () => { if (env) await env.teardown(); });

for (const profile of ['desktop', 'phone']) {
  test(`${profile}: Paso 2 from the landing page`, async (t) => {
    const page = await env.page(profile);
    await page.goto(env.base + '/');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === env.base + '/vigencia'),
      page.getByRole('link', { name: /Paso 2/ }).click(),
    ]);
    if (resp.status() === 404) {
      t.skip('Paso 2 (/afiliate/vigencia) is not served yet');
      return;
    }
    assert.equal(resp.status(), 200);
    await page.waitForLoadState('load');
    assert.match(await lib.text(page, 'h1'), /^Paso 2/);
    await lib.check(page, `${profile}-21-vigencia`);
  });
}
