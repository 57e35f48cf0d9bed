/* The views behind one page: the tab in the URL (#view=...) picks which one shows. The tabs
 * come from the page itself, which the server (or the export) builds from handgrad's table
 * of views; this file lists none of them. */
"use strict";

(function () {
  var tabs = Array.prototype.slice.call(document.querySelectorAll("#tabs .tab"));
  var names = tabs.map(function (b) { return b.dataset.view; });
  var current = null;

  function open(name, fromUser) {
    if (names.indexOf(name) < 0 || !HG.views[name]) name = names[0];
    if (current === name) return;
    if (current && HG.views[current].close) HG.views[current].close();
    HG.hideBanner();
    HG.hideTip();
    names.forEach(function (v) { HG.$("view-" + v).hidden = v !== name; });
    tabs.forEach(function (b) { b.classList.toggle("active", b.dataset.view === name); });
    if (fromUser) HG.writeHash({view: name});
    current = name;
    HG.views[name].open();
  }

  tabs.forEach(function (b) {
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
