package static

// W3C Service Workers (https://www.w3.org/TR/service-workers/): the script
// served at /sw.js, which caches the shell and this build's assets so that
// the app starts offline. The script itself is sw.js; this file writes its
// first line, the build's configuration.

import (
	"bytes"
	"encoding/json"
	"slices"
)

// WorkerConfig is what sw.js reads from self.WAXWING.
type WorkerConfig struct {
	// Version is the build (Version()): the worker's cache is
	// "waxwing-" + Version.
	Version string `json:"version"`
	// Base is the URL prefix of this build's assets, {prefix}{Version}/.
	Base string `json:"base"`
	// Assets are the URLs of every asset of this build, sorted; the worker
	// precaches them all.
	Assets []string `json:"assets"`
}

// workerConfig describes this build's assets served under prefix.
func (a *assets) workerConfig(prefix string) WorkerConfig {
	base := prefix + a.version + "/"
	urls := make([]string, 0, len(a.files))
	for name := range a.files {
		urls = append(urls, base+name)
	}
	slices.Sort(urls)
	return WorkerConfig{Version: a.version, Base: base, Assets: urls}
}

// serviceWorker returns sw.js preceded by the line
// "self.WAXWING = {…};" that configures it, or nil without sw.js.
func (a *assets) serviceWorker(prefix string) []byte {
	if a.worker == nil {
		return nil
	}
	// encoding/json escapes <, >, &, U+2028 and U+2029, so the object is a
	// safe JavaScript literal whatever the file names.
	cfg, err := json.Marshal(a.workerConfig(prefix))
	if err != nil {
		panic("static: " + err.Error()) // strings and a slice of strings always marshal
	}
	var b bytes.Buffer
	b.Grow(len(cfg) + len(a.worker) + 24)
	b.WriteString("self.WAXWING = ")
	b.Write(cfg)
	b.WriteString(";\n")
	b.Write(a.worker)
	return b.Bytes()
}

// Worker returns the configuration the service worker gets for the assets
// served under prefix (as in Handler).
func Worker(prefix string) WorkerConfig { return embeddedAssets().workerConfig(prefix) }

// ServiceWorker returns the service worker script for the assets served
// under prefix (as in Handler): sw.js with its configuration (Worker) as its
// first line. It is a new script for every build, which is how browsers
// learn of a new version. Serve it at the root (/sw.js) with Cache-Control:
// no-cache, so that its scope is the whole app and updates are seen at once.
func ServiceWorker(prefix string) []byte { return embeddedAssets().serviceWorker(prefix) }
