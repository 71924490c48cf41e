// Drive the real ComfyUI frontend in headless Chromium: load each workflow, report errors and graphToPrompt.
// usage: node frontend.cjs SERVER_URL OUT_DIR workflow.json...   (prints one JSON object on stdout)
// With ESTIMATE_WORKFLOW=file.json, the memory estimate is driven on that workflow's samplers afterwards.
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

// The memory estimate line on both samplers: after load, after width, frames and preset changes, and over budget.
async function estimate(page, workflow) {
  await page.evaluate(async (wf) => { await window.app.loadGraphData(wf); }, workflow);
  return page.evaluate(async () => {
    const SETTING = "SemanticGen.MemoryPreset";
    const settings = window.app.extensionManager.setting;
    const [sem, lat] = ["SemanticGenSemanticSampler", "SemanticGenLatentSampler"].map(
      (type) => window.app.graph._nodes.find((n) => n.type === type));
    const line = (n) => n.widgets.find((w) => w.name === "memory estimate");
    const snap = (n) => ({ text: line(n).value, colour: line(n).colour, peak: line(n).plan?.peak ?? null,
      budget: line(n).plan?.budget ?? null, stages: line(n).plan?.stages.map((s) => s.stage) ?? null,
      seconds: line(n).plan?.stages[0]?.seconds ?? null });
    const until = async (ok) => {
      for (const t0 = Date.now(); Date.now() - t0 < 10000; await new Promise((r) => setTimeout(r, 50))) if (ok()) return;
    };
    const changed = (n, before) => until(() => line(n).plan && line(n).value !== before.text);
    const set = (n, name, value) => { // as the widget's UI does it
      const w = n.widgets.find((w) => w.name === name);
      w.value = value;
      w.callback?.(value);
    };
    const out = { setting: { definition: settings.settings[SETTING] ?? null, value: settings.get(SETTING) } };
    const step = async (name, action) => { // both lines answer each change (the Latent Sampler's size is upstream)
      const before = [snap(sem), snap(lat)];
      await action();
      await changed(sem, before[0]);
      await changed(lat, before[1]);
      [out[name], out[`latent_${name}`]] = [snap(sem), snap(lat)];
    };
    await until(() => line(sem).plan && line(lat).plan);
    [out.loaded, out.latent_loaded] = [snap(sem), snap(lat)];
    set(sem, "steps", 2 * sem.widgets.find((w) => w.name === "steps").value); // the time only, of this stage only
    await changed(sem, out.loaded);
    out.steps = snap(sem);
    await step("width", () => set(sem, "width", 1024));
    await step("frames", () => set(sem, "frames", 257));
    await step("preset", () => settings.set(SETTING, "8 GB"));
    out.preset.value = settings.get(SETTING);
    await step("over", () => [["width", 4096], ["height", 4096], ["frames", 8193]].forEach(([k, v]) => set(sem, k, v)));
    await settings.set(SETTING, "this device"); // the server keeps settings: leave the default behind
    return out;
  });
}

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
    await page.waitForFunction(() => window.app.graph._nodes.every((n) => !n.widgets?.some(
      (w) => w.name === "memory estimate" && w.value === "estimate: …")), null, { timeout: 15000 }).catch(() => {});
    const dialogs = await page.$$eval(".p-dialog", (els) => els.map((e) => e.innerText));
    const toasts = await page.$$eval(".p-toast-message", (els) => els.map((e) => e.innerText));
    const state = await page.evaluate(async () => {
      const nodes = window.app.graph._nodes.map((n) => ({ id: n.id, type: n.type, has_errors: !!n.has_errors,
        color: n.color ?? null }));
      const { output } = await window.app.graphToPrompt();
      // mode-dependent widgets: record visibility, flip the mode through the widget's callback, record again
      // what the page shows, not only the widgets' state: in Vue nodes mode every node is a DOM element
      const vue = !!window.app.extensionManager.setting.get("Comfy.VueNodes.Enabled");
      const element = (n) => document.querySelector(`[data-node-id="${n.id}"]`);
      const rendered = async () => { await new Promise((r) => setTimeout(r, 150)); };
      const shows = (n, label) => (vue ? element(n)?.innerText.split("\n").some((l) => l.trim() === label) ?? null
        : null);
      const modes = [];
      for (const n of window.app.graph._nodes.filter((n) => n.type === "SemanticGenLatentSampler")) {
        const attention = n.widgets.find((w) => w.name === "attention");
        const win = n.widgets.find((w) => w.name === "window");
        const state = async () => { await rendered(); return { attention: attention.value, window_hidden: !!win.hidden,
          window_shown: shows(n, "window") }; };
        const before = await state();
        const original = attention.value;
        attention.value = original === "full" ? "swin" : "full";
        attention.callback?.(attention.value);
        const after = await state();
        attention.value = original;
        attention.callback?.(original);
        modes.push([before, after]);
      }
      const visible = (el) => { const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
        return el.isConnected && r.width > 0 && r.height > 0 && cs.display !== "none" && cs.visibility !== "hidden"; };
      const shown = [...document.querySelectorAll(".semanticgen-estimate")].map((el) => ({ text: el.textContent,
        visible: visible(el), colour: getComputedStyle(el).color }));
      const painted = (el) => [el, ...el.querySelectorAll("*")].map((e) => getComputedStyle(e).backgroundColor)
        .find((c) => c !== "rgba(0, 0, 0, 0)" && c !== "transparent") ?? null; // the node's own body colour
      const backgrounds = vue ? Object.fromEntries(window.app.graph._nodes.map((n) => [n.type, element(n)
        ? painted(element(n)) : null])) : null;
      const estimates = window.app.graph._nodes.flatMap((n) => n.widgets?.filter((w) => w.name === "memory estimate")
        .map((w) => ({ type: n.type, text: w.value })) ?? []);
      return { nodes, output, modes, estimates, vue, shown, backgrounds };
    });
    await page.evaluate(() => { window.app.canvas.ds.offset = [40, 120]; window.app.canvas.ds.scale = 0.9; window.app.graph.setDirtyCanvas(true, true); });
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(outDir, `${name}.png`) });
    // close any dialog so the next workflow starts clean
    for (const btn of await page.$$(".p-dialog .p-dialog-close-button")) await btn.click().catch(() => {});
    results[name] = { ...state, dialogs, toasts };
    for (const btn of await page.$$(".p-toast-close-button")) await btn.click().catch(() => {});
  }
  if (process.env.ESTIMATE_WORKFLOW) {
    const workflow = JSON.parse(fs.readFileSync(process.env.ESTIMATE_WORKFLOW, "utf8"));
    const t0 = Date.now();
    results.__estimate = await estimate(page, workflow);
    results.__estimate.seconds = (Date.now() - t0) / 1000;
  }
  results.__page_errors = consoleErrors;
  process.stdout.write(JSON.stringify(results));
  await browser.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
