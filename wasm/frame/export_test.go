package frame

// Cap reports the capacity of the scanner's buffer, for tests of idle memory.
func (s *Scanner) Cap() int { return cap(s.buf) }
