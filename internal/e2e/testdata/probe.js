// probe.js watches the Waxwing app from inside the page for the end-to-end
// tests (app_test.go, xss_test.go). It is injected before any script of
// every document (CDP Page.addScriptToEvaluateOnNewDocument, which the page's
// Content-Security-Policy does not govern) and only records; it changes
// nothing the app does. What it records is in window.__e2e:
//
//   sockets     one entry per WebSocket the page creates, taken synchronously
//               in the constructor, before the socket exists: when (ms since
//               the navigation started), the URL, and what #view showed at
//               that instant (conversation rows, messages, whether the app
//               had painted from its store, whether boot.js had painted the
//               saved view); a performance mark "e2e:ws-created" too
//   csp         every securitypolicyviolation event (directive, blocked URI,
//               sample)
//   loginShown  ms at which a login form was first in the document, or null
//   scripts     every script element seen in the document (its src, or the
//               start of its text): the shell's own two, and anything else
//   handlers    elements that gained an on* attribute (tag and attribute)
//   jsURLs      href/src/action/formaction/xlink:href values starting with
//               javascript: (or vbscript:, data:text/html)
//   errors      uncaught exceptions (message)
//   shown       the text of every message element ever inserted (how many
//               times each), whether or not it is still in the page
//
// and readers for the tests: __e2e.messages(body) lists the messages of
// the open chat whose text is body ({id, state, dir}); __e2e.bodies() lists
// the text of every message of the open chat, in order;
// __e2e.openSockets() counts the WebSockets still connecting or open.
(function () {
  'use strict';
  if (window.top !== window) {
    return;
  }
  var rec = {
    sockets: [], csp: [], loginShown: null, scripts: [], handlers: [], jsURLs: [], errors: [],
    shown: {},
  };
  window.__e2e = rec;

  function chatMessages() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-testid=chat] [data-testid=message]'));
  }
  function text(m) {
    var b = m.querySelector('.body');
    return b ? b.textContent : null;
  }
  rec.messages = function (body) {
    return chatMessages().filter(function (m) {
      return text(m) === body;
    }).map(function (m) {
      return { id: m.dataset.id || '', state: m.dataset.state || '', dir: m.dataset.dir || '' };
    });
  };
  rec.bodies = function () {
    return chatMessages().map(text);
  };

  function count(sel) {
    return document.querySelectorAll(sel).length;
  }

  // The constructor is wrapped, not replaced: the socket is the browser's
  // own, and instanceof and the static constants still hold.
  var NativeWS = window.WebSocket;
  var live = [];
  // openSockets counts the page's WebSockets that are connecting or open
  // (not closing or closed): whether the page still holds a link, as the
  // page sees it.
  rec.openSockets = function () {
    return live.filter(function (ws) {
      return ws.readyState === NativeWS.CONNECTING || ws.readyState === NativeWS.OPEN;
    }).length;
  };
  window.WebSocket = new Proxy(NativeWS, {
    construct: function (target, args, newTarget) {
      var view = document.getElementById('view');
      var app = document.getElementById('app');
      rec.sockets.push({
        at: performance.now(),
        url: String(args[0]),
        rows: count('#view [data-testid=conversation]'),
        messages: count('#view [data-testid=message]'),
        painted: view ? (view.dataset.painted || '') : '',
        snapshot: app ? (app.getAttribute('data-painted') || '') : '',
        storeMark: performance.getEntriesByName('waxwing:store-painted').length > 0,
      });
      performance.mark('e2e:ws-created');
      var ws = Reflect.construct(target, args, newTarget);
      live.push(ws);
      return ws;
    },
  });

  document.addEventListener('securitypolicyviolation', function (e) {
    rec.csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  }, true);
  window.addEventListener('error', function (e) {
    rec.errors.push(String(e.message));
  }, true);

  var badURL = /^\s*(javascript|vbscript|data\s*:\s*text\/html)/i;
  var urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href'];

  function inspect(el) {
    if (el.nodeType !== 1) {
      return;
    }
    if (rec.loginShown === null && el.matches('[data-testid=login]')) {
      rec.loginShown = performance.now();
    }
    if (el.matches('[data-testid=message]')) {
      var t = text(el);
      if (t !== null) {
        rec.shown[t] = (rec.shown[t] || 0) + 1;
      }
    }
    if (el.localName === 'script') {
      rec.scripts.push(el.getAttribute('src') || ('inline: ' + el.textContent.slice(0, 100)));
    }
    for (var i = 0; i < el.attributes.length; i++) {
      var a = el.attributes[i];
      if (/^on/i.test(a.name)) {
        rec.handlers.push(el.tagName + ' ' + a.name);
      }
      if (urlAttrs.indexOf(a.name.toLowerCase()) >= 0 && badURL.test(a.value)) {
        rec.jsURLs.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 100));
      }
    }
  }

  function inspectTree(node) {
    inspect(node);
    if (node.querySelectorAll) {
      var all = node.querySelectorAll('*');
      for (var i = 0; i < all.length; i++) {
        inspect(all[i]);
      }
    }
  }

  new MutationObserver(function (list) {
    list.forEach(function (m) {
      if (m.type === 'attributes') {
        inspect(m.target);
        return;
      }
      m.addedNodes.forEach(inspectTree);
    });
  }).observe(document, { childList: true, subtree: true, attributes: true });
}());
