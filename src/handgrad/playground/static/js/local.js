/* The engine of a static copy of the page: handgrad's JavaScript twin (twin.js) trains in
 * this browser, speaking the server's messages (see server.py), so the views cannot tell the
 * two engines apart. */
"use strict";

(function () {
  HG.local = {};
})();
