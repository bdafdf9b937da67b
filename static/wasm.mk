# static/wasm.mk builds the browser program into static/dist/, where
# package static embeds it. Include it from the top-level Makefile; paths are
# relative to the repository root. Standalone use, from the root:
#
#	make -f static/wasm.mk wasm
#
# Outputs: static/dist/app.wasm, app.wasm.gz, app.wasm.br and wasm_exec.js
# (gitignored). Rebuild the server afterwards: the assets are embedded.

WASM_GO     ?= go
WASM_DIST   := static/dist
WASM_PKG    := ./wasm
# brotli -q 11 is slow (tens of seconds on ~5 MB) but runs only when app.wasm
# changed; set WASM_BROTLI_Q=5 for quick local iterations.
WASM_BROTLI_Q ?= 11

# Every main-module source file the browser program is built from (wasm/ and
# whatever it imports, such as store/), plus the module files.
WASM_SOURCES := $(shell GOOS=js GOARCH=wasm $(WASM_GO) list -e -deps \
	-f '{{if and .Module .Module.Main}}{{$$d := .Dir}}{{range .GoFiles}}{{$$d}}/{{.}} {{end}}{{range .EmbedFiles}}{{$$d}}/{{.}} {{end}}{{end}}' \
	$(WASM_PKG)) go.mod go.sum
WASM_EXEC_JS := $(shell $(WASM_GO) env GOROOT)/lib/wasm/wasm_exec.js

.PHONY: wasm
wasm: $(WASM_DIST)/app.wasm $(WASM_DIST)/app.wasm.gz $(WASM_DIST)/app.wasm.br $(WASM_DIST)/wasm_exec.js

# wasm_exec.js must come from the same Go as app.wasm, so a build of either
# brings the other along.
$(WASM_DIST)/app.wasm: $(WASM_SOURCES) $(WASM_DIST)/wasm_exec.js
	GOOS=js GOARCH=wasm $(WASM_GO) build -trimpath -ldflags='-s -w' -o $@ $(WASM_PKG)

$(WASM_DIST)/wasm_exec.js: $(WASM_EXEC_JS)
	cp $< $@

# -n: no name or timestamp in the header, so equal inputs give equal bytes
# (and the same static.Version). Both tools copy the input's mtime, truncated,
# onto the output; touch makes the output newer so make sees it up to date.
$(WASM_DIST)/app.wasm.gz: $(WASM_DIST)/app.wasm
	gzip -9 -n -k -f $<
	touch $@

$(WASM_DIST)/app.wasm.br: $(WASM_DIST)/app.wasm
	brotli -q $(WASM_BROTLI_Q) -k -f $<
	touch $@
