// llmlog viewer: small progressive enhancements. Every page works without this file.
// No inline scripts (the CSP forbids them); no third-party code; no eval.
"use strict";

(function () {
  // Rows link to their interaction: a click anywhere on a row opens it.
  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, select, textarea, summary")) return;
    var selection = window.getSelection ? String(window.getSelection()) : "";
    if (selection) return; // the user is selecting text, not navigating
    if (event.ctrlKey || event.metaKey) window.open(row.dataset.href, "_blank", "noopener");
    else window.location.href = row.dataset.href;
  });

  // Filter menus apply as soon as they change.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form.requestSubmit) select.form.requestSubmit();
      else select.form.submit();
    });
  });

  // Detail page: formatted markdown or the exact text.
  var toggle = document.getElementById("toggle-md");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var plain = document.body.classList.toggle("plain-text");
      toggle.setAttribute("aria-pressed", plain ? "true" : "false");
      toggle.textContent = plain ? "Show formatted" : "Show plain text";
    });
  }

  // Detail page: expand or collapse the raw record.
  document.querySelectorAll("[data-json]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.dataset.json === "expand";
      document.querySelectorAll("#json details").forEach(function (d, i) {
        d.open = open || i === 0;
      });
    });
  });

  // List page: new interactions arrive without a reload (polls /api/tail with a cursor).
  var live = document.getElementById("live");
  var tbody = document.getElementById("rows");
  if (!live || !tbody) return;
  var counter = document.getElementById("new-count");
  var cursor = live.dataset.cursor;
  var interval = Number(live.dataset.interval) || 2000;
  var paused = false;
  var failures = 0;
  var fresh = 0;
  var timer = null;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function insert(html) {
    var template = document.createElement("template");
    template.innerHTML = html; // rows rendered (and escaped) by our own server templates
    var rows = Array.prototype.slice.call(template.content.querySelectorAll("tr[data-rid]"));
    var added = 0;
    rows.reverse().forEach(function (row) { // newest first in the response: prepend oldest first
      var selector = 'tr[data-rid="' + CSS.escape(row.dataset.rid) + '"]';
      if (tbody.querySelector(selector)) return;
      row.classList.add("new");
      tbody.insertBefore(row, tbody.firstChild);
      added += 1;
    });
    if (!added) return;
    fresh += added;
    if (counter) counter.textContent = fresh + " new";
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
    while (tbody.rows.length > 500) tbody.deleteRow(-1);
  }

  function poll() {
    if (paused) return;
    if (document.hidden) { schedule(interval); return; }
    var url = live.dataset.src + (live.dataset.src.indexOf("?") >= 0 ? "&" : "?") +
      "cursor=" + encodeURIComponent(cursor);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        cursor = data.cursor;
        if (data.count) insert(data.html);
        failures = 0;
        live.classList.remove("failing");
        live.title = "New interactions appear as they are logged; click to pause";
      })
      .catch(function (error) {
        failures += 1;
        live.classList.add("failing");
        live.title = "Cannot reach the server (" + error.message + "); retrying";
      })
      .then(function () {
        schedule(failures ? Math.min(30000, interval * Math.pow(2, failures)) : interval);
      });
  }

  live.addEventListener("click", function () {
    paused = !paused;
    live.classList.toggle("on", !paused);
    live.querySelector(".label").textContent = paused ? "Paused" : "Live";
    if (!paused) schedule(0);
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !paused) schedule(0);
  });
  schedule(interval);
})();
