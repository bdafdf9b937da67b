(function () {
  'use strict';
  var me = document.currentScript;
  var base = (me && me.getAttribute('data-asset-base')) || '';
  var started = false;
  function saved() {
    try {
      return window.localStorage.getItem('waxwing:paint') !== null;
    } catch (err) {
      return false;
    }
  }
  function load(painted) {
    if (started) {
      return;
    }
    started = true;
    if (painted === true && !saved() && window.WebAssembly && typeof WebAssembly.compileStreaming === 'function') {
      performance.mark('waxwing:wasm-fetch');
      var compiled = WebAssembly.compileStreaming(fetch(base + 'app.wasm', { credentials: 'same-origin' }));
      compiled.catch(function () {});
      window.waxwingCompiled = compiled;
    }
    var css = document.createElement('link');
    css.id = 'app-css';
    css.rel = 'stylesheet';
    css.href = base + 'app.css';
    window.waxwingStyled = new Promise(function (resolve) {
      css.addEventListener('load', resolve);
      css.addEventListener('error', resolve);
    });
    document.head.appendChild(css);
    ['wasm_exec.js', 'boot.js'].forEach(function (name) {
      var s = document.createElement('script');
      s.src = base + name;
      s.async = false;
      document.head.appendChild(s);
    });
  }
  var sw = navigator.serviceWorker;
  var P = window.PerformanceObserver;
  if (sw && sw.controller) {
    load(false);
  } else if (P && P.supportedEntryTypes && P.supportedEntryTypes.indexOf('paint') >= 0) {
    new P(function (list, observer) {
      observer.disconnect();
      load(true);
    }).observe({ type: 'paint', buffered: true });
  } else {
    requestAnimationFrame(function () { setTimeout(function () { load(true); }, 0); });
  }
  setTimeout(function () { load(false); }, 1000);
}());
