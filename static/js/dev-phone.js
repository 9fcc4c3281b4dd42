/* The development phone (/dev/phone): a customer's WhatsApp or LINE phone against the fake
 * provider this development server mounts (chat/dev_phone.py). It uses only the fake's phone
 * surface: POST <fake>/_phone/<id>/send ({text}, a tapped button, {image, mime_type, caption}),
 * GET <fake>/_phone/<id>/messages?after=N (what the business sent this phone, polled every
 * second), POST <fake>/_phone/<id>/read (WhatsApp: read receipts while the page is visible) and
 * POST <fake>/_phone/<id>/follow (LINE: add the account as a friend).
 * The thread of each phone is kept in this browser's localStorage, as a phone keeps its chats.
 */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var KEPT = 300;                    // messages kept per phone
  var MAX_PHOTO_BYTES = 5 * 1024 * 1024;
  var root = document.getElementById("devPhone");
  var thread = document.getElementById("phoneThread");
  var stateLine = document.getElementById("phoneState");
  var errorLine = document.getElementById("phoneError");
  var channelField = document.getElementById("phoneChannel");
  var idField = document.getElementById("phoneId");
  var nameField = document.getElementById("phoneName");
  var text = document.getElementById("phoneText");
  var fileInput = document.getElementById("phoneFile");
  var followButton = document.getElementById("phoneFollow");

  var phone = null;                  // {channel, id, name, messages: [...], after}
  var pollTimer = null;
  var polling = false;
  var unreadForRead = false;         // business messages not yet marked read on the fake

  function storageKey(channel, id) { return "devphone:" + channel + ":" + id; }
  function load(key, empty) {
    try { var value = JSON.parse(localStorage.getItem(key)); return value === null ? empty : value; }
    catch (error) { return empty; }
  }
  function save() {
    if (!phone) return;
    try {
      localStorage.setItem(storageKey(phone.channel, phone.id), JSON.stringify({
        after: phone.after, messages: phone.messages.slice(-KEPT).map(function (message) {
          var copy = Object.assign({}, message);
          delete copy.preview;               // a photo's bytes stay on screen only
          return copy;
        })}));
      localStorage.setItem("devphone:current", JSON.stringify({channel: phone.channel, id: phone.id, name: phone.name}));
    } catch (error) { /* storage full: the thread stays on screen */ }
  }

  function fakeBase(channel) { return root.dataset[channel + "Path"]; }
  function phoneUrl(path) {
    return fakeBase(phone.channel) + "/_phone/" + encodeURIComponent(phone.id) + path;
  }

  function newId(channel) {
    var digits = "";
    if (channel === "line") {
      var hex = "0123456789abcdef";
      for (var i = 0; i < 32; i++) digits += hex[Math.floor(Math.random() * 16)];
      return "U" + digits;
    }
    for (var j = 0; j < 7; j++) digits += Math.floor(Math.random() * 10);
    return "1555" + digits;
  }

  /* Use the phone (channel, id) the setup form names: its kept thread, then the fake's news. */
  function usePhone(channel, id, name) {
    var kept = load(storageKey(channel, id), {after: 0, messages: []});
    phone = {channel: channel, id: id, name: name, messages: kept.messages || [], after: kept.after || 0};
    channelField.value = channel;
    idField.value = id;
    nameField.value = name;
    document.getElementById("phoneBusiness").textContent = root.dataset[channel + "Business"] +
      (channel === "line" ? " (LINE)" : " (WhatsApp)");
    root.dataset.channel = channel;
    followButton.hidden = channel !== "line";
    document.getElementById("phoneSummary").textContent = (channel === "line" ? "LINE" : "WhatsApp") + " · " + id +
      (name ? " · " + name : "");
    save();
    draw();
    clearTimeout(pollTimer);
    poll();
  }

  function draw() {
    thread.replaceChildren();
    phone.messages.forEach(function (message) { thread.appendChild(bubble(message)); });
    thread.scrollTop = thread.scrollHeight;
  }

  function bubble(message) {
    var item = document.createElement("li");
    item.className = "bubble " + (message.mine ? "mine" : "theirs");
    if (message.n) item.dataset.n = message.n;
    if (message.sender) {                  // LINE shows who of the business wrote (the agent, "Assistant")
      var sender = document.createElement("div");
      sender.className = "bubble-sender";
      sender.textContent = message.sender;
      item.appendChild(sender);
    }
    var image = message.preview || message.media_url;
    if (image && (message.type === "image" || message.preview)) {
      var picture = document.createElement("img");
      picture.src = image;
      picture.alt = message.mine ? "Your photo" : "Photo";
      picture.addEventListener("load", function () { thread.scrollTop = thread.scrollHeight; });
      item.appendChild(picture);
    } else if (message.media_url) {
      var link = document.createElement("a");
      link.href = message.media_url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = "Open the " + (message.type || "file");
      item.appendChild(link);
    } else if (message.mine && message.photo) {
      var note = document.createElement("div");
      note.className = "bubble-note";
      note.textContent = "Photo";
      item.appendChild(note);
    }
    if (message.text) {
      var words = document.createElement("div");
      words.className = "bubble-text";
      words.textContent = message.text;
      item.appendChild(words);
    }
    var buttons = message.buttons || [];
    if (buttons.length) {
      var chips = document.createElement("div");
      chips.className = "chips";
      buttons.forEach(function (button) {
        var chip = document.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.textContent = button.title || button.text || button.label || String(button.id || button);
        chip.addEventListener("click", function () { tap(button, chip.textContent); });
        chips.appendChild(chip);
      });
      item.appendChild(chips);
    }
    var time = document.createElement("time");
    time.textContent = message.at ? new Date(message.at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : "";
    if (message.mine && message.failed) time.textContent = "Not sent: " + message.failed;
    item.appendChild(time);
    return item;
  }

  function add(message) {
    message.at = message.at || Date.now();
    phone.messages.push(message);
    thread.appendChild(bubble(message));
    thread.scrollTop = thread.scrollHeight;
    save();
  }

  function say(words) {
    errorLine.textContent = words || "";
    errorLine.hidden = !words;
  }

  function post(path, body) {
    return fetch(phoneUrl(path), {method: "POST", headers: {"Content-Type": "application/json"},
                                  body: JSON.stringify(body || {})})
      .then(function (response) {
        if (!response.ok) throw new Error("the fake provider answered " + response.status);
        return response.json().catch(function () { return {}; });
      });
  }

  /* What this phone sends: shown at once, then handed to the fake, which posts the webhook. */
  function send(body, shown) {
    var message = Object.assign({mine: true}, shown);
    add(message);
    if (phone.name) body.name = phone.name;
    return post("/send", body).then(function () { say(""); }).catch(function (error) {
      message.failed = error.message;
      save();
      draw();
      say("Not sent: " + error.message + ". Is this server running with CHAT_ENV=development?");
    });
  }

  /* A reply button (WhatsApp) or a quick reply (LINE, a postback) tapped. */
  function tap(button, title) {
    var id = button.id || button.data || button.payload || title;
    if (phone.channel === "line") send({postback: String(id), text: title}, {text: title});
    else send({button_id: String(id), title: title}, {text: title});
  }

  document.getElementById("phoneComposer").addEventListener("submit", function (event) {
    event.preventDefault();
    var words = text.value.trim();
    if (!words) return;
    text.value = "";
    send({text: words}, {text: words});
  });

  fileInput.addEventListener("change", function () {
    var file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > MAX_PHOTO_BYTES) { say("Choose a photo under 5 MB."); return; }
    var reader = new FileReader();
    reader.onload = function () {
      var dataUrl = String(reader.result);
      var caption = text.value.trim();
      var image = {image: dataUrl.slice(dataUrl.indexOf(",") + 1), mime_type: file.type || "image/jpeg"};
      text.value = "";
      if (phone.channel === "whatsapp") {     // WhatsApp: a caption under the photo
        image.caption = caption;
        send(image, {photo: true, preview: dataUrl, text: caption});
      } else {                                // LINE has no captions: the words follow as a message
        send(image, {photo: true, preview: dataUrl}).then(function () { if (caption) send({text: caption}, {text: caption}); });
      }
    };
    reader.readAsDataURL(file);
  });

  followButton.addEventListener("click", function () {
    post("/follow").then(function () { say(""); stateLine.textContent = "You added the account as a friend"; })
      .catch(function (error) { say("Not added: " + error.message); });
  });

  /* What the business sent since the last poll (the fake numbers them n = 1, 2...). */
  function poll() {
    if (polling) return;
    polling = true;
    var asked = phone;
    fetch(phoneUrl("/messages?after=" + encodeURIComponent(phone.after)))
      .then(function (response) {
        if (!response.ok) throw new Error("the fake provider answered " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (asked !== phone) return;
        var messages = Array.isArray(answer) ? answer : (answer.messages || []);
        stateLine.textContent = "Online";
        messages.forEach(function (message) {
          if (!(message.n > phone.after)) return;
          phone.after = message.n;
          add({mine: false, n: message.n, type: message.type, text: message.text || "",
               buttons: message.buttons || [], media_url: message.media_url || null,
               sender: message.sender || null});
          unreadForRead = true;
        });
        markRead();
      })
      .catch(function (error) {
        if (asked === phone) stateLine.textContent = "The fake provider does not answer (" + error.message + ")";
      })
      .then(function () {
        polling = false;
        if (asked === phone) pollTimer = setTimeout(poll, POLL_MS);
      });
  }

  /* WhatsApp's blue ticks: what the business sent is read while this page is in front. */
  function markRead() {
    if (!unreadForRead || phone.channel !== "whatsapp" || document.visibilityState !== "visible") return;
    unreadForRead = false;
    post("/read").catch(function () { unreadForRead = true; });
  }
  document.addEventListener("visibilitychange", markRead);

  document.getElementById("phoneSetup").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = idField.value.trim();
    if (!/^[A-Za-z0-9]{1,64}$/.test(id)) { say("A phone id is 1 to 64 letters and digits."); return; }
    usePhone(channelField.value, id, nameField.value.trim());
  });
  document.getElementById("newPhone").addEventListener("click", function () {
    usePhone(channelField.value, newId(channelField.value), nameField.value.trim());
  });
  channelField.addEventListener("change", function () {
    usePhone(channelField.value, newId(channelField.value), nameField.value.trim());
  });

  // A phone's screen is the phone: which phone it plays folds away until asked for.
  if (window.matchMedia("(max-width: 600px)").matches) document.getElementById("phoneSetupBox").open = false;
  // ?channel=line&phone=U...&name=Ann, else the phone used last, else a new WhatsApp customer.
  var query = new URLSearchParams(location.search);
  var last = load("devphone:current", null);
  var channel = query.get("channel") || (last && last.channel) || "whatsapp";
  if (!root.dataset[channel + "Path"]) channel = "whatsapp";
  var id = query.get("phone") || (last && last.channel === channel ? last.id : null) || newId(channel);
  usePhone(channel, id, query.get("name") || (last && last.name) || "Dev Customer");
})();
