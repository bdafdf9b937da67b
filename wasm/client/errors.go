package client

import "errors"

// ErrorKind classifies why a connection failed, so the UI can tell the user
// what to do.
type ErrorKind string

// Error kinds.
const (
	ErrWrongPassword     ErrorKind = "wrong-password"     // not-authorized with a password
	ErrTokenRejected     ErrorKind = "token-rejected"     // not-authorized with a FAST token: ask for the password
	ErrAccountDisabled   ErrorKind = "account-disabled"   // account-disabled, credentials-expired
	ErrNeedPassword      ErrorKind = "password-needed"    // no token, no session: ask for the password
	ErrUnreachable       ErrorKind = "server-unreachable" // the relay or the XMPP server cannot be reached
	ErrUpstreamTLS       ErrorKind = "server-tls-failed"  // the relay could not verify the XMPP server
	ErrShuttingDown      ErrorKind = "server-shutting-down"
	ErrConnectionLost    ErrorKind = "connection-lost"
	ErrServerNotVerified ErrorKind = "server-not-verified" // SCRAM/FAST server signature wrong
	ErrProtocol          ErrorKind = "protocol-error"
)

var messages = map[ErrorKind]string{
	ErrWrongPassword:     "The address or password is wrong.",
	ErrTokenRejected:     "Your saved login is no longer accepted. Please enter your password.",
	ErrAccountDisabled:   "This account is disabled or its password has expired. Contact your administrator.",
	ErrNeedPassword:      "Please enter your password.",
	ErrUnreachable:       "The chat server cannot be reached. Messages will be sent when it is back.",
	ErrUpstreamTLS:       "The chat server's security certificate could not be verified. Contact your administrator.",
	ErrShuttingDown:      "The chat server is restarting. Reconnecting…",
	ErrConnectionLost:    "The connection was lost. Reconnecting…",
	ErrServerNotVerified: "The chat server could not prove its identity. Contact your administrator.",
	ErrProtocol:          "The chat server sent something unexpected.",
}

// ConnectError is a failure to connect or a lost connection.
type ConnectError struct {
	Kind ErrorKind
	Err  error
}

func (e *ConnectError) Error() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return string(e.Kind) + ": " + e.Err.Error()
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Message is a sentence a user can act on.
func (e *ConnectError) Message() string { return messages[e.Kind] }

// Retryable reports whether reconnecting later may succeed without the user.
func (e *ConnectError) Retryable() bool {
	switch e.Kind {
	case ErrUnreachable, ErrShuttingDown, ErrConnectionLost:
		return true
	}
	return false
}

// KindOf returns the kind of err, or "" if it is not a ConnectError.
func KindOf(err error) ErrorKind {
	var ce *ConnectError
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return ""
}

func authFailure(ae *AuthError, usedToken bool) error {
	switch ae.Condition {
	case "not-authorized":
		if usedToken {
			return &ConnectError{Kind: ErrTokenRejected, Err: ae}
		}
		return &ConnectError{Kind: ErrWrongPassword, Err: ae}
	case "account-disabled", "credentials-expired":
		return &ConnectError{Kind: ErrAccountDisabled, Err: ae}
	}
	return &ConnectError{Kind: ErrProtocol, Err: ae}
}

func streamErrorToConnect(se *StreamError) error {
	err := errors.New("stream error " + se.Condition + ": " + se.Text)
	switch {
	case se.AppCondition == "upstream-tls-failed" || se.AppCondition == "upstream-no-tls":
		return &ConnectError{Kind: ErrUpstreamTLS, Err: err}
	case se.AppCondition == "upstream-unreachable" || se.Condition == "remote-connection-failed":
		return &ConnectError{Kind: ErrUnreachable, Err: err}
	case se.Condition == "system-shutdown":
		return &ConnectError{Kind: ErrShuttingDown, Err: err}
	case se.Condition == "conflict", se.Condition == "connection-timeout", se.Condition == "reset":
		return &ConnectError{Kind: ErrConnectionLost, Err: err}
	}
	return &ConnectError{Kind: ErrProtocol, Err: err}
}
