/* The demo shop's sign-in (development only): a site whose customers log in tells the widget who
   they are on every page load, and forgets them at the logout. Runs before widget.js loads, so its
   calls wait in ChatWidget.queue. */
(function () {
  "use strict";
  var FLAG = "demo_signed_in";
  var signIn = document.getElementById("demoSignIn");
  var signOut = document.getElementById("demoSignOut");
  var shown = document.getElementById("demoSignedIn");
  var customer = JSON.parse(signIn.dataset.customer);
  window.ChatWidget = window.ChatWidget || {queue: []};

  function widget(name, argument) {
    if (window.ChatWidget.loaded) window.ChatWidget[name](argument);
    else window.ChatWidget.queue.push([name, argument]);
  }

  function show(signedIn) {
    signIn.hidden = signedIn;
    signOut.hidden = !signedIn;
    shown.textContent = signedIn ? "Signed in as " + customer.name + "." : "";
  }

  signIn.addEventListener("click", function () {
    sessionStorage.setItem(FLAG, "1");
    widget("setUser", customer);
    show(true);
  });
  signOut.addEventListener("click", function () {
    sessionStorage.removeItem(FLAG);
    widget("reset");
    show(false);
  });
  if (sessionStorage.getItem(FLAG)) { widget("setUser", customer); show(true); }
})();
