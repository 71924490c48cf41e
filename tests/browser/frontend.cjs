// Drive the real ComfyUI frontend in headless Chromium: load each workflow, report errors and graphToPrompt.
// usage: node frontend.cjs SERVER_URL OUT_DIR workflow.json...   (prints one JSON object on stdout)
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

async function main() {
  const [url, outDir, ...files] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.app && window.app.graph, null, { timeout: 120000 });
  const results = {};
  for (const file of files) {
    const workflow = JSON.parse(fs.readFileSync(file, "utf8"));
    const name = path.basename(file, ".json");
    await page.evaluate(async (wf) => { await window.app.loadGraphData(wf); }, workflow);
    await page.waitForTimeout(500);
    const dialogs = await page.$$eval(".p-dialog", (els) => els.map((e) => e.innerText));
    const toasts = await page.$$eval(".p-toast-message", (els) => els.map((e) => e.innerText));
    const state = await page.evaluate(async () => {
      const nodes = window.app.graph._nodes.map((n) => ({ id: n.id, type: n.type, has_errors: !!n.has_errors,
        color: n.color ?? null }));
      const { output } = await window.app.graphToPrompt();
      // mode-dependent widgets: record visibility, flip the mode through the widget's callback, record again
      const modes = [];
      for (const n of window.app.graph._nodes.filter((n) => n.type === "SemanticGenLatentSampler")) {
        const attention = n.widgets.find((w) => w.name === "attention");
        const win = n.widgets.find((w) => w.name === "window");
        const before = { attention: attention.value, window_hidden: !!win.hidden };
        const original = attention.value;
        attention.value = original === "full" ? "swin" : "full";
        attention.callback?.(attention.value);
        const after = { attention: attention.value, window_hidden: !!win.hidden };
        attention.value = original;
        attention.callback?.(original);
        modes.push([before, after]);
      }
      return { nodes, output, modes };
    });
    await page.evaluate(() => { window.app.canvas.ds.offset = [40, 120]; window.app.canvas.ds.scale = 0.9; window.app.graph.setDirtyCanvas(true, true); });
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(outDir, `${name}.png`) });
    // close any dialog so the next workflow starts clean
    for (const btn of await page.$$(".p-dialog .p-dialog-close-button")) await btn.click().catch(() => {});
    results[name] = { ...state, dialogs, toasts };
    for (const btn of await page.$$(".p-toast-close-button")) await btn.click().catch(() => {});
  }
  results.__page_errors = consoleErrors;
  process.stdout.write(JSON.stringify(results));
  await browser.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
