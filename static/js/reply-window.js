/* WhatsApp's 24-hour customer-service window in a chat: the countdown in the chat's header
 * ("Reply window: 23 h 12 min left"), and, once it has closed, the template picker in place of the
 * reply box: an approved template, its parameters, a preview, Send.
 *
 * The server decides (channels/whatsapp.py): it renders when the window closes
 * (`data-closes-at`, with its own clock `data-now` and the window's length `data-seconds`), refuses
 * free text past it (`window_closed`), and lists and sends the templates
 * (GET/POST /api/v1/agent/sessions/<id>/templates). A customer's new message opens the window
 * again for `data-seconds` from then; a `message_delivery` with `needs_template` (131047) or a
 * refused reply opens the picker whatever the clock says.
 */
(function (global) {
  "use strict";
  var TICK_MS = 30000;
  var PARAM_MAX = 1024;
  var timer = null;           // one chat window at a time on the page

  /* chat: the #chat element; options: sessionId, csrfToken, composer (the reply form: in Note mode
     it stays, a note never goes to the phone), onSent(message). */
  function ReplyWindow(chat, options) {
    var self = this;
    this.options = options;
    this.label = chat.querySelector("#replyWindow");
    this.picker = chat.querySelector("#templatePicker");
    this.templates = [];
    this.clientId = null;     // kept until the server stores the template: a resend stores it once
    clearInterval(timer);
    if (!this.label) return;
    var closes = Date.parse(this.label.dataset.closesAt || "");
    this.skew = (Date.parse(this.label.dataset.now) || Date.now()) - Date.now();
    this.closesAt = isNaN(closes) ? null : closes;
    this.seconds = Number(this.label.dataset.seconds) || 0;
    this.forced = false;
    if (this.picker) this.bindPicker();
    timer = setInterval(function () { self.show(); }, TICK_MS);
    this.show();
  }

  ReplyWindow.prototype.now = function () { return Date.now() + this.skew; };

  ReplyWindow.prototype.isOpen = function () {
    return this.closesAt !== null && this.closesAt > this.now();
  };

  /* The header's words, and the picker instead of the reply box while the window is closed. */
  ReplyWindow.prototype.show = function () {
    if (!this.label) return;
    var left = this.closesAt === null ? 0 : this.closesAt - this.now();
    this.label.dataset.open = left > 0 ? "true" : "false";
    this.label.textContent = left > 0 ? "Reply window: " + duration(left) + " left" : "Reply window closed";
    var noting = this.options.composer.dataset.mode === "note";
    if (this.picker && (left <= 0 || this.forced) && !noting) this.openPicker();
    else if (this.picker) this.closePicker();
  };

  /* A customer's message (any live or synced message of the chat): the window runs from it. */
  ReplyWindow.prototype.heard = function (message) {
    if (!this.label || !message || message.sender_type !== "visitor" || !this.seconds) return;
    var sent = Date.parse(message.created_at);
    if (isNaN(sent)) return;
    var closes = sent + this.seconds * 1000;
    if (this.closesAt === null || closes > this.closesAt) {
      this.closesAt = closes;
      this.forced = false;
      this.show();
    }
  };

  /* Only a template will reach the phone now (the server said so): the picker, even if the
     clock says the window is open. */
  ReplyWindow.prototype.needsTemplate = function (reason) {
    if (!this.picker) return;
    this.forced = true;
    if (reason) this.picker.querySelector(".template-reason").textContent = reason;
    this.show();
  };

  ReplyWindow.prototype.openPicker = function () {
    if (!this.picker.hidden) return;
    this.picker.hidden = false;
    this.replyParts(true);
    this.picker.querySelector(".template-back").hidden = !this.isOpen();
    this.load();
  };

  ReplyWindow.prototype.closePicker = function () {
    if (this.picker.hidden) return;
    this.picker.hidden = true;
    this.replyParts(false);
  };

  /* The reply box gives way to the picker; the Reply/Note switch stays. */
  ReplyWindow.prototype.replyParts = function (hide) {
    var row = this.options.composer.querySelector(".composer-row");
    if (row) row.hidden = hide;
  };

  ReplyWindow.prototype.bindPicker = function () {
    var self = this;
    var find = function (selector) { return self.picker.querySelector(selector); };
    find(".template-choice").addEventListener("change", function () { self.choose(); });
    find(".template-params").addEventListener("input", function () { self.preview(); });
    find(".template-send").addEventListener("click", function () { self.send(); });
    find(".template-back").addEventListener("click", function () { self.forced = false; self.show(); });
  };

  ReplyWindow.prototype.say = function (text) {
    var error = this.picker.querySelector(".template-error");
    error.textContent = text || "";
    error.hidden = !text;
  };

  /* The approved templates (the server syncs them from WhatsApp when its copy is old). */
  ReplyWindow.prototype.load = function () {
    var self = this;
    var select = this.picker.querySelector(".template-choice");
    select.replaceChildren(option("", "Loading templates…"));
    select.disabled = true;
    this.say("");
    request("GET", this.url(), null, this.options.csrfToken).then(function (result) {
      if (!result.ok) { self.say(errorText(result, "The templates could not be loaded.")); return; }
      self.templates = result.data.templates || [];
      var window_ = result.data.window;
      if (window_ && window_.closes_at) {
        var closes = Date.parse(window_.closes_at);
        if (!isNaN(closes) && (self.closesAt === null || closes > self.closesAt)) self.closesAt = closes;
      }
      select.replaceChildren();
      if (!self.templates.length) {
        select.appendChild(option("", "No approved templates"));
        self.say(result.data.sync_error ? "WhatsApp could not be asked for the templates: " + result.data.sync_error
          : "This WhatsApp account has no approved template yet: add one in WhatsApp Manager.");
      }
      self.templates.forEach(function (template, index) {
        select.appendChild(option(String(index), template.name + " (" + template.language + ")"));
      });
      select.disabled = !self.templates.length;
      self.choose();
    });
  };

  ReplyWindow.prototype.url = function () {
    return "/api/v1/agent/sessions/" + encodeURIComponent(this.options.sessionId) + "/templates";
  };

  ReplyWindow.prototype.chosen = function () {
    var value = this.picker.querySelector(".template-choice").value;
    return value === "" ? null : this.templates[Number(value)] || null;
  };

  /* One field per {{n}} of the chosen template's body. */
  ReplyWindow.prototype.choose = function () {
    var template = this.chosen();
    var box = this.picker.querySelector(".template-params");
    box.replaceChildren();
    var count = template ? Number(template.params) || 0 : 0;
    for (var i = 1; i <= count; i++) {
      var label = document.createElement("label");
      label.textContent = "{{" + i + "}}";
      var input = document.createElement("input");
      input.type = "text";
      input.maxLength = PARAM_MAX;
      input.dataset.param = i;
      input.setAttribute("aria-label", "Parameter " + i);
      label.appendChild(input);
      box.appendChild(label);
    }
    this.clientId = null;
    this.preview();
  };

  ReplyWindow.prototype.params = function () {
    return Array.prototype.map.call(this.picker.querySelectorAll(".template-params input"),
                                    function (input) { return input.value.trim(); });
  };

  /* The body as the phone will read it, each {{n}} filled in (or still shown as {{n}}). */
  ReplyWindow.prototype.preview = function () {
    var template = this.chosen();
    var params = this.params();
    var text = template ? String(template.body || "").replace(/\{\{\s*(\d+)\s*\}\}/g, function (all, n) {
      return params[Number(n) - 1] || all;
    }) : "";
    this.picker.querySelector(".template-preview").textContent = text;
    this.picker.querySelector(".template-preview").hidden = !text;
    var missing = params.some(function (value) { return !value; });
    this.picker.querySelector(".template-send").disabled = !template || missing;
    this.clientId = null;
  };

  ReplyWindow.prototype.send = function () {
    var self = this;
    var template = this.chosen();
    if (!template) return;
    var button = this.picker.querySelector(".template-send");
    if (!this.clientId) this.clientId = newClientId();
    button.disabled = true;
    this.say("");
    request("POST", this.url(), {name: template.name, language: template.language, params: this.params(),
                                 client_id: this.clientId}, this.options.csrfToken).then(function (result) {
      button.disabled = false;
      if (!result.ok) { self.say(errorText(result, "The template was not sent; try again.")); return; }
      self.clientId = null;
      self.picker.querySelectorAll(".template-params input").forEach(function (input) { input.value = ""; });
      self.preview();
      if (result.data.message) self.options.onSent(result.data.message);
    });
  };

  function request(method, url, body, csrfToken) {
    var init = {method: method, credentials: "same-origin", headers: {"X-CSRFToken": csrfToken}};
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, status: response.status, data: data || {}};
      });
    }).catch(function () { return {ok: false, status: 0, data: {}}; });
  }

  function errorText(result, fallback) {
    if (result.status === 0) return "The server could not be reached; try again.";
    return (result.data.error && result.data.error.message) || fallback;
  }

  function option(value, text) {
    var element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    return element;
  }

  /* 83 520 000 ms -> "23 h 12 min"; under an hour "42 min"; under a minute "less than a minute". */
  function duration(ms) {
    var minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "less than a minute";
    var hours = Math.floor(minutes / 60);
    return hours ? hours + " h " + (minutes % 60) + " min" : minutes + " min";
  }

  function newClientId() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    return "t" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  global.ChatReplyWindow = ReplyWindow;
})(window);
