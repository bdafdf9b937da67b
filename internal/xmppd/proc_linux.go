//go:build !js

package xmppd

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// childAttr puts a server in its own process group (a terminal ^C reaches only the test
// binary, which then stops it) and SIGKILLs it if the test binary dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// pidAlive reports whether pid exists and has not fully exited. The detached beam is
// reparented to PID 1, which in containers may never reap it, so a zombie counts as exited, but
// only once its other threads are gone too: a killed multi-threaded process shows its leader as
// a zombie while the remaining threads still hold its sockets.
func pidAlive(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
		tasks, _ := os.ReadDir(dir + "/task")
		return len(tasks) > 1
	}
	return true
}

// findBeam returns the pid of the Erlang VM started with "-sname node", or 0.
func findBeam(node string) int {
	want := []byte("\x00-sname\x00" + node + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(b, want) || !bytes.Contains(b, []byte("beam")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if pidAlive(pid) {
			return pid
		}
	}
	return 0
}

// startWatchdog starts a tiny shell that SIGKILLs pid when its stdin reaches EOF, which happens
// when the test binary dies without calling Stop (panic, timeout, ^C): the kernel then closes
// our write end. The detached ejabberd node is not our child, so Pdeathsig cannot do this.
func startWatchdog(pid int) *watchdog {
	cmd := exec.Command("/bin/sh", "-c", `read _; kill -KILL "$1" 2>/dev/null`, "xmppd-watchdog", strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	return &watchdog{cmd: cmd, w: w}
}

type watchdog struct {
	cmd *exec.Cmd
	w   io.WriteCloser // held open while armed
}

// disarm stops the watchdog without letting it kill anything.
func (d *watchdog) disarm() {
	if d == nil {
		return
	}
	d.cmd.Process.Kill()
	d.cmd.Wait()
	d.w.Close()
}
