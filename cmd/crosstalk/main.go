// Command crosstalk is the Crosstalk server and its administration tool: the
// one place that reads configuration and wires the packages together.
//
//	crosstalk serve                       # domain localhost, data in ./data
//	crosstalk user add alice@localhost    # password on standard input
//	crosstalk user passwd|del|list
//	crosstalk config check --config crosstalk.toml
//	crosstalk version
//
// Every sub-command takes --config FILE and --data DIR; see README.md for
// the configuration reference.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set with -ldflags "-X main.version=…" at release.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env is what a sub-command works with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: crosstalk <command> [--config FILE] [--data DIR] [flags]
commands:
  serve                     run the server
  user add ADDRESS          create an account; the password is read from standard input
  user passwd ADDRESS       change a password, read from standard input
  user del ADDRESS          delete an account and everything it owns
  user list [DOMAIN]        list accounts
  config check              validate the configuration and print a summary
  version                   print the version`

// run executes one command line and returns the exit status: 0 on success,
// 1 on an error (one line on stderr), 2 on a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	err := dispatch(ctx, e, args)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "crosstalk: %s\n%s\n", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "crosstalk: %s\n", oneLine(err))
		return 1
	}
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func dispatch(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, e, args[1:])
	case "user":
		if len(args) < 2 {
			return usageError{"user needs add, passwd, del or list"}
		}
		return cmdUser(ctx, e, args[1], args[2:])
	case "config":
		if len(args) < 2 || args[1] != "check" {
			return usageError{"config needs check"}
		}
		return cmdConfigCheck(e, args[2:])
	case "version", "--version", "-v":
		fmt.Fprintln(e.stdout, versionString())
		return nil
	case "help", "--help", "-h":
		fmt.Fprintln(e.stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
}

func versionString() string {
	s := "crosstalk " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		s += " (" + bi.GoVersion
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " " + kv.Value[:12]
			}
		}
		s += ")"
	}
	return s
}

// commonFlags are the flags every sub-command takes; they override the file
// and the environment.
type commonFlags struct {
	config, data, storeURL, https, logLevel, logFormat, domains, certFile, keyFile string
}

func (f *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "configuration file (TOML)")
	fs.StringVar(&f.data, "data", "", "data directory (default ./data)")
	fs.StringVar(&f.storeURL, "store-url", "", "postgres:// URL; empty for the embedded SQLite store")
	fs.StringVar(&f.https, "https", "", "HTTPS listener address (default :8443)")
	fs.StringVar(&f.logLevel, "log-level", "", "trace, debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "auto, json or pretty")
	fs.StringVar(&f.certFile, "cert-file", "", "TLS certificate file (default: self-signed in the data directory)")
	fs.StringVar(&f.keyFile, "key-file", "", "TLS key file")
	fs.StringVar(&f.domains, "domains", "", "comma-separated domains to serve (default localhost)")
}

func (f *commonFlags) apply(c *Config) {
	if f.data != "" {
		c.DataDir = f.data
	}
	if f.storeURL != "" {
		c.Store.URL = f.storeURL
	}
	if f.https != "" {
		c.Listen.HTTPS = f.https
	}
	if f.logLevel != "" {
		c.Log.Level = f.logLevel
	}
	if f.certFile != "" {
		c.TLS.CertFile = f.certFile
	}
	if f.keyFile != "" {
		c.TLS.KeyFile = f.keyFile
	}
	if f.logFormat != "" {
		c.Log.Format = f.logFormat
	}
	if f.domains != "" {
		c.Domains = splitList(f.domains)
	}
}

// parse parses flags anywhere among the arguments and returns the
// positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadConfig parses a sub-command's flags and builds its configuration.
func loadConfig(e env, name string, args []string, extra func(*flag.FlagSet)) (Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var cf commonFlags
	cf.register(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return Config{}, nil, err
	}
	c, err := buildConfig(cf.config, e.getenv, cf.apply)
	return c, pos, err
}

func cmdConfigCheck(e env, args []string) error {
	c, pos, err := loadConfig(e, "config check", args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"config check takes no arguments"}
	}
	store := "sqlite " + c.storePath()
	if c.Store.URL != "" {
		store = "postgresql"
	}
	fmt.Fprintf(e.stdout, "ok: domains %s; store %s; data %s; https %q\n", strings.Join(c.Domains, ","), store, c.DataDir, c.Listen.HTTPS)
	return nil
}
