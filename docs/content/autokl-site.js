// The site's own replacements for the fsdocs template scripts that load lit, iconify and fuse.js
// from CDNs: the theme and details toggles as plain custom elements with inline SVG icons, and
// search with fuse.js served from content/vendor. Every address is relative to this module, so
// the site works offline and at any root (/AutoKl/, /, or a sub-folder of a server).
import Fuse from "./vendor/fuse.js/fuse.min.mjs";

const siteRoot = new URL("../", import.meta.url);

const svg = (path, size) =>
    `<svg width="${size}" height="${size}" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`;
const icons = {
    moon: "M12 3a9 9 0 1 0 9 9c0-.5 0-.9-.1-1.4A5.5 5.5 0 0 1 13.4 3.1 9 9 0 0 0 12 3",
    sun: "M12 7a5 5 0 1 1 0 10 5 5 0 0 1 0-10M11 1h2v3h-2zm0 19h2v3h-2zM1 11h3v2H1zm19 0h3v2h-3zM4.2 5.6l1.4-1.4 2.1 2.1-1.4 1.4zm12.1 12.1 1.4-1.4 2.1 2.1-1.4 1.4zM4.2 18.4l2.1-2.1 1.4 1.4-2.1 2.1zM16.3 6.3l2.1-2.1 1.4 1.4-2.1 2.1z",
    expand: "M4 4h16v2H4zm0 14h16v2H4zm8-10 4 4h-3v4h-2v-4H8z",
    collapse: "M4 4h16v2H4zm0 14h16v2H4zm8-2-4-4h3V8h2v4h3z",
    page: "M6 2h8l6 6v14H6zm7 1.5V9h5.5zM8 12h8v1.5H8zm0 3h8v1.5H8z",
    api: "M4 3h12l4 4v14H4zm4 8-2 2 2 2 1-1-1-1 1-1zm8 0-1 1 1 1-1 1 1 1 2-2z",
};

// ---- theme toggle -------------------------------------------------------------------------
const prefersDark = window.matchMedia("(prefers-color-scheme: dark)").matches;
let theme = localStorage.getItem("theme") ?? (prefersDark ? "dark" : "light");

class ThemeToggle extends HTMLElement {
    connectedCallback() {
        this.setAttribute("role", "button");
        this.setAttribute("tabindex", "0");
        this.style.cursor = "pointer";
        this.style.color = "var(--header-link-color)";
        this.render();
        const change = () => {
            theme = theme === "light" ? "dark" : "light";
            localStorage.setItem("theme", theme);
            document.documentElement.setAttribute("data-theme", theme);
            this.render();
        };
        this.addEventListener("click", change);
        this.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); change(); } });
    }
    render() {
        this.title = theme === "light" ? "Dark theme" : "Light theme";
        this.setAttribute("aria-label", this.title);
        this.innerHTML = svg(theme === "light" ? icons.moon : icons.sun, 28);
    }
}
customElements.define("fsdocs-theme-toggle", ThemeToggle);

// ---- expand / collapse the details of every API member ------------------------------------
let detailsExpanded = !!JSON.parse(localStorage.getItem("details-expanded"));

class DetailsToggle extends HTMLElement {
    connectedCallback() {
        this.style.cursor = "pointer";
        this.style.color = "var(--header-link-color)";
        this.setAttribute("role", "button");
        this.render();
        document.addEventListener("detailstoggled", e => { detailsExpanded = !!e?.detail?.expanding; this.render(); });
        this.addEventListener("click", () => {
            detailsExpanded = !detailsExpanded;
            localStorage.setItem("details-expanded", JSON.stringify(detailsExpanded));
            for (const details of document.getElementsByTagName("details")) {
                if (detailsExpanded) details.setAttribute("open", "true"); else details.removeAttribute("open");
            }
            document.dispatchEvent(new CustomEvent("detailstoggled", { detail: { expanding: detailsExpanded } }));
        });
    }
    render() {
        this.title = detailsExpanded ? "Collapse details" : "Expand details";
        this.innerHTML = svg(detailsExpanded ? icons.collapse : icons.expand, 22);
    }
}
customElements.define("fsdocs-details-toggle", DetailsToggle);

// ---- search -------------------------------------------------------------------------------
const searchBtn = document.querySelector("#search-btn");
const searchDialog = document.querySelector("dialog");
const empty = document.querySelector("dialog .empty");
const resultsElement = document.querySelector("dialog ul");
const searchBox = document.querySelector("dialog input[type=search]");
let fuse = null;

// index.json lists pages relative to the site root (scripts/docs-node/postprocess.mjs makes them so).
const ready = fetch(new URL("index.json", siteRoot))
    .then(response => { if (!response.ok) throw new Error(`index.json: ${response.status}`); return response.json(); })
    .then(index => {
        fuse = new Fuse(index, {
            includeScore: true, keys: ["uri", "title", "content", "headings"], includeMatches: true,
            limit: 20, ignoreLocation: true, threshold: 0.6, minMatchCharLength: 2,
            ignoreFieldNorm: true, shouldSort: true,
        });
    })
    .catch(() => { if (searchBtn) searchBtn.style.display = "none"; });

function openSearch() { searchDialog.showModal(); searchBox.focus(); }
function clearResults() { empty.style.display = "block"; resultsElement.replaceChildren(); }
function closeSearch() {
    searchBox.value = "";
    empty.textContent = "Type something to start searching.";
    clearResults();
    searchDialog.close();
}

function show(term) {
    if (!fuse) return;
    const results = fuse.search(term, { limit: 30 });
    if (results.length === 0) { clearResults(); empty.textContent = "No results were found"; return; }
    empty.style.display = "none";
    resultsElement.replaceChildren(...results.map(({ item }) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = new URL(item.uri, siteRoot).href;
        const icon = document.createElement("span");
        icon.className = "result-icon";
        icon.innerHTML = svg(item.type === "content" ? icons.page : icons.api, 22);
        a.append(icon, item.title);
        li.appendChild(a);
        return li;
    }));
}

let timer;
if (searchBtn && searchDialog) {
    searchBtn.addEventListener("click", openSearch);
    searchDialog.addEventListener("click", ev => { if (ev.target.tagName === "DIALOG") closeSearch(); });
    searchBox.addEventListener("input", ev => {
        const term = ev.target.value;
        clearTimeout(timer);
        if (!term) { empty.textContent = "Type something to start searching."; clearResults(); return; }
        timer = setTimeout(() => ready.then(() => show(term)), 200);
    });
    window.addEventListener("keydown", ev => {
        if (ev.key === "Escape" && searchDialog.open) { ev.preventDefault(); closeSearch(); }
        const tag = document.activeElement?.tagName;
        const typing = tag === "INPUT" || tag === "TEXTAREA";
        if (((ev.key === "/" && !typing) || (ev.key === "k" && (ev.ctrlKey || ev.metaKey))) && !searchDialog.open) {
            ev.preventDefault();
            openSearch();
        }
    });
}
