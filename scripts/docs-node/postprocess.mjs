// Finishes the site fsdocs wrote (called by scripts/build-docs.sh):
//   node postprocess.mjs OUTPUT_DIR SITE_ROOT DOCS_DIR
// - renders the LaTeX of the guides ($...$, $$$ blocks) with KaTeX, so pages need no script for it;
// - rebuilds "On this page" from the headings (fsdocs leaves out every heading holding inline code);
// - turns the raw XML doc in the guides' hover tooltips into text (<summary>, <see cref>, <c>);
// - renders `code` in the API reference's text (the F# docs are written with Markdown backticks);
// - points links to types fsdocs writes no page for (nested records) at their parent's page;
// - labels each evaluated output with the value it shows, and offers each guide as an .fsx;
// - links the API names a guide mentions (`Losses.KlDiv`) to their reference pages, and lists on
//   each reference page the guides that use it;
// - makes index.json's addresses relative to the site root, so search works at any root;
// - publishes the library's sources under source/ and points every API member's source link at
//   the line that declares it (sources.mjs): fsdocs's links for F# members, found in the C#
//   files for C# members, for which fsdocs has no location.
import fs from "node:fs";
import path from "node:path";
import katex from "katex";
import { publishSources, CSharpIndex, sourceUrl } from "./sources.mjs";

const [outDir, siteRoot, docsDir] = process.argv.slice(2);
if (!outDir || !siteRoot || !docsDir) {
    console.error("usage: node postprocess.mjs OUTPUT_DIR SITE_ROOT DOCS_DIR");
    process.exit(2);
}
const root = siteRoot.endsWith("/") ? siteRoot : siteRoot + "/";
const failures = [];

const unescape = s => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
const escape = s => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const stripTags = s => s.replace(/<[^>]*>/g, "");
const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);

// The sources first (their pages are not fsdocs's, and are not finished below).
const repoDir = path.resolve(docsDir, "..");
const published = new Set(publishSources(repoDir, outDir, root));
const csharp = new CSharpIndex(repoDir);
const sourceStats = { fsharp: 0, csharp: 0, notFound: [] };

const rel = f => path.relative(outDir, f).split(path.sep).join("/");
const htmlFiles = walk(outDir).filter(f => f.endsWith(".html") && !rel(f).startsWith("source/"));
const existing = new Set(walk(outDir).map(rel));

// ---- maths --------------------------------------------------------------------------------
function renderMath(html, file) {
    const render = (tex, displayMode) => {
        try {
            return katex.renderToString(unescape(tex).trim(), { displayMode, throwOnError: true, output: "htmlAndMathml", strict: "ignore" });
        } catch (e) {
            failures.push(`${rel(file)}: KaTeX cannot render ${JSON.stringify(unescape(tex).trim())}: ${e.message}`);
            return escape(unescape(tex));
        }
    };
    return html
        .replace(/<span class="math">\\\[([\s\S]*?)\\\]<\/span>/g, (_, tex) => render(tex, true))
        .replace(/<span class="math">\\\(([\s\S]*?)\\\)<\/span>/g, (_, tex) => render(tex, false));
}

// ---- "On this page" -----------------------------------------------------------------------
function pageMenu(html) {
    const items = [];
    const re = /<h([1-3])[^>]*>\s*<a name="([^"]+)" class="anchor" href="#[^"]*">([\s\S]*?)<\/a>\s*<\/h\1>/g;
    for (const m of html.matchAll(re)) {
        const text = stripTags(m[3]).replace(/\s+/g, " ").trim();
        items.push(`  <li class="level-${m[1]}">\n    <a href="#${m[2]}">${text}</a>\n  </li>`);
    }
    return html.replace(/(<p id="on-this-page">On this page<\/p>)[\s\S]*?(<\/aside>)/, (_, head, tail) =>
        items.length ? `${head}\n<ul>\n${items.join("\n")}\n</ul>\n${tail}` : `${head}\n<ul class="empty"></ul>\n${tail}`);
}

// ---- tooltips: XML doc to text ------------------------------------------------------------
function xmlDocToHtml(escaped) {
    let s = unescape(escaped);
    const summary = s.match(/<summary>([\s\S]*?)<\/summary>/);
    if (summary) s = summary[1];
    else s = s.replace(/<(param|typeparam|returns|exception|remarks|example)\b[\s\S]*?<\/\1>/g, "");
    const codeOf = t => `\u0000code\u0001${t}\u0000/code\u0001`;
    s = s.replace(/<see\s+cref="[A-Z]:([^"(]+?)(\([^"]*\))?"\s*\/>/g, (_, name) => {
        const parts = name.replace(/`\d+/g, "").split(".");
        const last = parts.at(-1) === "#ctor" ? parts.at(-2) : parts.at(-1);
        return codeOf(last);
    });
    s = s.replace(/<see\s+langword="([^"]+)"\s*\/>/g, (_, w) => codeOf(w));
    s = s.replace(/<(?:paramref|typeparamref)\s+name="([^"]+)"\s*\/>/g, (_, n) => codeOf(n));
    s = s.replace(/<c>([\s\S]*?)<\/c>/g, (_, t) => codeOf(t));
    s = s.replace(/<[^>]+>/g, "");
    s = escape(s.replace(/\s+/g, " ").trim());
    s = s.replace(/\u0000code\u0001/g, "<code>").replace(/\u0000\/code\u0001/g, "</code>");
    return backticks(s);
}
function tooltips(html) {
    return html.replace(/<em>((?:[^<]|<br\s*\/?>)*?&lt;\/?(?:summary|see|c|para|paramref|typeparamref|param|returns|remarks)\b(?:[^<]|<br\s*\/?>)*?)<\/em>/g,
        (_, doc) => `<em>${xmlDocToHtml(doc)}</em>`);
}

// ---- `code` in text -----------------------------------------------------------------------
function backticks(text) {
    return text.replace(/(?<!`)`([^`\n<]+)`(?!`)/g, "<code>$1</code>");
}
// Applies f to the text between tags, outside <pre>, <code>, <script>, <style> and <head>.
function mapText(html, f) {
    let depth = 0;
    return html.split(/(<[^>]*>)/).map(part => {
        if (part.startsWith("<")) {
            const m = part.match(/^<(\/?)(pre|code|script|style|head|title)\b/i);
            if (m) depth += m[1] ? -1 : 1;
            return part;
        }
        return depth > 0 ? part : f(part);
    }).join("");
}

// ---- links to types without a page --------------------------------------------------------
function pageless(html, file) {
    return html.replace(/href="([^"#]*)(#[^"]*)?"/g, (whole, target, hash) => {
        if (!target.startsWith(root + "reference/") || !target.endsWith(".html")) return whole;
        const local = target.slice(root.length);
        if (existing.has(local)) return whole;
        // reference/autokl-optim-optimizerstate-group.html -> reference/autokl-optim-optimizerstate.html
        let parent = local.replace(/\.html$/, "");
        while (parent.includes("-")) {
            parent = parent.slice(0, parent.lastIndexOf("-"));
            if (existing.has(parent + ".html")) return `href="${root}${parent}.html"`;
        }
        return whole;
    });
}

// ---- source links ------------------------------------------------------------------------
// fsdocs writes <a href="file://ROOTsource//src/X.fs#L27-27" class="fsdocs-source-link"> for F#
// members (build-docs.sh passes --sourcerepo file://ROOTsource/: fsdocs accepts only an absolute
// address) and one to "startup" or none at all for C# types and members.
const codeIcon = `<svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M8.7 16.6 4.1 12l4.6-4.6L7.3 6l-6 6 6 6zm6.6 0 4.6-4.6-4.6-4.6L16.7 6l6 6-6 6z"/></svg>`;
const sourceLink = (file, line) =>
    `<a href="${sourceUrl(root, file, line)}" class="fsdocs-source-link autokl-source-link" title="Source: ${escape(file)}, line ${line}">${codeIcon}<span>source</span></a>`;
const fsdocsLink = /<a href="file:\/\/([^"#]*)(?:#L(\d+)(?:-\d+)?)?" class="fsdocs-source-link"[^>]*>[\s\S]*?<\/a>/;
function linkFromFsdocs(href, line) {
    const prefix = root + "source/";
    if (!href.startsWith(prefix)) return null;
    const file = href.slice(prefix.length).replace(/^\/+/, "");
    return published.has(file) && line ? { file, line: +line } : null;
}
// The XML doc ID in a row's "Copy signature" button: "M:AutoKl.Losses.KlDiv", "T:AutoKl.Tensor".
const docId = cell => unescape(cell).match(/cref='([A-Z]):([^']+)'/) ?? unescape(cell).match(/cref=\\'([A-Z]):([^'\\]+)\\'/);
function placeLink(cell, link, page, what) {
    const withoutOld = cell.replace(fsdocsLink, "");
    if (!link) return withoutOld;
    if (withoutOld.includes('<div class="icon-button-row">'))
        return withoutOld.replace('<div class="icon-button-row">', `<div class="icon-button-row">\n${link}`);
    failures.push(`${page}: no place for the source link of ${what}`);
    return withoutOld;
}
function sourceLinks(html, page) {
    // The page's own type: "<h2> DType Type </h2>" under "Namespace: AutoKl".
    const typeHead = html.match(/<h2>\s*([A-Za-z_][\w]*)(?:&lt;[^<]*)?\s+Type\s*<\/h2>\s*<dl class="fsdocs-metadata">\s*<dt>\s*Namespace:\s*<a[^>]*>\s*([\w.]+)\s*<\/a>/);
    const pageType = typeHead ? `${typeHead[2]}.${typeHead[1]}` : null;
    // Member rows: usage cell (anchor, tooltip with the parameter names), then the doc cell.
    html = html.replace(/(<td class="fsdocs-member-usage">[\s\S]*?<\/td>\s*)(<td class="fsdocs-member-xmldoc">[\s\S]*?<\/td>)(\s*<\/tr>)/g, (_, usage, cell, end) => {
        const own = cell.match(fsdocsLink);
        const fromFsdocs = own && linkFromFsdocs(own[1], own[2]);
        if (fromFsdocs) { sourceStats.fsharp++; return usage + placeLink(cell, sourceLink(fromFsdocs.file, fromFsdocs.line), page) + end; }
        const anchor = unescape(usage.match(/<a id="([^"]+)"/)?.[1] ?? "?");
        // fsdocs gives fields (enum cases) no "Copy signature" button: the page's type and the anchor then.
        const id = docId(cell) ?? (pageType && /^[A-Za-z_]\w*$/.test(anchor) ? [null, "F", `${pageType}.${anchor}`] : null);
        if (!id) return usage + placeLink(cell, null, page) + end;
        const full = id[2].replace(/\(.*$/, "");
        const typeName = full.slice(0, full.lastIndexOf("."));
        const member = full.slice(full.lastIndexOf(".") + 1);
        // Members the C# compiler writes (enums' value__, records' Equals, ...) have no source line.
        if (/^(value__|Equals|GetHashCode|ToString|Deconstruct|<Clone>\$|op_Equality|op_Inequality|EqualityContract|PrintMembers)$/.test(member)) return usage + placeLink(cell, null, page) + end;
        const tooltip = usage.match(/Parameters:([\s\S]*?)<\/ul>/)?.[1] ?? "";
        const params = [...tooltip.matchAll(/<b>\s*\??([^<\s]+)\s*<\/b>\s*:\s*<code>([\s\S]*?)<\/code>/g)]
            .map(m => ({ name: m[1], type: unescape(stripTags(m[2])) }));
        const returns = unescape(stripTags(usage.match(/Returns:\s*<code>([\s\S]*?)<\/code>/)?.[1] ?? ""));
        const found = csharp.member(typeName, member, params, undefined, returns);
        if (!found) {
            sourceStats.notFound.push(`${page}#${anchor} (${id[1]}:${full}, parameters ${params.map(p => p.name).join(", ") || "none"})`);
            return usage + placeLink(cell, null, page) + end;
        }
        sourceStats.csharp++;
        return usage + placeLink(cell, sourceLink(found.file, found.line), page, anchor) + end;
    });
    // Type rows of namespace and module pages.
    html = html.replace(/(<td class="fsdocs-entity-name">[\s\S]*?<\/td>\s*)(<td class="fsdocs-entity-xmldoc">[\s\S]*?<\/td>)/g, (_, name, cell) => {
        const own = cell.match(fsdocsLink);
        const fromFsdocs = own && linkFromFsdocs(own[1], own[2]);
        if (fromFsdocs) { sourceStats.fsharp++; return name + placeLink(cell, sourceLink(fromFsdocs.file, fromFsdocs.line), page); }
        const id = docId(cell);
        const found = id && id[1] === "T" ? csharp.type(id[2].replace(/`\d+$/, "")) : null;
        if (!found) {
            if (id) sourceStats.notFound.push(`${page}: type ${id[2]}`);
            return name + placeLink(cell, null, page);
        }
        sourceStats.csharp++;
        return name + placeLink(cell, sourceLink(found.file, found.line), page, id[2]);
    });
    return html;
}

// ---- API names in the guides --------------------------------------------------------------
// Reference pages by the name a guide writes: "Losses" -> [page], "Tensor" -> [C# type, F# module].
const refPages = new Map();
const anchorsOf = new Map();
for (const f of htmlFiles.filter(f => rel(f).startsWith("reference/"))) {
    const html = fs.readFileSync(f, "utf8");
    const title = html.match(/<title>([^|<]*)/)?.[1].trim();
    if (!title || !/^[A-Z]/.test(title)) continue;
    // "Losses (AutoKl)" for a type or module, "AutoKl.Optim" for a namespace.
    const name = title.replace(/\s*\([^)]*\)$/, "").replace(/<.*$/, "").trim();
    if (name.includes(".")) continue;
    const anchors = new Set([...html.matchAll(/\b(?:id|name)="([^"]+)"/g)].map(m => m[1]));
    anchorsOf.set(rel(f), anchors);
    if (!refPages.has(name)) refPages.set(name, []);
    refPages.get(name).push(rel(f));
}
const usedBy = new Map();  // reference page -> guides linking to it
function linkApiNames(text, guide) {
    return text.replace(/<code>([A-Z][A-Za-z0-9]*)(?:\.([A-Za-z][A-Za-z0-9_]*))?(?:[ (][^<]*)?<\/code>/g, (whole, type, member) => {
        const pages = refPages.get(type);
        if (!pages) return whole;
        // Prefer the page that has the member (Tensor.log is in the F# module, Tensor.Log in the C# type).
        const page = (member && pages.find(p => anchorsOf.get(p)?.has(member))) || pages[0];
        const hash = member && anchorsOf.get(page)?.has(member) ? `#${member}` : "";
        if (!usedBy.has(page)) usedBy.set(page, new Set());
        usedBy.get(page).add(guide);
        return `<a class="autokl-api-link" href="${root}${page}${hash}">${whole}</a>`;
    });
}

// ---- the guides' evaluated outputs --------------------------------------------------------
function outputLabels(html, fsxSource, page) {
    const commands = [...fsxSource.matchAll(/\(\*\*\*\s*include-(value|output|it|fsi-output|fsi-merged-output)(?::\s*([^*\s]+))?\s*\*\*\*\)/g)]
        .map(m => m[1] === "value" ? `The value of <code>${m[2]}</code>` : m[1] === "it" ? "The value of the expression above" : "Printed by the code above");
    let k = 0;
    const labelled = html.replace(/<table class="pre"><tr><td><pre><code>/g, whole => {
        const label = commands[k++];
        return label ? `<p class="autokl-output-label">${label}:</p>\n${whole}` : whole;
    });
    if (k !== commands.length)
        failures.push(`${page}: ${commands.length} include commands in the script but ${k} output blocks on the page`);
    return labelled;
}

const marker = "<!-- finished by scripts/docs-node/postprocess.mjs -->";
const guides = fs.readdirSync(docsDir).filter(f => f.endsWith(".fsx")).map(f => f.replace(/\.fsx$/, ""));
const guideTitle = new Map();

for (const file of htmlFiles) {
    const page = rel(file);
    let html = fs.readFileSync(file, "utf8");
    if (html.includes(marker)) continue;  // finished already (the script may run twice on one output)
    html = html.replace("</html>", `${marker}\n</html>`);
    const isReference = page.startsWith("reference/");
    const guide = !isReference && guides.includes(page.replace(/\.html$/, "")) ? page.replace(/\.html$/, "") : null;

    html = renderMath(html, file);
    html = pageMenu(html);
    html = tooltips(html);
    html = pageless(html, file);
    if (isReference) html = sourceLinks(mapText(html, backticks), page);
    if (guide) {
        const source = fs.readFileSync(path.join(docsDir, guide + ".fsx"), "utf8");
        html = outputLabels(html, source, page);
        const main = html.indexOf('<div id="content">');
        const tips = html.indexOf('<div popover', main);
        const end = tips > 0 ? tips : html.indexOf("</main>");
        // Link API names in the prose (not inside code blocks or existing links).
        const body = html.slice(main, end);
        const linked = body.split(/(<pre[\s\S]*?<\/pre>|<a\b[\s\S]*?<\/a>|<table class="pre"[\s\S]*?<\/table>)/)
            .map((part, i) => i % 2 ? part : linkApiNames(part, guide)).join("");
        html = html.slice(0, main) + linked + html.slice(end);
        html = html.replace(/<\/h1>/, `</h1>\n<p class="autokl-download"><a href="${guide}.fsx" download>Download this guide as an F# script (${guide}.fsx)</a></p>`);
        guideTitle.set(guide, html.match(/<title>([^|<]*)/)?.[1].trim() ?? guide);
    }
    fs.writeFileSync(file, html);
}

// Reference pages: which guides use this type.
for (const [page, users] of usedBy) {
    const file = path.join(outDir, page);
    let html = fs.readFileSync(file, "utf8");
    const links = [...users].sort().map(g => `<a href="${root}${g}.html">${escape(guideTitle.get(g) ?? g)}</a>`).join(", ");
    html = html.replace(/(<div id="content">\s*<div>\s*<h2>[\s\S]*?<\/h2>)/, `$1\n<p class="autokl-used-in">Used in the guides: ${links}</p>`);
    fs.writeFileSync(file, html);
}

// Each guide as a script to download (its #I path is relative to docs/ in a clone).
for (const g of guides) fs.copyFileSync(path.join(docsDir, g + ".fsx"), path.join(outDir, g + ".fsx"));

// Search index: addresses relative to the site root.
const indexFile = path.join(outDir, "index.json");
if (fs.existsSync(indexFile)) {
    const index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
    for (const entry of index) {
        let uri = entry.uri;
        if (uri.startsWith(root)) uri = uri.slice(root.length);
        entry.uri = uri.replace(/^\/+/, "");
    }
    fs.writeFileSync(indexFile, JSON.stringify(index));
}

if (sourceStats.notFound.length) {
    console.error(`postprocess: ${sourceStats.notFound.length} API entries without a source line:`);
    for (const n of sourceStats.notFound) console.error(`  ${n}`);
}
if (failures.length) {
    for (const f of failures) console.error(`postprocess: ${f}`);
    process.exit(1);
}
console.log(`postprocess: ${htmlFiles.length} pages finished (${usedBy.size} reference pages linked from the guides); ${published.size} source files published, source links: ${sourceStats.fsharp} from fsdocs (F#), ${sourceStats.csharp} found in the C# files, ${sourceStats.notFound.length} without one`);
