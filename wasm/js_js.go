package main

// Small helpers over safejs: the DOM calls the app needs, with JS
// exceptions turned into logged errors rather than panics.

import (
	"fmt"

	"github.com/hack-pad/safejs"
)

// jsv wraps a JS value; its methods return zero values on JS errors, which
// are logged once.
type jsv struct{ v safejs.Value }

var global = jsv{safejs.Global()}

func logErr(what string, err error) {
	if err != nil {
		fmt.Println("waxwing:", what+":", err)
	}
}

func (j jsv) get(path ...string) jsv {
	v := j.v
	for _, p := range path {
		if v.IsUndefined() || v.IsNull() {
			return jsv{safejs.Undefined()}
		}
		n, err := v.Get(p)
		if err != nil {
			logErr("get "+p, err)
			return jsv{safejs.Undefined()}
		}
		v = n
	}
	return jsv{v}
}

func (j jsv) set(p string, x any) {
	if j.missing() {
		return
	}
	logErr("set "+p, j.v.Set(p, unwrap(x)))
}

func (j jsv) call(m string, args ...any) jsv {
	if j.missing() {
		return jsv{safejs.Undefined()}
	}
	for i, a := range args {
		args[i] = unwrap(a)
	}
	r, err := j.v.Call(m, args...)
	if err != nil {
		logErr("call "+m, err)
		return jsv{safejs.Undefined()}
	}
	return jsv{r}
}

func (j jsv) new(args ...any) jsv {
	for i, a := range args {
		args[i] = unwrap(a)
	}
	r, err := j.v.New(args...)
	if err != nil {
		logErr("new", err)
		return jsv{safejs.Undefined()}
	}
	return jsv{r}
}

func (j jsv) missing() bool { return j.v.IsUndefined() || j.v.IsNull() }

func (j jsv) str() string {
	if j.missing() {
		return ""
	}
	if j.v.Type() != safejs.TypeString {
		return ""
	}
	s, _ := j.v.String()
	return s
}

func (j jsv) truthy() bool {
	b, _ := j.v.Truthy()
	return b
}

func (j jsv) num() float64 {
	if j.v.Type() != safejs.TypeNumber {
		return 0
	}
	f, _ := j.v.Float()
	return f
}

// attr returns an attribute of an element, or "".
func (j jsv) attr(name string) string { return j.call("getAttribute", name).str() }

// closest returns the nearest ancestor-or-self matching selector.
func (j jsv) closest(selector string) jsv {
	if j.missing() || j.get("closest").missing() {
		return jsv{safejs.Undefined()}
	}
	return j.call("closest", selector)
}

func unwrap(x any) any {
	switch v := x.(type) {
	case jsv:
		return v.v
	case safejs.Func:
		return v.Value()
	}
	return x
}

// funcOf wraps fn as a JS function; fn runs on the JS event loop and must
// not block (it starts goroutines for anything that waits).
func funcOf(fn func(this jsv, args []jsv) any) safejs.Func {
	f, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		defer func() {
			if r := recover(); r != nil {
				fmt.Println("waxwing: callback panic:", r)
			}
		}()
		js := make([]jsv, len(args))
		for i, a := range args {
			js[i] = jsv{a}
		}
		return fn(jsv{this}, js)
	})
	if err != nil {
		panic(err) // only on a broken runtime
	}
	return f
}

func document() jsv { return global.get("document") }

func byID(id string) jsv { return document().call("getElementById", id) }

// mark adds a performance mark (for tests and benchmarks).
func mark(name string) { global.get("performance").call("mark", name) }
