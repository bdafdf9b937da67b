(function () {
  'use strict';
  var me = document.currentScript;
  var base = (me && me.getAttribute('data-asset-base')) || '';
  var started = false;
  function load() {
    if (started) {
      return;
    }
    started = true;
    var css = document.createElement('link');
    css.id = 'app-css';
    css.rel = 'stylesheet';
    css.href = base + 'app.css';
    var settled = function () { css.setAttribute('data-settled', ''); };
    css.addEventListener('load', settled);
    css.addEventListener('error', settled);
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
    load();
  } else if (P && P.supportedEntryTypes && P.supportedEntryTypes.indexOf('paint') >= 0) {
    new P(function (list, observer) {
      observer.disconnect();
      load();
    }).observe({ type: 'paint', buffered: true });
  } else {
    requestAnimationFrame(function () { setTimeout(load, 0); });
  }
  setTimeout(load, 1000);
}());
