//go:build !js

package xmppd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
)

// Available reports whether servers of this kind can be started here. The error says how to
// install what is missing.
func Available(kind Kind) error {
	switch kind {
	case Prosody:
		const install = "apt-get install prosody prosody-modules lua-unbound"
		for _, bin := range []string{"prosody", "prosodyctl"} {
			if _, err := exec.LookPath(bin); err != nil {
				return fmt.Errorf("xmppd: %s not found; install Prosody 0.12 with: %s", bin, install)
			}
		}
		for _, m := range []string{"mod_sasl2/mod_sasl2.lua", "mod_cloud_notify/mod_cloud_notify.lua"} {
			if _, err := os.Stat(prosodyModulesDir + "/" + m); err != nil {
				return fmt.Errorf("xmppd: %s/%s not found; install prosody-modules with: %s", prosodyModulesDir, m, install)
			}
		}
		v, err := os.ReadFile(prosodyVersion)
		if err != nil || !strings.HasPrefix(string(v), "0.12.") {
			return fmt.Errorf("xmppd: need Prosody 0.12.x (%s: %q, %v); the config and compat module target Debian 12's 0.12.3",
				prosodyVersion, strings.TrimSpace(string(v)), err)
		}
		return nil
	case Ejabberd:
		const install = "apt-get install ejabberd"
		if runtime.GOOS != "linux" {
			return fmt.Errorf("xmppd: ejabberd test servers need Linux (/proc)")
		}
		if _, err := os.Stat(ejabberdctl); err != nil {
			return fmt.Errorf("xmppd: %s not found; install ejabberd 23.01 with: %s", ejabberdctl, install)
		}
		if _, err := user.Lookup("ejabberd"); err != nil {
			return fmt.Errorf("xmppd: no user ejabberd; install ejabberd 23.01 with: %s", install)
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("xmppd: ejabberd test servers need root: ejabberdctl runs only as root or as the ejabberd user")
		}
		return nil
	}
	return fmt.Errorf("xmppd: unknown server kind %q", kind)
}

// AvailableFor is Available, and also checks what the options need: for
// Prosody with SQL, LuaDBI's SQLite3 driver for the Lua that runs Prosody.
func AvailableFor(kind Kind, o Options) error {
	if err := Available(kind); err != nil {
		return err
	}
	if kind == Prosody && o.SQL {
		// Debian's lua-dbi-sqlite3 installs dbd/sqlite3.so for each Lua
		// version under the multiarch library directory; Prosody 0.12.3
		// runs on lua5.4.
		if m, _ := filepath.Glob("/usr/lib/*/lua/5.4/dbd/sqlite3.so"); len(m) == 0 {
			return errors.New("xmppd: Prosody with SQL storage needs LuaDBI's SQLite3 driver for Lua 5.4; install it with: apt-get install lua-dbi-sqlite3")
		}
	}
	return nil
}
