'use strict';
// Shared pieces of the browser tests: the server (serve.py), the browser
// (Debian's /usr/bin/chromium through playwright-core), the CAPTCHA answer,
// axe-core, screenshots, and the steps of the procedure a student walks.
//
// A test file does:
//   const env = await lib.setup('paso1');         // apache2 + chromium
//   const page = await env.page('desktop');        // a fresh browser context
//   await lib.check(page, 'desktop-01-inicio');    // axe + screenshot + layout
//   ...
//   await env.teardown();

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { spawn } = require('node:child_process');

const { chromium } = require('playwright-core');
const axe = require('axe-core');

const TOP = path.resolve(__dirname, '..', '..');
const OUT = path.join(TOP, 'tests', 'out');
const SHOTS = path.join(OUT, 'screenshots');
const AXE_LOG = path.join(OUT, 'browser-axe.jsonl');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PYTHON = process.env.PYTHON || '/usr/bin/python3';

// WCAG 2.1 level A and AA: the rules that must report nothing.
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const PROFILES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: {
    viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true,
    deviceScaleFactor: 2,
  },
  // The narrowest screen the pages are designed for.
  narrow: { viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true },
};

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/** The six characters the CAPTCHA image for id shows (tests/captcha_answer.py). */
function captchaAnswer(secret, id) {
  const mac = crypto.createHmac('sha256', secret).update('captcha:' + id).digest();
  let s = '';
  for (let i = 0; i < 6; i++) s += ALPHABET[mac[i] % ALPHABET.length];
  return s;
}

/** Reads a secret file the way afl_secret_load() does (ASCII whitespace trimmed). */
function loadSecret(file) {
  let b = fs.readFileSync(file);
  const ws = new Set([0x20, 0x09, 0x0d, 0x0a, 0x0b, 0x0c]);
  let i = 0;
  let j = b.length;
  while (i < j && ws.has(b[i])) i++;
  while (j > i && ws.has(b[j - 1])) j--;
  return b.subarray(i, j);
}

/** Starts tests/browser/serve.py; resolves with its JSON line plus helpers. */
function startServer(name, conf = []) {
  return new Promise((resolve, reject) => {
    const args = [path.join(__dirname, 'serve.py'), '--name', name];
    for (const line of conf) args.push('--conf', line);
    const child = spawn(PYTHON, args, {
      cwd: TOP, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const lines = readline.createInterface({ input: child.stdout });
    const waiting = [];
    let started = false;
    lines.on('line', (line) => {
      if (!started) {
        started = true;
        let info;
        try { info = JSON.parse(line); } catch (e) { reject(new Error(`serve.py: ${line}\n${stderr}`)); return; }
        info.secret = loadSecret(info.secret_file);
        info.child = child;
        info.stderr = () => stderr;
        // error_log lines of level warn or worse the tests did not expect.
        info.unexpectedLog = () => new Promise((res) => {
          waiting.push((l) => res(JSON.parse(l).unexpected));
          child.stdin.write('log\n');
        });
        info.stop = () => new Promise((res) => {
          if (child.exitCode !== null) { res(stderr); return; }
          child.once('exit', () => res(stderr));
          child.stdin.end();
        });
        resolve(info);
      } else if (waiting.length) {
        waiting.shift()(line);
      }
    });
    child.once('exit', (code) => {
      if (!started) reject(new Error(`serve.py exited with ${code}\n${stderr}`));
    });
  });
}

function launchBrowser() {
  // Debian's Chromium; playwright gives it a fresh --user-data-dir.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
}

/**
 * Everything a test file needs: the server, a browser, fresh pages per
 * profile; every page collects its JavaScript errors, which fail the test.
 */
async function setup(name, { conf = [] } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const server = await startServer(`browser-${name}`, conf);
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.stop();
    throw e;
  }
  const contexts = [];
  let mirrors = {};
  const env = {
    server,
    browser,
    base: server.base + '/afiliate',
    curp(kind) {
      const list = server[kind];
      assert.ok(list.length, `no ${kind} CURP left`);
      return list.shift();
    },
    async page(profile, options = {}) {
      const context = await browser.newContext({
        ...PROFILES[profile], locale: 'es-MX', acceptDownloads: true, ...options,
      });
      contexts.push(context);
      const page = await context.newPage();
      page.profile = profile;
      page.env = env;
      page.jsDisabled = options.javaScriptEnabled === false;
      page.problems = [];
      page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        // A 4xx page (form with errors, 403, 404, 429) logs its own status.
        if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) {
          page.problems.push(`console error: ${m.text()}`);
        }
      });
      page.setDefaultTimeout(15000);
      return page;
    },
    /**
     * A JavaScript-enabled copy of a page whose own JavaScript is off (axe-core
     * needs timers, which do not run there): the same HTML, without its
     * scripts, served at the same address, with the same styles and images.
     */
    async mirror(page) {
      let copy = mirrors[page.profile];
      if (!copy) {
        const context = await browser.newContext({ ...PROFILES[page.profile], locale: 'es-MX' });
        contexts.push(context);
        copy = mirrors[page.profile] = await context.newPage();
        copy.problems = [];
      }
      await copy.unrouteAll();
      const url = page.url().split('#')[0];
      const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
      await copy.route((u) => u.href.split('#')[0] === url, (route) => route.fulfill({
        status: 200, contentType: 'text/html; charset=UTF-8', body: html,
      }));
      await copy.goto(url);
      return copy;
    },
    async closePages() {
      mirrors = {};
      while (contexts.length) {
        const c = contexts.pop();
        for (const p of c.pages()) assert.deepEqual(p.problems || [], [], 'browser errors');
        await c.close();
      }
    },
    async teardown() {
      try {
        await env.closePages();
      } finally {
        await browser.close();
        const bad = await server.unexpectedLog();
        await server.stop();
        assert.deepEqual(bad, [], 'unexpected error_log lines');
      }
    },
  };
  return env;
}

/** Runs axe-core with the WCAG 2.1 A/AA rules on the page; returns the result. */
async function axeRun(page) {
  // page.evaluate is not subject to the page's Content-Security-Policy, so
  // the pages are checked with their real CSP in force.
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(axe.source);
  return page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  }).then((r) => ({
    violations: r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    })),
    passes: r.passes.length,
  })), AXE_TAGS);
}

function describeViolations(violations) {
  return violations.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n` +
    v.nodes.map((n) => `      ${n.replace(/\n/g, ' / ')}`).join('\n')).join('\n');
}

/**
 * The checks every page a student sees goes through: axe-core (zero WCAG 2.1
 * AA violations), no horizontal scrolling at the profile's width, lang="es-MX",
 * one h1, and a full-page screenshot tests/out/screenshots/<label>.png.
 */
async function check(page, label) {
  await page.waitForLoadState('load');
  const result = await axeRun(page.jsDisabled ? await page.env.mirror(page) : page);
  fs.appendFileSync(AXE_LOG, JSON.stringify({
    page: label, url: page.url(), violations: result.violations.length,
    rules: result.violations.map((v) => v.id),
  }) + '\n');
  await page.screenshot({ path: path.join(SHOTS, `${label}.png`), fullPage: true, scale: 'css' });
  assert.equal(result.violations.length, 0,
    `axe-core: ${result.violations.length} WCAG 2.1 AA violation(s) on ${label} ` +
    `(${page.url()}):\n${describeViolations(result.violations)}`);
  const layout = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    h1: document.querySelectorAll('h1').length,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  }));
  assert.equal(layout.lang, 'es-MX', `lang on ${label}`);
  assert.equal(layout.h1, 1, `one h1 on ${label}`);
  assert.ok(layout.overflow <= 0, `${label} scrolls sideways by ${layout.overflow}px`);
  assert.deepEqual(page.problems, [], `browser errors on ${label}`);
}

// ----------------------------------------------------------------- steps

async function text(page, selector) {
  return (await page.locator(selector).innerText()).replace(/\s+/g, ' ').trim();
}

/** Fills the Paso 1 form; the CAPTCHA answer comes from the server secret. */
async function fillNss(page, env, { curp, correo = 'estudiante@ejemplo.mx', confirmacion, captcha } = {}) {
  const id = await page.locator('input[name=captcha_id]').inputValue();
  await page.fill('#curp', curp);
  await page.fill('#correo', correo);
  await page.fill('#correo_confirmacion', confirmacion === undefined ? correo : confirmacion);
  await page.fill('#captcha', captcha === undefined ? captchaAnswer(env.server.secret, id) : captcha);
}

/** Clicks a submit control and waits for the page it leads to. */
async function submitAndWait(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator(locator).click()]);
}

/** Imprimir: a new tab with the PDF, inline. */
async function imprimir(page) {
  const context = page.context();
  const responded = context.waitForEvent('response', (r) => /\/comprobante$/.test(r.url()));
  const opened = context.waitForEvent('page');
  await page.getByRole('link', { name: 'Imprimir' }).click();
  const [resp, tab] = await Promise.all([responded, opened]);
  assert.equal(resp.status(), 200);
  assert.equal(resp.headers()['content-type'], 'application/pdf');
  assert.match(resp.headers()['content-disposition'], /^inline; filename="comprobanteNSS\d{11}\.pdf"$/);
  // Chromium shows the PDF in its viewer; the bytes are fetched again with
  // the same session to check that they are a PDF.
  const again = await context.request.get(resp.url());
  assert.equal(again.headers()['content-type'], 'application/pdf');
  assert.equal((await again.body()).subarray(0, 5).toString('latin1'), '%PDF-');
  await tab.close();
  return resp;
}

/** Descargar: a download named comprobanteNSS<NSS>.pdf holding a PDF. */
async function descargar(page, nss, label) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Descargar' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `comprobanteNSS${nss}.pdf`);
  const file = path.join(OUT, 'downloads', `${label}-${download.suggestedFilename()}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await download.saveAs(file);
  const head = fs.readFileSync(file).subarray(0, 5).toString('latin1');
  assert.equal(head, '%PDF-');
  return file;
}

/** Reenviar: the document is queued for e-mail again; the page says so. */
async function reenviar(page, env, label) {
  await submitAndWait(page, 'button:has-text("Reenviar")');
  assert.equal(page.url(), env.base + '/resultado?reenviado=1');
  const aviso = page.locator('.aviso');
  assert.equal(await aviso.getAttribute('role'), 'status');
  assert.equal(await text(page, '.aviso'), 'El comprobante ha sido reenviado');
  if (label) await check(page, label);
}

/** Finalizar Trámite: back on the landing page, the session gone. */
async function finalizar(page, env) {
  await submitAndWait(page, 'button:has-text("Finalizar Trámite")');
  assert.equal(page.url(), env.base + '/');
  assert.equal(await text(page, 'h1'), 'Afiliación de estudiantes al IMSS');
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 0, 'the session cookie is dropped');
}

module.exports = {
  AXE_TAGS, OUT, SHOTS, TOP, PROFILES,
  captchaAnswer, loadSecret, startServer, launchBrowser, setup, axeRun, check, text,
  fillNss, submitAndWait, imprimir, descargar, reenviar, finalizar,
};
