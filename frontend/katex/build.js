// Copies KaTeX's minified script, stylesheet and fonts to paperboy's static/dist/katex/.
"use strict";
const fs = require("fs");
const path = require("path");

const src = path.join(__dirname, "node_modules", "katex", "dist");
const out = path.join(__dirname, "..", "..", "paperboy", "web", "static", "dist", "katex");
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, "fonts"), { recursive: true });
for (const f of ["katex.min.js", "katex.min.css"]) {
  fs.copyFileSync(path.join(src, f), path.join(out, path.basename(f)));
}
for (const f of fs.readdirSync(path.join(src, "fonts"))) {
  if (f.endsWith(".woff2")) fs.copyFileSync(path.join(src, "fonts", f), path.join(out, "fonts", f));
}
