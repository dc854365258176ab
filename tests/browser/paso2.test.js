'use strict';
// Paso 2 (constancia de vigencia de derechos) in a real browser.
//
// The landing page's "Paso 2" link must reach the form: any other status
// (404 included) fails the layer, so a missing route cannot pass unnoticed.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const lib = require('./lib');

let env;

before(async () => { env = await lib.setup('paso2'); });
afterEach(async () => { if (env) await env.closePages(); });
after(async () => { if (env) await env.teardown(); });

for (const profile of ['desktop', 'phone']) {
  test(`${profile}: Paso 2 from the landing page`, async () => {
    const page = await env.page(profile);
    await page.goto(env.base + '/');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === env.base + '/vigencia'),
      page.getByRole('link', { name: /Paso 2/ }).click(),
    ]);
    assert.equal(resp.status(), 200, `GET ${env.base}/vigencia answered ${resp.status()}`);
    await page.waitForLoadState('load');
    assert.match(await lib.text(page, 'h1'), /^Paso 2/);
    await lib.check(page, `${profile}-21-vigencia`);
  });
}
