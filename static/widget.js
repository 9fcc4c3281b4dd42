/* The chat widget loader. Embed with one tag:
 *   <script src="https://CHAT_HOST/widget.js" data-site="SITE_KEY" async></script>
 * or call ChatWidget.init({apiUrl, siteKey, position, primaryColor,
 *                          sessionExpiry, heartbeatInterval, autoRestore}).
 * It draws a launcher button and opens the conversation in a frame served by
 * the chat server, so the host page can read neither the chat nor its key.
 *
 * The page may then call ChatWidget.open(), close(), toggle(), setUser({id, name, email, hash})
 * (hash: HMAC-SHA256 of id with the site's identity secret, made by the site's server), reset()
 * (forget the visitor on this browser, at the site's logout), and on(event, fn) / off(event, fn)
 * for "ready" (the launcher is on the page), "open", "close" and "message" ({conversationId,
 * senderType}: a reply of the team or the bot was shown; its text stays in the frame).
 * Calls made before this script has loaded wait in window.ChatWidget.queue, e.g.
 *   window.ChatWidget = window.ChatWidget || {queue: []};
 *   ChatWidget.queue.push(["setUser", {id: "42", hash: "..."}]); */
(function () {
  "use strict";
  if (window.ChatWidget && window.ChatWidget.loaded) return;
  var script = document.currentScript;
  var widget = null;
  var queued = window.ChatWidget && Array.isArray(window.ChatWidget.queue) ? window.ChatWidget.queue : [];
  var listeners = {ready: [], open: [], close: [], message: []};

  function emit(name, detail) {
    listeners[name].slice().forEach(function (listener) {
      try { listener(detail); } catch (error) { setTimeout(function () { throw error; }); }
    });
  }

  function originOf(url) {
    var link = document.createElement("a");
    link.href = url;
    return link.protocol + "//" + link.host;
  }

  function init(options) {
    if (widget) return widget;
    options = options || {};
    if (!options.siteKey) throw new Error("ChatWidget.init needs a siteKey");
    var apiUrl = (options.apiUrl || (script ? originOf(script.src) : location.origin)).replace(/\/+$/, "");
    var color = /^#[0-9a-fA-F]{6}$/.test(options.primaryColor || "") ? options.primaryColor : "";
    var left = options.position === "bottom-left";
    var params = new URLSearchParams({site: options.siteKey});
    if (color) params.set("color", color);
    if (options.sessionExpiry) params.set("expiry", String(options.sessionExpiry));
    if (options.heartbeatInterval) params.set("heartbeat", String(options.heartbeatInterval));
    if (options.autoRestore === false) params.set("restore", "0");

    var launcher = document.createElement("button");
    launcher.type = "button";
    launcher.id = "cc-chat-launcher";
    launcher.setAttribute("aria-label", "Open chat");
    var label = document.createElement("span");
    label.textContent = "Chat";
    // Replies that arrived while the chat was closed.
    var badge = document.createElement("span");
    badge.id = "cc-chat-unread";
    badge.hidden = true;
    style(badge, {position: "absolute", top: "-4px", right: "-4px", minWidth: "22px", height: "22px",
                  borderRadius: "11px", background: "#dc2626", color: "#fff", font: "700 12px/22px system-ui, sans-serif",
                  textAlign: "center", padding: "0 4px", boxSizing: "border-box"});
    launcher.append(label, badge);
    style(launcher, {position: "fixed", bottom: "20px", zIndex: "2147483000", width: "60px", height: "60px",
                     borderRadius: "50%", border: "none", cursor: "pointer", color: "#fff",
                     font: "600 14px system-ui, sans-serif", boxShadow: "0 4px 14px rgba(0,0,0,.25)",
                     background: color || "#2563eb"});
    launcher.style[left ? "left" : "right"] = "20px";

    var frame = document.createElement("iframe");
    frame.id = "cc-chat-frame";
    frame.title = "Chat";
    frame.setAttribute("allow", "clipboard-write");
    style(frame, {position: "fixed", zIndex: "2147483000", border: "none", boxShadow: "0 8px 30px rgba(0,0,0,.25)",
                  background: "#fff", display: "none"});

    /* A box above the launcher; on a phone (or any small window) the whole screen, closed by
       the frame's own × while the launcher steps aside. */
    var small = window.matchMedia("(max-width: 480px), (max-height: 480px)");
    function place() {
      var full = small.matches;
      style(frame, full
        ? {top: "0", bottom: "0", width: "100%", height: "100%", maxWidth: "none", maxHeight: "none", borderRadius: "0"}
        : {top: "auto", bottom: "90px", width: "370px", height: "560px", maxWidth: "calc(100vw - 40px)",
           maxHeight: "calc(100vh - 110px)", borderRadius: "12px"});
      frame.style[left ? "left" : "right"] = full ? "0" : "20px";
      launcher.style.display = full && frame.style.display !== "none" ? "none" : "";
    }
    place();
    if (small.addEventListener) small.addEventListener("change", place);

    function showUnread(count) {
      badge.textContent = count ? String(count) : "";
      badge.hidden = !count;
      launcher.setAttribute("aria-label", count ? "Open chat, " + count + " unread" : "Open chat");
    }
    var unread = 0;
    var ready = false;
    var toFrame = [];         // messages for the frame, sent once it says it is ready
    function load() {
      if (!frame.src) frame.src = apiUrl + "/widget/frame?" + params.toString();
    }
    function tell(message) {
      load();
      if (ready) frame.contentWindow.postMessage(message, originOf(apiUrl)); else toFrame.push(message);
    }
    function isOpen() { return frame.style.display !== "none"; }
    function open() {
      if (isOpen()) return;
      load();
      frame.style.display = "block";
      unread = 0;
      showUnread(0);
      launcher.setAttribute("aria-label", "Close chat");
      label.textContent = "×";
      place();
      emit("open");
    }
    function close() {
      if (!isOpen()) return;
      frame.style.display = "none";
      launcher.setAttribute("aria-label", "Open chat");
      label.textContent = "Chat";
      place();
      emit("close");
    }
    launcher.addEventListener("click", function () { isOpen() ? close() : open(); });
    window.addEventListener("message", function (event) {
      if (event.origin !== originOf(apiUrl) || event.source !== frame.contentWindow || !event.data) return;
      var type = event.data.type;
      if (type === "cc:ready") {
        ready = true;
        toFrame.splice(0).forEach(function (message) { frame.contentWindow.postMessage(message, originOf(apiUrl)); });
      }
      if (type === "cc:close") close();
      if (type === "cc:reply" && !isOpen()) showUnread(++unread);
      if (type === "cc:message") {
        emit("message", {conversationId: String(event.data.conversation_id), senderType: String(event.data.sender_type)});
      }
    });

    document.body.appendChild(frame);
    document.body.appendChild(launcher);
    widget = {
      open: open, close: close, launcher: launcher, frame: frame,
      toggle: function () { isOpen() ? close() : open(); },
      setUser: function (user) {
        if (!user || user.id === undefined || user.id === null || !user.hash) {
          throw new Error("ChatWidget.setUser needs {id, hash}, and may have name and email");
        }
        tell({type: "cc:setUser", user: {id: String(user.id), hash: String(user.hash),
                                         name: user.name ? String(user.name) : "", email: user.email ? String(user.email) : ""}});
      },
      reset: function () { tell({type: "cc:reset"}); }
    };
    return widget;
  }

  /* The page's calls: to the widget once init has run, else kept until it does. */
  function call(name) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      if (widget) return widget[name].apply(null, args);
      queued.push([name].concat(args));
    };
  }

  function on(name, listener) {
    if (!listeners[name]) throw new Error("ChatWidget.on: no event " + name + " (ready, open, close, message)");
    listeners[name].push(listener);
    if (name === "ready" && widget) setTimeout(function () { listener(); });     // ready already
  }

  function off(name, listener) {
    if (listeners[name]) listeners[name] = listeners[name].filter(function (known) { return known !== listener; });
  }

  function replayQueue() {
    queued.splice(0).forEach(function (entry) {
      var name = entry[0];
      if (name === "on" || name === "off") (name === "on" ? on : off)(entry[1], entry[2]);
      else if (widget && typeof widget[name] === "function") widget[name].apply(null, entry.slice(1));
    });
  }

  function style(element, rules) {
    for (var name in rules) element.style[name] = rules[name];
  }

  window.ChatWidget = {
    init: function (options) {
      var first = !widget;
      var made = init(options);
      replayQueue();
      if (first) emit("ready");
      return made;
    },
    open: call("open"), close: call("close"), toggle: call("toggle"), setUser: call("setUser"), reset: call("reset"),
    on: on, off: off, queue: queued, loaded: true
  };
  if (script && script.dataset.site) {
    var start = function () {
      window.ChatWidget.init({siteKey: script.dataset.site, position: script.dataset.position,
                              primaryColor: script.dataset.color});
    };
    if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
  }
})();
