/* The admin pages: "Copy" puts a site's embed tag on the clipboard. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".copy-snippet");
    if (!button) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }, function () { button.textContent = "Select the tag and copy it"; });
  });
})();
