// boot.js starts Waxwing's Go program (app.wasm) in the page shell.
//
// Plain ES2017, loaded with defer after wasm_exec.js (which defines Go). The
// page runs under a strict CSP (script-src 'self' 'wasm-unsafe-eval'), so
// this file uses no eval, no inline handlers and no inline styles.
//
// Contract with the shell and the Go program:
//   #app[data-asset-base]  URL prefix of app.wasm (versioned, ends in "/")
//   #app[data-boot]        "loading" while booting; the Go program sets
//                          "ready" when main runs; "failed" if booting failed
//   #status                human-readable state; data-state="error" on failure
'use strict';

(function () {
  var app = document.getElementById('app');
  var status = document.getElementById('status');
  if (!app || !status) {
    return; // not the Waxwing shell
  }

  function fail(message, err) {
    if (err) {
      console.error('waxwing boot:', err);
    }
    status.textContent = message;
    status.setAttribute('data-state', 'error');
    app.setAttribute('data-boot', 'failed');
  }

  // instantiate fetches and compiles the module, streaming when the server
  // sends Content-Type: application/wasm, and falling back to a buffered
  // compile when streaming is unavailable or refuses the response's type.
  async function instantiate(url, importObject) {
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
    try {
      result = await instantiate((app.getAttribute('data-asset-base') || '') + 'app.wasm', go.importObject);
    } catch (err) {
      fail('Waxwing could not be loaded: ' + (err && err.message ? err.message : err) + '. Reload the page to try again.', err);
      return;
    }
    try {
      await go.run(result.instance);
    } catch (err) {
      fail('Waxwing stopped with an error. Reload the page to try again.', err);
    }
  }

  boot();
}());
