//go:build !js

package xmppd

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// Paths of the Debian 12 packages prosody and prosody-modules.
const (
	prosodyModulesDir = "/usr/lib/prosody/modules"
	prosodyVersion    = "/usr/lib/prosody/prosody.version"
)

//go:embed mod_sasl2_compat012.lua
var compatModule []byte

//go:embed mod_sasl2_sm_compat012.lua
var smCompatModule []byte

//go:embed mod_waxwing_hireslog.lua
var hiresLogModule []byte

type prosody struct {
	s        *Server
	dir      string // Dir/prosody
	cfg      string
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd has exited
	logStart int64         // size of prosody.log at launch
	regMu    sync.Mutex    // with SQL: one prosodyctl register at a time
}

func newProsody(s *Server) (*prosody, error) {
	p := &prosody{s: s, dir: filepath.Join(s.Dir, "prosody")}
	p.cfg = filepath.Join(p.dir, "prosody.cfg.lua")
	for _, d := range []string{"modules", "certs"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := p.dataDir(); err != nil {
		return nil, err
	}
	err := os.WriteFile(filepath.Join(p.dir, "modules", "mod_sasl2_compat012.lua"), compatModule, 0o644)
	if err == nil && s.opts.Debug {
		err = os.WriteFile(filepath.Join(p.dir, "modules", "mod_waxwing_hireslog.lua"), hiresLogModule, 0o644)
	}
	if err == nil && s.opts.InlineSM {
		err = os.WriteFile(filepath.Join(p.dir, "modules", "mod_sasl2_sm_compat012.lua"), smCompatModule, 0o644)
	}
	return p, err
}

func (p *prosody) file(name string) string { return filepath.Join(p.dir, name) }

// memRoot is where test servers keep their data in memory, if it exists.
const memRoot = "/dev/shm"

// dataDir makes Dir/prosody/data: a link to a directory in memory where
// the machine has one (Linux's /dev/shm), otherwise a directory. Every
// archived message is a write (with SQL storage a transaction, two fsyncs
// in SQLite's default mode), and on a disk that other test suites share
// those took tens of milliseconds each under load: Prosody, which reads no
// input meanwhile, then left clients' acknowledgements unanswered for a
// minute. Tests need no durability beyond a killed process, which memory
// keeps.
func (p *prosody) dataDir() error {
	data := p.file("data")
	if fi, err := os.Stat(memRoot); err == nil && fi.IsDir() {
		if mem, err := os.MkdirTemp(memRoot, "waxwing-prosody-data-"); err == nil {
			if err := os.Symlink(mem, data); err != nil {
				os.RemoveAll(mem)
				return err
			}
			p.s.memDir = mem
			return nil
		}
	}
	return os.MkdirAll(data, 0o755)
}

var prosodyCfg = template.Must(template.New("prosody").Funcs(template.FuncMap{"q": luaQuote}).Parse(
	`-- Prosody 0.12.3 throwaway test server written by waxwing internal/xmppd (servers.md §1.2).
-- Loopback only; every port option is explicit (the defaults would open 5222/5269/5280/5281/5347).
{{if .Root}}run_as_root = true -- as uid 0 mod_posix refuses to run (and hangs with -F) without this
{{end}}pidfile = {{q .PidFile}}
data_path = {{q .DataDir}}
log = {
	info = {{q .InfoLog}};{{if .Debug}}
	-- UTC, to the microsecond (mod_waxwing_hireslog), from the moment the module is loaded
	{ to = "waxwing_hires"; filename = {{q .DebugLog}}; levels = { min = "debug" } };{{end}}
}
plugin_paths = { {{q .ModulesDir}}, {{q .SystemModules}} } -- own compat module first
certificates = {{q .CertsDir}} -- empty: no automatic certificate discovery

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { {{.C2S}} }
c2s_direct_tls_ports = { {{if .DirectTLS}}{{.DirectTLS}}{{end}} }
s2s_ports = { }
s2s_direct_tls_ports = { }
component_ports = { {{.Component}} }
component_interfaces = { "127.0.0.1" }
http_ports = { {{.HTTP}} }
http_interfaces = { "127.0.0.1" }
https_ports = { }
https_interfaces = { }
http_default_host = {{q .Domain}}
network_settings = { nagle = false } -- Nagle costs ~35 ms per pipelined flight on loopback
{{if .GC}}gc = { mode = {{q .GC}} }
{{end}}{{if .TLS}}
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
ssl = { certificate = {{q .Cert}}; key = {{q .Key}}; }
c2s_direct_tls_ssl = { certificate = {{q .Cert}}; key = {{q .Key}}; }
{{else}}
-- NoTLS: no certificate, no mod_tls, SASL (PLAIN too) in the clear.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
{{end}}
consider_websocket_secure = true -- SASL on ws:// (compared against in benchmarks)
authentication = "internal_hashed"
{{if .SQL}}storage = "sql" -- mod_storage_sql, as production servers keep MAM
sql = { driver = "SQLite3"; database = "prosody.sqlite" } -- under data_path
{{else}}storage = "internal" -- files; an archive query loads the whole archive
{{end}}

modules_enabled = {
	"roster"; "saslauth";{{if .TLS}} "tls";{{end}} "disco"; "posix";
	"carbons"; "pep"; "private"; "blocklist"; "vcard4"; "vcard_legacy";
	"version"; "uptime"; "time"; "ping";
	"mam"; "smacks"; "csi_simple"; "websocket";
	"cloud_notify";{{if .Debug}}
	"waxwing_hireslog"; -- ours: the debug log's sink{{end}}{{if .SASL2}}
	"sasl2"; "sasl2_bind2"; "sasl2_fast";
	"sasl2_compat012"; -- ours: required on 0.12 by the three above{{if .InlineSM}}
	"sasl2_sm"; "sasl2_sm_compat012"; -- inline XEP-0198; ours: mod_sasl2_sm needs it on 0.12{{else}}
	-- mod_sasl2_sm only with InlineSM: on 0.12.3 it needs our compat module{{end}}{{end}}
}
modules_disabled = { "s2s"; "s2s_auth_certs" }

archive_expires_after = "never"
-- The file storage keeps 10,000 entries per archive by default and then
-- drops the oldest (mod_mam truncates); tests that write more (the
-- convergence test: every message, receipt and re-sent copy of four
-- devices) must not lose history to it.
storage_archive_item_limit = 1000000
default_archive_policy = true
mam_include_total = true{{if .MAMMax}}
max_archive_query_results = {{.MAMMax}}{{end}}
smacks_hibernation_time = {{.SMTimeout}}
smacks_max_ack_delay = 30
push_notification_with_body = true
push_notification_with_sender = true

VirtualHost {{q .Domain}}

Component {{q .MUCDomain}} "muc"
	modules_enabled = { "muc_mam" }
	muc_log_expires_after = "never"
	muc_log_by_default = true

Component {{q .ComponentDomain}} -- XEP-0114, the XEP-0357 app server in tests
	component_secret = {{q .ComponentSecret}}
`))

func (p *prosody) writeConfig() error {
	s := p.s
	data := map[string]any{
		"Root":            os.Geteuid() == 0,
		"PidFile":         p.file("prosody.pid"),
		"DataDir":         p.file("data"),
		"InfoLog":         p.file("prosody.log"),
		"Debug":           s.opts.Debug,
		"DebugLog":        p.file("debug.log"),
		"ModulesDir":      p.file("modules"),
		"SystemModules":   prosodyModulesDir,
		"CertsDir":        p.file("certs"),
		"C2S":             s.ports.c2s,
		"DirectTLS":       s.ports.directTLS,
		"Component":       s.ports.component,
		"HTTP":            s.ports.http,
		"Domain":          s.Domain,
		"MUCDomain":       s.MUCDomain,
		"ComponentDomain": s.ComponentDomain,
		"ComponentSecret": s.ComponentSecret,
		"TLS":             !s.opts.NoTLS,
		"Cert":            s.CACertFile,
		"Key":             filepath.Join(s.Dir, "key.pem"),
		"SASL2":           !s.opts.NoSASL2,
		"InlineSM":        s.opts.InlineSM,
		"SMTimeout":       smTimeout(s.opts),
		"SQL":             s.opts.SQL,
		"MAMMax":          s.opts.MaxArchiveQueryResults,
		"GC":              s.opts.GC,
	}
	var buf bytes.Buffer
	if err := prosodyCfg.Execute(&buf, data); err != nil {
		return err
	}
	return os.WriteFile(p.cfg, buf.Bytes(), 0o644)
}

func (p *prosody) launch(ctx context.Context) error {
	if fi, err := os.Stat(p.file("prosody.log")); err == nil {
		p.logStart = fi.Size()
	}
	out, err := os.OpenFile(p.file("stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// Never without --config: that would start the system instance.
	cmd := exec.Command("prosody", "-F", "--config", p.cfg)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		cmd.Wait()
		out.Close()
		close(done)
	}(p.done)
	return nil
}

func (p *prosody) exited() bool {
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *prosody) bindFailed() bool {
	return logContains(p.file("prosody.log"), p.logStart, "Failed to open server port", "Error binding encrypted port")
}

func (p *prosody) listening() bool {
	return logContains(p.file("prosody.log"), p.logStart, fmt.Sprintf("Activated service 'c2s' on [127.0.0.1]:%d", p.s.ports.c2s))
}

func (p *prosody) stop(ctx context.Context) error {
	if p.exited() {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM) // "Shutdown complete" 1–2 s later
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("xmppd: prosody did not stop (%w); killed", ctx.Err())
	}
}

func (p *prosody) kill() error {
	if p.exited() {
		return nil
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("xmppd: prosody did not exit after SIGKILL")
	}
}

func (p *prosody) register(ctx context.Context, user, pass string) error {
	// Works with the server running or not: internal storage is plain
	// files. SQLite allows one writer at a time and Prosody sets no busy
	// timeout, so with SQL registrations go one at a time and are retried
	// while the server (or another prosodyctl) holds the lock.
	if p.s.opts.SQL {
		p.regMu.Lock()
		defer p.regMu.Unlock()
	}
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(ctx, "prosodyctl", "--config", p.cfg, "register", user, p.s.Domain, pass)
		cmd.Dir = p.dir
		cmd.WaitDelay = 2 * time.Second
		out, err := cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		if !p.s.opts.SQL || attempt == 20 || !bytes.Contains(out, []byte("database is locked")) || ctx.Err() != nil {
			return fmt.Errorf("xmppd: prosodyctl register %s: %v: %s", user, err, strings.TrimSpace(string(out)))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

func (p *prosody) logFiles() []string {
	return []string{p.file("stdout.log"), p.file("prosody.log")}
}
