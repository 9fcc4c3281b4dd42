/* The chat widget loader. Embed with one tag:
 *   <script src="https://CHAT_HOST/widget.js" data-site="SITE_KEY" async></script>
 * or call ChatWidget.init({apiUrl, siteKey, position, primaryColor,
 *                          sessionExpiry, heartbeatInterval, autoRestore}).
 * It draws a launcher button and opens the conversation in a frame served by
 * the chat server, so the host page can read neither the chat nor its key. */
(function () {
  "use strict";
  if (window.ChatWidget && window.ChatWidget.loaded) return;
  var script = document.currentScript;
  var widget = null;

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
    function open() {
      if (!frame.src) frame.src = apiUrl + "/widget/frame?" + params.toString();
      frame.style.display = "block";
      unread = 0;
      showUnread(0);
      launcher.setAttribute("aria-label", "Close chat");
      label.textContent = "×";
      place();
    }
    function close() {
      frame.style.display = "none";
      launcher.setAttribute("aria-label", "Open chat");
      label.textContent = "Chat";
      place();
    }
    launcher.addEventListener("click", function () { frame.style.display === "none" ? open() : close(); });
    window.addEventListener("message", function (event) {
      if (event.origin !== originOf(apiUrl) || event.source !== frame.contentWindow) return;
      if (event.data && event.data.type === "cc:close") close();
      if (event.data && event.data.type === "cc:reply" && frame.style.display === "none") showUnread(++unread);
    });

    document.body.appendChild(frame);
    document.body.appendChild(launcher);
    widget = {open: open, close: close, launcher: launcher, frame: frame};
    return widget;
  }

  function style(element, rules) {
    for (var name in rules) element.style[name] = rules[name];
  }

  window.ChatWidget = {init: init, loaded: true};
  if (script && script.dataset.site) {
    var start = function () {
      init({siteKey: script.dataset.site, position: script.dataset.position,
            primaryColor: script.dataset.color});
    };
    if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
  }
})();
