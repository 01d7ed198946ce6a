// One-line embed: <script src="http://copyadvisor.intranet:7860/widget.js" async></script>
// Adds the copyadvisor chat widget as an iframe (the page's origin must be in allowed_origins).
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src).origin;
  var frame = document.createElement("iframe");
  frame.src = base + "/widget";
  frame.title = "copyadvisor chat";
  frame.id = "copyadvisor-frame";
  frame.style.cssText = script.getAttribute("data-style") ||
    "width:380px;height:520px;border:1px solid #d0d7de;border-radius:10px;position:fixed;right:16px;bottom:16px;background:#fff;z-index:2147483000";
  (document.body || document.documentElement).appendChild(frame);
})();
