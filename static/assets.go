package static

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// distDir holds the build output; its files are served as if they sat beside
// app.css.
const distDir = "dist"

// placeholder keeps distDir non-empty so that //go:embed never fails; it is
// not an asset.
const placeholder = "placeholder"

// workerFile is the service worker's source. It counts in the version but is
// not a versioned asset: the bridge serves it at /sw.js (see ServiceWorker).
const workerFile = "sw.js"

// sources are the directories whose regular files are served, and the URL
// prefix of their file names: top-level files and dist/ share the root.
var sources = []struct{ dir, urlPrefix string }{
	{".", ""},
	{distDir, ""},
	{"icons", "icons/"},
}

// cacheForever is the Cache-Control of every versioned response.
const cacheForever = "public, max-age=31536000, immutable"

// contentTypes fixes the types of the files we ship, independent of the
// host's mime.types (which may, for example, say application/javascript).
var contentTypes = map[string]string{
	".wasm": "application/wasm", // required by WebAssembly.instantiateStreaming
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	// W3C Web Application Manifest §1.3; Chromium ignores a manifest of
	// another type only in its console, so it is fixed here.
	".webmanifest": "application/manifest+json",
	".png":         "image/png",
	".svg":         "image/svg+xml",
}

// encodings lists the precompressed twins a file may have, in order of
// preference: file+suffix is served with Content-Encoding: coding.
var encodings = []struct{ coding, suffix string }{
	{"br", ".br"},
	{"gzip", ".gz"},
}

// representation is one stored form of an asset.
type representation struct {
	path   string // in the file system
	coding string // Content-Encoding, "" for identity
	etag   string // strong, quoted
	size   int64
}

// asset is one served file with its precompressed twins.
type asset struct {
	contentType string
	identity    representation
	encoded     map[string]representation // by coding
}

// assets indexes a file system laid out like this package's directory.
type assets struct {
	fsys    fs.FS
	version string
	files   map[string]*asset // by URL file name
	worker  []byte            // sw.js, nil if there is none
}

// newAssets indexes the files of fsys's sources, hashing each one, and reads
// sw.js.
func newAssets(fsys fs.FS) (*assets, error) {
	paths := make(map[string]string) // URL file name → path in fsys
	for _, src := range sources {
		entries, err := fs.ReadDir(fsys, src.dir)
		if err != nil {
			if src.dir != "." && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, e := range entries {
			name := src.urlPrefix + e.Name()
			if !e.Type().IsRegular() || e.Name() == placeholder || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if prev, dup := paths[name]; dup {
				return nil, fmt.Errorf("%s and %s would share the URL name %q", prev, path.Join(src.dir, e.Name()), name)
			}
			paths[name] = path.Join(src.dir, e.Name())
		}
	}

	names := make([]string, 0, len(paths))
	for name := range paths {
		names = append(names, name)
	}
	slices.Sort(names)

	a := &assets{fsys: fsys, files: make(map[string]*asset)}
	reps := make(map[string]representation, len(names))
	version := sha256.New()
	for _, name := range names {
		sum, size, err := hashFile(fsys, paths[name])
		if err != nil {
			return nil, err
		}
		reps[name] = representation{path: paths[name], etag: `"` + sum[:20] + `"`, size: size}
		fmt.Fprintf(version, "%s\x00%s\n", name, sum)
	}
	a.version = hex.EncodeToString(version.Sum(nil))[:12]

	if _, ok := paths[workerFile]; ok {
		b, err := fs.ReadFile(fsys, workerFile)
		if err != nil {
			return nil, err
		}
		a.worker = b
	}

	for _, name := range names {
		if name == workerFile || isEncodedTwin(name, paths) {
			continue
		}
		f := &asset{contentType: contentType(name), identity: reps[name]}
		for _, e := range encodings {
			if r, ok := reps[name+e.suffix]; ok {
				r.coding = e.coding
				if f.encoded == nil {
					f.encoded = make(map[string]representation)
				}
				f.encoded[e.coding] = r
			}
		}
		a.files[name] = f
	}
	return a, nil
}

// isEncodedTwin reports whether name is the precompressed twin of another
// file in paths. Twins are reachable only through content negotiation.
func isEncodedTwin(name string, paths map[string]string) bool {
	for _, e := range encodings {
		if base, ok := strings.CutSuffix(name, e.suffix); ok {
			if _, ok := paths[base]; ok {
				return true
			}
		}
	}
	return false
}

// hashFile returns the hex SHA-256 and the size of a file.
func hashFile(fsys fs.FS, name string) (string, int64, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func contentType(name string) string {
	ext := path.Ext(name)
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (a *assets) wasmBuilt() bool {
	return a.files["app.wasm"] != nil && a.files["wasm_exec.js"] != nil
}

func (a *assets) handler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		version, name, ok2 := strings.Cut(rest, "/")
		f := a.files[name]
		if !ok || !ok2 || version != a.version || f == nil {
			notFound(w)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}

		rep := f.identity
		h := w.Header()
		if len(f.encoded) > 0 {
			h.Add("Vary", "Accept-Encoding")
			if c := negotiate(r.Header.Get("Accept-Encoding"), f.encoded); c != "" {
				rep = f.encoded[c]
			}
		}
		content, err := a.open(rep.path)
		if err != nil {
			http.Error(w, "cannot read asset", http.StatusInternalServerError)
			return
		}
		if c, ok := content.(io.Closer); ok {
			defer c.Close()
		}

		h.Set("Content-Type", f.contentType)
		if rep.coding != "" {
			h.Set("Content-Encoding", rep.coding)
			// ServeContent leaves Content-Length out when Content-Encoding is
			// set; without a Range it sends the whole stored file.
			if r.Header.Get("Range") == "" {
				h.Set("Content-Length", strconv.FormatInt(rep.size, 10))
			}
		}
		h.Set("Cache-Control", cacheForever)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", rep.etag)
		// ServeContent answers HEAD, Range, If-None-Match and If-Range.
		http.ServeContent(w, r, "", time.Time{}, content)
	})
}

// open returns a seekable reader for a file. embed.FS and fstest.MapFS files
// are seekable already, so nothing is copied for them.
func (a *assets) open(name string) (io.ReadSeeker, error) {
	f, err := a.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// notFound answers 404 and forbids caching it: a version unknown to this
// server may be known to the next one.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// negotiate picks the content coding to serve from the codings available,
// following an Accept-Encoding header (RFC 9110 §12.5.3): the acceptable coding
// with the highest qvalue, ties going to the order of encodings. A coding
// the header does not name takes the qvalue of "*", or 0. It returns "" for
// identity, which is served when nothing else is acceptable.
func negotiate(header string, available map[string]representation) string {
	q := make(map[string]float64)
	for item := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		if coding == "x-gzip" { // RFC 9110 §8.4.1.3
			coding = "gzip"
		}
		weight := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // a malformed weight never selects a coding
				}
				weight = f
			}
		}
		q[coding] = weight
	}
	best, bestQ := "", 0.0
	for _, e := range encodings {
		if _, ok := available[e.coding]; !ok {
			continue
		}
		w, ok := q[e.coding]
		if !ok {
			w = q["*"]
		}
		if w > bestQ {
			best, bestQ = e.coding, w
		}
	}
	return best
}
