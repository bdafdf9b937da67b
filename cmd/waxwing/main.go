// Command waxwing is the Waxwing server. `waxwing serve` relays XMPP over
// WebSocket to the organisation's XMPP server and serves the web app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/static"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal forces the exit.
		<-ctx.Done()
		stop()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "waxwing: forced exit")
		os.Exit(exitFailed)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usage = `usage: waxwing <command> [flags]

commands:
  serve     relay XMPP over WebSocket to the XMPP server and serve the web app
  version   print the build version

Run 'waxwing serve -h' for the flags; each flag -some-name can also be set
as the environment variable WAXWING_SOME_NAME.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "version":
		fmt.Fprintln(stdout, "waxwing", static.Version())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "waxwing: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := bridge.ParseFlags("waxwing serve", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "waxwing serve:", err)
		return exitUsage
	}
	level := slog.LevelInfo
	if getenv("WAXWING_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := bridge.New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "waxwing serve:", err)
		return exitUsage
	}
	if !static.WasmBuilt() {
		log.Warn("this binary was built without the web app (static/dist/app.wasm); build it with 'make build'")
	}
	ln, err := net.Listen("tcp", srv.Config().Listen)
	if err != nil {
		fmt.Fprintln(stderr, "waxwing serve:", err)
		return exitFailed
	}
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("server failed", "err", err)
		return exitFailed
	}
	return exitOK
}
