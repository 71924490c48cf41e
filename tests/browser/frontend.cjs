// Drive the real ComfyUI frontend in headless Chromium: load each workflow, report errors and graphToPrompt.
// usage: node frontend.cjs SERVER_URL OUT_DIR workflow.json...   (prints one JSON object on stdout)
// With ESTIMATE_WORKFLOW=file.json, the memory estimate is driven on that workflow's samplers afterwards.
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const VIEWPORT = { width: 1600, height: 900 };
const SHOT = { width: 2400, height: 1350 }; // scripts/thumbnails.py crops and scales it

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
  const page = await browser.newPage({ viewport: VIEWPORT });
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.app && window.app.graph, null, { timeout: 120000 });
  const results = {};
  const vue = await page.evaluate(() => !!window.app.extensionManager.setting.get("Comfy.VueNodes.Enabled"));
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
      const shown = []; // each line with its node in view (a template is wider than the window)
      for (const n of window.app.graph._nodes) {
        for (const el of (n.widgets ?? []).map((w) => w.element).filter((e) => e?.classList.contains("semanticgen-estimate"))) {
          window.app.canvas.centerOnNode(n);
          window.app.graph.setDirtyCanvas(true, true);
          await rendered();
          shown.push({ text: el.textContent, visible: visible(el), colour: getComputedStyle(el).color });
        }
      }
      if (document.querySelectorAll(".semanticgen-estimate").length !== shown.length) shown.push({ text: "stray estimate element", visible: false, colour: null });
      const painted = (el) => [el, ...el.querySelectorAll("*")].map((e) => getComputedStyle(e).backgroundColor)
        .find((c) => c !== "rgba(0, 0, 0, 0)" && c !== "transparent") ?? null; // the node's own body colour
      const backgrounds = vue ? Object.fromEntries(window.app.graph._nodes.map((n) => [n.type, element(n)
        ? painted(element(n)) : null])) : null;
      const estimates = window.app.graph._nodes.flatMap((n) => n.widgets?.filter((w) => w.name === "memory estimate")
        .map((w) => ({ type: n.type, text: w.value })) ?? []);
      return { nodes, output, modes, estimates, vue, shown, backgrounds };
    });
    // the screenshot (the template's thumbnail) shows the whole graph, large enough to draw every widget
    await page.setViewportSize(SHOT);
    await page.waitForTimeout(300);
    await page.evaluate(([W, H]) => {
      const th = window.LiteGraph?.NODE_TITLE_HEIGHT ?? 30;
      const boxes = [...window.app.graph._nodes.map((n) => [n.pos[0], n.pos[1] - th, n.size[0], n.size[1] + th]),
        ...(window.app.graph.groups ?? window.app.graph._groups).map((g) => [...(g._bounding ?? g.bounding)])];
      const [x0, y0] = [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1]))];
      const [x1, y1] = [Math.max(...boxes.map((b) => b[0] + b[2])), Math.max(...boxes.map((b) => b[1] + b[3]))];
      const [left, top] = [70, 140]; // right of the side bar, below the tab strip and the workflow menu
      const scale = Math.min(1, (W - left - 20) / (x1 - x0), (H - top - 20) / (y1 - y0));
      window.app.canvas.ds.scale = scale;
      window.app.canvas.ds.offset = [left / scale - x0, top / scale - y0];
      window.app.graph.setDirtyCanvas(true, true);
    }, [SHOT.width, SHOT.height]);
    await page.waitForTimeout(vue ? 800 : 200);
    // where every node and group is after load, as drawn: node.pos/size (the title bar is drawn above pos) and,
    // with Vue nodes, each node's element on the page (screen px)
    const geometry = await page.evaluate(() => {
      const rect = (el) => { const r = el?.getBoundingClientRect(); return r ? [r.x, r.y, r.width, r.height] : null; };
      const nodes = window.app.graph._nodes.map((n) => ({ id: n.id, type: n.type, pos: [...n.pos], size: [...n.size],
        collapsed: !!n.flags?.collapsed, element: rect(document.querySelector(`[data-node-id="${n.id}"]`)) }));
      const groups = (window.app.graph.groups ?? window.app.graph._groups).map((g) => ({ title: g.title,
        bounding: [...(g._bounding ?? g.bounding)], color: g.color }));
      return { nodes, groups, title_height: window.LiteGraph?.NODE_TITLE_HEIGHT ?? null };
    });
    await page.screenshot({ path: path.join(outDir, `${name}.png`) });
    await page.setViewportSize(VIEWPORT);
    // close any dialog so the next workflow starts clean
    for (const btn of await page.$$(".p-dialog .p-dialog-close-button")) await btn.click().catch(() => {});
    results[name] = { ...state, dialogs, toasts, geometry };
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
