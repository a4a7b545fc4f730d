/*
 * kubedesk web chat widget. Embed with
 *   <script src="https://HOST/widget.js" data-tenant="acme" async></script>
 * No build step, no inline script or style needed on the page. Every text
 * is set with textContent: nothing a visitor or an agent writes is HTML.
 * Protocol: docs/chat.md.
 */
(function () {
  'use strict';
  if (window.__kubedeskChat) return;
  var script = document.currentScript || document.querySelector('script[src*="widget.js"][data-tenant]');
  if (!script) return;
  var tenant = script.getAttribute('data-tenant') || 'default';
  var origin = new URL(script.src, location.href).origin;
  var api = origin + '/chat/' + encodeURIComponent(tenant) + '/';
  var lang = (script.getAttribute('data-lang') || document.documentElement.lang || navigator.language || 'en').toLowerCase();
  var zh = lang.indexOf('zh') === 0;
  var T = zh ? {
    title: '在线客服', open: '在线咨询', close: '关闭', placeholder: '输入消息，回车发送', send: '发送',
    waiting: '正在为您接通客服…', offered: '客服马上就来，请稍候。',
    askEmail: '暂时没有客服在线。留下您的邮箱，我们会通过邮件回复您。', emailPlaceholder: '您的邮箱', emailSend: '提交',
    byEmail: function (e) { return '我们会通过邮件回复到 ' + e + '。'; },
    closed: '会话已结束。发送消息即可开始新的会话。',
    typing: function (n) { return (n || '客服') + ' 正在输入…'; },
    you: '我', agent: '客服', system: '系统', sending: '发送中…', sent: '已发送', read: '已读', failed: '未发送：',
    tooLong: function (n) { return '消息过长：最多 ' + n + ' 字节。'; }, offline: '连接中断，正在重连…'
  } : {
    title: 'Chat with us', open: 'Chat', close: 'Close', placeholder: 'Type a message, Enter to send', send: 'Send',
    waiting: 'Waiting for an agent…', offered: 'An agent will be with you shortly.',
    askEmail: 'No agent is available right now. Leave your e-mail address and we will reply by e-mail.',
    emailPlaceholder: 'Your e-mail address', emailSend: 'Submit',
    byEmail: function (e) { return 'We will reply to ' + e + ' by e-mail.'; },
    closed: 'This chat is closed. Send a message to start a new one.',
    typing: function (n) { return (n || 'An agent') + ' is typing…'; },
    you: 'You', agent: 'Agent', system: 'System', sending: 'Sending…', sent: 'Sent', read: 'Read', failed: 'Not sent: ',
    tooLong: function (n) { return 'Message too long: at most ' + n + ' bytes.'; }, offline: 'Reconnecting…'
  };

  // The visitor's token and chat (and the last seq seen): in local
  // storage and a cookie of the page's own site (either restores the
  // token).
  var key = 'kubedesk-chat:' + tenant;
  var cookieName = 'kubedesk_chat_' + tenant.replace(/[^a-z0-9-]/g, '');
  var st = load();
  // A page (re)loaded shows the chat from its first message; a
  // reconnection within the page resumes after the last seq seen.
  st.seq = 0;
  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(key) || 'null');
      if (s && typeof s.token === 'string') return s;
    } catch (e) { /* storage blocked: the cookie */ }
    var m = document.cookie.match(new RegExp('(?:^|; )' + cookieName + '=([^;]*)'));
    return { token: m ? decodeURIComponent(m[1]) : '', chat: '', seq: 0 };
  }
  function save() {
    try { localStorage.setItem(key, JSON.stringify(st)); } catch (e) { /* the cookie keeps the token */ }
    document.cookie = cookieName + '=' + encodeURIComponent(st.token) + '; path=/; max-age=31536000; SameSite=Lax' +
      (location.protocol === 'https:' ? '; Secure' : '');
  }

  // ---- the view, in a shadow root: the page's styles do not reach it.
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  var host = el('kubedesk-chat');
  var root = host.attachShadow({ mode: 'open' });
  var css = ':host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,sans-serif;color:#1f2328}' +
    '.launcher{border:0;border-radius:24px;padding:12px 20px;background:#1f6feb;color:#fff;font:inherit;cursor:pointer;box-shadow:0 2px 10px rgba(0,0,0,.25)}' +
    '.panel{display:none;flex-direction:column;width:340px;max-width:calc(100vw - 40px);height:480px;max-height:calc(100vh - 40px);background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);overflow:hidden}' +
    '.open .panel{display:flex}.open .launcher{display:none}' +
    'header{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;background:#1f6feb;color:#fff;font-weight:600}' +
    'header button{border:0;background:none;color:#fff;font-size:20px;cursor:pointer;line-height:1}' +
    '.log{flex:1;overflow-y:auto;padding:10px;display:flex;flex-direction:column;gap:6px;background:#f6f8fa}' +
    '.msg{max-width:80%;padding:6px 10px;border-radius:10px;background:#fff;border:1px solid #d0d7de;align-self:flex-start;white-space:pre-wrap;overflow-wrap:anywhere}' +
    '.msg.visitor{align-self:flex-end;background:#ddf4ff;border-color:#b6e3ff}.msg.system{align-self:center;background:none;border:0;color:#57606a;font-size:12px}' +
    '.who{display:block;font-size:11px;color:#57606a}.mark{display:block;font-size:11px;color:#57606a;text-align:right}.failed .mark{color:#cf222e}' +
    '.typing,.status{padding:2px 12px;font-size:12px;color:#57606a;min-height:16px}.status:empty,.typing:empty{display:none}' +
    'form{display:flex;gap:6px;padding:8px;border-top:1px solid #d0d7de}form[hidden]{display:none}' +
    'textarea,input{flex:1;font:inherit;border:1px solid #d0d7de;border-radius:6px;padding:6px;resize:none}' +
    'form button{border:0;border-radius:6px;padding:6px 12px;background:#1f6feb;color:#fff;font:inherit;cursor:pointer}';
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css); // a constructed sheet: no inline style for the page's CSP to refuse
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el('style', null, css));
  }
  var wrap = el('div', 'wrap');
  var launcher = el('button', 'launcher', T.open);
  launcher.type = 'button';
  var panel = el('div', 'panel');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', T.title);
  var head = el('header', null, null);
  head.appendChild(el('span', null, T.title));
  var closeBtn = el('button', null, '×');
  closeBtn.type = 'button';
  closeBtn.setAttribute('aria-label', T.close);
  head.appendChild(closeBtn);
  var log = el('div', 'log');
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  var typingLine = el('div', 'typing');
  var status = el('div', 'status');
  var emailForm = el('form', 'email');
  emailForm.hidden = true;
  var emailInput = el('input');
  emailInput.type = 'email';
  emailInput.required = true;
  emailInput.placeholder = T.emailPlaceholder;
  emailForm.appendChild(emailInput);
  emailForm.appendChild(el('button', null, T.emailSend));
  var compose = el('form', 'compose');
  var input = el('textarea');
  input.rows = 2;
  input.placeholder = T.placeholder;
  input.setAttribute('aria-label', T.placeholder);
  compose.appendChild(input);
  compose.appendChild(el('button', null, T.send));
  [head, log, typingLine, status, emailForm, compose].forEach(function (e) { panel.appendChild(e); });
  wrap.appendChild(launcher);
  wrap.appendChild(panel);
  root.appendChild(wrap);
  (document.body || document.documentElement).appendChild(host);
  window.__kubedeskChat = { host: host };

  // ---- messages: by seq once the chat has numbered them; a message being
  // sent by its id until the chat's stream brings it back.
  var bySeq = {}, pending = {}, pendingOrder = [], acked = {};
  var chatState = '', chatEmail = '', agentRead = 0, maxBytes = 4096, online = false, notice = '';

  function bubble(author, name, text) {
    var b = el('div', 'msg ' + author);
    if (author !== 'visitor' && author !== 'system') b.appendChild(el('span', 'who', name || T.agent));
    b.appendChild(el('span', 'text', text));
    if (author === 'visitor') b.appendChild(el('span', 'mark', T.sending));
    log.appendChild(b);
    log.scrollTop = log.scrollHeight;
    return b;
  }
  function mark(b, text) {
    var m = b.querySelector('.mark');
    if (m) m.textContent = text;
  }
  function clearChat() {
    Object.keys(bySeq).forEach(function (s) {
      var b = bySeq[s];
      if (b.parentNode) b.parentNode.removeChild(b);
    });
    bySeq = {};
  }
  function onChat(c) {
    if (c.id !== st.chat) {
      if (st.chat) clearChat();
      st.chat = c.id;
      st.seq = 0;
      save();
    }
    chatState = c.state;
    chatEmail = c.email || '';
    agentRead = c.agentRead || 0;
    renderReads();
    renderStatus();
  }
  function settle(id) {
    delete pending[id];
    pendingOrder = pendingOrder.filter(function (p) { return p.id !== id; });
  }
  function onMessage(m) {
    if (m.chat && m.chat !== st.chat) onChat({ id: m.chat, state: chatState });
    if (bySeq[m.seq]) return; // seen
    // The visitor's own message: by its id, or (when the chat saw it in
    // the ticket events first, without the id) by its ack's seq.
    var id = m.id && pending[m.id] ? m.id : acked[st.chat + '/' + m.seq];
    var b = id && pending[id];
    if (b) {
      settle(id);
    } else {
      b = bubble(m.author, m.author === 'visitor' ? T.you : m.name, m.text);
    }
    b.seq = m.seq;
    b.className = 'msg ' + m.author;
    bySeq[m.seq] = b;
    if (m.seq > st.seq) {
      st.seq = m.seq;
      save();
    }
    if (m.author === 'agent') showTyping({ typing: false });
    renderReads();
    markRead();
  }
  function renderReads() {
    Object.keys(bySeq).forEach(function (s) {
      var b = bySeq[s];
      if (b.classList.contains('visitor')) mark(b, +s <= agentRead ? T.read : T.sent);
    });
  }
  function renderStatus() {
    var s = '';
    if (!online) s = T.offline;
    else if (notice) s = notice;
    else if (chatState === 'waiting') s = T.waiting;
    else if (chatState === 'offered') s = T.offered;
    else if (chatState === 'ask_email') s = T.askEmail;
    else if (chatState === 'email') s = T.byEmail(chatEmail);
    else if (chatState === 'closed') s = T.closed;
    status.textContent = s;
    emailForm.hidden = chatState !== 'ask_email';
  }
  var typingTimer = 0;
  function showTyping(t) {
    clearTimeout(typingTimer);
    typingLine.textContent = t.typing ? T.typing(t.name) : '';
    if (t.typing) typingTimer = setTimeout(function () { typingLine.textContent = ''; }, 6000);
  }

  // ---- the connection: a WebSocket; server-sent events and POST when
  // WebSockets do not get through. Either resumes after the last seq seen.
  var ws = null, wsFailures = 0, useWS = !!window.WebSocket && script.getAttribute('data-transport') !== 'sse';
  var events = null, retry = 1000, timer = 0;

  function connect() {
    clearTimeout(timer);
    if (useWS && wsFailures < 2) connectWS();
    else connectSSE();
  }
  function reconnect() {
    online = false;
    renderStatus();
    clearTimeout(timer);
    timer = setTimeout(connect, retry + Math.random() * 500);
    retry = Math.min(retry * 2, 30000);
  }
  function connectWS() {
    var opened = false, sock = new WebSocket(api.replace(/^http/, 'ws') + 'ws');
    ws = sock;
    sock.onopen = function () {
      opened = true;
      sock.send(JSON.stringify({ type: 'hello', token: st.token, chat: st.chat, after: st.chat ? st.seq : 0, locale: lang }));
    };
    sock.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      onFrame(f);
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      if (opened) wsFailures = 0; else wsFailures++;
      reconnect();
    };
  }
  function post(path, body) {
    return fetch(api + path, {
      method: 'POST', cache: 'no-store', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-Kubedesk-Visitor': st.token }
    }).then(function (r) { return r.status === 204 ? null : r.json(); });
  }
  function connectSSE() {
    var ctl = window.AbortController ? new AbortController() : null;
    events = ctl;
    post('visit', { token: st.token }).then(function (w) {
      if (!w || w.type !== 'welcome') throw new Error('visit refused');
      onFrame(w);
      var q = st.chat ? '?chat=' + encodeURIComponent(st.chat) + '&after=' + st.seq : '';
      return fetch(api + 'events' + q, { cache: 'no-store', headers: { 'X-Kubedesk-Visitor': st.token }, signal: ctl && ctl.signal });
    }).then(function (res) {
      if (!res.ok || !res.body) throw new Error('events: ' + res.status);
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          buf += dec.decode(r.value, { stream: true });
          var i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            var data = buf.slice(0, i).split('\n').filter(function (l) { return l.indexOf('data: ') === 0; })
              .map(function (l) { return l.slice(6); }).join('\n');
            buf = buf.slice(i + 2);
            if (data) {
              try { onFrame(JSON.parse(data)); } catch (x) { /* not a frame */ }
            }
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () { /* reconnect below */ }).then(function () {
      if (events === ctl) reconnect();
    });
  }
  function sendFrame(f) {
    if (ws && ws.readyState === 1) {
      ws.send(JSON.stringify(f));
      return true;
    }
    if (!useWS || wsFailures >= 2) {
      if (!online) return false;
      post('send', f).then(function (r) { if (r) onFrame(r); }, function () { /* pending messages go again on reconnect */ });
      return true;
    }
    return false;
  }
  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        st.token = f.token;
        maxBytes = f.maxBytes || maxBytes;
        save();
        online = true;
        retry = 1000;
        if (f.chat) onChat(f.chat);
        renderStatus();
        pendingOrder.forEach(function (p) { sendFrame({ type: 'message', id: p.id, text: p.text, locale: lang }); });
        break;
      case 'chat': onChat(f); break;
      case 'message': onMessage(f); break;
      case 'typing': showTyping(f); break;
      case 'ack':
        var b = pending[f.id], seen = f.chat === st.chat && bySeq[f.seq];
        if (b && seen && seen !== b) { // the stream brought it first, without its id
          settle(f.id);
          if (b.parentNode) b.parentNode.removeChild(b);
        } else if (b) {
          acked[f.chat + '/' + f.seq] = f.id;
          mark(b, T.sent);
        }
        break;
      case 'error': onError(f); break;
    }
  }
  function onError(e) {
    if (e.code === 'token') { // signed with another key: a new visitor
      st = { token: '', chat: '', seq: 0 };
      save();
      if (ws) ws.close();
      else if (events && events.abort) events.abort(); // the events stream ends, and reconnects
      return;
    }
    var b = e.id && pending[e.id];
    if (b && e.code === 'rate_limited') {
      setTimeout(function () {
        var p = pendingOrder.filter(function (x) { return x.id === e.id; })[0];
        if (p) sendFrame({ type: 'message', id: p.id, text: p.text, locale: lang });
      }, (e.retryAfter || 1) * 1000);
      return;
    }
    if (b) {
      settle(e.id);
      b.classList.add('failed');
      mark(b, T.failed + e.message);
      return;
    }
    notice = e.message;
    renderStatus();
  }

  // ---- what the visitor does.
  var lastRead = 0, lastTyping = 0, stopTyping = 0;
  function markRead() {
    if (!wrap.classList.contains('open') || document.visibilityState === 'hidden' || st.seq <= lastRead) return;
    if (sendFrame({ type: 'read', seq: st.seq })) lastRead = st.seq;
  }
  function submit() {
    var text = input.value;
    if (!text.trim()) return;
    if (new TextEncoder().encode(text).length > maxBytes) {
      notice = T.tooLong(maxBytes);
      renderStatus();
      return;
    }
    notice = '';
    renderStatus();
    var id = 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    var b = bubble('visitor', T.you, text);
    pending[id] = b;
    pendingOrder.push({ id: id, text: text });
    sendFrame({ type: 'message', id: id, text: text, locale: lang });
    input.value = '';
    clearTimeout(stopTyping);
    if (lastTyping) sendFrame({ type: 'typing', typing: false });
    lastTyping = 0;
  }
  compose.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener('input', function () {
    var now = Date.now();
    if (now - lastTyping > 3000 && sendFrame({ type: 'typing', typing: true })) lastTyping = now;
    clearTimeout(stopTyping);
    stopTyping = setTimeout(function () {
      if (lastTyping) sendFrame({ type: 'typing', typing: false });
      lastTyping = 0;
    }, 4000);
  });
  emailForm.addEventListener('submit', function (e) {
    e.preventDefault();
    sendFrame({ type: 'email', email: emailInput.value, locale: lang });
  });
  launcher.addEventListener('click', function () {
    wrap.classList.add('open');
    input.focus();
    markRead();
  });
  closeBtn.addEventListener('click', function () { wrap.classList.remove('open'); });
  document.addEventListener('visibilitychange', markRead);
  connect();
})();
