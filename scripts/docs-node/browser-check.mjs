// Opens the built site in Debian's chromium (headless, through playwright-core) and checks that
// every guide rendered: its title, no console error or failed request, every image loaded
// (naturalWidth > 0), and that search returns results. Serves the site itself, on 127.0.0.1,
// under the root it was built for; any request to another host is refused and reported.
//   node browser-check.mjs OUTPUT_DIR SITE_ROOT DOCS_DIR [CHROMIUM]
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";

const [outDir, siteRoot, docsDir, executable = "/usr/bin/chromium"] = process.argv.slice(2);
if (!outDir || !siteRoot || !docsDir) { console.error("usage: node browser-check.mjs OUTPUT_DIR SITE_ROOT DOCS_DIR [CHROMIUM]"); process.exit(2); }
const root = siteRoot.endsWith("/") ? siteRoot : siteRoot + "/";
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
    ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".gif": "image/gif", ".woff2": "font/woff2",
    ".woff": "font/woff", ".ttf": "font/ttf", ".fsx": "text/plain; charset=utf-8", ".md": "text/markdown", ".txt": "text/plain" };

const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (!url.startsWith(root)) { res.writeHead(404); res.end(); return; }
    let file = path.join(outDir, url.slice(root.length));
    if (!path.resolve(file).startsWith(path.resolve(outDir))) { res.writeHead(403); res.end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
    if (!fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
});
await new Promise(r => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;

const failures = [];
const fail = (page, message) => failures.push(`${page}: ${message}`);

const browser = await chromium.launch({
    executablePath: executable,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
// Nothing but this server: a request elsewhere is refused (and reported), as it would fail offline.
await context.route("**/*", route => {
    const url = route.request().url();
    if (url.startsWith(origin + "/") || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
    return route.abort("blockedbyclient");
});

const guides = fs.readdirSync(docsDir).filter(f => f.endsWith(".fsx")).sort().map(f => {
    const source = fs.readFileSync(path.join(docsDir, f), "utf8");
    return { page: f.replace(/\.fsx$/, ".html"), title: source.match(/^title:\s*(.+)$/m)?.[1].trim() };
});
const pages = [{ page: "index.html", title: null }, ...guides];
const wideBlocks = [];

for (const { page, title } of pages) {
    const tab = await context.newPage();
    const errors = [];
    tab.on("console", msg => { if (msg.type() === "error") errors.push(`console error: ${msg.text()}`); });
    tab.on("pageerror", err => errors.push(`script error: ${err.message}`));
    tab.on("requestfailed", req => errors.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
    tab.on("response", resp => { if (resp.status() >= 400) errors.push(`HTTP ${resp.status()}: ${resp.url()}`); });
    try {
        const response = await tab.goto(`${origin}${root}${page}`, { waitUntil: "load", timeout: 60000 });
        if (!response || !response.ok()) { fail(page, `HTTP ${response?.status()}`); continue; }
        await tab.waitForLoadState("networkidle", { timeout: 30000 }).catch(() => {});
        const actual = await tab.title();
        if (title && actual !== `${title} | AutoKl`) fail(page, `title is "${actual}", expected "${title} | AutoKl"`);
        if (!title && !actual.endsWith("| AutoKl")) fail(page, `title is "${actual}"`);
        const heading = await tab.locator("#content h1").first().textContent().catch(() => null);
        if (!heading || !heading.trim()) fail(page, "no h1 heading rendered");
        const images = await tab.evaluate(async () => {
            const imgs = [...document.images];
            await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
            return imgs.map(i => ({ src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0 }));
        });
        for (const img of images) if (!img.ok) fail(page, `image did not load: ${img.src}`);
        const icons = await tab.evaluate(() => ({
            theme: !!document.querySelector("fsdocs-theme-toggle svg"),
            search: getComputedStyle(document.querySelector("#search-btn")).display !== "none",
        }));
        if (!icons.theme) fail(page, "the theme toggle has no icon (its script did not run)");
        if (!icons.search) fail(page, "the search button is hidden (the search index did not load)");
        const wide = await tab.evaluate(() => [...document.querySelectorAll("#content pre")]
            .filter(p => p.scrollWidth > p.clientWidth + 1).length);
        if (wide) wideBlocks.push(`${page}: ${wide}`);
        for (const e of errors) fail(page, e);
    } catch (e) {
        fail(page, `could not be checked: ${e.message.split("\n")[0]}`);
    } finally {
        await tab.close();
    }
}

// Search, from a guide page: type a name, expect results whose links open.
async function search(term) {
    const tab = await context.newPage();
    const errors = [];
    tab.on("pageerror", err => errors.push(err.message));
    try {
        await tab.goto(`${origin}${root}${guides[0].page}`, { waitUntil: "networkidle", timeout: 60000 });
        await tab.click("#search-btn");
        await tab.fill("dialog input[type=search]", term);
        await tab.waitForSelector("dialog ul li a", { timeout: 15000 });
        const hrefs = await tab.$$eval("dialog ul li a", as => as.map(a => a.href));
        const first = hrefs[0];
        const response = await tab.goto(first, { timeout: 30000 });
        if (!response || !response.ok()) fail(`search "${term}"`, `its first result ${first} answers ${response?.status()}`);
        else console.log(`browser-check: search "${term}" at ${root}: ${hrefs.length} results, first ${first.replace(origin, "")}`);
    } catch (e) {
        fail(`search "${term}"`, `no result at root ${root}: ${e.message.split("\n")[0]}`);
    } finally {
        for (const e of errors) fail(`search "${term}"`, e);
        await tab.close();
    }
}
await search("KlDiv");
await search("Gaussian mixture");

// Source links: on a reference page, follow a member's "source" link and land on the line that
// declares it in the site's copy of the sources (a C# member, whose line AutoKl finds, and an F#
// one, whose line fsdocs gives).
async function sourceClick(page, anchor, expected) {
    const where = `${page}#${anchor} source link`;
    const tab = await context.newPage();
    const errors = [];
    tab.on("pageerror", err => errors.push(err.message));
    tab.on("console", msg => { if (msg.type() === "error") errors.push(`console error: ${msg.text()}`); });
    try {
        await tab.goto(`${origin}${root}${page}`, { waitUntil: "networkidle", timeout: 60000 });
        const row = tab.locator("tr", { has: tab.locator(`a[id="${anchor}"]`) }).first();
        // Followed by address rather than by a click: a click starts the template's cross-document
        // view transition, which headless chromium aborts with a console error of its own.
        const href = await row.locator("a.autokl-source-link").first().evaluate(a => a.href);
        const response = await tab.goto(href, { waitUntil: "load", timeout: 30000 });
        if (!response || !response.ok()) { fail(where, `${href} answers ${response?.status()}`); return; }
        const landed = await tab.evaluate(() => {
            const line = document.querySelector(":target");
            if (!line) return null;
            const box = line.getBoundingClientRect();
            return { id: line.id, text: line.textContent, visible: box.bottom > 0 && box.top < window.innerHeight, top: box.top, path: location.pathname };
        });
        if (!landed) fail(where, "the source page has no :target line");
        else if (!landed.text.includes(expected)) fail(where, `landed on ${landed.path}#${landed.id}: "${landed.text.trim()}", which does not name ${expected}`);
        else if (!landed.visible) fail(where, `line ${landed.id} of ${landed.path} is not scrolled into view (its top at ${landed.top} px)`);
        else console.log(`browser-check: ${where} at ${root}: ${landed.path}#${landed.id}`);
    } catch (e) {
        fail(where, `could not be followed: ${e.message.split("\n")[0]}`);
    } finally {
        for (const e of errors) fail(where, e);
        await tab.close();
    }
}
await sourceClick("reference/autokl-losses.html", "KlDiv", "KlDiv");
await sourceClick("reference/autokl-tensormodule.html", "log", "log");

await browser.close();
server.close();
if (wideBlocks.length) console.log(`browser-check: code blocks wider than the column at 1280 px (they scroll): ${wideBlocks.join(", ")}`);
if (failures.length) {
    for (const f of failures) console.error(`browser-check: ${f}`);
    console.error(`browser-check: FAILED: ${failures.length} problems at root ${root}`);
    process.exit(1);
}
console.log(`browser-check: OK: ${pages.length} pages at root ${root} rendered with their titles, no console error, every image loaded; search answers`);
