// The library's sources as pages of the site, and where each C# type and member is declared.
// Used by postprocess.mjs: the project has no public repository, so the API reference's
// "source" links point at this site's own copy of the files it was built from:
//   ROOT/source/src/AutoKl/Losses/KlDivergence.cs.html#L42
// fsdocs finds the lines of F# members itself (from the compiler's ranges); for C# assemblies it
// has none, so CSharpIndex finds the declaration by reading the C# files: the type (partial
// declarations in many files, base classes for inherited members), the member's name and its
// parameter names, which tell overloads apart.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";

export const sourceFolders = ["src/AutoKl", "src/AutoKl.FSharp", "src/AutoKl.Testing", "src/AutoKl.Plots"];

const escape = s => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function sourceFiles(repoDir) {
    const found = [];
    const walk = rel => {
        for (const e of fs.readdirSync(path.join(repoDir, rel), { withFileTypes: true })) {
            const r = path.posix.join(rel, e.name);
            if (e.isDirectory()) { if (e.name !== "bin" && e.name !== "obj") walk(r); }
            else if (/\.(cs|fs|fsi)$/.test(e.name)) found.push(r);
        }
    };
    for (const folder of sourceFolders) if (fs.existsSync(path.join(repoDir, folder))) walk(folder);
    return found.sort();
}

/** The address of a line of a published source file, under the site root. */
export const sourceUrl = (root, file, line) => `${root}source/${file}.html${line ? `#L${line}` : ""}`;

/** Writes OUT/source/<file>.html for every source file (a line anchor L1, L2, ... on each line) and OUT/source/index.html. */
export function publishSources(repoDir, outDir, root) {
    const files = sourceFiles(repoDir);
    let commit = "";
    try { commit = execFileSync("git", ["-C", repoDir, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { }
    const from = commit ? ` (commit ${commit})` : "";
    const style = `<style>
:root { color-scheme: light dark; --bg: #fff; --fg: #1f2328; --muted: #6e7781; --hl: #fff8c5; --line: #d0d7de; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8b949e; --hl: #3a3000; --line: #30363d; } }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, sans-serif; }
header { padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
header a { color: inherit; }
header p { margin: .25rem 0 0; color: var(--muted); font-size: 13px; }
pre.autokl-source { margin: 0; padding: .5rem 0; font: 13px/1.45 ui-monospace, "Fira Code", monospace; overflow-x: auto; }
pre.autokl-source span.l { display: block; padding-right: 1rem; white-space: pre; }
pre.autokl-source span.l:target { background: var(--hl); }
pre.autokl-source span.l { scroll-margin-top: 30vh; }
pre.autokl-source a.n { display: inline-block; width: 4.5em; padding-right: 1em; text-align: right; color: var(--muted); text-decoration: none; user-select: none; }
ul { font-family: ui-monospace, monospace; font-size: 14px; }
</style>`;
    const page = (title, header, body) => `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} | AutoKl sources</title>
<link rel="icon" href="${root}img/logo.svg">
${style}
</head>
<body>
<header>${header}</header>
${body}
</body>
</html>
`;
    for (const file of files) {
        const lines = fs.readFileSync(path.join(repoDir, file), "utf8").replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
        const body = lines.map((text, i) => `<span class="l" id="L${i + 1}"><a class="n" href="#L${i + 1}">${i + 1}</a>${escape(text)}</span>`).join("");
        const header = `<strong>${escape(file)}</strong> &middot; <a href="${root}source/index.html">all sources</a> &middot; <a href="${root}reference/index.html">API reference</a> &middot; <a href="${root}index.html">AutoKl</a>
<p>The copy of this file the site was built from${from}.</p>`;
        const target = path.join(outDir, "source", file + ".html");
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, page(file, header, `<pre class="autokl-source"><code>${body}</code></pre>`));
    }
    const list = sourceFolders.map(folder => {
        const items = files.filter(f => f.startsWith(folder + "/"))
            .map(f => `<li><a href="${root}source/${f}.html">${escape(f.slice(folder.length + 1))}</a></li>`).join("\n");
        return items ? `<h2>${escape(folder)}</h2>\n<ul>\n${items}\n</ul>` : "";
    }).join("\n");
    fs.writeFileSync(path.join(outDir, "source", "index.html"),
        page("Sources", `<strong>AutoKl sources</strong> &middot; <a href="${root}reference/index.html">API reference</a> &middot; <a href="${root}index.html">AutoKl</a>
<p>The library's sources as this site was built from them${from}; the API reference's source links point here.</p>`,
            `<main style="padding: 0 1rem">\n${list}\n</main>`));
    return files;
}

// ---- C# declarations ----------------------------------------------------------------------
const modifiers = "public|protected|internal|private|static|override|virtual|abstract|sealed|new|readonly|unsafe|extern|partial|async|required|implicit|explicit|const|volatile|ref";
const startsWithModifier = new RegExp(`^(?:${modifiers})\\b`);
const operators = {
    Addition: "+", Subtraction: "-", Multiply: "*", Division: "/", Modulus: "%", UnaryNegation: "-", UnaryPlus: "+",
    Equality: "==", Inequality: "!=", LessThan: "<", GreaterThan: ">", LessThanOrEqual: "<=", GreaterThanOrEqual: ">=",
    BitwiseAnd: "&", BitwiseOr: "|", ExclusiveOr: "^", LogicalNot: "!", OnesComplement: "~", Increment: "++", Decrement: "--",
    Implicit: "implicit", Explicit: "explicit",
};
const reEscape = s => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// Blanks comments, strings and characters, keeping every line's length and line breaks.
function code(text) {
    let out = "";
    for (let i = 0; i < text.length;) {
        const c = text[i], n = text[i + 1];
        if (c === "/" && n === "/") { while (i < text.length && text[i] !== "\n") { out += " "; i++; } }
        else if (c === "/" && n === "*") { while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) { out += text[i] === "\n" ? "\n" : " "; i++; } out += "  "; i += 2; }
        else if (c === '"' || c === "'") {
            const verbatim = text[i - 1] === "@";
            out += c; i++;
            while (i < text.length && text[i] !== c) {
                if (!verbatim && text[i] === "\\") { out += "  "; i += 2; continue; }
                if (verbatim && text[i] === c && text[i + 1] === c) { out += "  "; i += 2; continue; }
                if (text[i] === "\n" && !verbatim) break;
                out += text[i] === "\n" ? "\n" : " "; i++;
            }
            out += c; i++;
        }
        else { out += c; i++; }
    }
    return out;
}

// Splits a parameter list on its top-level commas: each parameter's name and type ("Tensor", "double[]").
function parameters(list) {
    const parts = [];
    let depth = 0, current = "";
    for (const ch of list) {
        if ("<([{".includes(ch)) depth++;
        if (">)]}".includes(ch)) depth--;
        if (ch === "," && depth === 0) { parts.push(current); current = ""; } else current += ch;
    }
    if (current.trim()) parts.push(current);
    return parts.map(p => {
        const decl = p.replace(/^\s*(\[[^\]]*\]\s*)+/, "").replace(/=.*$/s, "").trim();   // attributes, default value
        const m = decl.match(/^(.*?)([A-Za-z_@][A-Za-z0-9_]*)\s*$/s);
        const type = (m?.[1] ?? "").replace(/\b(this|params|ref|out|in|scoped)\s+/g, "").replace(/\s+/g, "");
        return { name: (m?.[2] ?? "").replace(/^@/, ""), type };
    });
}
// A parameter type reduced to one comparable word: as C# writes it ("double", "long[]") or as
// fsdocs prints it for F# readers ("float", "int64[]").
const canonical = {
    cs: { double: "double", Double: "double", float: "single", Single: "single", int: "int32", Int32: "int32", long: "int64", Int64: "int64", object: "obj", bool: "bool", Boolean: "bool", string: "string", String: "string" },
    fs: { float: "double", double: "double", float32: "single", single: "single", int: "int32", int32: "int32", int64: "int64", obj: "obj", bool: "bool", string: "string" },
};
export function typeKey(text, lang) {
    if (!text) return "";
    let t = text.replace(/\s+/g, "").replace(/\?$/, "").replace(/option$/, "");
    const array = (t.match(/\[[,]*\]/g) ?? []).join("");
    t = t.replace(/<.*$/, "").replace(/\[.*$/, "").split(".").at(-1);
    return (canonical[lang][t] ?? t) + array;
}

export class CSharpIndex {
    constructor(repoDir) {
        this.types = new Map();   // "Namespace.Name" and "Name" -> [{ file, line, kind, bases, members: [{ line, text }] }]
        for (const file of sourceFiles(repoDir).filter(f => f.endsWith(".cs"))) this.read(file, fs.readFileSync(path.join(repoDir, file), "utf8"));
    }
    read(file, text) {
        const lines = code(text.replace(/\r\n/g, "\n")).split("\n");
        let namespace = "", depth = 0, pending = null;
        const stack = [];   // { type, bodyDepth }
        // A member's declaration may span lines (parameters, base lists): keep the text from its first line on.
        const joined = i => lines.slice(i, i + 12).join("\n");
        lines.forEach((raw, i) => {
            const line = raw.replace(/^\s*(\[[^\]]*\]\s*)+/, "");
            const ns = line.match(/^\s*namespace\s+([\w.]+)/);
            if (ns) namespace = ns[1];
            const top = stack.at(-1);
            const atMemberDepth = top && depth === top.bodyDepth;
            const decl = line.match(/^\s*(?:(?:[a-z]+)\s+)*?(class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+([A-Za-z_]\w*)/);
            if (decl && !/[=(]/.test(line.slice(0, decl.index + decl[0].length - decl[2].length))) {
                const outer = stack.map(s => s.type.name);
                const header = joined(i).split(/[{;]/)[0];
                const bases = (header.replace(/\([^)]*\)/s, "").match(/:\s*([^{]*)$/s)?.[1] ?? "").split(",").map(b => b.trim().replace(/<.*$/s, "").split(".").at(-1)).filter(Boolean);
                const type = { name: decl[2], file, line: i + 1, kind: decl[1].split(/\s+/)[0], bases, members: [], namespace, header };
                for (const key of [[namespace, ...outer, decl[2]].filter(Boolean).join("."), decl[2]]) {
                    if (!this.types.has(key)) this.types.set(key, []);
                    this.types.get(key).push(type);
                }
                pending = type;
            } else if (atMemberDepth && line.trim()) {
                top.type.members.push({ line: i + 1, text: joined(i), first: line });
            }
            for (const ch of raw) {
                if (ch === "{") { depth++; if (pending) { stack.push({ type: pending, bodyDepth: depth }); pending = null; } }
                else if (ch === "}") { depth--; if (stack.length && depth < stack.at(-1).bodyDepth) stack.pop(); }
                else if (ch === ";" && pending && pending.kind === "record") pending = null;   // record without a body
            }
        });
    }
    declarations(fullName) {
        return this.types.get(fullName) ?? this.types.get(fullName.split(".").at(-1)) ?? [];
    }
    /** Where a type is declared ("AutoKl.Distributions.Normal"): in the file named after it, else the first declaration. */
    type(fullName) {
        const name = fullName.split(".").at(-1);
        const decls = this.types.get(fullName) ?? [];
        const best = decls.find(d => path.posix.basename(d.file, ".cs") === name) ?? decls[0];
        return best ? { file: best.file, line: best.line } : null;
    }
    /**
     * Where a member is declared. `fullName` is its declaring type ("AutoKl.Losses"), `name` its
     * name in the XML doc ID ("KlDiv", "#ctor", "op_Addition"), `params` its parameter names.
     * Looks in the type, then its base classes; `returns` (fsdocs's) tells conversion operators
     * apart. Returns { file, line, exact } or null.
     */
    member(fullName, name, params, seen = new Set(), returns = undefined) {
        const decls = this.declarations(fullName);
        const typeName = fullName.split(".").at(-1);
        if (!decls.length || seen.has(fullName)) return null;
        seen.add(fullName);
        name = name.replace(/`+\d+$/, "");
        let pattern;
        const op = name.startsWith("op_") ? operators[name.slice(3)] : undefined;
        const ctor = name === "#ctor";
        if (name === "Item") pattern = /\bthis\s*\[/;   // an indexer
        else if (ctor) pattern = new RegExp(`^(?:(?:${modifiers})\\s+)+${reEscape(typeName)}\\s*\\(`);
        else if (op === "implicit" || op === "explicit") pattern = new RegExp(`\\b${op}\\s+operator\\b[^(]*\\(`);
        else if (op) pattern = new RegExp(`\\boperator\\s*${reEscape(op)}\\s*\\(`);
        else pattern = new RegExp(`^(?:(?:${modifiers})\\s+)+[^=(;]*?(?<![\\w.])${reEscape(name)}\\s*(?:<[^()]*>)?\\s*(\\(|\\{|=>|=|;|$)`);
        const candidates = [];
        for (const d of decls) {
            if (d.kind === "enum") {
                for (const m of d.members) if (new RegExp(`^\\s*${reEscape(name)}\\s*(=|,|$)`).test(m.first)) candidates.push({ file: d.file, line: m.line, params: null });
                continue;
            }
            // Positional record parameters are properties declared in the header.
            if (d.kind === "record" && new RegExp(`\\(([^)]*\\b)?${reEscape(name)}\\s*[,)]`, "s").test(d.header)) {
                const k = d.header.split("\n").findIndex(l => new RegExp(`\\b${reEscape(name)}\\s*[,)]`).test(l));
                candidates.push({ file: d.file, line: d.line + Math.max(k, 0), params: null });
            }
            for (const m of d.members) {
                const first = m.first.trim();
                if (d.kind !== "interface" && !startsWithModifier.test(first)) continue;
                const hit = first.match(pattern) ?? (d.kind === "interface" ? first.match(new RegExp(`(?<![\\w.])${reEscape(name)}\\s*(?:<[^()]*>)?\\s*(\\(|\\{|;)`)) : null);
                if (!hit) continue;
                let ps = null;
                const indexer = name === "Item";
                const open = m.text.indexOf(indexer ? "[" : "(", m.text.indexOf(op ? "operator" : ctor ? typeName : indexer ? "this" : name));
                if (open >= 0 && (op || ctor || indexer || hit[1] === "(")) {
                    let depth = 0, end = open;
                    for (; end < m.text.length; end++) {
                        if ("([".includes(m.text[end])) depth++;
                        else if (")]".includes(m.text[end]) && --depth === 0) break;
                    }
                    ps = parameters(m.text.slice(open + 1, end));
                }
                // A conversion operator's overloads differ by the type they convert to.
                const to = op === "implicit" || op === "explicit" ? first.match(/\boperator\s+([\w.<>\[\]]+)\s*\(/)?.[1] : undefined;
                candidates.push({ file: d.file, line: m.line, params: ps, to });
            }
        }
        if (candidates.length) {
            // params: [{ name, type }] as fsdocs shows them. Names first, then types tell overloads apart.
            const names = (a, b) => a.length === b.length && a.every((p, i) => p.name === b[i].name);
            const types = (a, b) => a.every((p, i) => !b[i].type || !p.type || typeKey(p.type, "cs") === typeKey(b[i].type, "fs"));
            const withParams = candidates.filter(c => c.params && params && (!c.to || !returns || typeKey(c.to, "cs") === typeKey(returns, "fs")));
            const exact = withParams.find(c => names(c.params, params) && types(c.params, params))
                ?? (params?.length === 0 ? candidates.find(c => c.params === null) : undefined);
            if (exact) return { file: exact.file, line: exact.line, exact: true };
            const chosen = withParams.find(c => names(c.params, params)) ?? withParams.find(c => c.params.length === params.length) ?? candidates[0];
            return { file: chosen.file, line: chosen.line, exact: candidates.length === 1 };
        }
        // A constructor the type does not write (a class's default one, a positional record's): the type's line.
        if (ctor) { const t = this.type(fullName) ?? { file: decls[0].file, line: decls[0].line }; return { ...t, exact: false }; }
        for (const d of decls) for (const b of d.bases) {
            const base = this.types.get(`${d.namespace}.${b}`) ? `${d.namespace}.${b}` : b;
            const found = this.member(base, name, params, seen, returns);
            if (found) return found;
        }
        return null;
    }
}
