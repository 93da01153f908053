// The Galaxy MNIST tutorial, clicked through Galaxy's own web UI in Debian's headless
// Chromium (playwright-core; no browser download), as a new user would do it:
//
//   log in → upload the zip, csv and yaml (types chosen in the Upload dialog) →
//   find "Ludwig Experiment" with the tool search → pick the three inputs → run →
//   every output turns green → the report displays as a page with the accuracy and
//   the confusion matrix → the trained model (ludwig_model) and the predictions are
//   in the history → the same tool again without a config, "Build the configuration in
//   this form" with one epoch → green, and the form's config is a yaml in the history →
//   (if a workflow is given) run it from the Workflows page.
//
// A screenshot of each step lands in ARTIFACTS_DIR (NN-step.png; NN-step-FAILED.png
// and NN-step-FAILED.txt with the page's text when a step fails). Exit status 0 only
// if every step passed. scripts/galaxy_ui_test.sh starts Galaxy and runs this.
//
// usage: node tutorial.mjs
// env:   GALAXY_URL, GALAXY_EMAIL, GALAXY_PASSWORD   a running Galaxy and a user of it
//        CHROMIUM_PATH      the chromium binary (Debian's: `command -v chromium`)
//        TEST_DATA_DIR      holds mnist_images.zip, mnist_dataset.csv and CONFIG_FILE
//        CONFIG_FILE        the Ludwig config to upload (default config_small.yaml)
//        ARTIFACTS_DIR      screenshots (default tests/galaxy_ui/artifacts)
//        FORM_SCREENSHOT    also save the filled tool form here (docs/images/galaxy_form.png)
//        WORKFLOW_FILE      a .ga workflow already imported for the user (scripts/galaxy_ui_test.sh
//                           imports workflows/*/*.ga through the API, as galaxy_serve.sh does): run it
//                           from the Workflows page, each of its inputs fed with the upload that its
//                           connection to a tool's config / dataset / raw_data parameter asks for
//                           ("" or unset skips the workflow steps)
//        JOB_TIMEOUT_S      seconds for a job or invocation to finish (default 1200)
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    console.error(`tutorial.mjs: set ${name} (see the header of this file)`);
    process.exit(2);
  }
  return value;
};
const GALAXY_URL = env("GALAXY_URL").replace(/\/$/, "");
const EMAIL = env("GALAXY_EMAIL");
const PASSWORD = env("GALAXY_PASSWORD");
const CHROMIUM_PATH = env("CHROMIUM_PATH");
const TEST_DATA_DIR = resolve(env("TEST_DATA_DIR", join(here, "..", "..", "test-data")));
const CONFIG_FILE = env("CONFIG_FILE", "config_small.yaml");
const ARTIFACTS_DIR = resolve(env("ARTIFACTS_DIR", join(here, "artifacts")));
const FORM_SCREENSHOT = process.env.FORM_SCREENSHOT ? resolve(process.env.FORM_SCREENSHOT) : "";
const WORKFLOW_FILE = process.env.WORKFLOW_FILE ? resolve(process.env.WORKFLOW_FILE) : "";
const JOB_TIMEOUT_MS = Number(env("JOB_TIMEOUT_S", "1200")) * 1000;

// What the user uploads, and the Galaxy datatype chosen for it in the Upload dialog.
const UPLOADS = [
  { file: "mnist_images.zip", type: "zip", param: "raw_data" },
  { file: "mnist_dataset.csv", type: "csv", param: "dataset" },
  { file: CONFIG_FILE, type: "yaml", param: "config" },
];

// The workflow's name, and for each of its data inputs (by label) the upload it takes:
// the one whose tool parameter (config, dataset, raw_data; any nesting) the input feeds.
function workflowPlan(file) {
  const wf = JSON.parse(readFileSync(file, "utf8"));
  const steps = Object.values(wf.steps);
  const feeds = new Map(); // input step id → tool parameter names it is connected to
  for (const step of steps) {
    for (const [param, conns] of Object.entries(step.input_connections || {})) {
      for (const conn of [conns].flat()) {
        const names = feeds.get(conn.id) || [];
        names.push(param.split("|").pop());
        feeds.set(conn.id, names);
      }
    }
  }
  const inputs = steps
    .filter((s) => s.type === "data_input")
    .sort((a, b) => a.id - b.id)
    .map((s, position) => {
      const upload = UPLOADS.find((u) => (feeds.get(s.id) || []).includes(u.param));
      return { label: s.label || "", position, upload };
    });
  return { name: wf.name, inputs, toolSteps: steps.filter((s) => s.type === "tool").length };
}
const WORKFLOW = WORKFLOW_FILE ? workflowPlan(WORKFLOW_FILE) : null;

mkdirSync(ARTIFACTS_DIR, { recursive: true });
for (const old of readdirSync(ARTIFACTS_DIR)) {
  if (/\.(png|txt)$/.test(old)) rmSync(join(ARTIFACTS_DIR, old));
}

const log = (msg) => console.log(`[galaxy_ui ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const exact = (s) => new RegExp(`^\\s*${escapeRe(s)}\\s*$`);

const userDataDir = mkdtempSync(join(tmpdir(), "galaxy-ui-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1400, height: 900 },
  timeout: 60_000,
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);
const pageErrors = [];
page.on("pageerror", (err) => pageErrors.push(String(err)));

let stepNo = 0;
const timings = [];
async function step(name, fn) {
  stepNo += 1;
  const tag = `${String(stepNo).padStart(2, "0")}-${name}`;
  const t0 = Date.now();
  log(`step ${tag} ...`);
  try {
    await fn();
    await page.screenshot({ path: join(ARTIFACTS_DIR, `${tag}.png`) });
    const seconds = (Date.now() - t0) / 1000;
    timings.push([tag, seconds]);
    log(`step ${tag} passed (${seconds.toFixed(1)} s)`);
  } catch (err) {
    log(`step ${tag} FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${err.message}`);
    await page.screenshot({ path: join(ARTIFACTS_DIR, `${tag}-FAILED.png`) }).catch(() => {});
    const text = await page.locator("body").innerText().catch(() => "(no page text)");
    writeFileSync(join(ARTIFACTS_DIR, `${tag}-FAILED.txt`), `${page.url()}\n\n${err.stack}\n\n${text}\n`);
    if (pageErrors.length) log(`JavaScript errors on the page: ${pageErrors.slice(-5).join(" | ")}`);
    throw err;
  }
}

// The Galaxy API, as the logged-in browser session (its cookie), for cross-checks of what the UI shows.
async function api(path) {
  const resp = await page.request.get(`${GALAXY_URL}/api/${path}`);
  if (!resp.ok()) throw new Error(`GET /api/${path}: HTTP ${resp.status()}`);
  return resp.json();
}

// History panel: the item whose name is exactly `name` (without the "hid: " prefix).
const historyItem = (name) =>
  page.locator("#current-history-panel .content-item").filter({
    has: page.locator(".content-title", { hasText: exact(name) }),
  });
const historyItemEndingWith = (suffix) =>
  page.locator("#current-history-panel .content-item").filter({
    has: page.locator(".content-title", { hasText: new RegExp(`${escapeRe(suffix)}\\s*$`) }),
  });

// The end of the stderr of this user's failed jobs, to say why an item turned red.
async function failedJobsStderr() {
  try {
    const jobs = await api("jobs?state=error&limit=5");
    const parts = [];
    for (const job of jobs) {
      const full = await api(`jobs/${job.id}?full=true`);
      const stderr = (full.tool_stderr || full.stderr || "").trim().split("\n").slice(-6).join("\n    ");
      parts.push(`\n  job ${job.id} (${full.tool_id}, exit ${full.exit_code}) stderr:\n    ${stderr}`);
    }
    return parts.join("");
  } catch (err) {
    return ` (could not read the failed jobs: ${err.message})`;
  }
}

// Waits until every history item is green; fails at once on a red one.
async function waitHistoryGreen(minItems, what) {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const states = await page.locator("#current-history-panel .content-item").evaluateAll((els) =>
      els.map((e) => ({ hid: e.getAttribute("data-hid"), state: e.getAttribute("data-state"), text: e.innerText.trim().split("\n")[0] })),
    );
    const bad = states.filter((s) => s.state === "error" || s.state === "failed");
    if (bad.length) {
      throw new Error(`${what}: red items in the history: ${bad.map((b) => b.text).join("; ")}${await failedJobsStderr()}`);
    }
    const summary = states.map((s) => `${s.hid}:${s.state}`).join(" ");
    if (summary !== last) {
      log(`  history: ${summary}`);
      last = summary;
    }
    if (states.length >= minItems && states.every((s) => s.state === "ok")) return states;
    await page.waitForTimeout(3000);
  }
  throw new Error(`${what}: not every item turned green within ${JOB_TIMEOUT_MS / 1000} s (last: ${last})`);
}

// A data parameter of the tool form, wherever it is nested (sections, conditionals):
// its form element id is form-element-NAME or form-element-...|NAME.
const dataField = (name) => page.locator(`[id="form-element-${name}"], [id$="|${name}"][id^="form-element-"]`).first();

async function pickDataset(field, datasetName) {
  await field.locator(".multiselect").first().click();
  const option = field.locator(".multiselect__option:visible").filter({ hasText: datasetName }).first();
  await option.click();
  const chosen = await field.locator(".multiselect__single").first().innerText();
  if (!chosen.includes(datasetName)) throw new Error(`picked ${datasetName} but the field shows ${chosen}`);
}

const T0 = Date.now();
let status = 0;
let historyId = "";
try {
  await step("login", async () => {
    await page.goto(`${GALAXY_URL}/login/start`, { waitUntil: "load" });
    await page.fill("#login-form-name", EMAIL);
    await page.fill("#login-form-password", PASSWORD);
    await page.click("button[name=login]");
    await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 60_000 });
    await page.locator("#current-history-panel").waitFor();
    await page.locator("#user").filter({ hasText: EMAIL.split("@")[0] }).waitFor();
    const user = await api("users/current");
    if (user.email !== EMAIL) throw new Error(`logged in as ${user.email}, not ${EMAIL}`);
    historyId = (await api("histories/most_recently_used")).id;
  });

  await step("upload-dialog", async () => {
    await page.click("#activity-upload");
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.locator("#btn-local:visible").click()]);
    await chooser.setFiles(UPLOADS.map((u) => join(TEST_DATA_DIR, u.file)));
    // Each row: its file name, and the datatype chosen in its "Type" select.
    await page.locator(".upload-row").nth(UPLOADS.length - 1).waitFor();
    const titles = await page.locator(".upload-row .upload-title").evaluateAll((els) => els.map((e) => e.value));
    for (const upload of UPLOADS) {
      const index = titles.indexOf(upload.file);
      if (index < 0) throw new Error(`${upload.file} is not in the upload queue (${titles})`);
      const select = page.locator(".upload-row").nth(index).locator(".upload-extension");
      await select.click();
      await select.locator("input").fill(upload.type);
      await select.locator(".multiselect__option").filter({ hasText: exact(upload.type) }).first().click();
      const shown = (await select.locator(".multiselect__single").innerText()).trim();
      if (shown !== upload.type) throw new Error(`type of ${upload.file}: ${shown}, not ${upload.type}`);
    }
    // Let the last drop-down finish closing before the screenshot.
    await page.locator(".upload-row .multiselect__content-wrapper:visible").waitFor({ state: "hidden" }).catch(() => {});
    await page.waitForTimeout(500);
  });

  await step("upload-started", async () => {
    await page.locator("#btn-start:visible").click();
    // Rows leave their initial state once their upload has been sent.
    await page.waitForFunction(
      () => [...document.querySelectorAll(".upload-row")].every((r) => !r.classList.contains("upload-init") && !r.classList.contains("upload-running")),
      null,
      { timeout: 120_000 },
    );
    await page.locator("#btn-close:visible").click();
  });

  await step("uploads-green", async () => {
    await waitHistoryGreen(UPLOADS.length, "uploads");
    const contents = await api(`histories/${historyId}/contents?v=dev&keys=name,extension,state,history_content_type`);
    for (const upload of UPLOADS) {
      const item = contents.find((c) => c.name === upload.file);
      if (!item) throw new Error(`${upload.file} is not in the history`);
      if (item.extension !== upload.type) throw new Error(`${upload.file} is ${item.extension}, not ${upload.type}`);
    }
  });

  await step("tool-search", async () => {
    if (!(await page.locator("#toolbox-panel").isVisible())) await page.click("#activity-tools");
    const search = page.locator("#toolbox-panel input[placeholder='search tools']");
    await search.fill("Ludwig Experiment");
    const link = page.locator("#toolbox-panel a.tool-link", { hasText: "Ludwig Experiment" }).first();
    await link.waitFor();
    await link.click();
    await dataField("config").waitFor();
    await page.locator("#center").getByText("Ludwig Experiment").first().waitFor();
  });

  let expectedOutputs = 0;
  await step("tool-form", async () => {
    for (const upload of UPLOADS) await pickDataset(dataField(upload.param), upload.file);
    if (FORM_SCREENSHOT) {
      mkdirSync(dirname(FORM_SCREENSHOT), { recursive: true });
      await page.locator("#center").screenshot({ path: FORM_SCREENSHOT });
    }
  });

  await step("tool-submitted", async () => {
    await page.locator("button#execute:visible").first().click();
    const done = page.locator("#center").getByText(/successfully added \d+ jobs? to the queue/);
    await done.waitFor({ timeout: 120_000 });
    const text = await page.locator("#center").innerText();
    const match = text.match(/It produces (\d+) outputs?/);
    expectedOutputs = match ? Number(match[1]) : 5;
    log(`  the job produces ${expectedOutputs} outputs`);
  });

  await step("outputs-green", async () => {
    await waitHistoryGreen(UPLOADS.length + expectedOutputs, "Ludwig Experiment");
    for (const suffix of [": trained model", ": report", ": predictions and statistics"]) {
      if ((await historyItemEndingWith(suffix).count()) < 1) throw new Error(`no history item named "…${suffix}"`);
    }
  });

  await step("report", async () => {
    const item = historyItemEndingWith(": report").first();
    await item.locator(".display-btn").click();
    const frameEl = page.locator("#center iframe").last();
    await frameEl.waitFor();
    const frame = page.frameLocator("#center iframe").last();
    await frame.locator("h2", { hasText: "Confusion matrix" }).waitFor({ timeout: 60_000 });
    const report = await frame.locator("body").evaluate(() => ({
      contentType: document.contentType,
      headings: [...document.querySelectorAll("h2")].map((h) => h.innerText.trim()),
      text: document.body.innerText,
      images: [...document.images].map((img) => img.naturalWidth),
    }));
    // Without the allowlist Galaxy serves the report as text/plain: the markup itself would show.
    if (report.contentType !== "text/html") throw new Error(`the report is served as ${report.contentType}`);
    if (report.text.includes("<html") || report.text.includes("<section")) throw new Error("the report shows raw HTML markup");
    if (!report.headings.includes("Confusion matrix")) throw new Error(`no "Confusion matrix" heading: ${report.headings}`);
    const accuracy = report.text.match(/accuracy[^\n]*\n?\s*([01]\.\d+)/i);
    if (!accuracy) throw new Error("the report shows no accuracy value");
    if (report.images.length === 0 || report.images.some((w) => w === 0)) throw new Error(`broken images: ${report.images}`);
    log(`  report: text/html, ${report.headings.length} sections, ${report.images.length} images, accuracy ${accuracy[1]}`);
  });

  await step("report-confusion-matrix", async () => {
    const frame = page.frameLocator("#center iframe").last();
    const section = frame.locator("section#confusion-matrix, section:has(h2:text-is('Confusion matrix'))").first();
    await section.scrollIntoViewIfNeeded();
    const img = section.locator("img").first();
    await img.waitFor();
    const width = await img.evaluate((el) => el.naturalWidth);
    if (!width) throw new Error("the confusion matrix image did not load");
  });

  await step("model-in-history", async () => {
    const item = historyItemEndingWith(": trained model").first();
    await item.locator(".content-title").click();
    await item.locator(".datatype .value", { hasText: exact("ludwig_model") }).waitFor();
    const contents = await api(`histories/${historyId}/contents?v=dev&keys=name,extension,state`);
    const model = contents.find((c) => c.name && c.name.endsWith(": trained model"));
    if (!model || model.extension !== "ludwig_model") throw new Error(`the trained model is ${model && model.extension}`);
  });

  await step("predictions-in-history", async () => {
    await historyItemEndingWith(": trained model").first().locator(".content-title").click();
    await historyItemEndingWith(": predictions and statistics").first().locator(".content-title").click();
    const predictions = page.locator("#right .content-item").filter({ has: page.locator(".content-title", { hasText: exact("predictions") }) });
    await predictions.waitFor();
    await predictions.locator(".content-title").click();
    await page.locator("#right").getByText(/format\s*csv/).first().waitFor();
    await predictions.locator(".display-btn").click();
    await page.locator("#center").getByText(/image_path/).first().waitFor({ timeout: 60_000 });
    await page.locator("#center").getByText(/^(test|training|validation)\/\S+\.png$/).first().waitFor({ timeout: 60_000 });
    const centre = await page.locator("#center").innerText();
    if (!/label_predictions/.test(centre)) throw new Error("the predictions view lacks the label_predictions column");
  });

  // A new user without YAML: the same tool, the configuration built in the form (one epoch).
  await step("form-config-tool", async () => {
    await page.locator("#right").getByText(/History:/).first().click().catch(() => {});
    if (!(await page.locator("#toolbox-panel").isVisible())) await page.click("#activity-tools");
    const search = page.locator("#toolbox-panel input[placeholder='search tools']");
    await search.fill("Ludwig Experiment");
    await page.locator("#toolbox-panel a.tool-link", { hasText: "Ludwig Experiment" }).first().click();
    await dataField("config").waitFor();
    const build = page.locator('[id="form-element-config_form|build"]');
    await build.locator(".multiselect").first().click();
    await build.locator(".multiselect__option:visible").filter({ hasText: "Yes, build it in this form" }).first().click();
    const epochs = page.locator('[id="form-element-config_form|epochs"] input[type=number]');
    await epochs.waitFor();
    await epochs.fill("1");
    await pickDataset(dataField("dataset"), "mnist_dataset.csv");
    await pickDataset(dataField("raw_data"), "mnist_images.zip");
    // The config stays empty: an optional input that Galaxy leaves unselected.
    const config = await dataField("config").locator(".multiselect__single, .multiselect__placeholder").first().innerText();
    if (config.includes(CONFIG_FILE)) throw new Error(`the config field shows ${config}; the form run needs it empty`);
  });

  let formItems = 0;
  await step("form-config-green", async () => {
    const before = await page.locator("#current-history-panel .content-item").count();
    await page.locator("button#execute:visible").first().click();
    await page.locator("#center").getByText(/successfully added \d+ jobs? to the queue/).waitFor({ timeout: 120_000 });
    const match = (await page.locator("#center").innerText()).match(/It produces (\d+) outputs?/);
    formItems = before + (match ? Number(match[1]) : 6);
    await waitHistoryGreen(formItems, "Ludwig Experiment from the form");
    const contents = await api(`histories/${historyId}/contents?v=dev&keys=name,extension,state,id`);
    const written = contents.find((c) => c.name && c.name.endsWith(": config from the form"));
    if (!written || written.extension !== "yaml") throw new Error(`no yaml "config from the form" in the history`);
    const resp = await page.request.get(`${GALAXY_URL}/api/datasets/${written.id}/display?preview=false`);
    const yaml = await resp.text();
    if (!/^  epochs: 1$/m.test(yaml) || !/type: stacked_cnn/.test(yaml)) throw new Error(`the form's config: ${yaml}`);
    log(`  the form wrote a ${yaml.split("\n").length}-line config; ${formItems} history items green`);
  });

  if (WORKFLOW) {
    const WORKFLOW_NAME = WORKFLOW.name;
    await step("workflow-list", async () => {
      // Back from the collection to the history.
      await page.locator("#right").getByText(/History:/).first().click().catch(() => {});
      await page.click("#activity-workflows");
      await page.locator("#center").getByText(WORKFLOW_NAME, { exact: true }).first().waitFor();
    });

    let invocationId = "";
    await step("workflow-form", async () => {
      const workflows = await api(`workflows?search=${encodeURIComponent(WORKFLOW_NAME)}`);
      const stored = workflows.find((w) => w.name === WORKFLOW_NAME && !w.deleted);
      if (!stored) throw new Error(`workflow "${WORKFLOW_NAME}" is not among the user's workflows`);
      await page.locator(`#g-card-action-workflow-run-${stored.id}`).click();
      await page.locator("#center").getByText(WORKFLOW_NAME).first().waitFor();
      await page.locator("#center .workflow-run-element").first().waitFor();
      // Galaxy pre-selects the newest dataset of a matching type, which is often an output
      // of the tool run above: choose each input's upload explicitly.
      const elements = page.locator("#center .workflow-run-element");
      const count = await elements.count();
      for (const input of WORKFLOW.inputs) {
        if (!input.upload) {
          log(`  workflow input "${input.label}" feeds no config/dataset/raw_data parameter: left as Galaxy chose`);
          continue;
        }
        let element = input.label
          ? elements.filter({ has: page.locator(".ui-form-title", { hasText: exact(input.label) }) }).first()
          : null;
        if (!element || (await element.count()) === 0) {
          if (input.position >= count) throw new Error(`the run form has no field for input "${input.label}"`);
          element = elements.nth(input.position);
        }
        await pickDataset(element, input.upload.file);
        log(`  workflow input "${input.label}" ← ${input.upload.file}`);
      }
    });

    await step("workflow-submitted", async () => {
      const before = new Set((await api("invocations?limit=50")).map((i) => i.id));
      await page.locator("#center button#run-workflow").first().click();
      const deadline = Date.now() + 120_000;
      while (!invocationId && Date.now() < deadline) {
        const fresh = (await api("invocations?limit=50")).filter((i) => !before.has(i.id));
        if (fresh.length) invocationId = fresh[0].id;
        else await page.waitForTimeout(2000);
      }
      if (!invocationId) throw new Error("no workflow invocation appeared within 120 s of clicking Run");
      log(`  invocation ${invocationId}`);
    });

    await step("workflow-green", async () => {
      const deadline = Date.now() + JOB_TIMEOUT_MS;
      let last = "";
      while (Date.now() < deadline) {
        const summary = await api(`invocations/${invocationId}/jobs_summary`);
        const inv = await api(`invocations/${invocationId}`);
        const states = summary.states || {};
        const line = `invocation ${inv.state}; jobs ${JSON.stringify(states)}`;
        if (line !== last) {
          log(`  ${line}`);
          last = line;
        }
        if (["failed", "cancelled", "cancelling"].includes(inv.state) || states.error || states.failed) {
          throw new Error(`the workflow failed: ${line}`);
        }
        const jobStates = Object.keys(states);
        const okJobs = states.ok || 0;
        if (["scheduled", "completed"].includes(inv.state) && jobStates.every((s) => s === "ok") && okJobs >= WORKFLOW.toolSteps) break;
        await page.waitForTimeout(4000);
      }
      if (Date.now() >= deadline) throw new Error(`the workflow did not finish within ${JOB_TIMEOUT_MS / 1000} s`);
      await page.goto(`${GALAXY_URL}/workflows/invocations/${invocationId}`, { waitUntil: "load" });
      await page.locator("#center").getByText(WORKFLOW_NAME).first().waitFor();
      await page.waitForTimeout(3000);
    });
  }
} catch {
  status = 1;
} finally {
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

for (const [tag, seconds] of timings) log(`timing: ${tag.padEnd(28)} ${seconds.toFixed(1).padStart(6)} s`);
log(`browser walk-through ${status === 0 ? "PASSED" : "FAILED"} in ${((Date.now() - T0) / 1000).toFixed(0)} s; screenshots in ${ARTIFACTS_DIR}`);
process.exit(status);
