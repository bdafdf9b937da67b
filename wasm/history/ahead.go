package history

import (
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Paging older history ahead: when the answer to a page FetchOlder waits
// for comes, the page below it is asked for at once, before the answer is
// committed, so that the server reads it while the store writes this one
// (a catch-up calling FetchOlder again and again waits for the server and
// the store in turn otherwise). The next FetchOlder takes that query over
// when it asks for the page below what is held (claimAhead). A page asked
// ahead that no FetchOlder takes is committed as any page is, and nothing
// more is asked: the engine pages at most one page ahead of its callers.

// askAhead asks for the page below q's, whose answer (results, fin) is
// about to be committed, if q is an older page a FetchOlder waits for and
// the archive has more below (it committed no Below of GapStart, nor
// found the archive expired). It returns the query asked, or nil.
func (e *Engine) askAhead(q *query, results []result, fin stanza.MAMFin) *query {
	if q.kind != older {
		return nil
	}
	e.mu.Lock()
	e.forgetAnswered()
	waited := q != e.ahead || e.aheadClaimed
	if q == e.ahead {
		e.ahead, e.aheadClaimed = nil, false
	}
	if !waited || fin.Complete || len(results) == 0 || e.ahead != nil {
		e.mu.Unlock()
		return nil
	}
	p := &query{kind: older, before: results[0].id, beforeAt: stamp(results[0].msg), done: make(chan struct{})}
	e.ahead = p
	e.mu.Unlock()
	if err := e.send(e.request(p)); err != nil {
		e.dropAhead(p, err) // FetchOlder asks itself
		return nil
	}
	return p
}

// dropAhead forgets p, a page asked ahead (nil: none), whose page above
// could not be committed: the range does not end where p starts.
func (e *Engine) dropAhead(p *query, err error) {
	if p == nil {
		return
	}
	e.mu.Lock()
	if e.ahead == p {
		e.ahead, e.aheadClaimed = nil, false
	}
	p.mu.Lock()
	delete(e.queries, p.id)
	p.mu.Unlock()
	e.mu.Unlock()
	p.finish(err)
}

// claimAhead returns the page asked ahead, for FetchOlder to wait for
// instead of reading the coverage and asking, or nil. It is the page below
// what is held: asked when the page above was answered, it is dropped if
// that page could not be committed (the range then does not start where it
// ends); a forward page that later reaches further down (a recheck) leaves
// it below the range or among entries held, which keep their positions.
func (e *Engine) claimAhead() *query {
	if e.out == nil && (e.cl == nil || e.cl.Session() == nil) {
		return nil // offline: FetchOlder says so rather than wait for the link
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgetAnswered()
	if p := e.ahead; p != nil {
		e.aheadClaimed = true
		return p
	}
	return nil
}

// forgetAnswered forgets the page asked ahead once its query has ended
// otherwise than through askAhead (an error, an expired archive). e.mu is
// held.
func (e *Engine) forgetAnswered() {
	if e.ahead == nil {
		return
	}
	select {
	case <-e.ahead.done:
		e.ahead, e.aheadClaimed = nil, false
	default:
	}
}
