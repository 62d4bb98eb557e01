// paretext report: link the pictures to the change list.  No network, no libraries.
(function () {
  "use strict";
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function byId(id) { return all("[data-id]").filter(function (n) { return n.getAttribute("data-id") === id; }); }
  var parents = {};
  all("#lineage .edge").forEach(function (e) {
    var to = e.getAttribute("data-to");
    (parents[to] = parents[to] || []).push(e.getAttribute("data-from"));
  });
  function ancestry(id) {
    var seen = {}, stack = [id];
    while (stack.length) {
      var c = stack.pop();
      if (seen[c]) { continue; }
      seen[c] = true;
      (parents[c] || []).forEach(function (p) { stack.push(p); });
    }
    return seen;
  }
  function select(id, scroll) {
    all(".selected").forEach(function (n) { n.classList.remove("selected"); });
    byId(id).forEach(function (n) { n.classList.add("selected"); });
    var lineage = ancestry(id);
    all("#lineage .edge").forEach(function (e) {
      var on = lineage[e.getAttribute("data-to")] && lineage[e.getAttribute("data-from")];
      e.classList.toggle("lit", Boolean(on));
    });
    var change = document.getElementById("change-" + id);
    if (change) {
      change.open = true;
      change.classList.add("selected");
      if (scroll) { change.scrollIntoView({ behavior: "smooth", block: "start" }); }
    }
  }
  all("#lineage .node, #heatmap .row-label, #curve .point").forEach(function (n) {
    var id = n.getAttribute("data-id");
    n.addEventListener("click", function () { select(id, true); });
    n.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { select(id, true); } });
  });
  all("#lineage .node").forEach(function (n) {
    var id = n.getAttribute("data-id");
    n.addEventListener("mouseenter", function () {
      var lineage = ancestry(id);
      all("#lineage .node").forEach(function (m) { m.classList.toggle("dim", !lineage[m.getAttribute("data-id")]); });
    });
    n.addEventListener("mouseleave", function () {
      all("#lineage .node").forEach(function (m) { m.classList.remove("dim"); });
    });
  });
  all("[data-toggle]").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-toggle") === "open";
      all("details.change").forEach(function (d) { d.open = open; });
    });
  });
  if (location.hash.indexOf("#change-") === 0) { select(decodeURIComponent(location.hash.slice(8)), false); }
})();
