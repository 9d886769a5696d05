package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/store/postgres"
	"github.com/crosstalk-im/crosstalk/store/sqlite"
)

// openStore opens the configured store: PostgreSQL for a postgres:// URL,
// the embedded SQLite store in the data directory otherwise.
func openStore(ctx context.Context, c *Config, log zerolog.Logger) (crosstalk.Store, error) {
	if c.Store.URL != "" {
		return postgres.Open(ctx, c.Store.URL, log)
	}
	return sqlite.Open(ctx, c.storePath(), log)
}

func cmdUser(ctx context.Context, e env, verb string, args []string) error {
	c, pos, err := loadConfig(e, "user "+verb, args, nil)
	if err != nil {
		return err
	}
	switch verb {
	case "add", "passwd", "del":
		if len(pos) != 1 {
			return usageError{fmt.Sprintf("user %s takes one ADDRESS", verb)}
		}
	case "list":
		if len(pos) > 1 {
			return usageError{"user list takes at most a DOMAIN"}
		}
	default:
		return usageError{fmt.Sprintf("unknown user command %q", verb)}
	}
	var account crosstalk.Address
	if verb != "list" {
		if account, err = crosstalk.ParseAddress(pos[0]); err != nil {
			return err
		}
		if account.Local() == "" || !account.IsBare() {
			return fmt.Errorf("%s: an account address is local@domain", pos[0])
		}
		if !c.serves(account.Domain()) {
			return fmt.Errorf("%s: domain %s is not served (domains: %s)", account, account.Domain(), strings.Join(c.Domains, ","))
		}
	}
	st, err := openStore(ctx, &c, zerolog.Nop())
	if err != nil {
		return err
	}
	defer st.Close()
	hub := crosstalk.NewHub(crosstalk.HubConfig{Domains: c.Domains}, st, zerolog.Nop())
	switch verb {
	case "add":
		pw, err := readPassword(e)
		if err != nil {
			return err
		}
		if err := hub.CreateAccount(ctx, account, pw, c.SCRAMIterations); err != nil {
			if errors.Is(err, crosstalk.ErrAccountExists) {
				return fmt.Errorf("%s: account already exists", account)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "created %s\n", account)
	case "passwd":
		pw, err := readPassword(e)
		if err != nil {
			return err
		}
		if err := hub.SetPassword(ctx, account, pw, c.SCRAMIterations); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "changed the password of %s\n", account)
	case "del":
		if err := hub.DeleteAccount(ctx, account); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", account)
	case "list":
		domain := ""
		if len(pos) == 1 {
			domain = pos[0]
		}
		list, err := st.ListAccounts(ctx, domain)
		if err != nil {
			return err
		}
		for _, a := range list {
			fmt.Fprintln(e.stdout, a)
		}
	}
	return nil
}

// readPassword reads one line from standard input.
func readPassword(e env) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		pw := strings.TrimRight(r.line, "\r\n")
		if pw == "" {
			return "", errors.New("no password on standard input")
		}
		return pw, nil
	case <-time.After(time.Minute):
		return "", errors.New("no password on standard input within a minute")
	}
}
