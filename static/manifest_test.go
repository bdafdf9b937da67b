package static

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// webManifest is the part of a W3C Web Application Manifest that Waxwing
// sets.
type webManifest struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ShortName       string `json:"short_name"`
	StartURL        string `json:"start_url"`
	Scope           string `json:"scope"`
	Display         string `json:"display"`
	ThemeColor      string `json:"theme_color"`
	BackgroundColor string `json:"background_color"`
	Icons           []struct {
		Src     string `json:"src"`
		Sizes   string `json:"sizes"`
		Type    string `json:"type"`
		Purpose string `json:"purpose"`
	} `json:"icons"`
}

// fetch GETs an embedded asset through the handler.
func fetch(t *testing.T, name string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler("/static/").ServeHTTP(rec, httptest.NewRequest("GET", "/static/"+Version()+"/"+name, nil))
	return rec
}

// TestManifest checks the embedded manifest as Chromium's installability
// check reads it: a name, a start URL in scope, a standalone display, and
// PNG icons of at least 144 px, for purpose any and maskable, each served
// with its declared type and size.
func TestManifest(t *testing.T) {
	t.Parallel()
	rec := fetch(t, "manifest.webmanifest")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("manifest: status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var m webManifest
	dec := json.NewDecoder(rec.Body)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	for field, got := range map[string][2]string{
		"id":         {m.ID, "/"},
		"name":       {m.Name, "Waxwing"},
		"short_name": {m.ShortName, "Waxwing"},
		"start_url":  {m.StartURL, "/"},
		"scope":      {m.Scope, "/"},
		"display":    {m.Display, "standalone"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", field, got[0], got[1])
		}
	}

	// The colours are app.css's light theme background.
	css, err := os.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	bg := regexp.MustCompile(`--bg:\s*(#[0-9a-fA-F]{6})`).FindSubmatch(css)
	if bg == nil {
		t.Fatalf("app.css defines no --bg colour")
	}
	for field, got := range map[string]string{"theme_color": m.ThemeColor, "background_color": m.BackgroundColor} {
		if !strings.EqualFold(got, string(bg[1])) {
			t.Errorf("%s = %q, want app.css's light --bg %s", field, got, bg[1])
		}
	}

	// Icons resolve against the manifest's URL, /static/<version>/.
	base, _ := url.Parse("/static/" + Version() + "/manifest.webmanifest")
	have := map[string]bool{}
	for _, icon := range m.Icons {
		u, err := base.Parse(icon.Src)
		if err != nil {
			t.Errorf("icon %q: %v", icon.Src, err)
			continue
		}
		name, ok := strings.CutPrefix(u.Path, "/static/"+Version()+"/")
		if !ok {
			t.Errorf("icon %q resolves to %s, outside this build's assets", icon.Src, u.Path)
			continue
		}
		rec := fetch(t, name)
		if rec.Code != http.StatusOK {
			t.Errorf("icon %s: status %d", name, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != icon.Type {
			t.Errorf("icon %s: served as %q, declared %q", name, ct, icon.Type)
		}
		switch icon.Type {
		case "image/png":
			img, err := png.Decode(rec.Body)
			if err != nil {
				t.Errorf("icon %s: %v", name, err)
				continue
			}
			b := img.Bounds()
			if got := fmt.Sprintf("%dx%d", b.Dx(), b.Dy()); got != icon.Sizes {
				t.Errorf("icon %s is %s, declared %s", name, got, icon.Sizes)
			}
			have[icon.Purpose+" "+icon.Sizes] = true
		case "image/svg+xml":
			var svg struct {
				XMLName xml.Name
				ViewBox string `xml:"viewBox,attr"`
			}
			body := rec.Body.Bytes()
			if err := xml.Unmarshal(body, &svg); err != nil || svg.XMLName.Local != "svg" || svg.ViewBox == "" {
				t.Errorf("icon %s is no SVG with a viewBox: %v", name, err)
			}
			if bytes.Contains(bytes.ToLower(body), []byte("<script")) {
				t.Errorf("icon %s holds a script", name)
			}
		default:
			t.Errorf("icon %s: unexpected type %q", name, icon.Type)
		}
	}
	for _, want := range []string{"any 192x192", "any 512x512", "maskable 192x192", "maskable 512x512"} {
		if !have[want] {
			t.Errorf("no PNG icon for %s; have %v", want, have)
		}
	}
}

// TestAppleTouchIcon checks the icon the shell links for iOS: an opaque
// 180 px PNG (iOS fills transparency with black).
func TestAppleTouchIcon(t *testing.T) {
	t.Parallel()
	rec := fetch(t, "icons/apple-touch-icon.png")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	img, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 180 || b.Dy() != 180 {
		t.Errorf("size %dx%d, want 180x180", b.Dx(), b.Dy())
	}
	for _, p := range [][2]int{{b.Min.X, b.Min.Y}, {b.Max.X - 1, b.Max.Y - 1}, {b.Min.X + b.Dx()/2, b.Min.Y}} {
		if _, _, _, a := img.At(p[0], p[1]).RGBA(); a != 0xffff {
			t.Errorf("pixel %v is not opaque", p)
		}
	}
}

// TestIconPaths checks that icons are served under icons/ and nowhere else.
func TestIconPaths(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		want int
	}{
		{"icons/icon-192.png", 200},
		{"icons/icon.svg", 200},
		{"icon-192.png", 404},
		{"icons/", 404},
		{"icons/../app.css", 404},
		{"icons/icons/icon-192.png", 404},
		{"sw.js", 404},
	} {
		if got := fetch(t, tt.name).Code; got != tt.want {
			t.Errorf("GET %s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if !slices.Contains(Worker("/static/").Assets, "/static/"+Version()+"/icons/icon.svg") {
		t.Errorf("icons are not precached")
	}
}
