// ringback's office app: live updates for the queue and the lead page.
// The server renders every page; this only listens for "something
// changed" (server-sent events) and swaps the page's live parts with a
// fresh copy, leaving forms (and what is being typed) alone.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource) return;
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        doc.querySelectorAll("[data-live-part]").forEach(function (fresh) {
          var old = document.getElementById(fresh.id);
          if (old) old.replaceWith(document.importNode(fresh, true));
        });
        document.dispatchEvent(new CustomEvent("ringback:refreshed"));
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var source = new EventSource(root.getAttribute("data-live"));
  source.addEventListener("change", refresh);
  // Say whether the page is listening: changes from now on will show
  // (what the browser tests wait for before making one).
  source.addEventListener("open", function () { root.setAttribute("data-live-open", ""); });
  source.addEventListener("error", function () { root.removeAttribute("data-live-open"); });
  // The SLA clocks read in minutes: redraw them every half minute.
  setInterval(refresh, 30000);
})();
