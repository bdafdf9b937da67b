//go:build !js

package xmppd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

const ejabberdctl = "/usr/sbin/ejabberdctl"

// ejabberd runs one ejabberd node (servers.md §2): own config/spool/log dirs owned by the
// ejabberd user (ejabberdctl run as root su's to it), a unique Erlang node name and cookie, and
// Erlang distribution and epmd on loopback. The node name stays the same across Restart because
// the Mnesia spool is tied to it.
type ejabberd struct {
	s        *Server
	dir      string // Dir/ejabberd
	node     string // wax<hex>@localhost
	cookie   string
	uid, gid int // of the ejabberd user; -1 when we are not root
	pid      int // beam.smp, 0 when not running
	watchdog *watchdog
	logStart int64
}

func newEjabberd(s *Server) (*ejabberd, error) {
	e := &ejabberd{
		s:      s,
		dir:    filepath.Join(s.Dir, "ejabberd"),
		node:   "wax" + randHex(6) + "@localhost",
		cookie: randHex(16),
		uid:    -1,
		gid:    -1,
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("ejabberd")
		if err != nil {
			return nil, err
		}
		e.uid, _ = strconv.Atoi(u.Uid)
		e.gid, _ = strconv.Atoi(u.Gid)
		// The ejabberd user must reach Dir: MkdirTemp makes 0700 dirs.
		if err := os.Chmod(s.Dir, 0o755); err != nil {
			return nil, err
		}
		if err := traversable(filepath.Dir(s.Dir)); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"conf", "spool", "logs", "run", "contrib/conf"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if !s.opts.NoTLS {
		for _, f := range []string{"cert.pem", "key.pem"} {
			b, err := os.ReadFile(filepath.Join(s.Dir, f))
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(e.file("conf", f), b, 0o600); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// traversable checks that other users can reach dir (o+x on it and all its parents).
func traversable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("xmppd: ejabberd runs as user ejabberd and cannot enter %s (mode %v); use a Dir under /tmp", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func (e *ejabberd) file(elem ...string) string {
	return filepath.Join(append([]string{e.dir}, elem...)...)
}

func yamlQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

var ejabberdYML = template.Must(template.New("ejabberd").Funcs(template.FuncMap{"q": yamlQuote}).Parse(
	`# ejabberd 23.01 throwaway test server written by waxwing internal/xmppd (servers.md §2.2).
loglevel: {{if .Debug}}debug{{else}}info{{end}}
log_rotate_count: 0
hosts: [{{q .Domain}}]
{{if .TLS}}certfiles: [{{q .Cert}}, {{q .Key}}]
{{end}}listen:
  - port: {{.C2S}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
{{if .TLS}}    starttls: true
    starttls_required: true
{{end}}{{if .DirectTLS}}  - port: {{.DirectTLS}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    tls: true
{{end}}  - port: {{.HTTP}}
    ip: "127.0.0.1"
    module: ejabberd_http
    tls: false
    request_handlers:
      /ws: ejabberd_http_ws
      /bosh: mod_bosh
  - port: {{.Component}}
    ip: "127.0.0.1"
    module: ejabberd_service
    access: all
    hosts:
      {{q .ComponentDomain}}:
        password: {{q .ComponentSecret}}
disable_sasl_mechanisms: ["digest-md5", "X-OAUTH2"]
auth_method: internal
auth_password_format: scram
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  muc_create:
    allow: local
  pubsub_createnode:
    allow: local
api_permissions:
  "console commands":
    from: [ejabberd_ctl]
    who: all
    what: "*"
shaper_rules:
  max_user_sessions: 100
  max_user_offline_messages: 5000
modules:
  mod_adhoc: {}
  mod_admin_extra: {}
  mod_blocking: {}
  mod_bosh: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_client_state: {}
  mod_disco: {}
  mod_last: {}
  mod_mam: {db_type: mnesia, assume_mam_usage: true, default: always}
  mod_muc:
    host: {{q .MUCDomain}}
    access: [allow]
    access_create: muc_create
    access_persistent: muc_create
    access_mam: [allow]
    default_room_options: {mam: true}
  mod_offline: {access_max_user_messages: max_user_offline_messages}
  mod_ping: {}
  mod_privacy: {}
  mod_private: {}
  mod_pubsub: {access_createnode: pubsub_createnode, plugins: [flat, pep]}
  mod_push: {include_body: true, include_sender: true}
  mod_push_keepalive: {}
  mod_roster: {versioning: true}
  mod_stream_mgmt: {resend_on_timeout: if_offline, resume_timeout: {{.SMTimeout}}}
  mod_vcard: {}
  mod_vcard_xupdate: {}
  mod_version: {show_os: false}
`))

func (e *ejabberd) writeConfig() error {
	s := e.s
	data := map[string]any{
		"Debug": s.opts.Debug, "Domain": s.Domain, "MUCDomain": s.MUCDomain,
		"TLS": !s.opts.NoTLS, "Cert": e.file("conf", "cert.pem"), "Key": e.file("conf", "key.pem"),
		"C2S": s.ports.c2s, "DirectTLS": s.ports.directTLS, "HTTP": s.ports.http, "Component": s.ports.component,
		"ComponentDomain": s.ComponentDomain, "ComponentSecret": s.ComponentSecret, "SMTimeout": smTimeout(s.opts),
	}
	var buf bytes.Buffer
	if err := ejabberdYML.Execute(&buf, data); err != nil {
		return err
	}
	if err := os.WriteFile(e.file("conf", "ejabberd.yml"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	// Sourced by ejabberdctl (bash). inet_dist_use_interface directly instead of
	// INET_DIST_INTERFACE, which costs an extra Erlang VM start on every ejabberdctl call.
	ctl := fmt.Sprintf(`# written by waxwing internal/xmppd
ERLANG_NODE=%s
ERL_EPMD_ADDRESS=127.0.0.1
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie %s -kernel inet_dist_use_interface {127,0,0,1}"
EJABBERD_PID_PATH=%s
EJABBERD_BYPASS_WARNINGS=true
CONTRIB_MODULES_PATH=%s
CONTRIB_MODULES_CONF_DIR=%s
`, e.node, e.cookie, e.file("run", "ejabberd.pid"), e.file("contrib"), e.file("contrib", "conf"))
	if err := os.WriteFile(e.file("conf", "ejabberdctl.cfg"), []byte(ctl), 0o644); err != nil {
		return err
	}
	inetrc := "{lookup,[\"file\",\"native\"]}.\n{host,{127,0,0,1}, [\"localhost\"]}.\n{file, resolv, \"/etc/resolv.conf\"}.\n"
	if err := os.WriteFile(e.file("conf", "inetrc"), []byte(inetrc), 0o644); err != nil {
		return err
	}
	if e.uid < 0 {
		return nil
	}
	return filepath.WalkDir(e.dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, e.uid, e.gid)
	})
}

// ctl runs ejabberdctl with this instance's dirs.
func (e *ejabberd) ctl(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{
		"--config-dir", e.file("conf"),
		"--config", e.file("conf", "ejabberd.yml"),
		"--ctl-config", e.file("conf", "ejabberdctl.cfg"),
		"--logs", e.file("logs"),
		"--spool", e.file("spool"),
	}, args...)
	cmd := exec.CommandContext(ctx, ejabberdctl, full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ejabberdctl %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func (e *ejabberd) launch(ctx context.Context) error {
	if fi, err := os.Stat(e.file("logs", "ejabberd.log")); err == nil {
		e.logStart = fi.Size()
	}
	if _, err := e.ctl(ctx, "start"); err != nil { // detached: returns at once
		return err
	}
	// Find the detached beam by its exact -sname argument (the pid file comes later).
	for i := 0; ; i++ {
		if e.pid = findBeam(e.node); e.pid != 0 {
			break
		}
		if i == 100 || ctx.Err() != nil {
			return errors.New("ejabberd node process not found after ejabberdctl start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.watchdog = startWatchdog(e.pid)
	return nil
}

func (e *ejabberd) exited() bool { return e.pid == 0 || !pidAlive(e.pid) }

func (e *ejabberd) bindFailed() bool {
	return logContains(e.file("logs", "ejabberd.log"), e.logStart, "eaddrinuse")
}

func (e *ejabberd) listening() bool {
	return logContains(e.file("logs", "ejabberd.log"), e.logStart,
		fmt.Sprintf("Start accepting TCP connections at 127.0.0.1:%d for ejabberd_c2s", e.s.ports.c2s))
}

func (e *ejabberd) stop(ctx context.Context) error {
	if e.exited() {
		e.reset()
		return nil
	}
	// SIGTERM makes OTP 25 run init:stop(): ejabberd logs "SIGTERM received - shutting down",
	// stops its listeners and applications in order and the VM exits ~1 s later. Same result as
	// "ejabberdctl stop" without starting a second Erlang VM (saves ~1.5 s per stop).
	syscall.Kill(e.pid, syscall.SIGTERM)
	for !e.exited() {
		if ctx.Err() != nil {
			e.kill()
			return fmt.Errorf("xmppd: ejabberd did not stop (%w); killed", ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.reset()
	return nil
}

func (e *ejabberd) kill() error {
	if e.exited() {
		e.reset()
		return nil
	}
	syscall.Kill(e.pid, syscall.SIGKILL)
	for i := 0; !e.exited(); i++ {
		if i == 500 {
			return errors.New("xmppd: ejabberd did not exit after SIGKILL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.reset()
	return nil
}

// reset forgets the (exited) beam and disarms the watchdog.
func (e *ejabberd) reset() {
	e.pid = 0
	e.watchdog.disarm()
	e.watchdog = nil
}

func (e *ejabberd) register(ctx context.Context, user, pass string) error {
	var err error
	for range 3 { // ejabberdctl's own node name has only 12 random bits; retry on a clash
		if _, err = e.ctl(ctx, "register", user, e.s.Domain, pass); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("xmppd: %w", err)
	}
	return nil
}

func (e *ejabberd) logFiles() []string {
	return []string{e.file("logs", "error.log"), e.file("logs", "ejabberd.log")}
}
