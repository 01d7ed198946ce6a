// copyadvisor chat widget: streams answers from /widget/api/ask (server-sent events).
// Everything the server sends is inserted with textContent, never as HTML.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("question");
  var send = document.getElementById("send");
  var history = [];

  function bubble(kind, text) {
    var li = document.createElement("li");
    li.className = kind;
    li.setAttribute("dir", "auto");
    li.textContent = text || "";
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function showAnswer(li, answer) {
    li.textContent = answer.text;
    var rec = answer.recommendation || {};
    if (!answer.declined && (rec.term || answer.intent === "verdict")) {  // a verdict only where one was asked
      var verdict = document.createElement("span");
      verdict.className = "verdict";
      verdict.textContent = "→ " + (rec.term || "it depends") + " (" + Math.round((rec.confidence || 0) * 100) + "%)";
      li.appendChild(verdict);
    }
    if (answer.citations && answer.citations.length) {
      var list = document.createElement("ol");
      list.className = "sources";
      answer.citations.forEach(function (c) {
        var item = document.createElement("li");
        item.value = c.number;
        item.setAttribute("dir", "auto");
        var shown = (answer.passages || []).filter(function (p) { return p.number === c.number; })[0];
        var label = (shown && shown.label) || c.lang;
        item.textContent = c.passage_id + " (" + label + "): " + c.quote;
        if (shown && shown.original_text && shown.original_text !== shown.text) {
          var original = document.createElement("details");
          var summary = document.createElement("summary");
          summary.textContent = "original (" + shown.original_lang + ")";
          var body = document.createElement("p");
          body.setAttribute("dir", "auto");
          body.textContent = shown.original_text;
          original.appendChild(summary);
          original.appendChild(body);
          item.appendChild(original);
        }
        list.appendChild(item);
      });
      li.appendChild(list);
    }
  }

  async function ask(question) {
    bubble("user", question);
    var li = bubble("bot", "…");
    var text = "";
    send.disabled = true;
    try {
      var response = await fetch("/widget/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify({ question: question, history: history.slice(-6), stream: true })
      });
      if (!response.ok) {
        var problem = await response.json().catch(function () { return {}; });
        throw new Error(problem.error || ("HTTP " + response.status));
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var events = buffer.split("\n\n");
        buffer = events.pop();
        events.forEach(function (raw) {
          var name = (raw.match(/^event: (.*)$/m) || [])[1];
          var data = (raw.match(/^data: (.*)$/m) || [])[1];
          if (!data) return;
          var payload = JSON.parse(data);
          if (name === "token") { text += payload.text; li.textContent = text; }
          else if (name === "answer") { showAnswer(li, payload); history.push({ role: "user", content: question }, { role: "assistant", content: payload.text }); }
          else if (name === "error") { throw new Error(payload.error); }
        });
      }
    } catch (problem) {
      li.className = "bot error";
      li.textContent = "Sorry: " + problem.message;
    } finally {
      send.disabled = false;
      log.scrollTop = log.scrollHeight;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
})();
