// Static checks of a built site (called by scripts/check-docs.sh):
//   node check-site.mjs OUTPUT_DIR SITE_ROOT
// Fails (exit 1, one line per problem) on: a broken internal link, image or #anchor; anything a
// page, a style sheet or a script loads from another host; a guide whose evaluation failed; a
// public type or member without a summary; template placeholders, raw XML doc or unrendered
// maths left in a page; an API type or member without a source link, or whose source link does
// not land on a line (of the site's copy of the sources) that names it.
import fs from "node:fs";
import path from "node:path";

const [outDir, siteRoot] = process.argv.slice(2);
if (!outDir || !siteRoot) { console.error("usage: node check-site.mjs OUTPUT_DIR SITE_ROOT"); process.exit(2); }
const root = siteRoot.endsWith("/") ? siteRoot : siteRoot + "/";

const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
const files = walk(outDir);
const rel = f => path.relative(outDir, f).split(path.sep).join("/");
const existing = new Set(files.map(rel));
const unescape = s => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(+n)).replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16))).replace(/&amp;/g, "&");

const problems = new Map();  // kind -> messages
const report = (kind, message) => { if (!problems.has(kind)) problems.set(kind, []); problems.get(kind).push(message); };

const isRemote = url => /^([a-z][a-z0-9+.-]*:)?\/\//i.test(url) && !/^data:/i.test(url);
const html = new Map(files.filter(f => f.endsWith(".html")).map(f => [rel(f), fs.readFileSync(f, "utf8")]));

const anchorCache = new Map();
function anchors(page) {
    if (!anchorCache.has(page)) {
        const text = html.get(page) ?? "";
        anchorCache.set(page, new Set([...text.matchAll(/\s(?:id|name)="([^"]*)"/g)].map(m => unescape(m[1]))));
    }
    return anchorCache.get(page);
}

// A site address (as written in `page`) to a file of the output, or null when it leaves the site.
function resolve(page, url) {
    let [target] = url.split("#");
    target = target.split("?")[0];
    let local;
    if (target === "") local = page;
    else if (target.startsWith(root)) local = target.slice(root.length);
    else if (target.startsWith("/")) return { outside: true };
    else local = path.posix.normalize(path.posix.join(path.posix.dirname(page), target));
    try { local = decodeURIComponent(local); } catch { }
    if (local === "" || local.endsWith("/") || local === ".") local = path.posix.join(local, "index.html");
    return { local };
}

function checkUrl(page, url, what, loads) {
    url = unescape(url.trim());
    if (url === "" || /^(mailto|javascript|data):/i.test(url)) return;
    if (isRemote(url)) { if (loads) report("loads from another host", `${page}: ${what} ${url}`); return; }
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) { report("unexpected address", `${page}: ${what} ${url}`); return; }
    const { local, outside } = resolve(page, url);
    if (outside) { report("broken internal link", `${page}: ${what} ${url} is outside the site root ${root}`); return; }
    if (!existing.has(local)) { report(what === "image" ? "missing image" : "broken internal link", `${page}: ${what} ${url} (no ${local})`); return; }
    const hash = url.includes("#") ? url.slice(url.indexOf("#") + 1) : "";
    if (hash && local.endsWith(".html")) {
        let id = hash;
        try { id = decodeURIComponent(hash); } catch { }
        if (!anchors(local).has(id)) report("missing #anchor", `${page}: ${url} (${local} has no id or name "${id}")`);
    }
}

const loadingAttrs = [
    [/<script\b[^>]*\ssrc="([^"]*)"/g, "script", true],
    [/<img\b[^>]*\ssrc="([^"]*)"/g, "image", true],
    [/<(?:iframe|embed|video|audio|source|track|input)\b[^>]*\ssrc="([^"]*)"/g, "embedded resource", true],
    [/<(?:video)\b[^>]*\sposter="([^"]*)"/g, "poster", true],
    [/<object\b[^>]*\sdata="([^"]*)"/g, "object", true],
    [/<image\b[^>]*\s(?:xlink:)?href="([^"]*)"/g, "SVG image", true],
];

for (const [page, text] of html) {
    for (const [re, what, loads] of loadingAttrs) for (const m of text.matchAll(re)) checkUrl(page, m[1], what, loads);
    for (const m of text.matchAll(/<link\b([^>]*)>/g)) {
        const href = m[1].match(/\shref="([^"]*)"/)?.[1];
        if (href === undefined) continue;
        const relAttr = m[1].match(/\srel="([^"]*)"/)?.[1] ?? "";
        const loads = !/^(canonical|alternate|author|license|help|next|prev)$/i.test(relAttr);
        checkUrl(page, href, `<link rel="${relAttr}">`, loads);
    }
    for (const m of text.matchAll(/<a\b[^>]*\shref="([^"]*)"/g)) checkUrl(page, m[1], "link", false);
    for (const m of text.matchAll(/\ssrcset="([^"]*)"/g))
        for (const candidate of m[1].split(",")) checkUrl(page, candidate.trim().split(/\s+/)[0], "image", true);
    for (const m of text.matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)) checkUrl(page, m[1], "CSS url()", true);
    for (const m of text.matchAll(/@import\s+['"]([^'"]+)['"]/g)) checkUrl(page, m[1], "CSS @import", true);

    if (page.startsWith("source/")) continue;   // the library's sources, as text: XML doc and braces are theirs
    if (text.includes("No value returned by any evaluator"))
        report("guide evaluation failed", `${page}: says "No value returned by any evaluator" (run the guide with dotnet fsi to see why)`);
    const placeholder = text.match(/\{\{[a-z-]+\}\}/);
    if (placeholder) report("template placeholder left", `${page}: ${placeholder[0]}`);
    if (/&lt;\/?(summary|see|c|para|paramref)\b/.test(text)) report("raw XML doc in a page", `${page}: ${text.match(/&lt;\/?(summary|see|c|para|paramref)\b[^\n]{0,60}/)[0]}`);
    if (text.includes('<span class="math">')) report("maths not rendered", `${page}: a <span class="math"> is left (KaTeX did not run)`);

    if (page.startsWith("reference/") && page !== "reference/index.html") {
        // The type's own summary.
        const head = text.match(/<div id="content">([\s\S]*?)(<h3>|<\/main>)/)?.[1] ?? "";
        const isNamespace = /<h2[^>]*>\s*\S+ Namespace\s*<\/h2>/.test(head);
        if (!isNamespace && !/<p class="fsdocs-summary">\s*\S/.test(head))
            report("public member without a summary", `${page}: the type or module itself`);
        // fsdocs writes a namespace's <namespacedoc> summary right under its heading.
        if (isNamespace && !/ Namespace\s*<\/h2>\s*<div class="fsdocs-xmldoc">\s*<p>\s*\S/.test(head))
            report("namespace without a description", `${page} (give one type of the namespace a <namespacedoc>)`);
        // F# writes an `IsCase` property for each union case: documented by the case itself.
        const anchors = new Set([...text.matchAll(/<a id="([^"]+)"/g)].map(m => unescape(m[1])));
        // Each member row: usage cell (with the anchor) then the doc cell.
        for (const row of text.matchAll(/<td class="fsdocs-member-usage">([\s\S]*?)<\/td>\s*<td class="fsdocs-member-xmldoc">([\s\S]*?)<\/td>\s*<\/tr>/g)) {
            if (/<p class="fsdocs-summary">\s*\S/.test(row[2])) continue;
            const name = unescape(row[1].match(/<a id="([^"]+)"/)?.[1] ?? "?");
            // Members the C# compiler writes for enums and records: nothing to document in source.
            // fsdocs cannot match the XML doc of a member taking a 2-D array or of a conversion
            // operator (their doc IDs have forms it does not parse); CS1591 checks those in C#.
            if (/\[,\]/.test(row[1]) || /^op_(Explicit|Implicit)$/.test(name)) continue;
            if (/^Is[A-Z]/.test(name) && anchors.has(name.slice(2))) continue;
            if (/^(value__|Equals|GetHashCode|ToString|Deconstruct|``<Clone>\$``|<Clone>\$|\(=\)|\(<>\)|op_Equality|op_Inequality|EqualityContract|PrintMembers)$/.test(name)) continue;
            report("public member without a summary", `${page}#${name}`);
        }
    }
}

// Source links: every documented type and member of the reference links to the line of this
// site's copy of the sources (source/...cs.html#L42) that declares it, and that line names it.
const sourceLine = new Map();
function lineOf(url) {
    const { local } = resolve("reference/index.html", url);
    const text = local && html.get(local);
    const id = url.includes("#") ? url.slice(url.indexOf("#") + 1) : "";
    if (!text || !/^L\d+$/.test(id)) return null;
    const key = `${local}#${id}`;
    if (!sourceLine.has(key)) {
        const m = text.match(new RegExp(`<span class="l" id="${id}">([\\s\\S]*?)</span>`));
        sourceLine.set(key, m ? unescape(m[1].replace(/<a class="n"[^>]*>\d+<\/a>/, "").replace(/<[^>]*>/g, "")) : null);
    }
    return sourceLine.get(key);
}
// What the declaring line must contain for a row's anchor ("KlDiv", "``.ctor``", "(+)", "Item").
function declares(line, anchor, typeName) {
    if (anchor === "``.ctor``") return new RegExp(`\\b${typeName}\\b`).test(line);   // a constructor, or the type (positional record, default constructor)
    if (/^\(.*\)$/.test(anchor) || /^op_/.test(anchor)) return /\boperator\b/.test(line);
    if (anchor === "Item") return /\bthis\s*\[/.test(line) || /\bItem\b/.test(line);
    const name = anchor.replace(/^``|``$/g, "").replace(/^(get|set)_/, "");
    return line.includes(name);
}
let sourceLinks = 0;
for (const [page, text] of html) {
    for (const m of text.matchAll(/<a\b[^>]*\shref="(file:[^"]*)"/g)) report("source link outside the site", `${page}: ${m[1]}`);
    if (!page.startsWith("reference/") || page === "reference/index.html") continue;
    const typeName = text.match(/<title>([^|<(]*)/)?.[1].trim().replace(/<.*$/, "") ?? "";
    for (const row of text.matchAll(/<td class="fsdocs-member-usage">([\s\S]*?)<\/td>\s*<td class="fsdocs-member-xmldoc">([\s\S]*?)<\/td>\s*<\/tr>/g)) {
        const anchor = unescape(row[1].match(/<a id="([^"]+)"/)?.[1] ?? "?");
        // Members the compilers write (enums, records, F# union testers) have no line of their own.
        if (/^(value__|Equals|GetHashCode|ToString|Deconstruct|``<Clone>\$``|<Clone>\$|\(=\)|\(<>\)|op_Equality|op_Inequality|EqualityContract|PrintMembers|Tag)$/.test(anchor) || /^Is[A-Z]/.test(anchor)) continue;
        const href = row[2].match(/<a href="([^"]*)" class="fsdocs-source-link autokl-source-link"/)?.[1];
        if (!href) { report("API member without a source link", `${page}#${anchor}`); continue; }
        if (!href.startsWith(root + "source/")) { report("source link outside the site", `${page}#${anchor}: ${href}`); continue; }
        sourceLinks++;
        const line = lineOf(href);
        if (line === null) report("source link to a missing line", `${page}#${anchor}: ${href}`);
        else if (!declares(line, anchor, typeName)) report("source link to the wrong line", `${page}#${anchor}: ${href} reads "${line.trim()}"`);
    }
    for (const row of text.matchAll(/<td class="fsdocs-entity-name">([\s\S]*?)<\/td>\s*<td class="fsdocs-entity-xmldoc">([\s\S]*?)<\/td>/g)) {
        const name = unescape(row[1].match(/<a name="([^"]+)"/)?.[1] ?? "?");
        const href = row[2].match(/<a href="([^"]*)" class="fsdocs-source-link autokl-source-link"/)?.[1];
        if (!href) { report("API type without a source link", `${page}: ${name}`); continue; }
        sourceLinks++;
        const line = lineOf(href);
        if (line === null) report("source link to a missing line", `${page}: ${name}: ${href}`);
        else if (!line.includes(name.replace(/<.*$/, "").replace(/^``|``$/g, ""))) report("source link to the wrong line", `${page}: ${name}: ${href} reads "${line.trim()}"`);
    }
}
if (sourceLinks === 0) report("no source links", "the reference links to no source line at all");

// Style sheets and scripts of the site.
for (const f of files) {
    const page = rel(f);
    if (page.endsWith(".css")) {
        const text = fs.readFileSync(f, "utf8");
        for (const m of text.matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)) checkUrl(page, m[1], "CSS url()", true);
        for (const m of text.matchAll(/@import\s+(?:url\()?['"]([^'"]+)['"]/g)) checkUrl(page, m[1], "CSS @import", true);
    } else if (/\.(m?js)$/.test(page)) {
        const text = fs.readFileSync(f, "utf8");
        for (const m of text.matchAll(/(?:\bimport\s*\(?|\bfrom|\bfetch\s*\()\s*["'`]((?:[a-z]+:)?\/\/[^"'`]+)/g))
            report("loads from another host", `${page}: ${m[1]}`);
    }
}

let total = 0;
for (const [kind, messages] of problems) {
    total += messages.length;
    console.error(`check-site: ${messages.length} x ${kind}:`);
    for (const m of messages.slice(0, +(process.env.CHECK_SITE_LIMIT ?? 25))) console.error(`  ${m}`);
    if (messages.length > +(process.env.CHECK_SITE_LIMIT ?? 25)) console.error(`  ... and ${messages.length - +(process.env.CHECK_SITE_LIMIT ?? 25)} more (CHECK_SITE_LIMIT=N shows more)`);
}
if (total) { console.error(`check-site: FAILED: ${total} problems in ${outDir} (root ${root})`); process.exit(1); }
console.log(`check-site: OK: ${html.size} pages, every internal link, image and anchor resolves, nothing loads from another host, every guide evaluated, every public member has a summary, ${sourceLinks} source links land on the line that declares their type or member`);
