package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// occupantIDKeyFile keys the XEP-0421 occupant ids, so that they stay the
// same across restarts.
const occupantIDKeyFile = "occupant-id.key"

// fastKeyFile is the key XEP-0484 FAST tokens are derived from
// (xmpp.Config.FastKey): with it, the tokens recorded in the store outlive
// a restart; without it, the store yields no token. Never in the store,
// never logged. Nodes sharing one PostgreSQL database need the same file.
const fastKeyFile = "fast.key"

// keptSecret returns the 32-byte secret in dir/name, creating it (mode 0600)
// on first use. It is written through a temporary file and a rename, so
// that a crash never leaves half a secret.
func keptSecret(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) == 32:
		return b, nil
	case err == nil:
		return nil, fmt.Errorf("secret %s: %d bytes, want 32 (delete it to have a new one made)", path, len(b))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, name+".tmp*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("secret %s: %w", path, err), os.Remove(f.Name()))
	}
	return b, nil
}
