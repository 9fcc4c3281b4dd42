/* Messages typed but not yet stored by the server, for the widget and the dashboard.
 *
 * Each item {client_id, text, attachments?, files?} is shown at once as a pending copy in its MessageLog and
 * stays in the outbox until the server answers: stored (the copy is replaced by the stored
 * message) or refused (the copy is marked failed with the server's reason). No answer (a
 * timeout, a lost connection, a busy server) keeps it, to be sent again with the same
 * client_id, which the server stores once.
 */
(function (global) {
  "use strict";
  var ACK_TIMEOUT_MS = 10000;

  /* options: items (an array kept up to date in place, e.g. the widget's stored one),
     senderName (on the pending copies), limit (most items held), fields (sent with every
     message besides text and client_id, e.g. the dashboard's session_id), rest ({url, fields,
     headers?} for sending over HTTP), onChange (called after every change, e.g. to save), send (sends
     one item the way the page is connected now: what a refused message's Retry does),
     onRefused (told of each refusal, with the server's error). */
  function Outbox(log, options) {
    this.log = log;
    this.items = options.items || [];
    this.senderName = options.senderName;
    this.limit = options.limit || Infinity;
    this.fields = options.fields || {};
    this.rest = options.rest || null;
    this.onChange = options.onChange || function () {};
    this.send = options.send || null;
    this.onRefused = options.onRefused || function () {};   // (item, error): e.g. WhatsApp's closed window
  }

  /* A new item and its pending copy; null when the outbox is full. `isPrivate`: a private
     note of the team (the dashboard's Note mode); `buttonId`: the bot's button pressed;
     `files`: uploaded attachments ({id, name, size, content_type, kind, ...}) it sends, by id. */
  Outbox.prototype.add = function (text, isPrivate, buttonId, files) {
    if (this.items.length >= this.limit) return null;
    var item = {client_id: newClientId(), text: text};
    if (isPrivate) item.private = true;
    if (buttonId) item.button_id = buttonId;          // a quick reply of the bot, pressed
    if (files && files.length) {
      item.attachments = files.map(function (file) { return file.id; });
      item.files = files;                             // what its pending copy shows
    }
    this.items.push(item);
    this.onChange();
    this.showItem(item);
    return item;
  };

  Outbox.prototype.showItem = function (item) {
    this.log.addPending(item.client_id, item.text, this.senderName, item.private, item.files);
  };

  /* Pending copies of every item on `log`, which the answers still to come go to
     (a restored conversation, or the same chat's window drawn again). */
  Outbox.prototype.showPending = function (log) {
    this.log = log;
    for (var i = 0; i < this.items.length; i++) this.showItem(this.items[i]);
  };

  /* The server stored (or refused) this client_id: it leaves the outbox. */
  Outbox.prototype.forget = function (clientId) {
    for (var i = this.items.length - 1; i >= 0; i--) {
      if (this.items[i].client_id === clientId) { this.items.splice(i, 1); this.onChange(); }
    }
  };

  Outbox.prototype.stored = function (item, message) {
    this.forget(item.client_id);
    this.log.accept(message);
  };

  Outbox.prototype.refused = function (item, error) {
    var self = this;
    this.forget(item.client_id);
    this.log.markFailed(item.client_id, (error && error.message) || "Not sent",
                        this.send && function () { self.retry(item); });
    this.onRefused(item, error);
  };

  /* A refused item goes out again, with the same client_id (nothing was stored for it). */
  Outbox.prototype.retry = function (item) {
    this.items.push(item);
    this.onChange();
    this.showItem(item);
    this.send(item);
  };

  /* `send_message` over a connected Socket.IO socket. */
  Outbox.prototype.emit = function (socket, item) {
    var self = this;
    socket.timeout(ACK_TIMEOUT_MS).emit("send_message", payload(item, this.fields), function (timedOut, reply) {
      if (timedOut) return;                          // kept; sent again after the next connect
      if (reply && reply.ok) self.stored(item, reply.message);
      else self.refused(item, reply && reply.error);
    });
  };

  Outbox.prototype.emitAll = function (socket) {
    this.items.slice().forEach(function (item) { this.emit(socket, item); }, this);
  };

  /* POST over HTTP, for when Socket.IO cannot connect. */
  Outbox.prototype.post = function (item) {
    var self = this;
    var headers = {"Content-Type": "application/json"};
    for (var name in this.rest.headers || {}) headers[name] = this.rest.headers[name];
    fetch(this.rest.url, {method: "POST", headers: headers,
                          body: JSON.stringify(payload(item, this.rest.fields))})
      .then(function (response) { return response.json().then(function (data) { return {status: response.status, data: data}; }); })
      .then(function (result) {
        if (result.status < 300) self.stored(item, result.data.message);
        else if (result.status !== 429 && result.status < 500) self.refused(item, result.data.error);
        // 429 and 5xx: kept; sent again at the next poll
      })
      .catch(function () { /* kept; sent again at the next poll */ });
  };

  Outbox.prototype.postAll = function () {
    this.items.slice().forEach(function (item) { this.post(item); }, this);
  };

  function payload(item, fields) {
    var body = {text: item.text, client_id: item.client_id};
    if (item.private) body.private = true;
    if (item.button_id) body.button_id = item.button_id;
    if (item.attachments && item.attachments.length) body.attachments = item.attachments;
    for (var name in fields) body[name] = fields[name];
    return body;
  }

  function newClientId() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  global.ChatOutbox = Outbox;
})(window);
