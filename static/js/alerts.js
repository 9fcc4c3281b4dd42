/* Telling an agent something needs them while they look elsewhere: a desktop notification
 * (the browser's Notification API; permission is asked on a click, as browsers require) and a
 * short tone made with Web Audio (no sound file). Both stay quiet until the agent turns them on.
 */
(function (global) {
  "use strict";
  var audio = null;

  function supported() { return "Notification" in global; }

  function enabled() { return supported() && global.Notification.permission === "granted"; }

  /* The button asks for permission (a click is the user gesture the browser wants, and it
     lets the tone play later); it hides itself once alerts are on. */
  function offerOn(button) {
    if (!supported()) { button.hidden = true; return; }
    function refresh() { button.hidden = enabled(); }
    refresh();
    button.addEventListener("click", function () {
      if (global.AudioContext && !audio) audio = new global.AudioContext();
      var asked = global.Notification.requestPermission();
      if (asked && asked.then) asked.then(refresh); else refresh();
    });
  }

  function tone() {
    if (!audio) return;
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.3);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.3);
  }

  /* One alert: the tone, and a notification that brings the dashboard forward when clicked. */
  function alert(title, body, tag) {
    if (!enabled()) return;
    tone();
    var notification = new global.Notification(title, {body: body, tag: tag});
    notification.onclick = function () { global.focus(); notification.close(); };
  }

  global.ChatAlerts = {offerOn: offerOn, alert: alert};
})(window);
