// Browser check of trident's /chat page: playwright-core drives Debian's
// /usr/bin/chromium (headless; playwright-core never downloads a browser).
// Two pages in two browser contexts join the same room; page A sends a
// message that page B must show; both must show the presence list.
//
//   node chat_browser_check.mjs http://127.0.0.1:PORT
//
// DOM contract of /chat: input #name, input #room (default "lobby"),
// button #join, input #message, button #send, list #log where each chat
// message is appended as <li class="msg"> with text "from: body", and #users
// showing presence as comma-separated sorted names.
//
// Prints one JSON object; exit code 0 = every check passed. Bounded by
// CHAT_CHECK_TIMEOUT_MS (default 45000). Chromium's profile is a fresh
// temporary directory that playwright creates (under $TMPDIR) and removes.
import { chromium } from 'playwright-core';

const base = process.argv[2];
if (!base) {
  console.error('usage: node chat_browser_check.mjs http://127.0.0.1:PORT');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const overallMs = Number(process.env.CHAT_CHECK_TIMEOUT_MS || 45000);
const stepMs = 10000;

const result = { ok: false, step: 'start', usersA: null, usersB: null, logA: [], logB: [],
                 console: [], error: null, browser: null };
let browser = null;

async function finish(code) {
  clearTimeout(killer);
  process.stdout.write(JSON.stringify(result) + '\n');
  try { if (browser) await browser.close(); } catch { /* already gone */ }
  process.exit(code);
}
const killer = setTimeout(() => {
  result.error = `timeout after ${overallMs} ms at step ${result.step}`;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(3);  // the browser process dies with us (playwright pipes)
}, overallMs);

const names = (text) => (text || '').split(',').map((s) => s.trim()).filter(Boolean);

async function snapshot(page) {
  return page.evaluate(() => ({
    users: document.querySelector('#users')?.textContent ?? null,
    log: [...document.querySelectorAll('#log li.msg')].map((li) => li.textContent.trim()),
  }));
}

async function waitUsers(page, want) {
  await page.waitForFunction((w) => {
    const el = document.querySelector('#users');
    if (!el) return false;
    const got = el.textContent.split(',').map((s) => s.trim()).filter(Boolean);
    return JSON.stringify(got) === JSON.stringify(w);
  }, want, { timeout: stepMs });
}

async function waitMsg(page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll('#log li.msg')]
    .some((li) => li.textContent.trim() === t), text, { timeout: stepMs });
}

try {
  result.step = 'launch';
  browser = await chromium.launch({
    executablePath,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  result.browser = browser.version();
  const pages = [];
  for (const who of ['A', 'B']) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.setDefaultTimeout(stepMs);
    page.on('console', (m) => { if (m.type() === 'error') result.console.push(`${who}: ${m.text()}`); });
    page.on('pageerror', (e) => result.console.push(`${who} pageerror: ${e.message}`));
    pages.push(page);
  }
  const [a, b] = pages;

  result.step = 'load /chat';
  for (const p of pages) {
    const resp = await p.goto(`${base}/chat`, { waitUntil: 'load' });
    if (!resp || resp.status() !== 200) throw new Error(`GET /chat: ${resp && resp.status()}`);
  }

  result.step = 'DOM contract';
  for (const sel of ['#name', '#room', '#join', '#message', '#send', '#log', '#users']) {
    if (await a.locator(sel).count() !== 1) throw new Error(`/chat has no single ${sel}`);
  }
  const room = await a.inputValue('#room');
  if (room !== 'lobby') throw new Error(`#room defaults to ${JSON.stringify(room)}, not "lobby"`);

  result.step = 'alice joins';
  await a.fill('#name', 'alice');
  await a.click('#join');
  await waitUsers(a, ['alice']);

  result.step = 'bob joins';
  await b.fill('#name', 'bob');
  await b.click('#join');
  await waitUsers(b, ['alice', 'bob']);
  await waitUsers(a, ['alice', 'bob']);

  result.step = 'alice sends';
  await a.fill('#message', 'hello from alice');
  await a.click('#send');
  await waitMsg(b, 'alice: hello from alice');
  await waitMsg(a, 'alice: hello from alice');  // the sender gets its own message too

  result.step = 'bob answers';
  await b.fill('#message', 'hi alice');
  await b.click('#send');
  await waitMsg(a, 'bob: hi alice');

  const sa = await snapshot(a);
  const sb = await snapshot(b);
  result.usersA = sa.users;
  result.usersB = sb.users;
  result.logA = sa.log;
  result.logB = sb.log;
  result.step = 'done';
  result.ok = JSON.stringify(names(sa.users)) === '["alice","bob"]'
    && JSON.stringify(names(sb.users)) === '["alice","bob"]';
  await finish(result.ok ? 0 : 1);
} catch (err) {
  result.error = String(err && err.message || err);
  try {
    const ctxs = browser ? browser.contexts() : [];
    if (ctxs.length === 2) {
      const [sa, sb] = await Promise.all(ctxs.map((c) => snapshot(c.pages()[0])));
      result.usersA = sa.users; result.usersB = sb.users; result.logA = sa.log; result.logB = sb.log;
    }
  } catch { /* page may be gone */ }
  await finish(1);
}
