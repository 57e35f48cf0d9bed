/* The four views behind one page: the tab in the URL (#view=...) picks which one shows. */
"use strict";

(function () {
  var VIEWS = ["playground", "race", "backprop", "graph"];
  var current = null;

  function open(name, fromUser) {
    if (VIEWS.indexOf(name) < 0) name = HG.STATIC ? "race" : "playground";
    if (current === name) return;
    if (current && HG.views[current].close) HG.views[current].close();
    HG.hideBanner();
    HG.hideTip();
    VIEWS.forEach(function (v) {
      HG.$("view-" + v).hidden = v !== name;
    });
    document.querySelectorAll("#tabs .tab").forEach(function (b) {
      b.classList.toggle("active", b.dataset.view === name);
    });
    if (fromUser) HG.writeHash({view: name});
    current = name;
    HG.views[name].open();
  }

  document.querySelectorAll("#tabs .tab").forEach(function (b) {
    b.addEventListener("click", function () { open(b.dataset.view, true); });
  });
  HG.$("banner-close").addEventListener("click", HG.hideBanner);
  // a link pasted or edited by hand (the page itself writes the hash without this event)
  window.addEventListener("hashchange", function () {
    var name = HG.readHash().view || current;
    if (name === current && HG.views[name].fromHash) HG.views[name].fromHash();
    else open(name);
  });
  open(HG.readHash().view);
  HG.open = open;
})();
