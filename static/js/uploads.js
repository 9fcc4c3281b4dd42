/* Files attached in a composer (the widget, the dashboard, a supervisor's pane), before they
 * are sent: the paperclip's file picker, files dropped on the chat, an image pasted in the
 * message box. Each file is uploaded at once (multipart, one file a request, field `file`,
 * XMLHttpRequest for its progress) and shown as a chip: name, size, a progress bar, the
 * server's sentence and a Retry button when the upload failed, a Remove button. Send takes
 * the finished uploads' ids into the message (outbox.js); the server decides what is allowed.
 */
(function (global) {
  "use strict";
  var MAX_FILES = 10;          // a message names at most 10 attachments (docs/protocol.md)
  var AT_ONCE = 2;             // uploads running at once per composer; the others wait their turn

  /* options: list (the <ul> of chips), url (the upload endpoint), fields() (form fields, e.g.
     {session_id}), headers() (e.g. the session key or the CSRF token), onChange() (after every
     change: the page enables or disables its Send button), status (an aria-live element for
     what happened to each upload). */
  function Tray(options) {
    this.options = options;
    this.items = [];
    this.list = null;
    this.mount(options.list);
  }

  /* Draw the chips in `list` (the same chat's composer drawn again keeps its files). */
  Tray.prototype.mount = function (list, status) {
    this.list = list;
    if (status) this.options.status = status;
    if (!list) return;
    list.replaceChildren();
    for (var i = 0; i < this.items.length; i++) {
      this.items[i].element = chip(this, this.items[i]);
      list.appendChild(this.items[i].element);
    }
    this.changed();
  };

  /* Files from the picker, a drop or a paste: each becomes a chip and starts uploading. */
  Tray.prototype.add = function (files) {
    var added = 0;
    for (var i = 0; i < files.length; i++) {
      if (this.items.length >= MAX_FILES) {
        this.say("At most " + MAX_FILES + " files can be sent in one message.");
        break;
      }
      var item = {file: files[i], name: files[i].name || "pasted image", size: files[i].size,
                  state: "waiting", progress: 0, error: null, result: null, request: null};
      this.items.push(item);
      item.element = chip(this, item);
      if (this.list) this.list.appendChild(item.element);
      added += 1;
    }
    this.next();
    this.changed();
    return added;
  };

  /* Start the waiting uploads while fewer than AT_ONCE run. */
  Tray.prototype.next = function () {
    var running = this.items.filter(function (item) { return item.state === "uploading"; }).length;
    for (var i = 0; i < this.items.length && running < AT_ONCE; i++) {
      if (this.items[i].state === "waiting") { this.upload(this.items[i]); running += 1; }
    }
  };

  Tray.prototype.upload = function (item) {
    var self = this;
    var form = new FormData();
    var fields = this.options.fields();
    for (var name in fields) form.append(name, fields[name]);
    form.append("file", item.file, item.name);
    var request = new XMLHttpRequest();
    item.request = request;
    item.state = "uploading";
    item.progress = 0;
    item.error = null;
    request.open("POST", this.options.url);
    var headers = this.options.headers();
    for (var header in headers) request.setRequestHeader(header, headers[header]);
    request.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable || item.request !== request) return;
      item.progress = event.loaded / event.total;
      self.draw(item);
    });
    request.addEventListener("load", function () {
      if (item.request !== request) return;
      var answer = null;
      try { answer = JSON.parse(request.responseText); } catch (e) { /* not JSON: a proxy's page */ }
      if (request.status >= 200 && request.status < 300 && answer && answer.attachment_id) {
        item.state = "done";
        item.progress = 1;
        item.result = answer;
        self.say(item.name + " is ready to send.");
      } else {
        self.failed(item, answer && answer.error && answer.error.message
          ? answer.error.message : "The upload failed (" + request.status + "); try again.");
      }
      item.request = null;
      self.draw(item);
      self.next();
      self.changed();
    });
    request.addEventListener("error", function () {
      if (item.request !== request) return;
      self.failed(item, "The upload did not reach the server; check the connection and try again.");
      self.draw(item);
      self.next();
      self.changed();
    });
    request.send(form);
    this.draw(item);
  };

  Tray.prototype.failed = function (item, message) {
    item.state = "failed";
    item.error = message;
    item.request = null;
    this.say(item.name + " was not uploaded: " + message);
  };

  Tray.prototype.retry = function (item) {
    item.state = "waiting";
    item.error = null;
    this.draw(item);
    this.next();
    this.changed();
    var remove = item.element && item.element.querySelector(".upload-remove");
    if (remove) remove.focus();           // the Retry button it was on is gone
  };

  Tray.prototype.remove = function (item) {
    var index = this.items.indexOf(item);
    if (index < 0) return;
    if (item.request) { var request = item.request; item.request = null; request.abort(); }
    this.items.splice(index, 1);
    if (item.element) item.element.remove();
    this.next();
    this.changed();
  };

  /* The finished uploads, as a message names them ({id, name, size, content_type, kind, ...}). */
  Tray.prototype.ready = function () {
    return this.items.filter(function (item) { return item.state === "done"; }).map(function (item) {
      var file = item.result;
      var described = {id: file.attachment_id, name: file.name, size: file.size,
                       content_type: file.content_type, kind: file.kind};
      if (file.width) { described.width = file.width; described.height = file.height; }
      return described;
    });
  };

  /* The finished uploads leave the tray for a message (failed ones stay). */
  Tray.prototype.take = function () {
    var described = this.ready();
    this.items.filter(function (item) { return item.state === "done"; })
      .forEach(function (item) { this.remove(item); }, this);
    return described;
  };

  /* Finished uploads kept from before a reload (`ready()`'s list) come back as chips. */
  Tray.prototype.restore = function (described) {
    for (var i = 0; i < (described || []).length && this.items.length < MAX_FILES; i++) {
      var file = described[i];
      if (!file || !file.id) continue;
      var item = {file: null, name: file.name, size: file.size, state: "done", progress: 1, error: null,
                  request: null, result: {attachment_id: file.id, name: file.name, size: file.size,
                                          content_type: file.content_type, kind: file.kind,
                                          width: file.width, height: file.height}};
      this.items.push(item);
      item.element = chip(this, item);
      if (this.list) this.list.appendChild(item.element);
    }
    this.changed();
  };

  Tray.prototype.busy = function () {
    return this.items.some(function (item) { return item.state === "uploading" || item.state === "waiting"; });
  };

  Tray.prototype.hasReady = function () {
    return this.items.some(function (item) { return item.state === "done"; });
  };

  /* Every upload stops (the chat closed, the chat ended). */
  Tray.prototype.clear = function () {
    this.items.slice().forEach(function (item) { this.remove(item); }, this);
  };

  Tray.prototype.changed = function () {
    if (this.list) this.list.hidden = this.items.length === 0;
    if (this.options.onChange) this.options.onChange(this);
  };

  Tray.prototype.say = function (text) {
    var status = this.options.status;
    if (status) status.textContent = text;
  };

  /* One chip's state on screen. */
  Tray.prototype.draw = function (item) {
    var element = item.element;
    if (!element) return;
    element.dataset.state = item.state;
    var progress = element.querySelector(".upload-progress");
    progress.value = Math.round(item.progress * 100);
    progress.hidden = item.state !== "uploading" && item.state !== "waiting";
    var state = element.querySelector(".upload-state");
    state.textContent = item.state === "uploading" ? "Uploading " + Math.round(item.progress * 100) + "%"
      : item.state === "waiting" ? "Waiting" : item.state === "done" ? "Ready" : "Not uploaded";
    var error = element.querySelector(".upload-error");
    error.textContent = item.error || "";
    error.hidden = !item.error;
    element.querySelector(".upload-retry").hidden = item.state !== "failed";
  };

  function chip(tray, item) {
    var element = document.createElement("li");
    element.className = "upload-chip";
    var head = document.createElement("div");
    head.className = "upload-head";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = item.name;
    name.title = item.name;
    var size = document.createElement("span");
    size.className = "upload-size";
    size.textContent = global.ChatUI.formatSize(item.size);
    var state = document.createElement("span");
    state.className = "upload-state";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "upload-retry";
    retry.textContent = "Retry";
    retry.setAttribute("aria-label", "Retry uploading " + item.name);
    retry.addEventListener("click", function () { tray.retry(item); });
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "upload-remove";
    remove.setAttribute("aria-label", "Remove " + item.name);
    remove.title = "Remove";
    remove.textContent = "×";
    remove.addEventListener("click", function () {
      // The keyboard goes on to the next chip's Remove, or back to the message box.
      var next = element.nextElementSibling || element.previousElementSibling;
      tray.remove(item);
      var target = next ? next.querySelector(".upload-remove") : tray.options.focusAfter;
      if (target && !target.disabled) target.focus();
    });
    head.append(name, retry, remove);
    var meta = document.createElement("div");
    meta.className = "upload-meta";
    meta.append(size, state);
    var progress = document.createElement("progress");
    progress.className = "upload-progress";
    progress.max = 100;
    progress.setAttribute("aria-label", "Uploading " + item.name);
    var error = document.createElement("p");
    error.className = "upload-error";
    error.setAttribute("role", "alert");
    element.append(head, meta, progress, error);
    item.element = element;
    tray.draw(item);
    return element;
  }

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return Boolean(types) && Array.prototype.indexOf.call(types, "Files") >= 0;
  }

  /* Files dragged onto `area` are attached (`onFiles(files)`) when `enabled()` says the composer
     can take them; the area is marked while they are over it. */
  function dropZone(area, onFiles, enabled) {
    guardPage();
    var depth = 0;
    function mark(on) { area.classList.toggle("dropping-files", on); }
    area.addEventListener("dragenter", function (event) {
      if (!hasFiles(event) || !enabled()) return;
      event.preventDefault();
      depth += 1;
      mark(true);
    });
    area.addEventListener("dragover", function (event) {
      if (!hasFiles(event) || !enabled()) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    area.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (depth === 0) mark(false);
    });
    area.addEventListener("drop", function (event) {
      depth = 0;
      mark(false);
      if (!hasFiles(event)) return;
      event.preventDefault();        // never opened in place of the chat
      if (enabled() && event.dataTransfer.files.length) onFiles(event.dataTransfer.files);
    });
  }

  /* A file dropped anywhere else on the page is not opened in its place (the chat would be gone). */
  var guarded = false;
  function guardPage() {
    if (guarded) return;
    guarded = true;
    ["dragover", "drop"].forEach(function (type) {
      global.addEventListener(type, function (event) {
        if (hasFiles(event) && !event.defaultPrevented) {
          event.preventDefault();
          if (type === "dragover") event.dataTransfer.dropEffect = "none";
        }
      });
    });
  }

  /* An image pasted in `input` is attached; text pasted (even with a picture of it, as
     spreadsheets copy) stays text. */
  function pasteFiles(input, onFiles) {
    input.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      if (!data || !data.files || !data.files.length) return;
      if (Array.prototype.indexOf.call(data.types || [], "text/plain") >= 0) return;
      event.preventDefault();
      onFiles(data.files);
    });
  }

  /* The paperclip: opens the file picker; what is picked is attached, and the picker is
     emptied so the same file can be picked again. */
  function picker(button, fileInput, onFiles) {
    button.addEventListener("click", function () { fileInput.click(); });
    fileInput.addEventListener("change", function () {
      if (fileInput.files.length) onFiles(fileInput.files);
      fileInput.value = "";
    });
  }

  global.ChatUploads = {Tray: Tray, dropZone: dropZone, pasteFiles: pasteFiles, picker: picker, MAX_FILES: MAX_FILES};
})(window);
