package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/rs/zerolog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: it returns the exit status, 0 when every
// operation succeeded, 1 when some failed or none succeeded, 2 on a usage
// or set-up error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "ctload:", err)
		return 2
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}).
		Level(zerolog.InfoLevel).With().Timestamp().Str("scenario", cfg.Scenario).Logger()
	// sipgo logs through slog; only warnings and worse are worth seeing.
	sipmsg.SetDefaultLogger(slog.New(zerolog.NewSlogHandler(log.Level(zerolog.WarnLevel))))
	raiseFileLimit(log)
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, "ctload: -cpuprofile:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "ctload: -cpuprofile:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}

	// The hard bound of the whole run: the run's own bound, one operation
	// timeout to finish what is under way, the hold time, a few seconds to
	// tear down.
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+cfg.Timeout+cfg.Hold+5*time.Second)
	defer cancel()
	res, err := runScenario(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "ctload:", err)
		return 2
	}
	if !cfg.Quiet {
		if err := res.writeTable(stdout); err != nil {
			fmt.Fprintln(stderr, "ctload:", err)
			return 2
		}
	}
	if cfg.JSONFile != "" {
		if err := res.writeJSON(cfg.JSONFile); err != nil {
			fmt.Fprintln(stderr, "ctload:", err)
			return 2
		}
	}
	if res.failed() {
		return 1
	}
	return 0
}

// runScenario dispatches to the scenario.
func runScenario(ctx context.Context, cfg *config, log zerolog.Logger) (*Result, error) {
	res := &Result{
		Scenario:    cfg.Scenario,
		Started:     time.Now().UTC(),
		Smoke:       cfg.Smoke,
		Count:       cfg.Count,
		Concurrency: cfg.Concurrent,
		Rate:        cfg.Rate,
	}
	m := meter{pid: cfg.PID, proc: "/proc"}
	var err error
	switch cfg.Scenario {
	case scXMPPLogin, scXMPPTLS, scXMPPChat, scXMPPIdle, scXMPPPresence, scMUC:
		res.Target = cfg.xmpp.String()
		x, xerr := newXMPPClient(cfg, log)
		if xerr != nil {
			return nil, xerr
		}
		switch cfg.Scenario {
		case scXMPPLogin:
			err = x.runLogin(ctx, m, res)
		case scXMPPTLS:
			err = x.runTLS(ctx, m, res)
		case scXMPPChat:
			err = x.runChat(ctx, m, res)
		case scXMPPPresence:
			err = x.runPresence(ctx, m, res)
		case scMUC:
			err = x.runMUC(ctx, m, res)
		default:
			err = x.runIdle(ctx, m, res)
		}
	case scSIPRegister, scSIPMessage:
		res.Target = cfg.sip.String()
		s := newSIPClient(cfg, log)
		if cfg.Scenario == scSIPRegister {
			err = s.runRegister(ctx, m, res)
		} else {
			err = s.runMessage(ctx, m, res)
		}
	case scCross:
		res.Target = cfg.xmpp.String() + " " + cfg.sip.String()
		x, xerr := newXMPPClient(cfg, log)
		if xerr != nil {
			return nil, xerr
		}
		err = runCross(ctx, x, newSIPClient(cfg, log), m, res)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Scenario, err)
	}
	return res, nil
}

// raiseFileLimit raises the open-file limit to its hard maximum: every
// session is a socket.
func raiseFileLimit(log zerolog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Warn().Err(err).Msg("cannot raise the open-file limit")
		}
	}
}
