// Progressive enhancement only: every feature here also works as a plain form or link without JS.
(function () {
  "use strict";
  var token = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Upvote without a page reload; on any problem fall back to submitting the form normally.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("vote") || !window.fetch) return;
    if (!document.body.hasAttribute("data-user")) return;  // logged out: the form takes us to log in
    ev.preventDefault();
    var id = form.getAttribute("data-paper");
    var up = form.querySelector('input[name="action"]').value === "up";
    fetch("/api/v1/papers/" + id.split("/").map(encodeURIComponent).join("/") + "/vote", {
      method: up ? "POST" : "DELETE",
      headers: { "X-CSRF-Token": token, "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (r) {
      if (r.status === 401) { form.submit(); return null; }  // the form route sends us to log in
      if (!r.ok) throw new Error("vote failed: " + r.status);
      return r.json();
    }).then(function (data) {
      if (!data) return;
      document.querySelectorAll('form.vote[data-paper="' + CSS.escape(data.paper_id) + '"]').forEach(function (f) {
        f.querySelector(".count").textContent = data.upvotes;
        f.querySelector('input[name="action"]').value = data.voted ? "down" : "up";
        f.classList.toggle("voted", data.voted);
        var b = f.querySelector("button");
        b.setAttribute("aria-pressed", data.voted ? "true" : "false");
        b.setAttribute("aria-label", "Upvote " + b.getAttribute("data-title") + ", " + data.upvotes +
                       (data.upvotes === 1 ? " vote" : " votes"));
        b.title = data.voted ? "Remove your upvote" : "Upvote";
      });
    }).catch(function () { form.submit(); });
  });

  // Copy buttons (BibTeX, citation, link).
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!btn) return;
    var el = document.querySelector(btn.getAttribute("data-copy"));
    if (!el) return;
    var done = function () { var t = btn.textContent; btn.textContent = "Copied ✓"; setTimeout(function () { btn.textContent = t; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(el.value || el.textContent).then(done);
    } else { el.select(); document.execCommand("copy"); done(); }
  });

  // Native share sheet where the browser has one (phones).
  document.querySelectorAll("[data-share]").forEach(function (btn) {
    if (!navigator.share) return;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      navigator.share({ title: btn.getAttribute("data-title"), url: btn.getAttribute("data-share") }).catch(function () {});
    });
  });

  // TeX in titles, abstracts and comments: KaTeX (served from /static/dist/katex, built from npm) is loaded
  // only on pages that have math; without JS, or if it fails to load, the TeX source stays readable.
  var maths = document.querySelectorAll(".math");
  if (maths.length) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/static/dist/katex/katex.min.css";
    document.head.appendChild(css);
    var script = document.createElement("script");
    script.src = "/static/dist/katex/katex.min.js";
    script.onload = function () {
      maths.forEach(function (el) {
        var tex = el.textContent, display = false;
        if (tex.slice(0, 2) === "$$" && tex.slice(-2) === "$$") { tex = tex.slice(2, -2); display = true; }
        else if (tex.slice(0, 2) === "\\[" && tex.slice(-2) === "\\]") { tex = tex.slice(2, -2); display = true; }
        else if (tex.slice(0, 2) === "\\(" && tex.slice(-2) === "\\)") { tex = tex.slice(2, -2); }
        else if (tex[0] === "$" && tex.slice(-1) === "$") { tex = tex.slice(1, -1); }
        try {
          window.katex.render(tex, el, { displayMode: display, throwOnError: true, trust: false, maxSize: 50, maxExpand: 200 });
          el.classList.add("math-rendered");
        } catch (e) { /* not valid TeX: keep the source text */ }
      });
      document.documentElement.setAttribute("data-math", "rendered");
    };
    document.head.appendChild(script);
  }
})();
