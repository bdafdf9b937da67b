// boot.js starts Waxwing's Go program (app.wasm) in the page shell.
//
// Plain ES2017, inserted after wasm_exec.js (which defines Go) by the
// shell's inline loader (wasm/ui ShellScript), which runs them in that order;
// on a first visit only once the shell has been painted. The page runs under
// a strict CSP (script-src 'self' 'wasm-unsafe-eval' and the loader's hash),
// so this file uses no eval, no inline handlers and no inline styles.
//
// Contract with the shell and the Go program:
//   #app[data-asset-base]  URL prefix of app.wasm (versioned, ends in "/")
//   link#app-css           app.css, inserted by the loader, with
//   window.waxwingStyled   the loader's promise that it has loaded or
//                          failed; this file starts (paints the saved view,
//                          fetches the wasm) only then: the loader's scripts
//                          do not wait for it as parser-inserted ones did
//   #app[data-boot]        "loading" while booting; the Go program sets
//                          "ready" when main runs; "failed" if booting failed
//   #status                human-readable state; data-state="error" on failure
//   #view                  where the app renders. Before the wasm is fetched,
//                          localStorage["waxwing:paint"] = {"v":1,"html":"…"}
//                          (the app's own escaped render of #view, saved by
//                          the app) is painted into it, and
//                          #app[data-painted="snapshot"] is set
//   #update                the "Reload to update" banner (hidden): shown, and
//                          #app[data-update="ready"] set, when a new service
//                          worker waits while another controls the page
//   window.waxwingCompiled the loader's WebAssembly.compileStreaming of
//                          app.wasm, started on a first visit (no service
//                          worker, no saved view) once the shell is painted
//   performance marks      waxwing:boot (this file starts),
//                          waxwing:snapshot-painted, waxwing:wasm-fetch (by
//                          the loader when it compiles), waxwing:wasm-run
//                          (go.run is called)
//
// The service worker (/sw.js) is registered once the wasm has arrived, so
// that its precache never competes with the page's own download.
'use strict';

(function () {
  // PAINT_KEY holds the app's last rendered #view; PAINT_FORMAT is the only
  // format this file understands.
  var PAINT_KEY = 'waxwing:paint';
  var PAINT_FORMAT = 1;
  // UPDATE_CHECK_MS is how often an open page asks for a new service worker
  // (a chat tab stays open for days; browsers check only on navigations).
  var UPDATE_CHECK_MS = 60 * 60 * 1000;

  mark('boot');

  // #app and #status, found by start once the document has been parsed.
  var app = null;
  var status = null;

  function mark(name) {
    if (window.performance && typeof performance.mark === 'function') {
      performance.mark('waxwing:' + name);
    }
  }

  function fail(message, err) {
    if (err) {
      console.error('waxwing boot:', err);
    }
    status.textContent = message;
    status.setAttribute('data-state', 'error');
    app.setAttribute('data-boot', 'failed');
  }

  // styled resolves once app.css (link#app-css) has loaded or failed: at
  // once if the link has its sheet, else when the loader's
  // window.waxwingStyled resolves (its load or error event); at once without
  // such a link.
  function styled() {
    var link = document.getElementById('app-css');
    if (!link || link.sheet) {
      return Promise.resolve();
    }
    return Promise.resolve(window.waxwingStyled);
  }

  // paintSnapshot shows the view the app saved last time, so that a
  // returning person sees the inbox before the wasm has even been fetched.
  // The HTML is the app's own templ render (escaped), and the page's CSP
  // forbids inline scripts and handlers besides. A value that is not JSON,
  // or not of the format it claims, is removed; a format of another build
  // is left for that build.
  function paintSnapshot() {
    var view = document.getElementById('view');
    if (!view) {
      return;
    }
    var raw;
    try {
      raw = window.localStorage.getItem(PAINT_KEY);
    } catch (err) {
      return; // storage is disabled
    }
    if (raw === null) {
      return;
    }
    var snap = null;
    try {
      snap = JSON.parse(raw);
    } catch (err) {
      // malformed: removed below
    }
    var known = snap !== null && typeof snap === 'object' && typeof snap.v === 'number';
    if (known && snap.v !== PAINT_FORMAT) {
      return;
    }
    if (!known || typeof snap.html !== 'string') {
      try {
        window.localStorage.removeItem(PAINT_KEY);
      } catch (err) {
        // nothing more to do
      }
      return;
    }
    view.innerHTML = snap.html;
    // The saved chat shows its newest messages, as the app does.
    var messages = document.getElementById('messages');
    if (messages) {
      messages.scrollTop = messages.scrollHeight;
    }
    app.setAttribute('data-painted', 'snapshot');
    mark('snapshot-painted');
  }

  // instantiate fetches and compiles the module, streaming when the server
  // sends Content-Type: application/wasm, and falling back to a buffered
  // compile when streaming is unavailable or refuses the response's type.
  // On a first visit the shell's loader has already started that fetch and
  // compile (window.waxwingCompiled); its module is used unless it failed
  // with a TypeError (the response's type or status, the network), when
  // this fetches again.
  async function instantiate(url, importObject) {
    var early = window.waxwingCompiled;
    if (early) {
      delete window.waxwingCompiled;
      try {
        var module = await early;
        return { module: module, instance: await WebAssembly.instantiate(module, importObject) };
      } catch (err) {
        if (!(err instanceof TypeError)) {
          throw err;
        }
        console.warn('waxwing boot: the early compile failed, fetching again:', err);
      }
    }
    var response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) {
      throw new Error('GET ' + url + ': HTTP ' + response.status);
    }
    if (typeof WebAssembly.instantiateStreaming === 'function') {
      try {
        return await WebAssembly.instantiateStreaming(response, importObject);
      } catch (err) {
        // A wrong Content-Type is a TypeError; anything else (a compile or
        // link error) would fail the same way again.
        if (!(err instanceof TypeError)) {
          throw err;
        }
        console.warn('waxwing boot: streaming compile failed, retrying buffered:', err);
        response = await fetch(url, { credentials: 'same-origin' });
        if (!response.ok) {
          throw new Error('GET ' + url + ': HTTP ' + response.status);
        }
      }
    }
    return WebAssembly.instantiate(await response.arrayBuffer(), importObject);
  }

  async function boot() {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
      fail('This browser does not support WebAssembly, which Waxwing needs. Please use a current version of Firefox, Chrome, Edge or Safari.');
      return;
    }
    if (typeof Go !== 'function') {
      fail('Waxwing could not load its runtime (wasm_exec.js). Reload the page; if this persists, ask your administrator whether the app was built.');
      return;
    }
    app.setAttribute('data-boot', 'loading');

    var go = new Go();
    go.exit = function (code) {
      if (code !== 0) {
        fail('Waxwing stopped unexpectedly (exit code ' + code + '). Reload the page to try again.');
      }
    };

    var result;
    if (!window.waxwingCompiled) {
      mark('wasm-fetch'); // else the loader marked it
    }
    try {
      result = await instantiate((app.getAttribute('data-asset-base') || '') + 'app.wasm', go.importObject);
    } catch (err) {
      fail('Waxwing could not be loaded: ' + (err && err.message ? err.message : err) + '. Reload the page to try again.', err);
      afterLoad(registerWorker);
      return;
    }
    afterLoad(registerWorker);
    try {
      mark('wasm-run');
      await go.run(result.instance);
    } catch (err) {
      fail('Waxwing stopped with an error. Reload the page to try again.', err);
    }
  }

  // afterLoad runs fn once the page has loaded, on a task of its own.
  function afterLoad(fn) {
    if (document.readyState === 'complete') {
      setTimeout(fn, 0);
    } else {
      window.addEventListener('load', function () { setTimeout(fn, 0); }, { once: true });
    }
  }

  // registerWorker registers /sw.js, which makes the next visits work
  // offline, and offers "Reload to update" when a new build's worker is
  // installed and waits behind the one controlling this page.
  function registerWorker() {
    if (!('serviceWorker' in navigator)) {
      return; // an insecure context, or a browser without service workers
    }
    var sw = navigator.serviceWorker;
    var banner = document.getElementById('update');
    var registration = null;
    var chosen = false; // the person clicked "Reload to update"

    sw.addEventListener('controllerchange', function () {
      // The first install also claims the page; only the person's choice
      // reloads it.
      if (chosen) {
        chosen = false;
        window.location.reload();
      }
    });

    function offer() {
      if (!banner || !sw.controller) {
        return; // the first install: nothing to update from
      }
      app.setAttribute('data-update', 'ready');
      banner.hidden = false;
    }

    function track(worker) {
      if (!worker) {
        return;
      }
      if (worker.state === 'installed') {
        offer();
        return;
      }
      worker.addEventListener('statechange', function () {
        if (worker.state === 'installed') {
          offer();
        }
      });
    }

    if (banner) {
      var button = banner.querySelector('button');
      if (button) {
        button.addEventListener('click', function () {
          var waiting = registration && registration.waiting;
          if (!waiting) {
            window.location.reload(); // it took over already
            return;
          }
          chosen = true;
          button.disabled = true;
          waiting.postMessage({ type: 'skip-waiting' });
        });
      }
    }

    function check() {
      if (registration) {
        registration.update().catch(function (err) {
          console.warn('waxwing: checking for a new version failed:', err);
        });
      }
    }

    sw.register('/sw.js', { scope: '/', updateViaCache: 'none' }).catch(function (err) {
      // Offline, the update check that register() starts fails, while the
      // worker installed before still serves the app.
      return sw.getRegistration('/').then(function (reg) {
        if (!reg) {
          throw err;
        }
        return reg;
      });
    }).then(function (reg) {
      registration = reg;
      track(reg.waiting);
      track(reg.installing);
      reg.addEventListener('updatefound', function () {
        track(reg.installing);
      });
      setInterval(check, UPDATE_CHECK_MS);
      window.addEventListener('online', check);
    }, function (err) {
      console.warn('waxwing: the service worker could not be registered; the app will not work offline:', err);
    });
  }

  function start() {
    app = document.getElementById('app');
    status = document.getElementById('status');
    if (!app || !status) {
      return; // not the Waxwing shell
    }
    styled().then(function () {
      paintSnapshot();
      boot();
    });
  }

  // The loader in <head> inserts this file at once when a service worker
  // controls the page, and a script the memory cache holds (a reload) can
  // run before the parser has reached #app.
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start, { once: true });
  } else {
    start();
  }
}());
