// Opens a rendered HTML report in Debian's headless Chromium (driven by playwright-core,
// no downloaded browser) and prints one JSON line with what a person would get:
// requests that left the file, broken images, console errors, layout overflow on a phone.
//
// usage: node check_report.mjs REPORT.html SCREENSHOT_DIR
// env:   CHROMIUM_PATH  the chromium binary (the python test passes `shutil.which("chromium")`)
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [reportArg, shotDirArg] = process.argv.slice(2);
if (!reportArg || !shotDirArg || !process.env.CHROMIUM_PATH) {
  console.error("usage: CHROMIUM_PATH=... node check_report.mjs REPORT.html SCREENSHOT_DIR");
  process.exit(2);
}
const reportUrl = pathToFileURL(resolve(reportArg)).href;
const shotDir = resolve(shotDirArg);
mkdirSync(shotDir, { recursive: true });

const userDataDir = mkdtempSync(join(tmpdir(), "report-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM_PATH,
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
  timeout: 60_000,
});

const external = [];
const consoleErrors = [];
const isLocal = (url) => url.startsWith("file:") || url.startsWith("data:");
context.on("request", (req) => { if (!isLocal(req.url())) external.push(req.url()); });
// Belt and braces: whatever the page asks for outside the file is recorded above and never sent.
await context.route("**/*", (route) => (isLocal(route.request().url()) ? route.continue() : route.abort()));

try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(msg.text()); });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const started = Date.now();
  await page.goto(reportUrl, { waitUntil: "load", timeout: 60_000 });
  const loadMs = Date.now() - started;

  const images = await page.$$eval("img", (imgs) => imgs.map((img) => ({
    src: img.getAttribute("src").slice(0, 30),
    complete: img.complete,
    naturalWidth: img.naturalWidth,
  })));
  const page_ = await page.evaluate(() => ({
    title: document.title,
    scripts: document.scripts.length,
    sectionIds: [...document.querySelectorAll("section[id]")].map((s) => s.id),
    tocTargets: [...document.querySelectorAll("nav a[href^='#']")].map((a) => a.getAttribute("href").slice(1)),
    bodyText: document.body.innerText,
  }));
  const brokenTargets = page_.tocTargets.filter((id) => !page_.sectionIds.includes(id));
  await page.screenshot({ path: join(shotDir, "report_top.png") });
  await page.screenshot({ path: join(shotDir, "report_full.png"), fullPage: true });

  // A phone: the page must not scroll sideways (wide tables scroll inside their own box).
  await page.setViewportSize({ width: 390, height: 844 });
  const phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(shotDir, "report_phone.png") });

  console.log(JSON.stringify({
    url: reportUrl,
    loadMs,
    title: page_.title,
    scripts: page_.scripts,
    sectionIds: page_.sectionIds,
    brokenTocLinks: brokenTargets,
    imageCount: images.length,
    brokenImages: images.filter((i) => !i.complete || i.naturalWidth === 0),
    externalRequests: external,
    consoleErrors,
    phoneOverflowPx: phoneOverflow,
    text: page_.bodyText,
  }));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
