/* A read-only transcript (/history/<id>): the page's messages drawn by message-log.js. */
(function () {
  "use strict";
  var list = document.getElementById("messages");
  new ChatUI.MessageLog(list, {mine: list.dataset.mine});
})();
