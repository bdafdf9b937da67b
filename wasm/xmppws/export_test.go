package xmppws

// ReadAheadBytes is the read-ahead byte budget, for tests.
const ReadAheadBytes = readAheadBytes

// Ahead reports the bytes read ahead and not yet taken by Read.
func (c *Conn) Ahead() int64 { return c.ahead.Load() }
