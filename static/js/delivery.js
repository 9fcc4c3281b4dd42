/* How far a message got to the customer's phone (WhatsApp, LINE), as the agent sees it under the
 * message: a clock while queued, ✓ sent, ✓✓ delivered, blue ✓✓ read; a message that failed says
 * "Not delivered: <reason>" with a Retry button (POST /api/v1/agent/messages/<id>/retry).
 *
 * A stored message carries its state (`delivery: {state, error}`); `message_delivery` events move
 * it on (docs/protocol.md). Events of one message may arrive out of order from several
 * processes: a state never goes back (channels/delivery.py holds the rule; this only keeps a late
 * event from undoing a newer one), except that a failed message may be queued again by a Retry.
 */
(function (global) {
  "use strict";
  var RANK = {queued: 0, sent: 1, delivered: 2, read: 3};
  var WORDS = {queued: "Waiting to be sent", sent: "Sent", delivered: "Delivered", read: "Read"};
  var SVG = "http://www.w3.org/2000/svg";

  /* Whether `next` ({state, error}) is newer than what `current` shows. */
  function replaces(current, next) {
    if (!next || !next.state) return false;
    if (!current || !current.state) return true;
    if (next.state === current.state) return next.error !== current.error;
    if (current.state === "failed") return true;          // retried, or delivered on another device
    if (next.state === "failed") return RANK[current.state] <= RANK.sent;
    return RANK[next.state] > RANK[current.state];
  }

  function shown(element) {
    return element.dataset.deliveryState ? {state: element.dataset.deliveryState,
                                            error: element.dataset.deliveryError || null} : null;
  }

  /* Draw `delivery` on a message's element (from fillMessage, an event, or a Retry's answer). */
  function draw(element, delivery, messageId) {
    if (messageId) element.dataset.messageId = messageId;
    element.dataset.deliveryState = delivery.state;
    element.dataset.deliveryError = delivery.error || "";
    var old = element.querySelectorAll(".delivery, .delivery-failed");
    for (var i = 0; i < old.length; i++) old[i].remove();
    element.classList.toggle("undelivered", delivery.state === "failed");
    if (delivery.state === "failed") { element.appendChild(failedLine(element, delivery)); return; }
    var time = element.querySelector(".message-time");
    if (time && WORDS[delivery.state]) time.append(" ", ticks(delivery.state));
  }

  /* A newer state for the element, if it is one. */
  function update(element, delivery, messageId) {
    if (replaces(shown(element), delivery)) draw(element, delivery, messageId);
  }

  function ticks(state) {
    var box = document.createElement("span");
    box.className = "delivery delivery-" + state;
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", WORDS[state]);
    box.title = WORDS[state];
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (state === "queued") {
      svg.setAttribute("viewBox", "0 0 12 12");
      svg.setAttribute("width", "12");
      svg.appendChild(shape("circle", {cx: 6, cy: 6, r: 5}));
      svg.appendChild(shape("polyline", {points: "6,3 6,6 8,7.5"}));
    } else {
      var double = state !== "sent";
      svg.setAttribute("viewBox", double ? "0 0 17 12" : "0 0 12 12");
      svg.setAttribute("width", double ? "17" : "12");
      svg.appendChild(shape("polyline", {points: "1,6.5 4.5,10 11,2.5"}));
      if (double) svg.appendChild(shape("polyline", {points: "7.5,9 8.5,10 15,2.5"}));
    }
    svg.setAttribute("height", "12");
    box.appendChild(svg);
    return box;
  }

  function shape(name, attributes) {
    var element = document.createElementNS(SVG, name);
    for (var key in attributes) element.setAttribute(key, attributes[key]);
    return element;
  }

  function failedLine(element, delivery) {
    var line = document.createElement("div");
    line.className = "delivery-failed";
    var words = document.createElement("span");
    words.className = "delivery-reason";
    words.textContent = "Not delivered: " + (delivery.error || "the provider refused it.");
    line.appendChild(words);
    if (element.dataset.messageId) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "delivery-retry";
      retry.textContent = "Retry";
      retry.addEventListener("click", function () { retrySend(element, retry, words); });
      line.append(" ", retry);
    }
    return line;
  }

  /* The server queues the failed message again; the answer's state is drawn at once (our own
     action: it may go "back" from failed to queued). */
  function retrySend(element, button, words) {
    var token = document.querySelector('meta[name="csrf-token"]');
    button.disabled = true;
    fetch("/api/v1/agent/messages/" + encodeURIComponent(element.dataset.messageId) + "/retry", {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": token ? token.content : "", "Content-Type": "application/json"}, body: "{}"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, data: data};
      });
    }).then(function (result) {
      var message = result.data && result.data.message;
      if (result.ok && message && message.delivery) { draw(element, message.delivery, message.id); return; }
      button.disabled = false;
      var error = result.data && result.data.error;
      words.textContent = "Not sent again: " + ((error && error.message) || "try again in a moment.");
    }).catch(function () {
      button.disabled = false;
      words.textContent = "Not sent again: the server could not be reached; try again.";
    });
  }

  global.ChatDelivery = {draw: draw, update: update, replaces: replaces};
})(window);
