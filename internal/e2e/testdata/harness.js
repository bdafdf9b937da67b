// harness.js measures a chat web app from inside the page. It is injected
// before any script of every document (CDP
// Page.addScriptToEvaluateOnNewDocument), after a line that sets
// window.__benchConfig:
//
//   login:    {form, jid, password, user, pass}  selectors (jid and password
//             inside form) and what to type; when the form shows, it is
//             filled and submitted at once
//   row:      the peer's row in the conversation or contact list; clicked
//             once when it shows while the chat is not open
//   chat:     the open chat with the peer
//   message:  the message elements (or their text) inside that chat
//   latest:   a text only the latest archived message contains
//   fatal:    optional: an element that means the app failed to start; when
//             it shows, every wait fails at once with what the page says
//
// At every animation frame after a DOM change (and every tenth frame in any
// case) it checks what is shown and records the first time each thing is
// seen as a mark (performance.now(): ms since the navigation started, also
// written as a performance mark "bench:<name>"):
//
//   login     the login form and both inputs are rendered
//   submitted the form was filled and submitted
//   open      the peer's row was clicked
//   latest    the latest message is on screen: inside the viewport, and the
//             hit test at the middle of its visible part finds it (not
//             clipped by a scroller, not covered)
//   <burst>   after __bench.burst(name, prefix, n): n distinct messages
//             containing prefix followed by their number have been rendered
//             in the chat, and the one with the highest number is on screen
//
// A check at an animation frame sees what that frame paints, so a mark is
// the frame the thing first appears in (within a frame, ~16 ms).
(function () {
  'use strict';
  if (window.top !== window || !window.__benchConfig) {
    return;
  }
  var cfg = window.__benchConfig;
  var marks = {};
  var waiters = {};
  var st = { fatal: '', clicked: false, burst: null, dirty: true, frames: 0, errors: [] };

  function mark(name) {
    if (Object.prototype.hasOwnProperty.call(marks, name)) {
      return;
    }
    marks[name] = performance.now();
    try {
      performance.mark('bench:' + name);
    } catch (e) {
      // a page may have replaced performance.mark; the value is kept anyway
    }
    (waiters[name] || []).forEach(function (w) {
      w.resolve(marks[name]);
    });
    delete waiters[name];
  }

  function checkFatal() {
    if (!cfg.fatal || st.fatal) {
      return;
    }
    var el = document.querySelector(cfg.fatal);
    if (!el) {
      return;
    }
    st.fatal = 'the app failed to start (' + cfg.fatal + '): ' + JSON.stringify(debug());
    Object.keys(waiters).forEach(function (name) {
      waiters[name].forEach(function (w) {
        w.reject(new Error(st.fatal));
      });
    });
    waiters = {};
  }

  // rendered: connected, not display:none, visibility:hidden or opacity 0
  // (on it or an ancestor), not inside content-visibility:hidden.
  function rendered(el) {
    if (!el || !el.isConnected) {
      return false;
    }
    if (typeof el.checkVisibility === 'function') {
      return el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
    }
    return el.getClientRects().length > 0;
  }

  function hasBox(el) {
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function onScreen(el) {
    if (!rendered(el) || !hasBox(el)) {
      return false;
    }
    var r = el.getBoundingClientRect();
    var x0 = Math.max(r.left, 0);
    var x1 = Math.min(r.right, window.innerWidth);
    var y0 = Math.max(r.top, 0);
    var y1 = Math.min(r.bottom, window.innerHeight);
    if (x1 <= x0 || y1 <= y0) {
      return false;
    }
    var hit = document.elementFromPoint((x0 + x1) / 2, (y0 + y1) / 2);
    return !!hit && (hit === el || el.contains(hit));
  }

  function setValue(input, value) {
    var proto = input instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function submit(container) {
    var form = container.tagName === 'FORM' ? container : container.querySelector('form');
    if (form && typeof form.requestSubmit === 'function') {
      form.requestSubmit();
      return;
    }
    var button = container.querySelector('[data-action=login], [type=submit], button');
    if (button) {
      button.click();
    }
  }

  function checkLogin() {
    var L = cfg.login;
    if (!L || Object.prototype.hasOwnProperty.call(marks, 'login')) {
      return;
    }
    var form = document.querySelector(L.form);
    var jid = form && form.querySelector(L.jid);
    var pass = form && form.querySelector(L.password);
    if (!rendered(form) || !rendered(jid) || !rendered(pass) || !hasBox(jid) || !hasBox(pass)) {
      return;
    }
    mark('login');
    if (L.user) {
      setValue(jid, L.user);
      setValue(pass, L.pass);
      submit(form);
      mark('submitted');
    }
  }

  function checkLatest() {
    if (Object.prototype.hasOwnProperty.call(marks, 'latest')) {
      return;
    }
    if (!st.clicked && !rendered(document.querySelector(cfg.chat))) {
      var row = document.querySelector(cfg.row);
      if (rendered(row) && hasBox(row)) {
        st.clicked = true;
        mark('open');
        row.click();
      }
    }
    var els = document.querySelectorAll(cfg.message);
    for (var i = els.length - 1; i >= 0; i--) {
      if (els[i].textContent.indexOf(cfg.latest) >= 0) {
        if (onScreen(els[i])) {
          mark('latest');
        }
        return;
      }
    }
  }

  function checkBurst() {
    var B = st.burst;
    if (!B || B.done) {
      return;
    }
    var els = document.querySelectorAll(cfg.message);
    var last = null;
    for (var i = 0; i < els.length; i++) {
      var text = els[i].textContent;
      var k = text.indexOf(B.prefix);
      if (k < 0) {
        continue;
      }
      var n = parseInt(text.slice(k + B.prefix.length), 10);
      if (!(n >= 1 && n <= B.n)) {
        continue;
      }
      if (n === B.n) {
        last = els[i];
      }
      if (!B.seen[n] && rendered(els[i])) {
        B.seen[n] = true;
        B.count++;
        if (B.count === 1) {
          mark(B.name + '-first');
        }
      }
    }
    if (B.count >= B.n && last && onScreen(last)) {
      B.done = true;
      mark(B.name);
    }
  }

  function check() {
    checkFatal();
    checkLogin();
    checkLatest();
    checkBurst();
  }

  function frame() {
    st.frames++;
    if (st.dirty || st.frames % 10 === 0) {
      st.dirty = false;
      try {
        check();
      } catch (e) {
        st.errors.push(String(e && e.stack ? e.stack : e));
      }
    }
    window.requestAnimationFrame(frame);
  }

  new MutationObserver(function () {
    st.dirty = true;
  }).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
  window.requestAnimationFrame(frame);

  function debug() {
    var count = function (sel) {
      try {
        return document.querySelectorAll(sel).length;
      } catch (e) {
        return String(e);
      }
    };
    return {
      url: location.href,
      marks: marks,
      clicked: st.clicked,
      frames: st.frames,
      errors: st.errors.slice(0, 5),
      rows: count(cfg.row),
      chats: count(cfg.chat),
      messages: count(cfg.message),
      burstSeen: st.burst ? st.burst.count : null,
      loginForms: cfg.login ? count(cfg.login.form) : null,
      body: document.body ? document.body.innerText.slice(0, 600) : null,
    };
  }

  window.__bench = {
    marks: marks,
    // when resolves with the mark's time once it is set; after timeoutMs it
    // rejects with what the page shows.
    when: function (name, timeoutMs) {
      if (Object.prototype.hasOwnProperty.call(marks, name)) {
        return Promise.resolve(marks[name]);
      }
      if (st.fatal) {
        return Promise.reject(new Error(st.fatal));
      }
      return new Promise(function (resolve, reject) {
        (waiters[name] = waiters[name] || []).push({ resolve: resolve, reject: reject });
        setTimeout(function () {
          reject(new Error('no "' + name + '" within ' + timeoutMs + ' ms: ' + JSON.stringify(debug())));
        }, timeoutMs);
      });
    },
    // burst starts watching for n messages "<prefix><number>" (numbers 1 to
    // n) and returns the start time.
    burst: function (name, prefix, n) {
      st.burst = { name: name, prefix: prefix, n: n, seen: {}, count: 0, done: false, start: performance.now() };
      st.dirty = true;
      return st.burst.start;
    },
    // paint returns the Paint Timing entries (first-paint,
    // first-contentful-paint) by name.
    paint: function () {
      var out = {};
      performance.getEntriesByType('paint').forEach(function (e) {
        out[e.name] = e.startTime;
      });
      return out;
    },
    debug: debug,
  };
})();
