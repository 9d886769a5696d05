// Package logging bridges the loggers of our libraries to zerolog and
// redacts secrets from wire traces.
//
// sipgo logs through log/slog ([Slog]); pion asks for a
// logging.LoggerFactory ([PionFactory]). Wire traces pass through
// [RedactSIP] so that Authorization headers and SDES keys (a=crypto) never
// reach a log.
package logging
