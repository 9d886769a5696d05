package logging

import (
	"bytes"
	"fmt"
	"log/slog"

	pionlog "github.com/pion/logging"
	"github.com/rs/zerolog"
)

// Slog returns a *slog.Logger that writes through l, for sipgo's
// WithServerLogger, WithClientLogger and SetDefaultLogger.
func Slog(l zerolog.Logger) *slog.Logger {
	return slog.New(zerolog.NewSlogHandler(l))
}

// PionFactory is a pion logging.LoggerFactory over zerolog: each scope gets a
// child logger with the field component=pion-<scope>.
type PionFactory struct {
	Logger zerolog.Logger
}

var _ pionlog.LoggerFactory = PionFactory{}

// NewLogger returns the logger for one pion scope (ice, dtls, srtp, …).
func (f PionFactory) NewLogger(scope string) pionlog.LeveledLogger {
	return pionLogger{l: f.Logger.With().Str("component", "pion-"+scope).Logger()}
}

type pionLogger struct{ l zerolog.Logger }

func (p pionLogger) Trace(msg string)                  { p.l.Trace().Msg(msg) }
func (p pionLogger) Tracef(format string, args ...any) { p.l.Trace().Msg(fmt.Sprintf(format, args...)) }
func (p pionLogger) Debug(msg string)                  { p.l.Debug().Msg(msg) }
func (p pionLogger) Debugf(format string, args ...any) { p.l.Debug().Msg(fmt.Sprintf(format, args...)) }
func (p pionLogger) Info(msg string)                   { p.l.Info().Msg(msg) }
func (p pionLogger) Infof(format string, args ...any)  { p.l.Info().Msg(fmt.Sprintf(format, args...)) }
func (p pionLogger) Warn(msg string)                   { p.l.Warn().Msg(msg) }
func (p pionLogger) Warnf(format string, args ...any)  { p.l.Warn().Msg(fmt.Sprintf(format, args...)) }
func (p pionLogger) Error(msg string)                  { p.l.Error().Msg(msg) }
func (p pionLogger) Errorf(format string, args ...any) { p.l.Error().Msg(fmt.Sprintf(format, args...)) }

// Redacted replaces a secret in a trace.
const Redacted = "[redacted]"

var (
	sipSecretHeaders = [][]byte{[]byte("authorization:"), []byte("proxy-authorization:")}
	sdpCrypto        = []byte("a=crypto:")
	sdesInline       = []byte("inline:")
)

// RedactSIP returns a copy of a SIP message (or SDP body) for a wire trace,
// with the values of Authorization and Proxy-Authorization headers and the
// keys of SDES a=crypto lines (RFC 4568) replaced by [Redacted].
func RedactSIP(msg []byte) []byte {
	out := make([]byte, 0, len(msg))
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		msg = msg[len(line):]
		out = append(out, redactLine(line)...)
	}
	return out
}

func redactLine(line []byte) []byte {
	lower := bytes.ToLower(line)
	for _, h := range sipSecretHeaders {
		if bytes.HasPrefix(lower, h) {
			return append(append(append([]byte{}, line[:len(h)]...), " "+Redacted...), lineEnd(line)...)
		}
	}
	if bytes.HasPrefix(lower, sdpCrypto) {
		if i := bytes.Index(lower, sdesInline); i >= 0 {
			return append(append(append([]byte{}, line[:i+len(sdesInline)]...), Redacted...), lineEnd(line)...)
		}
	}
	return line
}

func lineEnd(line []byte) []byte {
	switch {
	case bytes.HasSuffix(line, []byte("\r\n")):
		return []byte("\r\n")
	case bytes.HasSuffix(line, []byte("\n")):
		return []byte("\n")
	}
	return nil
}
