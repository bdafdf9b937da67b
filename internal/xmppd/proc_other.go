//go:build !linux && !js

package xmppd

import "syscall"

func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func pidAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func findBeam(string) int { return 0 } // ejabberd support needs /proc

type watchdog struct{}

func startWatchdog(int) *watchdog { return nil }

func (*watchdog) disarm() {}
